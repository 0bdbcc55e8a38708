//! The live progress line, shown only when the human output (stdout, or stderr with `--json -`)
//! is a terminal: refreshed twice a second in
//! place (`\r`), it shows connected bots, snapshots per second, the latency p99 of the last two
//! seconds and the errors so far. A pipe or a CI log gets no progress output at all.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use crate::live::{Counts, Live};
use crate::samples::{Shared, histogram};

/// How often the line is redrawn.
const REFRESH: Duration = Duration::from_millis(500);
/// Refreshes whose latency samples make up the p99 shown: 2 s, long enough to hold samples
/// from most bots (each merges its samples every second or two) and short enough to move.
const LATENCY_WINDOWS: usize = 4;

/// What the line shows at one refresh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Ramp-up seconds.
    pub ramp_up_s: f64,
    /// Ramp-up plus duration, in seconds.
    pub total_s: f64,
    /// Bots asked for.
    pub target: u32,
    /// Live counters.
    pub counts: Counts,
    /// Snapshots received per second since the last refresh, all bots together.
    pub snapshots_per_s: f64,
    /// Latency p99 of the last two seconds, in ms, if any input was acknowledged in them.
    pub latency_p99_ms: Option<f64>,
}

impl Line {
    /// The text, kept under 100 columns.
    pub fn render(&self) -> String {
        let stage = if self.elapsed_s < self.ramp_up_s {
            "ramp-up"
        } else if self.elapsed_s < self.total_s {
            "running"
        } else {
            "closing"
        };
        let p99 = self.latency_p99_ms.map_or_else(|| "–".to_owned(), |ms| format!("{ms:.1} ms"));
        format!(
            "{stage} {:.0}/{:.0} s │ bots {}/{} │ {:.0} snapshots/s │ latency p99 {p99} │ failed {} │ disconnects {}",
            self.elapsed_s,
            self.total_s,
            self.counts.connected,
            self.target,
            self.snapshots_per_s,
            self.counts.failed,
            self.counts.disconnected
        )
    }
}

/// The terminal the line is drawn on: the one the summary goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    Stdout,
    /// With `--json -`, whose JSON takes stdout.
    Stderr,
}

impl Terminal {
    fn writer(self) -> Box<dyn std::io::Write + Send> {
        match self {
            Terminal::Stdout => Box::new(std::io::stdout()),
            Terminal::Stderr => Box::new(std::io::stderr()),
        }
    }
}

/// What the run is to be: the fixed part of every line.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Bots asked for.
    pub target: u32,
    /// Ramp-up seconds.
    pub ramp_up_s: f64,
    /// Ramp-up plus duration, in seconds.
    pub total_s: f64,
}

/// Redraws the line on `terminal` until `done` is cancelled, then erases it so the summary
/// starts clean.
pub async fn run(
    terminal: Terminal,
    live: Arc<Live>,
    samples: Arc<Shared>,
    plan: Plan,
    epoch: Instant,
    done: CancellationToken,
) {
    let Plan { target, ramp_up_s, total_s } = plan;
    let mut refresh = interval_at(Instant::now() + REFRESH, REFRESH);
    refresh.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut windows: VecDeque<Histogram<u64>> = VecDeque::with_capacity(LATENCY_WINDOWS + 1);
    let (mut last_at, mut last_snapshots) = (Instant::now(), 0);
    let mut out = terminal.writer();
    loop {
        tokio::select! {
            _ = refresh.tick() => {}
            () = done.cancelled() => break,
        }
        let counts = live.counts();
        let now = Instant::now();
        let seconds = now.duration_since(last_at).as_secs_f64().max(1e-3);
        let snapshots_per_s = counts.snapshots.saturating_sub(last_snapshots) as f64 / seconds;
        (last_at, last_snapshots) = (now, counts.snapshots);
        windows.push_back(samples.take_recent_latency());
        if windows.len() > LATENCY_WINDOWS {
            windows.pop_front();
        }
        let line = Line {
            elapsed_s: now.duration_since(epoch).as_secs_f64(),
            ramp_up_s,
            total_s,
            target,
            counts,
            snapshots_per_s,
            latency_p99_ms: p99_ms(&windows),
        };
        // A failed write to the terminal only costs the display.
        let _ = write!(out, "\r{}\x1b[K", line.render());
        let _ = out.flush();
    }
    let _ = write!(out, "\r\x1b[K");
    let _ = out.flush();
}

/// The p99 of the windows together, in ms; `None` without samples.
fn p99_ms(windows: &VecDeque<Histogram<u64>>) -> Option<f64> {
    let mut merged = histogram();
    for w in windows {
        // Same bounds and precision everywhere, so adding cannot fail; a failure would only
        // leave the display a little off.
        let _ = merged.add(w);
    }
    (!merged.is_empty()).then(|| merged.value_at_quantile(0.99) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_the_counts() {
        let counts = Counts { connected: 480, failed: 2, disconnected: 1, ..Counts::default() };
        let line = Line {
            elapsed_s: 12.4,
            ramp_up_s: 10.0,
            total_s: 40.0,
            target: 500,
            counts,
            snapshots_per_s: 14_380.4,
            latency_p99_ms: Some(35.24),
        };
        let text = line.render();
        assert_eq!(
            text,
            "running 12/40 s │ bots 480/500 │ 14380 snapshots/s │ latency p99 35.2 ms │ failed 2 │ disconnects 1"
        );
        assert!(text.chars().count() < 100);
        let early = Line { elapsed_s: 3.0, latency_p99_ms: None, ..line };
        assert!(early.render().starts_with("ramp-up 3/40 s"), "{}", early.render());
        assert!(early.render().contains("latency p99 –"));
        assert!(Line { elapsed_s: 40.5, ..line }.render().starts_with("closing"));
    }

    #[test]
    fn p99_covers_every_window() {
        let mut windows = VecDeque::new();
        assert_eq!(p99_ms(&windows), None);
        let mut a = histogram();
        let mut b = histogram();
        for _ in 0..99 {
            a.record(10_000).unwrap();
        }
        b.record(90_000).unwrap();
        b.record(90_000).unwrap();
        windows.push_back(a);
        windows.push_back(b);
        let p99 = p99_ms(&windows).unwrap();
        assert!((p99 - 90.0).abs() < 0.1, "{p99}");
    }
}
