//! What each bot brings back, and the run summary built from all of them: printed for people,
//! written as JSON for CI. Building the summary is a pure function, so its arithmetic is tested.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use skirmish_shared::consts::TICK_RATE_HZ;

use crate::cli::Params;
use crate::samples::Histograms;

/// How a bot's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Never got `Welcome`: the error kind (refused, timeout, closed by the server, ...).
    Failed(String),
    /// Played until the end of the run, then closed normally.
    Completed,
    /// Welcomed, then lost before the end: the close code and reason, or the error kind.
    Disconnected(String),
}

/// One bot's counters. Its timing samples go to the shared [`Histograms`] instead.
#[derive(Debug, Clone, PartialEq)]
pub struct BotReport {
    /// How it ended.
    pub outcome: Outcome,
    /// From `Welcome` to the end of the run or the disconnect; the time in which snapshots were
    /// due, so the basis of the delivery ratio.
    pub connected: Duration,
    /// Snapshots accepted by the client core while connected.
    pub snapshots: u64,
    /// Server ticks skipped between consecutive snapshots (dropped or merged by the server).
    pub ticks_missed: u64,
    /// Inputs sent.
    pub inputs_sent: u64,
    /// Input ticks that passed without an input because the bot woke up late (a starved bot
    /// process shows here rather than as a server problem).
    pub inputs_late: u64,
    /// Payload bytes received (WebSocket and TCP framing not counted).
    pub bytes_down: u64,
    /// Payload bytes sent.
    pub bytes_up: u64,
    /// Messages the client core rejected or the bot could not use, by reason.
    pub client_errors: BTreeMap<String, u64>,
}

impl BotReport {
    /// A report for a bot that has done nothing yet.
    pub fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            connected: Duration::ZERO,
            snapshots: 0,
            ticks_missed: 0,
            inputs_sent: 0,
            inputs_late: 0,
            bytes_down: 0,
            bytes_up: 0,
            client_errors: BTreeMap::new(),
        }
    }

    /// Whether the bot got `Welcome`.
    pub fn was_connected(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed(_))
    }
}

/// Percentiles of one histogram, in ms. All zero when there were no samples (`count` says so).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Percentiles {
    /// From a histogram in µs.
    pub fn from_us(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self { count: 0, p50: 0.0, p90: 0.0, p99: 0.0, max: 0.0 };
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

/// The result of a run; serialised as the `--json` file, field names are its schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// What was run.
    pub params: Params,
    /// Bots that got `Welcome`.
    pub connected: u32,
    /// Bots that did not.
    pub failed: u32,
    /// Connected bots that stayed until the end.
    pub completed: u32,
    /// Why bots failed to join: error kind → count.
    pub failures: BTreeMap<String, u32>,
    /// Why connected bots left early: close code and reason (or error) → count.
    pub disconnects: BTreeMap<String, u32>,
    /// Snapshots received by all bots.
    pub snapshots_received: u64,
    /// Snapshots due: the sum over bots of connected seconds × tick rate.
    pub expected_snapshots: f64,
    /// `snapshots_received / expected_snapshots`, 0 when none were expected.
    pub delivery_ratio: f64,
    /// Fewest snapshots a connected bot received (0 when no bot connected).
    pub min_snapshots_per_bot: u64,
    /// Most snapshots a connected bot received.
    pub max_snapshots_per_bot: u64,
    /// Server ticks skipped between snapshots, summed over bots.
    pub ticks_missed: u64,
    /// Time between consecutive snapshots of one bot.
    pub snapshot_gap_ms: Percentiles,
    /// Input sent → acknowledged in a snapshot.
    pub latency_ms: Percentiles,
    /// Ping round trips.
    pub rtt_ms: Percentiles,
    /// Inputs sent by all bots.
    pub inputs_sent: u64,
    /// Input ticks missed because a bot woke up late.
    pub inputs_late: u64,
    /// Payload bytes received by all bots.
    pub bytes_down: u64,
    /// Payload bytes sent by all bots.
    pub bytes_up: u64,
    /// Sum of the bots' connected time, in seconds.
    pub connected_seconds: f64,
    /// Messages the client core rejected, by reason, summed over bots.
    pub client_errors: BTreeMap<String, u64>,
    /// Wall-clock length of the run, in seconds.
    pub elapsed_s: f64,
    /// The run was cut short (Ctrl-C): the figures cover only the time it ran.
    pub stopped_early: bool,
}

impl Summary {
    /// Aggregates the bots' reports and the shared timing histograms.
    pub fn new(params: Params, bots: &[BotReport], timings: &Histograms, elapsed: Duration) -> Self {
        let mut s = Summary {
            params,
            connected: 0,
            failed: 0,
            completed: 0,
            failures: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            snapshots_received: 0,
            expected_snapshots: 0.0,
            delivery_ratio: 0.0,
            min_snapshots_per_bot: 0,
            max_snapshots_per_bot: 0,
            ticks_missed: 0,
            snapshot_gap_ms: Percentiles::from_us(&timings.gap_us),
            latency_ms: Percentiles::from_us(&timings.latency_us),
            rtt_ms: Percentiles::from_us(&timings.rtt_us),
            inputs_sent: 0,
            inputs_late: 0,
            bytes_down: 0,
            bytes_up: 0,
            connected_seconds: 0.0,
            client_errors: BTreeMap::new(),
            elapsed_s: elapsed.as_secs_f64(),
            stopped_early: false,
        };
        let mut min_snapshots = None::<u64>;
        for bot in bots {
            match &bot.outcome {
                Outcome::Failed(kind) => {
                    s.failed += 1;
                    *s.failures.entry(kind.clone()).or_default() += 1;
                }
                Outcome::Completed => s.completed += 1,
                Outcome::Disconnected(why) => *s.disconnects.entry(why.clone()).or_default() += 1,
            }
            if bot.was_connected() {
                s.connected += 1;
                min_snapshots = Some(min_snapshots.map_or(bot.snapshots, |m| m.min(bot.snapshots)));
                s.max_snapshots_per_bot = s.max_snapshots_per_bot.max(bot.snapshots);
            }
            s.snapshots_received += bot.snapshots;
            s.connected_seconds += bot.connected.as_secs_f64();
            s.ticks_missed += bot.ticks_missed;
            s.inputs_sent += bot.inputs_sent;
            s.inputs_late += bot.inputs_late;
            s.bytes_down += bot.bytes_down;
            s.bytes_up += bot.bytes_up;
            for (why, n) in &bot.client_errors {
                *s.client_errors.entry(why.clone()).or_default() += n;
            }
        }
        s.min_snapshots_per_bot = min_snapshots.unwrap_or(0);
        s.expected_snapshots = s.connected_seconds * f64::from(TICK_RATE_HZ);
        s.delivery_ratio =
            if s.expected_snapshots > 0.0 { s.snapshots_received as f64 / s.expected_snapshots } else { 0.0 };
        s
    }

    /// The failure kinds in one line, most frequent first: `connection refused × 20`.
    pub fn failures_line(&self) -> String {
        count_line(&self.failures)
    }
}

fn count_line(counts: &BTreeMap<String, u32>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    sorted.iter().map(|(why, n)| format!("{why} × {n}")).collect::<Vec<_>>().join(", ")
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn percentiles_line(p: &Percentiles) -> String {
    if p.count == 0 {
        return "no samples".to_owned();
    }
    format!("p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  ({} samples)", p.p50, p.p90, p.p99, p.max, p.count)
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.params;
        writeln!(
            f,
            "skirmish-bots: {} bots, {:.1} s (+{:.1} s ramp-up), {} room {}, seed {}, took {:.1} s{}",
            p.count,
            p.duration,
            p.ramp_up,
            p.url,
            p.room,
            p.seed,
            self.elapsed_s,
            if self.stopped_early { " (stopped early)" } else { "" }
        )?;
        writeln!(
            f,
            "  bots         {} connected, {} failed, {} stayed to the end",
            self.connected, self.failed, self.completed
        )?;
        writeln!(
            f,
            "  snapshots    {} of {:.0} due (delivery {:.2} %), per bot {}..{}, {} ticks missed",
            self.snapshots_received,
            self.expected_snapshots,
            self.delivery_ratio * 100.0,
            self.min_snapshots_per_bot,
            self.max_snapshots_per_bot,
            self.ticks_missed
        )?;
        writeln!(f, "  gap ms       {}", percentiles_line(&self.snapshot_gap_ms))?;
        writeln!(f, "  latency ms   {}", percentiles_line(&self.latency_ms))?;
        writeln!(f, "  ping rtt ms  {}", percentiles_line(&self.rtt_ms))?;
        writeln!(
            f,
            "  traffic      {} down, {} up (payload); {} inputs, {} input ticks late",
            bytes(self.bytes_down),
            bytes(self.bytes_up),
            self.inputs_sent,
            self.inputs_late
        )?;
        writeln!(f, "  failures     {}", count_line(&self.failures))?;
        write!(f, "  disconnects  {}", count_line(&self.disconnects))?;
        if !self.client_errors.is_empty() {
            let errors: Vec<_> = self.client_errors.iter().map(|(why, n)| format!("{why} × {n}")).collect();
            write!(f, "\n  bad messages {}", errors.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            url: "ws://127.0.0.1:1/ws".into(),
            count: 4,
            duration: 10.0,
            ramp_up: 0.0,
            room: "main".into(),
            room_explicit: false,
            seed: 9,
        }
    }

    fn bot(outcome: Outcome, connected_s: f64, snapshots: u64) -> BotReport {
        BotReport {
            connected: Duration::from_secs_f64(connected_s),
            snapshots,
            ticks_missed: 1,
            inputs_sent: snapshots,
            inputs_late: 2,
            bytes_down: 100 * snapshots,
            bytes_up: 10 * snapshots,
            ..BotReport::new(outcome)
        }
    }

    #[test]
    fn totals_ratio_and_per_bot_minimum() {
        let mut errors = bot(Outcome::Completed, 10.0, 290);
        errors.client_errors.insert("unexpected message".into(), 2);
        let bots = [
            bot(Outcome::Completed, 10.0, 300),
            errors,
            bot(Outcome::Disconnected("1008 flooding".into()), 2.0, 55),
            bot(Outcome::Failed("connection refused".into()), 0.0, 0),
        ];
        let s = Summary::new(params(), &bots, &Histograms::new(), Duration::from_secs(11));
        assert_eq!((s.connected, s.failed, s.completed), (3, 1, 2));
        assert_eq!(s.snapshots_received, 645);
        assert!((s.connected_seconds - 22.0).abs() < 1e-9);
        assert!((s.expected_snapshots - 660.0).abs() < 1e-9);
        assert!((s.delivery_ratio - 645.0 / 660.0).abs() < 1e-12);
        assert_eq!((s.min_snapshots_per_bot, s.max_snapshots_per_bot), (55, 300));
        assert_eq!((s.ticks_missed, s.inputs_sent, s.inputs_late), (4, 645, 8));
        assert_eq!((s.bytes_down, s.bytes_up), (64_500, 6_450));
        assert_eq!(s.failures, BTreeMap::from([("connection refused".to_owned(), 1)]));
        assert_eq!(s.disconnects, BTreeMap::from([("1008 flooding".to_owned(), 1)]));
        assert_eq!(s.client_errors, BTreeMap::from([("unexpected message".to_owned(), 2)]));
        assert_eq!(s.failures_line(), "connection refused × 1");
    }

    #[test]
    fn nobody_connected_means_zero_ratio_not_nan() {
        let bots = vec![bot(Outcome::Failed("connect timeout".into()), 0.0, 0); 2];
        let s = Summary::new(params(), &bots, &Histograms::new(), Duration::from_secs(10));
        assert_eq!((s.connected, s.failed), (0, 2));
        assert_eq!((s.expected_snapshots, s.delivery_ratio, s.min_snapshots_per_bot), (0.0, 0.0, 0));
        assert_eq!(s.snapshot_gap_ms, Percentiles { count: 0, p50: 0.0, p90: 0.0, p99: 0.0, max: 0.0 });
        assert_eq!(s.failures_line(), "connect timeout × 2");
        // The human summary renders without samples too.
        assert!(s.to_string().contains("no samples"));
    }

    #[test]
    fn percentiles_come_from_the_shared_histograms_in_ms() {
        let mut h = Histograms::new();
        for us in 1..=1000u64 {
            h.latency_us.record(us * 100).unwrap();
        }
        h.gap_us.record(33_333).unwrap();
        let s = Summary::new(params(), &[bot(Outcome::Completed, 1.0, 30)], &h, Duration::from_secs(1));
        let lat = s.latency_ms;
        assert_eq!(lat.count, 1000);
        assert!((lat.p50 - 50.0).abs() < 0.1, "{lat:?}");
        assert!((lat.p90 - 90.0).abs() < 0.1, "{lat:?}");
        assert!((lat.p99 - 99.0).abs() < 0.1, "{lat:?}");
        assert!((lat.max - 100.0).abs() < 0.1, "{lat:?}");
        assert!((s.snapshot_gap_ms.p50 - 33.333).abs() < 0.05, "{:?}", s.snapshot_gap_ms);
    }

    #[test]
    fn json_has_the_documented_fields() {
        let s = Summary::new(params(), &[bot(Outcome::Completed, 1.0, 30)], &Histograms::new(), Duration::ZERO);
        let json = serde_json::to_value(&s).unwrap();
        for key in [
            "connected",
            "failed",
            "snapshots_received",
            "expected_snapshots",
            "delivery_ratio",
            "min_snapshots_per_bot",
            "bytes_down",
            "bytes_up",
            "disconnects",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        for key in ["p50", "p99", "max"] {
            assert!(json["snapshot_gap_ms"].get(key).is_some(), "{key}");
        }
        for key in ["p50", "p90", "p99", "max"] {
            assert!(json["latency_ms"].get(key).is_some(), "{key}");
        }
        assert_eq!(json["params"]["duration_s"], 10.0);
        assert_eq!(json["params"]["seed"], 9);
        assert_eq!(json["params"]["room"], "main");
        assert_eq!(json["params"]["url"], "ws://127.0.0.1:1/ws");
        assert_eq!(json["params"]["count"], 4);
    }

    #[test]
    fn byte_counts_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
