//! The `--spectators` bots: watchers that join with `Hello.spectate`, acknowledge every snapshot
//! with `Ack` and switch whom they follow now and then, as a caster does ([`FollowPlan`]); and
//! their summary, kept apart from the players' so that no player figure or threshold includes
//! them ([`SpectatorSummary`]).

use std::collections::BTreeMap;
use std::fmt;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;
use skirmish_shared::protocol::{PlayerId, PlayerInfo};

use crate::report::{BotReport, Percentiles, Summary, bytes, count_line, percentiles_line};
use crate::samples::Histograms;

/// Shortest and longest wait between two switches of whom a spectator bot follows, in ms: a
/// caster's pace, a few seconds on each player. Each wait is drawn evenly in between.
pub const FOLLOW_EVERY_MS: (f64, f64) = (1_000.0, 5_000.0);
/// One switch in this many asks for `nil`, the server's choice, as a viewer who lets it pick.
pub const NIL_ONE_IN: u32 = 5;
/// Keeps a spectator's follow choices apart from the other random streams of the same seed.
const FOLLOW_STREAM: u64 = 0x666F_6C6C_6F77_5F21;

/// When a spectator bot switches whom it follows next, and to whom.
#[derive(Debug)]
pub struct FollowPlan {
    rng: Xoshiro256PlusPlus,
    /// When the next switch is due, on the core's clock (ms).
    due_ms: f64,
}

impl FollowPlan {
    /// The plan of the bot with this `seed` (the run's, spread per bot), the first switch due a
    /// drawn wait after `now_ms` (its `Welcome`).
    pub fn new(seed: u64, now_ms: f64) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ FOLLOW_STREAM);
        let due_ms = now_ms + rng.random_range(FOLLOW_EVERY_MS.0..=FOLLOW_EVERY_MS.1);
        Self { rng, due_ms }
    }

    /// When the next switch is due (core clock, ms).
    pub fn due_ms(&self) -> f64 {
        self.due_ms
    }

    /// Whom to follow now, and the next switch scheduled a drawn wait after `now_ms`: a random
    /// player of the `roster` with a ship other than `subject` (whom the view shows now), or
    /// `None`, the server's choice, once in [`NIL_ONE_IN`] or when there is no other player.
    pub fn switch(
        &mut self,
        now_ms: f64,
        roster: &BTreeMap<PlayerId, PlayerInfo>,
        subject: Option<PlayerId>,
    ) -> Option<PlayerId> {
        self.due_ms = now_ms + self.rng.random_range(FOLLOW_EVERY_MS.0..=FOLLOW_EVERY_MS.1);
        if self.rng.random_range(0..NIL_ONE_IN) == 0 {
            return None;
        }
        let others: Vec<PlayerId> =
            roster.values().filter(|p| !p.spectator && Some(p.id) != subject).map(|p| p.id).collect();
        (!others.is_empty()).then(|| others[self.rng.random_range(0..others.len())])
    }
}

/// What one spectator did and saw of `Ack` and `Follow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct WatchCounts {
    /// `Ack` frames sent: one per snapshot decoded that moved the newest tick.
    pub acks_sent: u64,
    /// `Follow` frames sent.
    pub follows_sent: u64,
    /// Of those, `nil`: the server's choice.
    pub follows_nil: u64,
    /// `Follow`s naming a player whose view then came in a snapshot (timed in `follow_ms`).
    pub follows_shown: u64,
    /// `Follow`s the server overruled because a player of the spectator's own address is in the
    /// room (its system line says so; PROTOCOL.md, Follow).
    pub follows_overruled: u64,
}

impl WatchCounts {
    fn add(&mut self, other: &WatchCounts) {
        self.acks_sent += other.acks_sent;
        self.follows_sent += other.follows_sent;
        self.follows_nil += other.follows_nil;
        self.follows_shown += other.follows_shown;
        self.follows_overruled += other.follows_overruled;
    }
}

/// The start of the system line a spectator gets when the server overrules its `Follow`.
pub const OVERRULED_LINE: &str = "you can watch only the players from your own address";

/// The `--spectators` bots' figures (`spectator_bots` in the JSON), measured as the players'
/// are (see [`Summary`]) but over the spectator bots alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectatorSummary {
    /// `--spectators`.
    pub bots: u32,
    /// Spectator bots that got `Welcome`.
    pub connected: u32,
    /// Spectator bots that tried to join and did not get `Welcome`.
    pub failed: u32,
    /// Spectator bots whose start never came (stopped early).
    pub not_started: u32,
    /// Connected spectator bots that stayed until the end.
    pub completed: u32,
    /// Why spectator bots failed to join: error kind → count.
    pub failures: BTreeMap<String, u32>,
    /// Why connected spectator bots left early: close code and reason (or error) → count.
    pub disconnects: BTreeMap<String, u32>,
    /// Connected spectator bots per room, as the server's `Welcome` named it.
    pub rooms: BTreeMap<String, u32>,
    /// Snapshots received by all spectator bots.
    pub snapshots_received: u64,
    /// Snapshots due, counted as the players' (30 Hz over each one's time in the run).
    pub expected_snapshots: f64,
    /// `snapshots_received / expected_snapshots`, 0 when none were expected.
    pub delivery_ratio: f64,
    /// Fewest and most snapshots a connected spectator bot received.
    pub min_snapshots_per_bot: u64,
    pub max_snapshots_per_bot: u64,
    /// Server ticks the spectator bots got no snapshot of, summed.
    pub ticks_missed: u64,
    /// From each one's start in the ramp-up to its `Welcome`.
    pub join_ms: Percentiles,
    /// Time between consecutive snapshots of one spectator bot.
    pub snapshot_gap_ms: Percentiles,
    /// A spectator sends no inputs, so it has no input latency; this is its latency instead:
    /// from a `Follow` naming a player to the first snapshot showing that player's view.
    pub follow_ms: Percentiles,
    /// Ping round trips.
    pub rtt_ms: Percentiles,
    /// `Ack`s and `Follow`s, summed.
    #[serde(flatten)]
    pub watch: WatchCounts,
    /// Payload bytes received and sent by all spectator bots.
    pub bytes_down: u64,
    pub bytes_up: u64,
    /// Payload bytes per spectator bot per second of its time in the run.
    pub bytes_down_per_sec: f64,
    pub bytes_up_per_sec: f64,
    /// Bytes received per snapshot received: everything that came (snapshots, chat, scores…)
    /// over the snapshots, so what a spectator costs per tick. 0 without a snapshot.
    pub bytes_down_per_snapshot: f64,
    /// Messages the client core rejected, by reason, summed.
    pub client_errors: BTreeMap<String, u64>,
}

impl SpectatorSummary {
    /// Aggregates the spectator bots' reports and their own timing histograms, with the
    /// players' arithmetic (`params` only names the run; nothing of it is judged here).
    pub fn new(params: crate::cli::Params, bots: &[BotReport], timings: &Histograms) -> Self {
        let s = Summary::new(params, bots, timings, std::time::Duration::ZERO);
        let mut watch = WatchCounts::default();
        for bot in bots {
            watch.add(&bot.watch);
        }
        Self {
            bots: bots.len() as u32,
            connected: s.connected,
            failed: s.failed,
            not_started: s.not_started,
            completed: s.completed,
            failures: s.failures,
            disconnects: s.disconnects,
            rooms: s.rooms,
            snapshots_received: s.snapshots_received,
            expected_snapshots: s.expected_snapshots,
            delivery_ratio: s.delivery_ratio,
            min_snapshots_per_bot: s.min_snapshots_per_bot,
            max_snapshots_per_bot: s.max_snapshots_per_bot,
            ticks_missed: s.ticks_missed,
            join_ms: s.join_ms,
            snapshot_gap_ms: s.snapshot_gap_ms,
            // The spectators' own histograms: their latency slot holds the follow switches.
            follow_ms: s.latency_ms,
            rtt_ms: s.rtt_ms,
            watch,
            bytes_down: s.bytes_down,
            bytes_up: s.bytes_up,
            bytes_down_per_sec: s.bytes_down_per_sec,
            bytes_up_per_sec: s.bytes_up_per_sec,
            bytes_down_per_snapshot: if s.snapshots_received > 0 {
                s.bytes_down as f64 / s.snapshots_received as f64
            } else {
                0.0
            },
            client_errors: s.client_errors,
        }
    }

    /// Spectator bots that failed to join or were dropped before the end.
    pub fn failed_or_dropped(&self) -> u32 {
        self.failed + (self.connected - self.completed)
    }

    /// Spectator bots that started.
    pub fn started(&self) -> u32 {
        self.failed + self.connected
    }
}

/// The spectators' block of the human summary, every line indented under `spectators`.
impl fmt::Display for SpectatorSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not_started =
            if self.not_started > 0 { format!(", {} not started", self.not_started) } else { String::new() };
        write!(
            f,
            "  spectators   {} bots watching (--spectators), left out of the players' figures above: {} connected, \
             {} failed{not_started}, {} stayed to the end",
            self.bots, self.connected, self.failed, self.completed
        )?;
        if self.rooms.len() > 1 {
            let rooms: Vec<String> = self.rooms.iter().map(|(room, n)| format!("{room} {n}")).collect();
            write!(f, "\n    rooms        {}", rooms.join(", "))?;
        }
        write!(
            f,
            "\n    snapshots    {} of {:.0} due (delivery {:.2} %), per bot {}..{}, {} ticks missed, {} acknowledged",
            self.snapshots_received,
            self.expected_snapshots,
            self.delivery_ratio * 100.0,
            self.min_snapshots_per_bot,
            self.max_snapshots_per_bot,
            self.ticks_missed,
            self.watch.acks_sent
        )?;
        write!(f, "\n    join ms      {}", percentiles_line(&self.join_ms))?;
        write!(f, "\n    gap ms       {}", percentiles_line(&self.snapshot_gap_ms))?;
        write!(f, "\n    follow ms    {}", percentiles_line(&self.follow_ms))?;
        write!(f, "\n    ping rtt ms  {}", percentiles_line(&self.rtt_ms))?;
        let w = &self.watch;
        write!(
            f,
            "\n    follows      {} sent ({} of them nil, the server's choice), {} shown, {} overruled (a player of \
             the spectator's own address is in the room)",
            w.follows_sent, w.follows_nil, w.follows_shown, w.follows_overruled
        )?;
        write!(
            f,
            "\n    traffic      {} down, {} up (payload); per bot {}/s down, {}/s up; {:.0} B down per snapshot",
            bytes(self.bytes_down),
            bytes(self.bytes_up),
            bytes(self.bytes_down_per_sec.round() as u64),
            bytes(self.bytes_up_per_sec.round() as u64),
            self.bytes_down_per_snapshot
        )?;
        write!(f, "\n    failures     {}", count_line(&self.failures))?;
        write!(f, "\n    disconnects  {}", count_line(&self.disconnects))?;
        if !self.client_errors.is_empty() {
            let errors: Vec<_> = self.client_errors.iter().map(|(why, n)| format!("{why} × {n}")).collect();
            write!(f, "\n    bad messages {}", errors.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::Outcome;

    fn roster(players: &[(PlayerId, bool)]) -> BTreeMap<PlayerId, PlayerInfo> {
        players
            .iter()
            .map(|&(id, spectator)| (id, PlayerInfo { id, name: format!("p{id}"), colour: 0, spectator }))
            .collect()
    }

    #[test]
    fn switches_go_to_another_player_with_a_ship_or_to_the_servers_choice() {
        let room = roster(&[(1, false), (2, false), (3, false), (7, true), (8, true)]);
        let mut plan = FollowPlan::new(42, 0.0);
        let mut now = 0.0;
        let (mut nil, mut chosen) = (0, BTreeMap::<PlayerId, u32>::new());
        for _ in 0..1000 {
            let due = plan.due_ms();
            assert!((now + FOLLOW_EVERY_MS.0..=now + FOLLOW_EVERY_MS.1).contains(&due), "{due} after {now}");
            now = due;
            match plan.switch(now, &room, Some(2)) {
                None => nil += 1,
                Some(id) => *chosen.entry(id).or_default() += 1,
            }
        }
        assert_eq!(chosen.keys().copied().collect::<Vec<_>>(), [1, 3], "never a spectator, never the one shown");
        // One in five asks for the server's choice: 200 expected of 1000.
        assert!((120..=280).contains(&nil), "{nil}");
    }

    #[test]
    fn with_nobody_else_to_watch_the_server_chooses() {
        let mut plan = FollowPlan::new(1, 0.0);
        for _ in 0..50 {
            assert_eq!(plan.switch(0.0, &roster(&[(4, false), (9, true)]), Some(4)), None);
            assert_eq!(plan.switch(0.0, &BTreeMap::new(), None), None);
        }
    }

    fn params(extra: &[&str]) -> crate::cli::Params {
        let args = ["skirmish-bots", "--url", "ws://127.0.0.1:1/ws", "-c", "2", "--duration", "10", "--seed", "9"];
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(args.iter().chain(extra)).unwrap();
        cli.params().unwrap()
    }

    fn watcher(outcome: Outcome, snapshots: u64, follows_shown: u64) -> BotReport {
        let welcomed = matches!(outcome, Outcome::Completed | Outcome::Disconnected(_));
        BotReport {
            room: welcomed.then(|| "main".to_owned()),
            spectator: welcomed,
            connected: Duration::from_secs(10),
            due: Duration::from_secs(if welcomed { 10 } else { 0 }),
            snapshots,
            bytes_down: 50 * snapshots,
            bytes_up: 8 * snapshots,
            watch: WatchCounts {
                acks_sent: snapshots,
                follows_sent: 3,
                follows_nil: 1,
                follows_shown,
                follows_overruled: 0,
            },
            ..BotReport::new(outcome, crate::mix::Kind::Idle)
        }
    }

    fn player(snapshots: u64) -> BotReport {
        BotReport {
            room: Some("main".to_owned()),
            connected: Duration::from_secs(10),
            due: Duration::from_secs(10),
            snapshots,
            inputs_sent: snapshots,
            bytes_down: 100 * snapshots,
            ..BotReport::new(Outcome::Completed, crate::mix::Kind::Wander)
        }
    }

    #[test]
    fn spectators_are_summed_apart_and_judged_on_their_own() {
        let params = params(&["--spectators", "3", "--min-delivery", "0.99"]);
        assert_eq!((params.count, params.spectators, params.all_bots()), (2, 3, 5));
        let players = [player(300), player(300)];
        let watchers = [
            watcher(Outcome::Completed, 300, 2),
            watcher(Outcome::Completed, 150, 1),
            watcher(Outcome::Failed("1008 room main has no place left for spectators".into()), 0, 0),
        ];
        let mut timings = Histograms::new();
        timings.latency_us.record(20_000).unwrap();
        let spectators = SpectatorSummary::new(params.clone(), &watchers, &timings);
        let s = Summary::new(params, &players, &Histograms::new(), Duration::from_secs(10)).with_spectators(spectators);
        // The players' figures and thresholds are theirs alone: half-fed watchers change nothing.
        assert_eq!((s.connected, s.failed, s.spectators, s.snapshots_received), (2, 0, 0, 600));
        assert!((s.delivery_ratio - 1.0).abs() < 1e-9);
        assert!(s.thresholds[crate::report::MIN_DELIVERY].passed && s.thresholds[crate::report::MAX_FAILED].passed);
        let w = s.spectator_bots.as_ref().unwrap();
        assert_eq!((w.bots, w.connected, w.failed, w.completed), (3, 2, 1, 2));
        assert_eq!(w.snapshots_received, 450);
        assert!((w.delivery_ratio - 450.0 / 600.0).abs() < 1e-9, "{}", w.delivery_ratio);
        assert!((w.bytes_down_per_snapshot - 50.0).abs() < 1e-9);
        assert_eq!(
            w.watch,
            WatchCounts { acks_sent: 450, follows_sent: 9, follows_nil: 3, follows_shown: 3, follows_overruled: 0 }
        );
        assert_eq!(w.follow_ms.count, 1, "their latency slot holds the follow switches");
        // The refused watcher fails the run under its own name.
        let refused = s.thresholds[crate::report::MAX_FAILED_SPECTATORS];
        assert_eq!((refused.value, refused.passed), (Some(1.0 / 3.0), false));
        assert_eq!(s.failed_thresholds().len(), 1, "{:?}", s.failed_thresholds());
        assert!(s.failed_thresholds()[0].contains("(spectator bots)"));
        let text = s.to_string();
        assert!(text.contains("spectators   3 bots watching (--spectators)"), "{text}");
        assert!(text.contains("follows      9 sent (3 of them nil"), "{text}");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["spectator_bots"]["acks_sent"], 450, "{json}");
        assert_eq!(json["spectator_bots"]["follow_ms"]["count"], 1, "{json}");
        assert_eq!(json["params"]["spectators"], 3, "{json}");
    }

    #[test]
    fn without_spectators_there_is_no_section_nor_verdict() {
        let s = Summary::new(params(&[]), &[player(300)], &Histograms::new(), Duration::from_secs(10));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["spectator_bots"], serde_json::Value::Null);
        assert!(!s.thresholds.contains_key(crate::report::MAX_FAILED_SPECTATORS));
        assert!(!s.to_string().contains("spectators   "));
    }

    #[test]
    fn the_same_seed_makes_the_same_choices() {
        let room = roster(&[(1, false), (2, false), (3, false), (4, false)]);
        let run = |seed| {
            let mut plan = FollowPlan::new(seed, 0.0);
            (0..20).map(|_| (plan.due_ms(), plan.switch(plan.due_ms(), &room, None))).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
