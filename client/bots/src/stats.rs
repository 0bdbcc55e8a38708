//! Interval figures (`--stats FILE`): every `--stats-every` one JSON line with the well-behaved
//! bots' snapshots received and due in that interval, the delivery ratio and the input latency
//! p99, so a long run (`scripts/soak.py`) can follow them over time instead of only in the final
//! summary. Like every other figure, the misbehaving bots' stay out.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use skirmish_shared::consts::TICK_RATE_HZ;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_util::sync::CancellationToken;

use crate::live::{Counts, Live};
use crate::samples::Shared;

/// How often the bots due are counted, to integrate the snapshots due over an interval.
const COUNT_PERIOD: Duration = Duration::from_secs(1);
/// A last interval shorter than this is not written when the run ends.
const MIN_LAST_INTERVAL: Duration = Duration::from_secs(1);

/// One line of the stats file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    /// Seconds from the start of the run to the end of the interval.
    pub t_s: f64,
    /// Length of the interval in seconds.
    pub interval_s: f64,
    /// Bots welcomed and still connected at the end of the interval.
    pub connected: u64,
    /// Snapshots the bots received in the interval.
    pub snapshots: u64,
    /// Snapshots due in the interval: bot-seconds × the tick rate, the bots due counted every
    /// second. A bot is due from `Welcome` to the end of the run, also after the server dropped
    /// it, as in the summary's delivery ratio.
    pub expected_snapshots: f64,
    /// `snapshots / expected_snapshots`; `null` when none were due. Counting once a second
    /// makes it approximate while bots join or leave (slightly over 1 is possible then).
    pub delivery_ratio: Option<f64>,
    /// Input → acknowledgement latency p99 in ms of the samples merged in the interval; `null`
    /// without any.
    pub latency_p99_ms: Option<f64>,
    /// Bots that never got `Welcome`, so far.
    pub failed: u64,
    /// Welcomed bots lost before the end of the run, so far.
    pub disconnects: u64,
}

/// Integrates one interval's snapshots due from the live counters read once a second.
#[derive(Debug, Clone)]
pub struct Meter {
    /// The counters at the start of the interval.
    start: Counts,
    /// When the interval started, in seconds from the start of the run.
    start_s: f64,
    /// When the bots due were last counted, and how many there were.
    last_s: f64,
    last_due_bots: u64,
    /// Bots due × seconds so far in the interval (trapezoids between counts).
    bot_seconds: f64,
}

/// Bots whose snapshots are due: connected ones and the ones dropped early.
fn due_bots(counts: &Counts) -> u64 {
    counts.connected + counts.disconnected
}

impl Meter {
    /// An interval starting at `at_s` with the counters `counts`.
    pub fn new(counts: Counts, at_s: f64) -> Self {
        Meter { start: counts, start_s: at_s, last_s: at_s, last_due_bots: due_bots(&counts), bot_seconds: 0.0 }
    }

    /// Counts the bots due at `at_s`.
    pub fn count(&mut self, counts: &Counts, at_s: f64) {
        let now = due_bots(counts);
        let seconds = (at_s - self.last_s).max(0.0);
        self.bot_seconds += seconds * (self.last_due_bots + now) as f64 / 2.0;
        (self.last_s, self.last_due_bots) = (at_s, now);
    }

    /// Ends the interval at `at_s` (the latencies merged in it in `latency_us`) and starts the
    /// next one there.
    pub fn close(&mut self, counts: Counts, at_s: f64, latency_us: &Histogram<u64>) -> Interval {
        self.count(&counts, at_s);
        let expected = self.bot_seconds * f64::from(TICK_RATE_HZ);
        let snapshots = counts.snapshots.saturating_sub(self.start.snapshots);
        let line = Interval {
            t_s: at_s,
            interval_s: at_s - self.start_s,
            connected: counts.connected,
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

/// Writes a line to `path` (created or truncated) every `every` until `done` is cancelled, then
/// a last one for the time since (if at least a second).
pub async fn run(
    live: Arc<Live>,
    samples: Arc<Shared>,
    path: &Path,
    every: Duration,
    epoch: Instant,
    done: CancellationToken,
) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    let seconds = |at: Instant| at.duration_since(epoch).as_secs_f64();
    let mut meter = Meter::new(live.counts(), seconds(Instant::now()));
    // The latencies of an interval are the totals' growth over it: taking the "recent" ones
    // would steal them from the progress line.
    let mut latency_before = samples.snapshot().latency_us;
    // Lines fall due on a grid from `start`, which the counting ticks share: a tick lands on
    // each line's due time instead of just before it (which would stretch the interval by one
    // count period).
    let start = Instant::now();
    let mut tick = interval_at(start + COUNT_PERIOD, COUNT_PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut last_line, mut next_line) = (start, start + every);
    loop {
        let finished = tokio::select! {
            _ = tick.tick() => false,
            () = done.cancelled() => true,
        };
        let now = Instant::now();
        if !finished && now < next_line {
            meter.count(&live.counts(), seconds(now));
            continue;
        }
        if finished && now.duration_since(last_line) < MIN_LAST_INTERVAL {
            return Ok(());
        }
        let latency_now = samples.snapshot().latency_us;
        let mut latency = latency_now.clone();
        // Same bounds, and the totals only grow, so subtracting an earlier copy cannot fail;
        // if it did, the interval would show the run's p99 so far instead.
        let _ = latency.subtract(&latency_before);
        latency_before = latency_now;
        let line = meter.close(live.counts(), seconds(now), &latency);
        // Serialising plain numbers cannot fail.
        let json = serde_json::to_string(&line).unwrap_or_default();
        writeln!(file, "{json}")?;
        file.flush()?;
        if finished {
            return Ok(());
        }
        last_line = now;
        while next_line <= now {
            next_line += every;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::histogram;

    fn counts(connected: u64, disconnected: u64, snapshots: u64) -> Counts {
        Counts { connected, failed: 0, disconnected, snapshots }
    }

    #[test]
    fn delivery_is_snapshots_over_bot_seconds_due() {
        let mut m = Meter::new(counts(10, 0, 1000), 5.0);
        for s in 6..=14 {
            m.count(&counts(10, 0, 0), f64::from(s));
        }
        let mut latency = histogram();
        for ms in 1..=100 {
            latency.record(ms * 1000).unwrap();
        }
        // 10 bots for 10 s at 30 Hz: 3000 due, 2970 arrived.
        let line = m.close(counts(10, 0, 3970), 15.0, &latency);
        assert_eq!((line.t_s, line.interval_s, line.connected, line.snapshots), (15.0, 10.0, 10, 2970));
        assert!((line.expected_snapshots - 3000.0).abs() < 1e-9, "{line:?}");
        assert!((line.delivery_ratio.unwrap() - 0.99).abs() < 1e-9, "{line:?}");
        assert!((line.latency_p99_ms.unwrap() - 99.0).abs() < 0.1, "{line:?}");
        // The next interval starts where this one ended.
        let next = m.close(counts(10, 0, 3970), 16.0, &histogram());
        assert_eq!((next.interval_s, next.snapshots, next.latency_p99_ms), (1.0, 0, None));
        assert_eq!(next.delivery_ratio, Some(0.0));
    }

    #[test]
    fn dropped_bots_stay_due_and_joins_count_from_when_seen() {
        // 4 bots, one dropped by the server after 1 s: still 4 bots due.
        let mut m = Meter::new(counts(4, 0, 0), 0.0);
        m.count(&counts(3, 1, 0), 1.0);
        let line = m.close(counts(3, 1, 0), 2.0, &histogram());
        assert!((line.expected_snapshots - 4.0 * 2.0 * 30.0).abs() < 1e-9, "{line:?}");
        assert_eq!((line.connected, line.disconnects), (3, 1));
        // 0 → 2 bots joining within a second counts as one bot-second.
        let mut m = Meter::new(counts(0, 0, 0), 0.0);
        let line = m.close(counts(2, 0, 30), 1.0, &histogram());
        assert!((line.expected_snapshots - 30.0).abs() < 1e-9, "{line:?}");
        // Nothing due: no ratio.
        let line = Meter::new(Counts::default(), 0.0).close(Counts::default(), 1.0, &histogram());
        assert_eq!(line.delivery_ratio, None);
    }

    #[test]
    fn lines_are_the_documented_json() {
        let line = Meter::new(counts(1, 0, 0), 0.0).close(counts(1, 0, 30), 1.0, &histogram());
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
    }

    #[tokio::test(start_paused = true)]
    async fn the_file_gets_a_line_per_interval_and_a_last_one() {
        let dir = std::env::temp_dir().join(format!("skirmish-bots-stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stats.jsonl");
        let (live, samples, done) = (Arc::new(Live::default()), Arc::new(Shared::default()), CancellationToken::new());
        live.welcomed();
        let epoch = Instant::now();
        let task = {
            let (live, samples, done, path) = (live.clone(), samples.clone(), done.clone(), path.clone());
            tokio::spawn(async move { run(live, samples, &path, Duration::from_secs(2), epoch, done).await })
        };
        // 9.5 s of paused time: lines at 2, 4, 6 and 8 s, on the grid, then a last one of 1.5 s.
        tokio::time::sleep(Duration::from_millis(9500)).await;
        done.cancel();
        task.await.unwrap().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let t: Vec<f64> = lines.iter().map(|l| l["t_s"].as_f64().unwrap()).collect();
        assert_eq!(t.len(), 5, "{text}");
        for (got, want) in t.iter().zip([2.0, 4.0, 6.0, 8.0, 9.5]) {
            assert!((got - want).abs() < 0.01, "{t:?}");
        }
        // One bot, no snapshot: 60 due in 2 s, delivery 0.
        assert!((lines[0]["expected_snapshots"].as_f64().unwrap() - 60.0).abs() < 0.5, "{text}");
        assert_eq!(lines[0]["delivery_ratio"], 0.0);
    }
}
