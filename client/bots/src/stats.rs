//! Interval figures (`--stats FILE`): every `--stats-every` one JSON line with the well-behaved
//! bots' snapshots received and due in that interval, the delivery ratio and the input latency
//! p99, so a long run (`scripts/soak.py`) can follow them over time instead of only in the final
//! summary. Like every other figure, the misbehaving bots' stay out.
//!
//! What a line counts: each bot adds its snapshots to the run's counters in batches (every
//! `LIVE_BATCH_PERIOD`, half a second by its clock, whatever arrived, and when it leaves), each
//! batch with the time it covers (from the bot's previous batch or its start in the ramp-up):
//! so the time due follows the clock, and a line while the server is frozen shows the bots'
//! time due with no snapshot in it (delivery 0), not nothing due. A line's `snapshots`
//! are those of the batches added in its interval, and its `expected_snapshots` the ticks in the time those
//! batches cover, plus the time in the interval of the bots the server dropped (they stay due
//! until the run ends, with nothing received, as in the summary). Received and due so count the
//! same stretch of each bot's time, which trails the line's own by at most a batch: a clean run
//! shows 1 on every line, the first and the last included (within a snapshot per batch, as a
//! batch's ends fall between ticks). Counting received snapshots against the bots connected at
//! each second instead made the first line about 2 (bots that joined at its start counted as
//! joining through it) and the last one 1.5 (bots already closing counted as gone).

use std::fs::File;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use skirmish_shared::consts::TICK_RATE_HZ;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use crate::live::{Counts, Live};
use crate::samples::Shared;
use crate::stop::Stop;

/// One line of the stats file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// Seconds from the start of the run to the end of the interval (the last line's ends
    /// when the run does, not when its bots have all closed).
    pub t_s: f64,
    /// Length of the interval in seconds.
    pub interval_s: f64,
    /// Bots welcomed and not lost by the end of the interval: connected then (on the last
    /// line, those that stayed to the end of the run).
    pub connected: u64,
    /// Snapshots received in the batches the bots added in the interval (see the module docs).
    pub snapshots: u64,
    /// Snapshots due over the time those batches cover, plus the dropped bots' time in the
    /// interval: bot-seconds × the tick rate. A bot is due from its `Welcome` (or 1 s after its
    /// start, if let in later) to the end of the run, also after the server dropped it, as in
    /// the summary's delivery ratio.
    pub expected_snapshots: f64,
    /// `snapshots / expected_snapshots`; `null` when none were due (no bot connected, or a
    /// line shorter than a batch). Above 1 only by a snapshot
    /// per batch, or where bots fell behind and caught up (more snapshots read than ticks passed).
    pub delivery_ratio: Option<f64>,
    /// Input → acknowledgement latency p99 in ms of the samples merged in the interval; `null`
    /// without any.
    pub latency_p99_ms: Option<f64>,
    /// Bots that never got `Welcome`, so far.
    pub failed: u64,
    /// Welcomed bots lost before the end of the run, so far.
    pub disconnects: u64,
}

/// The counters at the start of an interval, to close it against.
#[derive(Debug, Clone)]
pub struct Meter {
    /// The counters at the start of the interval…
    start: Counts,
    /// …and when it started, in seconds from the start of the run.
    start_s: f64,
}

/// Seconds the bots lost early have been due by `at_s` with nothing received: each from when
/// it was lost until `at_s` or the run's end (`end_s`), whichever is first.
fn lost_bot_seconds(counts: &Counts, at_s: f64, end_s: f64) -> f64 {
    counts.disconnected as f64 * at_s.min(end_s) - counts.lost_at_us as f64 / 1e6
}

impl Meter {
    /// An interval starting at `at_s` with the counters `counts`.
    pub fn new(counts: Counts, at_s: f64) -> Self {
        Meter { start: counts, start_s: at_s }
    }

    /// Ends the interval at `at_s` (the run ending at `end_s`; the latencies merged in the
    /// interval in `latency_us`) and starts the next one there.
    pub fn close(&mut self, counts: Counts, at_s: f64, end_s: f64, latency_us: &Histogram<u64>) -> Interval {
        let covered_s = counts.covered_us.saturating_sub(self.start.covered_us) as f64 / 1e6;
        let lost_s = lost_bot_seconds(&counts, at_s, end_s) - lost_bot_seconds(&self.start, self.start_s, end_s);
        // A bot lost at the very end (after `end_s`) would count a sliver below zero.
        let expected = (covered_s + lost_s.max(0.0)) * f64::from(TICK_RATE_HZ);
        let snapshots = counts.snapshots.saturating_sub(self.start.snapshots);
        let line = Interval {
            t_s: at_s,
            interval_s: at_s - self.start_s,
            connected: counts.connected + counts.stayed,
            snapshots,
            expected_snapshots: expected,
            delivery_ratio: (expected > 0.0).then(|| snapshots as f64 / expected),
            latency_p99_ms: (!latency_us.is_empty()).then(|| latency_us.value_at_quantile(0.99) as f64 / 1000.0),
            failed: counts.failed,
            disconnects: counts.disconnected,
        };
        *self = Meter::new(counts, at_s);
        line
    }
}

/// When the run ends and whether it was stopped, for the stats task.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// Zero of the run's clock (the bots' epoch).
    pub epoch: Instant,
    /// When the run ends if nothing stops it.
    pub end_at: Instant,
    /// The early stop (Ctrl-C, SIGTERM): the run ends when it is given.
    pub stop: Stop,
}

/// Writes a line to `file` (opened by the caller, so a path that cannot be written fails the
/// run before it starts) every `every` of the run, on a grid from its start, until `done` is
/// cancelled (every bot has left), then a last one for the time since, ending when the run did,
/// however short: it holds every bot's last batch (they come while the bots close, so no line
/// falls due after the run's end), and with it the lines add up to the summary's snapshots.
pub async fn run(
    live: Arc<Live>,
    samples: Arc<Shared>,
    mut file: File,
    every: Duration,
    run_end: RunEnd,
    done: CancellationToken,
) -> std::io::Result<()> {
    let RunEnd { epoch, mut end_at, stop } = run_end;
    let seconds = |at: Instant| at.saturating_duration_since(epoch).as_secs_f64();
    let mut last_line = Instant::now();
    let mut meter = Meter::new(live.counts(), seconds(last_line));
    // The latencies of an interval are the totals' growth over it: taking the "recent" ones
    // would steal them from the progress line.
    let mut latency_before = samples.snapshot().latency_us;
    let mut lines = interval_at(epoch + every, every);
    lines.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stopped = false;
    loop {
        let finished = tokio::select! {
            _ = lines.tick() => false,
            () = stop.stopped(), if !stopped => {
                stopped = true;
                end_at = end_at.min(Instant::now());
                continue;
            }
            () = done.cancelled() => true,
        };
        let now = Instant::now();
        if !finished && now >= end_at {
            continue;
        }
        let at = now.min(end_at).max(last_line);
        let latency_now = samples.snapshot().latency_us;
        let mut latency = latency_now.clone();
        // Same bounds, and the totals only grow, so subtracting an earlier copy cannot fail;
        // if it did, the interval would show the run's p99 so far instead.
        let _ = latency.subtract(&latency_before);
        latency_before = latency_now;
        let line = meter.close(live.counts(), seconds(at), seconds(end_at), &latency);
        // Serialising plain numbers cannot fail.
        let json = serde_json::to_string(&line).unwrap_or_default();
        writeln!(file, "{json}")?;
        file.flush()?;
        if finished {
            return Ok(());
        }
        last_line = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::histogram;

    /// Counters as the bots would have left them.
    fn counts(connected: u64, snapshots: u64, covered_s: f64) -> Counts {
        Counts { connected, snapshots, covered_us: (covered_s * 1e6) as u64, ..Counts::default() }
    }

    #[test]
    fn delivery_is_snapshots_over_the_time_their_batches_cover() {
        let mut m = Meter::new(counts(10, 1000, 40.0), 5.0);
        let mut latency = histogram();
        for ms in 1..=100 {
            latency.record(ms * 1000).unwrap();
        }
        // 10 bots' batches covering 10 s each at 30 Hz: 3000 due, 2970 arrived.
        let line = m.close(counts(10, 3970, 140.0), 15.0, 60.0, &latency);
        assert_eq!((line.t_s, line.interval_s, line.connected, line.snapshots), (15.0, 10.0, 10, 2970));
        assert!((line.expected_snapshots - 3000.0).abs() < 1e-6, "{line:?}");
        assert!((line.delivery_ratio.unwrap() - 0.99).abs() < 1e-9, "{line:?}");
        assert!((line.latency_p99_ms.unwrap() - 99.0).abs() < 0.1, "{line:?}");
        // The next interval starts where this one ended; no batch came: nothing due yet.
        let next = m.close(counts(10, 3970, 140.0), 16.0, 60.0, &histogram());
        assert_eq!((next.interval_s, next.snapshots, next.latency_p99_ms, next.delivery_ratio), (1.0, 0, None, None));
    }

    #[test]
    fn dropped_bots_stay_due_until_the_run_ends() {
        // 4 bots; one dropped at 1.5 s, its last batch covering up to then.
        let mut m = Meter::new(Counts::default(), 0.0);
        let lost = Counts { connected: 3, disconnected: 1, lost_at_us: 1_500_000, ..counts(3, 210, 7.0) };
        let line = m.close(lost, 2.0, 10.0, &histogram());
        // 7 bot-seconds of batches and half a second of the dropped bot: 7.5 × 30 due.
        assert!((line.expected_snapshots - 7.5 * 30.0).abs() < 1e-6, "{line:?}");
        assert_eq!((line.connected, line.disconnects), (3, 1));
        // Then a whole second each, up to the run's end at 10 s and not past it.
        let later = Counts { covered_us: 7_000_000 + 3 * 8_000_000, ..lost };
        let line = m.close(later, 12.0, 10.0, &histogram());
        assert!((line.expected_snapshots - (24.0 + 8.0) * 30.0).abs() < 1e-6, "{line:?}");
    }

    /// A clean run as the bots feed the counters: `bots` bots welcomed at `welcome_s` (spread
    /// over a tenth of a second), each receiving every tick's snapshot a little after the tick,
    /// adding them in batches of 15 and at the run's end `end_s`, then leaving over the next
    /// `closing_s`. Lines are closed every second and once everyone has left, as `run` does.
    fn clean_run(bots: u32, welcome_s: f64, end_s: f64, closing_s: f64) -> Vec<Interval> {
        let tick_s = 1.0 / f64::from(TICK_RATE_HZ);
        let live = Live::default();
        // (time, bot): every snapshot's arrival, in order.
        let mut arrivals = Vec::new();
        for bot in 0..bots {
            let welcomed = welcome_s + f64::from(bot) * 0.1 / f64::from(bots);
            let first_tick = (welcomed / tick_s).floor() as u64 + 1;
            let mut tick = first_tick;
            while (tick as f64) * tick_s + 0.002 < end_s {
                arrivals.push(((tick as f64) * tick_s + 0.002, bot, welcomed));
                tick += 1;
            }
        }
        arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut pending: Vec<(u64, f64)> = (0..bots).map(|_| (0, -1.0)).collect();
        let mut meter = Meter::new(live.counts(), 0.0);
        let mut lines = Vec::new();
        let mut next_line = 1.0;
        let secs = Duration::from_secs_f64;
        for (at, bot, welcomed) in arrivals {
            while next_line <= at {
                lines.push(meter.close(live.counts(), next_line, end_s, &histogram()));
                next_line += 1.0;
            }
            let p = &mut pending[bot as usize];
            if p.1 < 0.0 {
                live.welcomed();
                p.1 = welcomed;
            }
            p.0 += 1;
            if p.0 == 15 {
                live.snapshots(p.0, secs(at - p.1));
                *p = (0, at);
            }
        }
        for (bot, p) in pending.iter().enumerate() {
            // Each bot's last batch and its leaving, while the run closes.
            let left = end_s + closing_s * (bot as f64 + 1.0) / f64::from(bots);
            live.snapshots(p.0, secs(end_s - p.1));
            live.gone(false, secs(left));
        }
        // The last line, once every bot has left, ends when the run did.
        lines.push(meter.close(live.counts(), end_s, end_s, &histogram()));
        lines
    }

    #[test]
    fn every_line_of_a_clean_run_shows_full_delivery_the_first_and_last_included() {
        // 20 bots joining right after the start, a 6 s run, a quarter second to close: what
        // showed 2.0 on the first line, 1.5 and 0 bots connected on the last.
        let lines = clean_run(20, 0.05, 6.0, 0.25);
        assert_eq!(lines.len(), 6, "{lines:#?}");
        for line in &lines {
            let ratio = line.delivery_ratio.expect("snapshots due");
            // At most a snapshot per batch either way: 20 bots add 2 batches a second.
            assert!((ratio - 1.0).abs() <= 2.0 * 20.0 / line.expected_snapshots, "{line:?}");
            assert_eq!(line.connected, 20, "every bot stayed to the end: {line:?}");
        }
        assert_eq!(lines.last().unwrap().t_s, 6.0);
    }

    #[test]
    fn lines_are_the_documented_json() {
        let line = Meter::new(counts(1, 0, 0.0), 0.0).close(counts(1, 30, 1.0), 1.0, 10.0, &histogram());
        let json = serde_json::to_value(&line).unwrap();
        for key in [
            "t_s",
            "interval_s",
            "connected",
            "snapshots",
            "expected_snapshots",
            "delivery_ratio",
            "latency_p99_ms",
            "failed",
            "disconnects",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert_eq!(json["latency_p99_ms"], serde_json::Value::Null);
        assert_eq!(json["delivery_ratio"], 1.0);
    }

    /// Runs the stats task on paused time until `done` after `run_s`, the run ending at `end_s`
    /// unless stopped after `stop_s`; the lines written.
    async fn lines_of(every_s: u64, end_s: f64, stop_s: Option<f64>, run_s: f64) -> Vec<serde_json::Value> {
        // One directory per call: the tests run in parallel.
        static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("skirmish-bots-stats-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stats.jsonl");
        let (live, samples, done) = (Arc::new(Live::default()), Arc::new(Shared::default()), CancellationToken::new());
        live.welcomed();
        let epoch = Instant::now();
        let stop = Stop::new();
        let run_end = RunEnd { epoch, end_at: epoch + Duration::from_secs_f64(end_s), stop: stop.clone() };
        let task = {
            let (live, samples, done) = (live.clone(), samples.clone(), done.clone());
            let file = File::create(&path).unwrap();
            tokio::spawn(async move { run(live, samples, file, Duration::from_secs(every_s), run_end, done).await })
        };
        if let Some(stop_s) = stop_s {
            tokio::time::sleep(Duration::from_secs_f64(stop_s)).await;
            stop.stop();
            tokio::time::sleep(Duration::from_secs_f64(run_s - stop_s)).await;
        } else {
            tokio::time::sleep(Duration::from_secs_f64(run_s)).await;
        }
        done.cancel();
        task.await.unwrap().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn times(lines: &[serde_json::Value]) -> Vec<f64> {
        lines.iter().map(|l| l["t_s"].as_f64().unwrap()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_file_gets_a_line_per_interval_and_a_last_one_at_the_run_s_end() {
        // A 9.5 s run whose bots take until 10.3 s to close: lines at 2, 4, 6 and 8 s, on the
        // grid, then a last one of 1.5 s ending at 9.5 s.
        let t = times(&lines_of(2, 9.5, None, 10.3).await);
        assert_eq!(t.len(), 5, "{t:?}");
        for (got, want) in t.iter().zip([2.0, 4.0, 6.0, 8.0, 9.5]) {
            assert!((got - want).abs() < 0.01, "{t:?}");
        }
        // Closing took past the next grid time (10 s): still no line after the run's end.
        let t = times(&lines_of(2, 10.0, None, 10.6).await);
        assert_eq!(t.len(), 5, "{t:?}");
        assert!((t[4] - 10.0).abs() < 0.01, "{t:?}");
        // A short last interval too: it holds the bots' last batches.
        let t = times(&lines_of(2, 8.3, None, 8.8).await);
        assert_eq!(t.len(), 5, "{t:?}");
        assert!((t[4] - 8.3).abs() < 0.01, "{t:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_stopped_early_ends_its_last_line_at_the_stop() {
        let t = times(&lines_of(2, 30.0, Some(5.0), 5.4).await);
        assert_eq!(t.len(), 3, "{t:?}");
        assert!((t[2] - 5.0).abs() < 0.01, "{t:?}");
    }
}
