//! What each bot brings back, and the run summary built from all of them: printed for people,
//! written as JSON for CI, judged against the `--max-p99-latency` / `--min-delivery` thresholds.
//! Building the summary is a pure function, so its arithmetic is tested.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use skirmish_shared::consts::TICK_RATE_HZ;

use crate::bot::LATE_INPUT_MS;
use crate::cli::Params;
use crate::misbehave::{KindSummary, outcome_line};
use crate::mix::Kind;
use crate::samples::{Histograms, histogram};
use crate::spectators::{SpectatorSummary, WatchCounts};

/// How a bot's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Never got `Welcome`: the error kind (refused, timeout, closed by the server, ...).
    Failed(String),
    /// Played until the end of the run, then closed normally.
    Completed,
    /// Welcomed, then lost before the end: the close code and reason, or the error kind.
    Disconnected(String),
    /// The run was stopped (Ctrl-C, SIGTERM) before its start time in the ramp-up came.
    NotStarted,
}

/// One bot's counters. Its timing samples go to the shared [`Histograms`] instead.
#[derive(Debug, Clone, PartialEq)]
pub struct BotReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Its behaviour.
    pub kind: Kind,
    /// The room the server put it in (from `Welcome`); `None` if never welcomed.
    pub room: Option<String>,
    /// Welcomed as a spectator (the room was full of players): it sent no inputs.
    pub spectator: bool,
    /// From its start in the ramp-up to `Welcome`; `None` if never welcomed.
    pub join_time: Option<Duration>,
    /// From `Welcome` to the end of the run or the disconnect.
    pub connected: Duration,
    /// From its start in the ramp-up to the end of the run, even when the connection ended
    /// earlier: the time in which snapshots were due, so the basis of the delivery ratio and of
    /// bytes per second (a bot the server let in late, or dropped early, misses the snapshots of
    /// that time). Zero for a bot never welcomed (it counts as failed instead).
    pub due: Duration,
    /// Snapshots accepted by the client core while connected.
    pub snapshots: u64,
    /// Server ticks it got no snapshot of: gaps in the tick numbers of consecutive snapshots
    /// (dropped or merged by the server), those a stalled server skipped without numbering
    /// (`ticks_unnumbered`), and those overdue when it stopped playing.
    pub ticks_missed: u64,
    /// Part of `ticks_missed`: ticks a stalled server skipped without numbering them, seen as
    /// its snapshots' tick numbers falling behind the clock for good (see `crate::stalls`).
    pub ticks_unnumbered: u64,
    /// Inputs sent.
    pub inputs_sent: u64,
    /// Prediction corrections (`--predict`), and their total length in world units.
    pub corrections: u64,
    pub correction_units: f64,
    /// Input slots whose input went out `LATE_INPUT_MS` or more after the slot, or never (a
    /// starved bot process shows here rather than as a server problem).
    pub inputs_late: u64,
    /// Input slots passed over without an input (part of `inputs_late`).
    pub inputs_missed: u64,
    /// Input slots the core left out on purpose: an input had waited a tick in the server's
    /// buffer, and the slot lets it drain (see `skirmish_client::pace`).
    pub inputs_left_out: u64,
    /// Chat lines sent.
    pub chat_sent: u64,
    /// Game events received.
    pub events: EventCounts,
    /// Payload bytes received (WebSocket and TCP framing not counted).
    pub bytes_down: u64,
    /// Payload bytes sent.
    pub bytes_up: u64,
    /// Messages the client core rejected or the bot could not use, by reason.
    pub client_errors: BTreeMap<String, u64>,
    /// A spectator's `Ack`s and `Follow`s (zero for a player); reported for `--spectators` bots.
    pub watch: WatchCounts,
}

impl BotReport {
    /// A report for a bot that has done nothing yet.
    pub fn new(outcome: Outcome, kind: Kind) -> Self {
        Self {
            outcome,
            kind,
            room: None,
            spectator: false,
            join_time: None,
            connected: Duration::ZERO,
            due: Duration::ZERO,
            snapshots: 0,
            ticks_missed: 0,
            ticks_unnumbered: 0,
            inputs_sent: 0,
            corrections: 0,
            correction_units: 0.0,
            inputs_late: 0,
            inputs_missed: 0,
            inputs_left_out: 0,
            chat_sent: 0,
            events: EventCounts::default(),
            bytes_down: 0,
            bytes_up: 0,
            client_errors: BTreeMap::new(),
            watch: WatchCounts::default(),
        }
    }

    /// Whether the bot got `Welcome`.
    pub fn was_connected(&self) -> bool {
        matches!(self.outcome, Outcome::Completed | Outcome::Disconnected(_))
    }
}

/// Game events a bot received (each counted once per receiving bot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct EventCounts {
    /// Chat and system lines.
    pub chat: u64,
    /// Kill-feed entries.
    pub kills: u64,
    /// Match phase or map changes (one comes right after `Welcome`).
    pub matches: u64,
    /// End-of-match results.
    pub results: u64,
}

impl EventCounts {
    fn add(&mut self, other: &EventCounts) {
        self.chat += other.chat;
        self.kills += other.kills;
        self.matches += other.matches;
        self.results += other.results;
    }
}

/// One threshold's verdict; serialised under `thresholds` by name.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// The limit given on the command line.
    pub limit: f64,
    /// What the run measured; `null` when nothing was measured (no latency sample), which fails.
    pub value: Option<f64>,
    /// Whether the run stayed within the limit.
    pub passed: bool,
}

/// Share of the input slots that, late (`LATE_INPUT_MS` or more) or passed over, makes the
/// summary warn that the bots fell behind: a bot process stalled for a twentieth of the run.
/// Well above what a server freeze leaves (the core re-anchors its tick clock when the
/// snapshots resume, and a few slots per bot come out late: 2.4 % of a 20 s run frozen for
/// 10 s), far below a stalled bot's (a 1.5 s stall in a 20 s run is 7.5 %).
pub const LATE_SLOTS_WARN_SHARE: f64 = 0.05;

/// Rooms listed one by one in the human summary; more are summed up in one line.
const MAX_ROOMS_LISTED: usize = 6;

/// Name of the latency threshold in the JSON.
pub const MAX_P99_LATENCY: &str = "max_p99_latency_ms";
/// Name of the delivery threshold in the JSON.
pub const MIN_DELIVERY: &str = "min_delivery";
/// Name of the failed-bots threshold in the JSON.
pub const MAX_FAILED: &str = "max_failed";
/// Name of `--max-failed` judged on the `--spectators` bots alone, apart from the players'.
pub const MAX_FAILED_SPECTATORS: &str = "max_failed_spectators";

/// Percentiles of one histogram, in ms. All zero when there were no samples (`count` says so);
/// in the JSON they are `null` then, so a dashboard plots a hole rather than 0 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
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

impl Serialize for Percentiles {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The JSON's shape: the same names, the figures `null` without a sample.
        #[derive(Serialize)]
        struct Json {
            count: u64,
            p50: Option<f64>,
            p90: Option<f64>,
            p99: Option<f64>,
            max: Option<f64>,
        }
        let measured = |v: f64| (self.count > 0).then_some(v);
        Json {
            count: self.count,
            p50: measured(self.p50),
            p90: measured(self.p90),
            p99: measured(self.p99),
            max: measured(self.max),
        }
        .serialize(serializer)
    }
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

/// The result of a run; serialised as the `--json` file, field names are its schema. Every
/// figure but `misbehaving` and `spectator_bots` is the well-behaved players' alone
/// (`--misbehave` and `--spectators` bots are left out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// What was run.
    pub params: Params,
    /// Bots that got `Welcome`.
    pub connected: u32,
    /// Bots that tried to join and did not get `Welcome`.
    pub failed: u32,
    /// Bots whose start in the ramp-up never came: the run was stopped before (Ctrl-C, SIGTERM).
    pub not_started: u32,
    /// Connected bots that stayed until the end.
    pub completed: u32,
    /// Connected `-c` bots the server made spectators (room full): they sent no inputs. The
    /// `--spectators` bots, which asked to watch, are `spectator_bots` instead.
    pub spectators: u32,
    /// Why bots failed to join: error kind → count.
    pub failures: BTreeMap<String, u32>,
    /// Why connected bots left early: close code and reason (or error) → count.
    pub disconnects: BTreeMap<String, u32>,
    /// Bots per behaviour, as assigned from `--mix` (connected or not).
    pub behaviours: BTreeMap<String, u32>,
    /// Connected bots per room, as the server's `Welcome` named it.
    pub rooms: BTreeMap<String, u32>,
    /// Snapshots received by all bots.
    pub snapshots_received: u64,
    /// Snapshots due: the sum over welcomed bots of the seconds from their `Welcome` (or from
    /// `bot::JOIN_ALLOWANCE` after their start in the ramp-up, if let in later) to the end of the
    /// run (`due_seconds`; a wait to be let in past that and the rest of the run of a
    /// disconnected bot included: it missed those) × tick rate.
    pub expected_snapshots: f64,
    /// Sum over welcomed bots of their time in the run: from their `Welcome` (or
    /// `bot::JOIN_ALLOWANCE` after their start, if let in later) to its end.
    pub due_seconds: f64,
    /// From each welcomed bot's start in the ramp-up to its `Welcome`: the time the server (and
    /// the `--max-connecting` queue) took to let it in.
    pub join_ms: Percentiles,
    /// `snapshots_received / expected_snapshots`, 0 when none were expected.
    pub delivery_ratio: f64,
    /// Fewest snapshots a connected bot received (0 when no bot connected).
    pub min_snapshots_per_bot: u64,
    /// Most snapshots a connected bot received.
    pub max_snapshots_per_bot: u64,
    /// Server ticks the bots got no snapshot of, summed over bots: gaps in tick numbers, ticks a
    /// stalled server skipped without numbering them, and those overdue at the end.
    pub ticks_missed: u64,
    /// Part of `ticks_missed`: ticks a stalled server skipped without numbering them (its tick
    /// numbers fell behind the clock for good), summed over bots. Not 0: the server froze.
    pub ticks_unnumbered: u64,
    /// Time between consecutive snapshots of one bot.
    pub snapshot_gap_ms: Percentiles,
    /// Input due (one per server tick, as the client core paces them) → first snapshot
    /// acknowledging it.
    pub latency_ms: Percentiles,
    /// Ping round trips.
    pub rtt_ms: Percentiles,
    /// Input slot → the input actually going out: the bots' own delay, included in `latency_ms`.
    pub send_lag_ms: Percentiles,
    /// Inputs sent by all bots.
    pub inputs_sent: u64,
    /// Prediction corrections summed over bots (`--predict`; 0 without it).
    pub corrections: u64,
    /// Corrections per connected bot per minute.
    pub corrections_per_bot_minute: f64,
    /// Mean length of a correction, world units (0 when there were none).
    pub mean_correction_units: f64,
    /// Input slots whose input went out `LATE_INPUT_MS` or more late, or never.
    pub inputs_late: u64,
    /// Input slots passed over without an input (part of `inputs_late`).
    pub inputs_missed: u64,
    /// Input slots left out to drain a backlog in the server's input buffer.
    pub inputs_left_out: u64,
    /// Chat lines sent by the chatting bots.
    pub chat_sent: u64,
    /// Game events received, summed over bots.
    pub events: EventCounts,
    /// Payload bytes received by all bots.
    pub bytes_down: u64,
    /// Payload bytes sent by all bots.
    pub bytes_up: u64,
    /// Payload bytes received per welcomed bot per second of its time in the run:
    /// `bytes_down / due_seconds` (over the run rather than the time connected, which is
    /// close to nothing for a bot let in at the very end).
    pub bytes_down_per_sec: f64,
    /// Payload bytes sent per welcomed bot per second of its time in the run: `bytes_up /
    /// due_seconds`.
    pub bytes_up_per_sec: f64,
    /// Sum of the bots' connected time, in seconds.
    pub connected_seconds: f64,
    /// Messages the client core rejected, by reason, summed over bots.
    pub client_errors: BTreeMap<String, u64>,
    /// Verdicts of the thresholds, by name: [`MAX_FAILED`] always, [`MAX_P99_LATENCY`] and
    /// [`MIN_DELIVERY`] when given.
    pub thresholds: BTreeMap<&'static str, Threshold>,
    /// Wall-clock length of the run, in seconds.
    pub elapsed_s: f64,
    /// The run was cut short (Ctrl-C): the figures cover only the time it ran.
    pub stopped_early: bool,
    /// The `--misbehave` bots by kind: how many, and what the server did about them.
    pub misbehaving: BTreeMap<String, KindSummary>,
    /// The `--spectators` bots' own figures; `null` without `--spectators`.
    pub spectator_bots: Option<SpectatorSummary>,
}

impl Summary {
    /// Aggregates the bots' reports and the shared timing histograms.
    pub fn new(params: Params, bots: &[BotReport], timings: &Histograms, elapsed: Duration) -> Self {
        let mut s = Summary {
            params,
            connected: 0,
            failed: 0,
            not_started: 0,
            completed: 0,
            spectators: 0,
            failures: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            behaviours: BTreeMap::new(),
            rooms: BTreeMap::new(),
            snapshots_received: 0,
            expected_snapshots: 0.0,
            due_seconds: 0.0,
            join_ms: Percentiles::from_us(&histogram()),
            delivery_ratio: 0.0,
            min_snapshots_per_bot: 0,
            max_snapshots_per_bot: 0,
            ticks_missed: 0,
            ticks_unnumbered: 0,
            snapshot_gap_ms: Percentiles::from_us(&timings.gap_us),
            latency_ms: Percentiles::from_us(&timings.latency_us),
            rtt_ms: Percentiles::from_us(&timings.rtt_us),
            send_lag_ms: Percentiles::from_us(&timings.send_lag_us),
            inputs_sent: 0,
            corrections: 0,
            corrections_per_bot_minute: 0.0,
            mean_correction_units: 0.0,
            inputs_late: 0,
            inputs_missed: 0,
            inputs_left_out: 0,
            chat_sent: 0,
            events: EventCounts::default(),
            bytes_down: 0,
            bytes_up: 0,
            bytes_down_per_sec: 0.0,
            bytes_up_per_sec: 0.0,
            connected_seconds: 0.0,
            client_errors: BTreeMap::new(),
            thresholds: BTreeMap::new(),
            elapsed_s: elapsed.as_secs_f64(),
            stopped_early: false,
            misbehaving: BTreeMap::new(),
            spectator_bots: None,
        };
        let mut min_snapshots = None::<u64>;
        let mut due_seconds = 0.0;
        let mut correction_units = 0.0;
        let mut join_us = histogram();
        for bot in bots {
            if let Some(join) = bot.join_time {
                join_us.saturating_record(u64::try_from(join.as_micros()).unwrap_or(u64::MAX));
            }
            *s.behaviours.entry(bot.kind.name().to_owned()).or_default() += 1;
            match &bot.outcome {
                Outcome::Failed(kind) => {
                    s.failed += 1;
                    *s.failures.entry(kind.clone()).or_default() += 1;
                }
                Outcome::Completed => s.completed += 1,
                Outcome::Disconnected(why) => *s.disconnects.entry(why.clone()).or_default() += 1,
                Outcome::NotStarted => s.not_started += 1,
            }
            if bot.was_connected() {
                s.connected += 1;
                min_snapshots = Some(min_snapshots.map_or(bot.snapshots, |m| m.min(bot.snapshots)));
                s.max_snapshots_per_bot = s.max_snapshots_per_bot.max(bot.snapshots);
                s.spectators += u32::from(bot.spectator);
            }
            if let Some(room) = &bot.room {
                *s.rooms.entry(room.clone()).or_default() += 1;
            }
            s.snapshots_received += bot.snapshots;
            s.connected_seconds += bot.connected.as_secs_f64();
            due_seconds += bot.due.as_secs_f64();
            s.ticks_missed += bot.ticks_missed;
            s.ticks_unnumbered += bot.ticks_unnumbered;
            s.inputs_sent += bot.inputs_sent;
            s.corrections += bot.corrections;
            correction_units += bot.correction_units;
            s.inputs_late += bot.inputs_late;
            s.inputs_missed += bot.inputs_missed;
            s.inputs_left_out += bot.inputs_left_out;
            s.chat_sent += bot.chat_sent;
            s.events.add(&bot.events);
            s.bytes_down += bot.bytes_down;
            s.bytes_up += bot.bytes_up;
            for (why, n) in &bot.client_errors {
                *s.client_errors.entry(why.clone()).or_default() += n;
            }
        }
        s.join_ms = Percentiles::from_us(&join_us);
        s.due_seconds = due_seconds;
        s.min_snapshots_per_bot = min_snapshots.unwrap_or(0);
        s.expected_snapshots = due_seconds * f64::from(TICK_RATE_HZ);
        s.delivery_ratio =
            if s.expected_snapshots > 0.0 { s.snapshots_received as f64 / s.expected_snapshots } else { 0.0 };
        if s.corrections > 0 {
            s.mean_correction_units = correction_units / s.corrections as f64;
        }
        if s.connected_seconds > 0.0 {
            s.corrections_per_bot_minute = s.corrections as f64 * 60.0 / s.connected_seconds;
        }
        if due_seconds > 0.0 {
            s.bytes_down_per_sec = s.bytes_down as f64 / due_seconds;
            s.bytes_up_per_sec = s.bytes_up as f64 / due_seconds;
        }
        s.thresholds = s.judge();
        s
    }

    /// Adds the `--spectators` bots' figures, and judges `--max-failed` on them apart: a run
    /// whose watchers were refused put only part of its load on the server, but they must not
    /// dilute the players' share either.
    pub fn with_spectators(mut self, spectators: SpectatorSummary) -> Self {
        let limit = self.params.thresholds.max_failed;
        let started = spectators.started();
        let value = if started == 0 { 0.0 } else { f64::from(spectators.failed_or_dropped()) / f64::from(started) };
        self.thresholds.insert(MAX_FAILED_SPECTATORS, Threshold { limit, value: Some(value), passed: value <= limit });
        self.spectator_bots = Some(spectators);
        self
    }

    /// Bots that failed to join or were dropped before the end: the load a run meant to put on
    /// the server and did not.
    pub fn failed_or_dropped(&self) -> u32 {
        self.failed + (self.connected - self.completed)
    }

    /// Bots that started: those a run's figures are about.
    pub fn started(&self) -> u32 {
        self.failed + self.connected
    }

    /// The verdict of each threshold in the parameters.
    fn judge(&self) -> BTreeMap<&'static str, Threshold> {
        let limits = self.params.thresholds;
        let mut verdicts = BTreeMap::new();
        // Always judged: a run that put only part of its load on the server (bots refused by a
        // cap, or dropped when the server died) must not pass on the figures of the rest.
        let value =
            if self.started() == 0 { 0.0 } else { f64::from(self.failed_or_dropped()) / f64::from(self.started()) };
        verdicts.insert(
            MAX_FAILED,
            Threshold { limit: limits.max_failed, value: Some(value), passed: value <= limits.max_failed },
        );
        if let Some(limit) = limits.max_p99_latency_ms {
            // Without a single acknowledged input the latency is unknown: that cannot pass.
            let value = (self.latency_ms.count > 0).then_some(self.latency_ms.p99);
            verdicts.insert(MAX_P99_LATENCY, Threshold { limit, value, passed: value.is_some_and(|v| v <= limit) });
        }
        if let Some(limit) = limits.min_delivery {
            let value = self.delivery_ratio;
            verdicts.insert(MIN_DELIVERY, Threshold { limit, value: Some(value), passed: value >= limit });
        }
        verdicts
    }

    /// Input slots in all: those an input went out for and those passed over.
    pub fn input_slots(&self) -> u64 {
        self.inputs_sent + self.inputs_missed
    }

    /// Whether the bots themselves fell behind their schedule, so the bot process, not only the
    /// server, shaped the latency figures: their send lag p99 reached a tick, or at least
    /// [`LATE_SLOTS_WARN_SHARE`] of the input slots went out late or never. The second catches
    /// a stalled bot process: the slots it slept through are passed over, not sent late, so
    /// they never reach the send-lag histogram (three 1.5 s stalls in a 20 s run left its p99
    /// at 10 ms with 24 % of the slots late).
    pub fn bots_fell_behind(&self) -> bool {
        let tick_ms = 1000.0 / f64::from(TICK_RATE_HZ);
        let slots = self.input_slots();
        let late_share = if slots == 0 { 0.0 } else { self.inputs_late as f64 / slots as f64 };
        (self.send_lag_ms.count > 0 && self.send_lag_ms.p99 >= tick_ms) || late_share >= LATE_SLOTS_WARN_SHARE
    }

    /// One line per failed threshold, naming its option, limit and measured value.
    pub fn failed_thresholds(&self) -> Vec<String> {
        self.thresholds.iter().filter(|(_, t)| !t.passed).map(|(name, t)| threshold_text(name, t)).collect()
    }

    /// The failure kinds in one line, most frequent first: `connection refused × 20`. The
    /// misbehaving bots' failures to join count too: with no bot in, every bot's cause is news.
    pub fn failures_line(&self) -> String {
        let mut all = self.failures.clone();
        for kind in self.misbehaving.values() {
            for (why, n) in &kind.failed {
                *all.entry(why.clone()).or_default() += n;
            }
        }
        count_line(&all)
    }

    /// Why the run measured nothing, if it did not: no well-behaved bot connected (while some
    /// were meant to play), or none at all, the misbehaving ones included (a run of misbehaving
    /// bots only, none of which got in to misbehave). `None` when a bot got in that the run was
    /// there to see: the misbehaving ones report what the server did to them.
    pub fn nobody_connected(&self) -> Option<String> {
        let well_behaved: u32 = self.behaviours.values().sum();
        let misbehaving_in: u32 =
            self.misbehaving.values().map(|k| k.bots - k.failed.values().sum::<u32>().min(k.bots)).sum();
        if self.connected > 0 || (well_behaved == 0 && misbehaving_in > 0) {
            return None;
        }
        let who = if well_behaved == 0 { " (every bot misbehaving, none got in)" } else { "" };
        Some(format!("no bot connected to {}{who}: {}", self.params.url, self.failures_line()))
    }
}

/// `--max-p99-latency 40 ms: measured 35.2 ms`, for the summary and the failure message.
fn threshold_text(name: &str, t: &Threshold) -> String {
    let measured = |unit: &str, digits: usize| {
        t.value.map_or_else(|| "nothing measured".to_owned(), |v| format!("measured {v:.digits$}{unit}"))
    };
    match name {
        MAX_P99_LATENCY => format!("--max-p99-latency {} ms: latency p99 {}", t.limit, measured(" ms", 1)),
        MIN_DELIVERY => format!("--min-delivery {}: delivery ratio {}", t.limit, measured("", 4)),
        MAX_FAILED => format!("--max-failed {}: share of bots failed to join or dropped {}", t.limit, measured("", 3)),
        MAX_FAILED_SPECTATORS => format!(
            "--max-failed {} (spectator bots): share of spectator bots failed to join or dropped {}",
            t.limit,
            measured("", 3)
        ),
        other => format!("{other} {}: {}", t.limit, measured("", 3)),
    }
}

pub(crate) fn count_line(counts: &BTreeMap<String, u32>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let mut sorted: Vec<_> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    sorted.iter().map(|(why, n)| format!("{why} × {n}")).collect::<Vec<_>>().join(", ")
}

pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

pub(crate) fn percentiles_line(p: &Percentiles) -> String {
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
            "skirmish-bots: {} bots, {:.1} s (+{:.1} s ramp-up), {} {}, {}, seed {}, took {:.1} s{}",
            p.count,
            p.duration,
            p.ramp_up,
            p.url,
            p.rooms_text(),
            p.behaviour_text(),
            p.seed,
            self.elapsed_s,
            if self.stopped_early { " (stopped early)" } else { "" }
        )?;
        let behaviours: Vec<String> =
            Kind::ALL.iter().filter_map(|k| self.behaviours.get(k.name()).map(|n| format!("{n} {k}"))).collect();
        let spectators = if self.spectators > 0 {
            format!(" ({} as spectators: room full)", self.spectators)
        } else {
            String::new()
        };
        let not_started = if self.not_started > 0 {
            format!(", {} not started (stopped early)", self.not_started)
        } else {
            String::new()
        };
        if p.playing() == 0 {
            writeln!(f, "  bots         none playing: all {} misbehave on purpose (below)", p.count)?;
        } else {
            writeln!(
                f,
                "  bots         {} connected{spectators}, {} failed{not_started}, {} stayed to the end; {}",
                self.connected,
                self.failed,
                self.completed,
                behaviours.join(", ")
            )?;
        }
        if self.rooms.len() > MAX_ROOMS_LISTED {
            let (min, max) = (self.rooms.values().min(), self.rooms.values().max());
            let (min, max) = (min.copied().unwrap_or(0), max.copied().unwrap_or(0));
            writeln!(f, "  rooms        {} rooms, {min}..{max} bots each (each room in --json)", self.rooms.len())?;
        } else if self.rooms.len() > 1 {
            let rooms: Vec<String> = self.rooms.iter().map(|(room, n)| format!("{room} {n}")).collect();
            writeln!(f, "  rooms        {}", rooms.join(", "))?;
        }
        writeln!(
            f,
            "  snapshots    {} of {:.0} due (delivery {:.2} %), per bot {}..{}, {} ticks missed{}",
            self.snapshots_received,
            self.expected_snapshots,
            self.delivery_ratio * 100.0,
            self.min_snapshots_per_bot,
            self.max_snapshots_per_bot,
            self.ticks_missed,
            if self.ticks_unnumbered > 0 {
                format!(" ({} of them skipped unnumbered: the server stalled)", self.ticks_unnumbered)
            } else {
                String::new()
            }
        )?;
        writeln!(f, "  join ms      {}", percentiles_line(&self.join_ms))?;
        writeln!(f, "  gap ms       {}", percentiles_line(&self.snapshot_gap_ms))?;
        writeln!(f, "  latency ms   {}", percentiles_line(&self.latency_ms))?;
        writeln!(f, "  send lag ms  {}", percentiles_line(&self.send_lag_ms))?;
        writeln!(f, "  ping rtt ms  {}", percentiles_line(&self.rtt_ms))?;
        writeln!(
            f,
            "  inputs       {} sent, {} slots late (≥ {LATE_INPUT_MS} ms), {} missed, {} left out to drain the server's buffer",
            self.inputs_sent, self.inputs_late, self.inputs_missed, self.inputs_left_out
        )?;
        if p.predict {
            writeln!(
                f,
                "  prediction   {} corrections, {:.2} per bot-minute, {:.1} units on average",
                self.corrections, self.corrections_per_bot_minute, self.mean_correction_units
            )?;
        }
        writeln!(
            f,
            "  traffic      {} down, {} up (payload); per bot {}/s down, {}/s up",
            bytes(self.bytes_down),
            bytes(self.bytes_up),
            bytes(self.bytes_down_per_sec.round() as u64),
            bytes(self.bytes_up_per_sec.round() as u64)
        )?;
        let e = &self.events;
        writeln!(
            f,
            "  game         {} chat lines sent; received, all bots together: {} chat lines, {} kills, {} match changes, {} results",
            self.chat_sent, e.chat, e.kills, e.matches, e.results
        )?;
        writeln!(f, "  failures     {}", count_line(&self.failures))?;
        write!(f, "  disconnects  {}", count_line(&self.disconnects))?;
        if !self.client_errors.is_empty() {
            let errors: Vec<_> = self.client_errors.iter().map(|(why, n)| format!("{why} × {n}")).collect();
            write!(f, "\n  bad messages {}", errors.join(", "))?;
        }
        if self.bots_fell_behind() {
            write!(
                f,
                "\n  warning      the bots fell behind their own {TICK_RATE_HZ} Hz schedule (send lag p99 {:.1} ms, {} of {} \
                 input slots late, {} of them missed): latency includes that delay; run fewer bots per process or give \
                 them a machine of their own",
                self.send_lag_ms.p99,
                self.inputs_late,
                self.input_slots(),
                self.inputs_missed
            )?;
        }
        if let Some(spectators) = &self.spectator_bots {
            write!(f, "\n{spectators}")?;
        }
        for (name, t) in &self.thresholds {
            let verdict = if t.passed { "passed" } else { "FAILED" };
            write!(f, "\n  threshold    {}: {verdict}", threshold_text(name, t))?;
        }
        if !self.misbehaving.is_empty() {
            write!(f, "\n  misbehaving  on purpose, left out of every figure above:")?;
            for (kind, s) in &self.misbehaving {
                write!(f, "\n    {kind:<15}{} bots: {}", s.bots, outcome_line(s))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_with(extra: &[&str]) -> Params {
        let args = ["skirmish-bots", "--url", "ws://127.0.0.1:1/ws", "-c", "4", "--duration", "10", "--seed", "9"];
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(args.iter().chain(extra)).unwrap();
        cli.params().unwrap()
    }

    fn params() -> Params {
        params_with(&[])
    }

    fn bot(outcome: Outcome, connected_s: f64, snapshots: u64) -> BotReport {
        let welcomed = matches!(outcome, Outcome::Completed | Outcome::Disconnected(_));
        BotReport {
            room: welcomed.then(|| "main".to_owned()),
            connected: Duration::from_secs_f64(connected_s),
            due: Duration::from_secs_f64(connected_s),
            snapshots,
            ticks_missed: 1,
            inputs_sent: snapshots,
            inputs_late: 2,
            inputs_missed: 1,
            inputs_left_out: 3,
            bytes_down: 100 * snapshots,
            bytes_up: 10 * snapshots,
            ..BotReport::new(outcome, Kind::Wander)
        }
    }

    #[test]
    fn totals_ratio_and_per_bot_minimum() {
        let mut errors = bot(Outcome::Completed, 10.0, 290);
        errors.client_errors.insert("unexpected message".into(), 2);
        let bots = [
            bot(Outcome::Completed, 10.0, 300),
            errors,
            // Dropped after 2 s of a 10 s run: the other 8 s of snapshots are missing too.
            BotReport { due: Duration::from_secs(10), ..bot(Outcome::Disconnected("1008 flooding".into()), 2.0, 55) },
            bot(Outcome::Failed("connection refused".into()), 0.0, 0),
        ];
        let s = Summary::new(params(), &bots, &Histograms::new(), Duration::from_secs(11));
        assert_eq!((s.connected, s.failed, s.completed), (3, 1, 2));
        assert_eq!(s.snapshots_received, 645);
        assert!((s.connected_seconds - 22.0).abs() < 1e-9);
        assert!((s.expected_snapshots - 900.0).abs() < 1e-9);
        assert!((s.delivery_ratio - 645.0 / 900.0).abs() < 1e-12);
        assert_eq!((s.min_snapshots_per_bot, s.max_snapshots_per_bot), (55, 300));
        assert_eq!((s.ticks_missed, s.inputs_sent, s.inputs_late, s.inputs_missed), (4, 645, 8, 4));
        assert_eq!(s.ticks_unnumbered, 0);
        assert!(s.to_string().contains(", 4 ticks missed\n"), "no stall named: {s}");
        assert_eq!(s.inputs_left_out, 12, "summed like the other input counters");
        assert_eq!((s.bytes_down, s.bytes_up), (64_500, 6_450));
        assert!((s.due_seconds - 30.0).abs() < 1e-9);
        assert!((s.bytes_down_per_sec - 64_500.0 / 30.0).abs() < 1e-9, "per bot-second in the run");
        assert!((s.bytes_up_per_sec - 6_450.0 / 30.0).abs() < 1e-9);
        assert_eq!(s.rooms, BTreeMap::from([("main".to_owned(), 3)]), "connected bots only");
        assert_eq!(s.behaviours, BTreeMap::from([("wander".to_owned(), 4)]), "every bot, connected or not");
        // None given but the failed bots': one refused and one dropped of the four.
        assert_eq!(s.thresholds.keys().copied().collect::<Vec<_>>(), [MAX_FAILED]);
        assert_eq!(s.thresholds[MAX_FAILED], Threshold { limit: 0.0, value: Some(0.5), passed: false });
        assert_eq!(s.failures, BTreeMap::from([("connection refused".to_owned(), 1)]));
        assert_eq!(s.disconnects, BTreeMap::from([("1008 flooding".to_owned(), 1)]));
        assert_eq!(s.client_errors, BTreeMap::from([("unexpected message".to_owned(), 2)]));
        assert_eq!(s.failures_line(), "connection refused × 1");
    }

    #[test]
    fn a_slow_admission_shows_in_delivery_time_to_join_and_rates() {
        // Due for 10 s from their starts, let in after 4 s: 6 s of snapshots each.
        let late = |join_ms: u64| BotReport {
            join_time: Some(Duration::from_millis(join_ms)),
            due: Duration::from_secs(10),
            ..bot(Outcome::Completed, 6.0, 180)
        };
        let bots = [late(4000), late(4100), bot(Outcome::Failed("connect timeout".into()), 0.0, 0)];
        let s = Summary::new(params_with(&["--min-delivery", "0.99"]), &bots, &Histograms::new(), Duration::ZERO);
        assert!((s.delivery_ratio - 0.6).abs() < 1e-9, "{s}");
        assert!(!s.thresholds[MIN_DELIVERY].passed);
        assert_eq!(s.join_ms.count, 2, "welcomed bots only");
        assert!((s.join_ms.p50 - 4000.0).abs() < 5.0 && (s.join_ms.max - 4100.0).abs() < 5.0, "{:?}", s.join_ms);
        assert!((s.bytes_down_per_sec - 2.0 * 18_000.0 / 20.0).abs() < 1e-9, "over the run, not the 12 s connected");
        assert!(s.to_string().contains("join ms      p50 400"), "{s}");
    }

    #[test]
    fn ticks_a_stalled_server_skipped_unnumbered_are_missed_and_named() {
        // Two bots through a 10 s freeze: 5 ticks caught up (a gap in the numbers), 295 skipped.
        let frozen = BotReport { ticks_missed: 300, ticks_unnumbered: 295, ..bot(Outcome::Completed, 20.0, 300) };
        let s = Summary::new(params(), &[frozen.clone(), frozen], &Histograms::new(), Duration::from_secs(20));
        assert_eq!((s.ticks_missed, s.ticks_unnumbered), (600, 590));
        assert!(s.to_string().contains("600 ticks missed (590 of them skipped unnumbered: the server stalled)"), "{s}");
        assert_eq!(serde_json::to_value(&s).unwrap()["ticks_unnumbered"], 590);
    }

    #[test]
    fn nobody_connected_means_zero_ratio_not_nan() {
        let bots = vec![bot(Outcome::Failed("connect timeout".into()), 0.0, 0); 2];
        let s = Summary::new(params(), &bots, &Histograms::new(), Duration::from_secs(10));
        assert_eq!((s.connected, s.failed), (0, 2));
        assert_eq!((s.expected_snapshots, s.delivery_ratio, s.min_snapshots_per_bot), (0.0, 0.0, 0));
        assert_eq!((s.bytes_down_per_sec, s.bytes_up_per_sec), (0.0, 0.0));
        assert_eq!(s.snapshot_gap_ms, Percentiles { count: 0, p50: 0.0, p90: 0.0, p99: 0.0, max: 0.0 });
        // In the JSON nothing measured is null, not 0 ms, under the same names.
        let json = serde_json::to_value(&s).unwrap();
        for key in ["latency_ms", "snapshot_gap_ms", "join_ms", "rtt_ms", "send_lag_ms"] {
            assert_eq!(
                json[key],
                serde_json::json!({"count": 0, "p50": null, "p90": null, "p99": null, "max": null}),
                "{key}"
            );
        }
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
        // Measured figures are numbers in the JSON.
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["latency_ms"]["count"], 1000);
        assert!((json["latency_ms"]["p99"].as_f64().unwrap() - 99.0).abs() < 0.1, "{json}");
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
            "bytes_down_per_sec",
            "bytes_up_per_sec",
            "disconnects",
            "thresholds",
            "rooms",
            "behaviours",
            "events",
            "inputs_late",
            "inputs_missed",
            "inputs_left_out",
            "send_lag_ms",
            "join_ms",
            "due_seconds",
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
        assert_eq!(json["params"]["rooms"], serde_json::Value::Null);
        assert_eq!(json["params"]["url"], "ws://127.0.0.1:1/ws");
        assert_eq!(json["params"]["count"], 4);
        assert_eq!(json["params"]["mix"], serde_json::json!({"wander": 100, "fight": 0, "chat": 0, "idle": 0}));
        assert_eq!(
            json["params"]["thresholds"],
            serde_json::json!({"max_p99_latency_ms": null, "min_delivery": null, "max_failed": 0.0})
        );
    }

    #[test]
    fn rooms_behaviours_and_events_are_counted() {
        let kinds = [Kind::Fight, Kind::Chat, Kind::Idle, Kind::Fight];
        let rooms = ["bots-0", "bots-1", "bots-0", "bots-1"];
        let bots: Vec<BotReport> = kinds
            .iter()
            .zip(rooms)
            .enumerate()
            .map(|(i, (&kind, room))| BotReport {
                kind,
                room: Some(room.to_owned()),
                spectator: i == 3,
                chat_sent: u64::from(kind == Kind::Chat) * 2,
                events: EventCounts { chat: 2, kills: 1, matches: 1, results: 0 },
                ..bot(Outcome::Completed, 1.0, 30)
            })
            .collect();
        let s = Summary::new(params_with(&["--rooms", "2"]), &bots, &Histograms::new(), Duration::from_secs(1));
        let names = |pairs: &[(&str, u32)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>();
        assert_eq!(s.rooms, names(&[("bots-0", 2), ("bots-1", 2)]));
        assert_eq!(s.behaviours, names(&[("chat", 1), ("fight", 2), ("idle", 1)]));
        assert_eq!((s.spectators, s.chat_sent), (1, 2));
        assert_eq!(s.events, EventCounts { chat: 8, kills: 4, matches: 4, results: 0 });
        let text = s.to_string();
        assert!(text.contains("2 rooms bots-0..bots-1"), "{text}");
        assert!(text.contains("rooms        bots-0 2, bots-1 2"), "{text}");
        assert!(text.contains("2 fight, 1 chat, 1 idle"), "{text}");
        assert!(text.contains("1 as spectators"), "{text}");

        let many: Vec<BotReport> = (0..40)
            .map(|i| BotReport { room: Some(format!("bots-{}", i % 10)), ..bot(Outcome::Completed, 1.0, 30) })
            .collect();
        let s = Summary::new(params_with(&["--rooms", "10"]), &many, &Histograms::new(), Duration::from_secs(1));
        assert!(s.to_string().contains("rooms        10 rooms, 4..4 bots each"), "{s}");
    }

    #[test]
    fn thresholds_pass_or_fail_on_the_measured_values() {
        let mut h = Histograms::new();
        for ms in [10, 20, 30, 40, 50] {
            h.latency_us.record(ms * 1000).unwrap();
        }
        // 285 of 300 snapshots: delivery 0.95; latency p99 50 ms.
        let bots = [bot(Outcome::Completed, 10.0, 285)];
        let judged = |extra: &[&str]| Summary::new(params_with(extra), &bots, &h, Duration::from_secs(10));

        let s = judged(&["--max-p99-latency", "60", "--min-delivery", "0.9"]);
        assert!(s.thresholds.values().all(|t| t.passed), "{:?}", s.thresholds);
        assert!(s.failed_thresholds().is_empty());
        assert!(s.to_string().contains("--max-p99-latency 60 ms: latency p99 measured 50.0 ms: passed"), "{s}");

        let s = judged(&["--max-p99-latency", "40", "--min-delivery", "0.999"]);
        let lat = s.thresholds[MAX_P99_LATENCY];
        assert_eq!((lat.limit, lat.passed), (40.0, false));
        assert!((lat.value.unwrap() - 50.0).abs() < 0.1, "{lat:?}");
        let del = s.thresholds[MIN_DELIVERY];
        assert_eq!((del.limit, del.passed), (0.999, false));
        assert!((del.value.unwrap() - 0.95).abs() < 1e-9, "{del:?}");
        let failed = s.failed_thresholds();
        assert_eq!(failed.len(), 2, "{failed:?}");
        assert!(failed[0].starts_with("--max-p99-latency 40 ms: latency p99 measured 50.0 ms"), "{failed:?}");
        assert!(failed[1].starts_with("--min-delivery 0.999: delivery ratio measured 0.9500"), "{failed:?}");
        assert!(s.to_string().contains("FAILED"));

        // Only the given thresholds are judged, and the failed bots' always; one that measured
        // nothing fails.
        let s = judged(&["--min-delivery", "0.9"]);
        assert_eq!(s.thresholds.keys().copied().collect::<Vec<_>>(), [MAX_FAILED, MIN_DELIVERY]);
        let s = Summary::new(params_with(&["--max-p99-latency", "1000"]), &bots, &Histograms::new(), Duration::ZERO);
        assert_eq!(s.thresholds[MAX_P99_LATENCY], Threshold { limit: 1000.0, value: None, passed: false });
        assert!(s.failed_thresholds()[0].contains("nothing measured"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["thresholds"]["max_p99_latency_ms"],
            serde_json::json!({"limit": 1000.0, "value": null, "passed": false})
        );
    }

    #[test]
    fn bots_refused_or_dropped_fail_the_run_unless_allowed() {
        let refused = bot(Outcome::Failed("http 429 Too Many Requests".into()), 0.0, 0);
        let dropped = BotReport { due: Duration::from_secs(10), ..bot(Outcome::Disconnected("lost".into()), 2.0, 60) };
        // 3 of 10 refused, 1 dropped: the other 6 alone pass a delivery threshold.
        let mut bots = vec![bot(Outcome::Completed, 10.0, 300); 6];
        bots.extend([refused.clone(), refused.clone(), refused, dropped]);
        let judged =
            |extra: &[&str]| Summary::new(params_with(extra), &bots, &Histograms::new(), Duration::from_secs(10));
        let s = judged(&[]);
        assert_eq!((s.failed_or_dropped(), s.started()), (4, 10));
        assert_eq!(s.thresholds[MAX_FAILED], Threshold { limit: 0.0, value: Some(0.4), passed: false });
        assert_eq!(
            s.failed_thresholds(),
            ["--max-failed 0: share of bots failed to join or dropped measured 0.400"],
            "{s}"
        );
        assert!(judged(&["--max-failed", "0.4"]).failed_thresholds().is_empty());
        assert!(!judged(&["--max-failed", "0.39"]).failed_thresholds().is_empty());
        assert!(judged(&["--max-failed", "1"]).failed_thresholds().is_empty(), "1 turns it off");
    }

    #[test]
    fn bots_a_stop_kept_from_starting_are_not_failures() {
        let mut bots = vec![bot(Outcome::Completed, 5.0, 150); 2];
        bots.extend(vec![BotReport::new(Outcome::NotStarted, Kind::Wander); 3]);
        let s = Summary::new(params(), &bots, &Histograms::new(), Duration::from_secs(5));
        assert_eq!((s.connected, s.failed, s.not_started, s.completed), (2, 0, 3, 2));
        assert!(s.failures.is_empty());
        assert_eq!(s.started(), 2);
        assert!(s.thresholds[MAX_FAILED].passed, "{:?}", s.thresholds);
        assert!(s.to_string().contains("2 connected, 0 failed, 3 not started (stopped early), 2 stayed"), "{s}");
        // Nobody started at all: nothing failed either.
        let s = Summary::new(params(), &bots[2..], &Histograms::new(), Duration::ZERO);
        assert_eq!(s.thresholds[MAX_FAILED].value, Some(0.0));
    }

    #[test]
    fn a_late_bot_process_is_called_out() {
        let mut h = Histograms::new();
        for _ in 0..98 {
            h.send_lag_us.record(1_000).unwrap();
        }
        // 2 of 301 slots late: under the share that warns by itself.
        let on_time = Summary::new(params(), &[bot(Outcome::Completed, 10.0, 300)], &h, Duration::from_secs(10));
        assert!(!on_time.bots_fell_behind());
        assert!(!on_time.to_string().contains("warning"));
        h.send_lag_us.record(40_000).unwrap();
        h.send_lag_us.record(40_000).unwrap();
        let late = Summary::new(params(), &[bot(Outcome::Completed, 10.0, 300)], &h, Duration::from_secs(10));
        assert!(late.bots_fell_behind());
        assert!(late.to_string().contains("fell behind their own 30 Hz schedule (send lag p99 40.0 ms"), "{late}");
        assert!(late.to_string().contains("slots late (≥ 10 ms)"), "the constants read naturally: {late}");
    }

    #[test]
    fn a_stalled_bot_process_is_called_out_though_its_send_lag_looks_fine() {
        // What a bot process stopped three times for 1.5 s in a 20 s run reported: the slots it
        // slept through were passed over, so the inputs it did send were on time.
        let mut h = Histograms::new();
        for _ in 0..100 {
            h.send_lag_us.record(1_000).unwrap();
        }
        let with_slots = |sent: u64, late: u64, missed: u64| {
            let bot = BotReport {
                inputs_sent: sent,
                inputs_late: late,
                inputs_missed: missed,
                ..bot(Outcome::Completed, 20.0, 600)
            };
            Summary::new(params(), &[bot], &h, Duration::from_secs(20))
        };
        let stalled = with_slots(13_296, 4_141, 4_002);
        assert!(stalled.send_lag_ms.p99 < 33.0, "{:?}", stalled.send_lag_ms);
        assert!(stalled.bots_fell_behind());
        assert!(stalled.to_string().contains("4141 of 17298 input slots late, 4002 of them missed"), "{stalled}");
        // The rule's edge: 5 % of the slots late, missed ones included, warns; just under does not.
        assert!(with_slots(1000, 50, 0).bots_fell_behind());
        assert!(with_slots(950, 50, 50).bots_fell_behind(), "missed slots are slots too");
        assert!(!with_slots(1000, 49, 0).bots_fell_behind());
        // What a 10 s server freeze left in a 20 s run of 10 bots: the server's fault, no warning.
        let frozen = with_slots(5_835, 143, 40);
        assert!(!frozen.bots_fell_behind());
        assert!(!frozen.to_string().contains("warning"), "{frozen}");
    }

    #[test]
    fn byte_counts_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(2048), "2.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }
}
