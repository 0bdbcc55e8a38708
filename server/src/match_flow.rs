//! The match cycle of one room as a small state machine, plain Rust and counted in ticks:
//! Waiting → Countdown → Playing → Results → (next map) Countdown or Waiting.
//!
//! It only decides *when* the phase changes; the `World` carries out what a change means
//! (respawning, resetting scores, switching maps). Rules worth knowing:
//! - Waiting lasts while fewer than `min_players` ships are in the room.
//! - A countdown, once begun, runs to the match even if players leave below `min_players`;
//!   only a room left with no ship at all goes back to Waiting. Were it called off, one player
//!   joining and leaving in a loop would hold a lone player frozen in countdown after
//!   countdown, sent back to a spawn point at each.
//! - A match in progress goes on to its end even if players leave: the score limit or the clock
//!   still ends it, so leaving never cancels a match someone is winning.

use std::time::Duration;

use skirmish_shared::Phase;
use skirmish_shared::consts::TICK_RATE_HZ;

/// The timings and limits of a match, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchSettings {
    /// Length of the countdown (0: the match starts at once).
    pub countdown_ticks: u32,
    /// Length of the playing phase; at least 1.
    pub match_ticks: u32,
    /// How long results are shown.
    pub results_ticks: u32,
    /// Kills that end the match; 0 means no limit (the clock alone ends it).
    pub score_limit: u16,
    /// Ships needed to start a match; at least 1.
    pub min_players: usize,
}

impl MatchSettings {
    /// Settings from durations, each rounded up to whole ticks.
    pub fn new(
        countdown: Duration,
        match_len: Duration,
        results: Duration,
        score_limit: u16,
        min_players: usize,
    ) -> Self {
        Self {
            countdown_ticks: ticks(countdown),
            match_ticks: ticks(match_len).max(1),
            results_ticks: ticks(results),
            score_limit,
            min_players: min_players.max(1),
        }
    }

    /// Length of the playing phase in whole seconds (for `MatchInfo`).
    pub fn match_secs(&self) -> u32 {
        self.match_ticks.div_ceil(TICK_RATE_HZ)
    }
}

impl Default for MatchSettings {
    /// The server's defaults: 5 s countdown, 5 min matches, 10 s of results, 20 kills, 2 players.
    fn default() -> Self {
        Self::new(Duration::from_secs(5), Duration::from_secs(300), Duration::from_secs(10), 20, 2)
    }
}

/// `d` in ticks, rounded up (a 1 ms countdown still lasts a tick), saturating.
pub fn ticks(d: Duration) -> u32 {
    let n = (d.as_nanos() * u128::from(TICK_RATE_HZ)).div_ceil(1_000_000_000);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A phase change, for the world to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Waiting → Countdown: enough players; respawn everyone fresh and reset scores.
    CountdownStarted,
    /// Countdown → Waiting: every ship left before the start.
    CountdownAborted,
    /// Countdown → Playing: the clock starts.
    MatchStarted,
    /// Playing → Results: the score limit or the clock ended the match.
    MatchEnded,
    /// Results → Countdown or Waiting (see [`MatchFlow::phase`]) on the next map.
    NextMatch,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct MatchFlow {
    settings: MatchSettings,
    phase: Phase,
    /// Ticks until the phase ends (unused while waiting).
    ticks_left: u32,
}

impl MatchFlow {
    /// A flow that starts out waiting for players.
    pub fn new(settings: MatchSettings) -> Self {
        Self { settings, phase: Phase::Waiting, ticks_left: 0 }
    }

    /// The settings it runs by.
    pub fn settings(&self) -> &MatchSettings {
        &self.settings
    }

    /// The phase now.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Ticks left in the phase (0 while waiting).
    pub fn ticks_left(&self) -> u32 {
        if self.phase == Phase::Waiting { 0 } else { self.ticks_left }
    }

    /// Milliseconds left in the phase, for snapshots (0 while waiting).
    pub fn time_left_ms(&self) -> u32 {
        let ms = u64::from(self.ticks_left()) * 1000 / u64::from(TICK_RATE_HZ);
        u32::try_from(ms).unwrap_or(u32::MAX)
    }

    /// True while ships may not move or fire (countdown and results).
    pub fn frozen(&self) -> bool {
        matches!(self.phase, Phase::Countdown | Phase::Results)
    }

    /// True while kills and deaths count.
    pub fn scoring(&self) -> bool {
        self.phase == Phase::Playing
    }

    /// Runs the phase clock down by one tick; call once per tick, before [`MatchFlow::next`].
    pub fn tick(&mut self) {
        self.ticks_left = self.ticks_left.saturating_sub(1);
    }

    /// The next transition given the ships in the room and the best kill count, applied to
    /// the flow's own phase; `None` when the phase stays. Call it until it returns `None`
    /// (the world acting on each one in between), so a zero-length countdown starts the match
    /// in the same tick.
    pub fn next(&mut self, ships: usize, best_kills: u16) -> Option<Transition> {
        let s = self.settings;
        let enough = ships >= s.min_players;
        let (phase, ticks, transition) = match self.phase {
            Phase::Waiting if enough => (Phase::Countdown, s.countdown_ticks, Transition::CountdownStarted),
            Phase::Countdown if ships == 0 => (Phase::Waiting, 0, Transition::CountdownAborted),
            Phase::Countdown if self.ticks_left == 0 => (Phase::Playing, s.match_ticks, Transition::MatchStarted),
            Phase::Playing if self.ticks_left == 0 || (s.score_limit > 0 && best_kills >= s.score_limit) => {
                (Phase::Results, s.results_ticks, Transition::MatchEnded)
            }
            Phase::Results if self.ticks_left == 0 => {
                let next = if enough { Phase::Countdown } else { Phase::Waiting };
                (next, s.countdown_ticks, Transition::NextMatch)
            }
            _ => return None,
        };
        self.phase = phase;
        self.ticks_left = ticks;
        Some(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MatchSettings {
        MatchSettings { countdown_ticks: 3, match_ticks: 10, results_ticks: 4, score_limit: 5, min_players: 2 }
    }

    /// Ticks the flow once and returns what happened.
    fn step(flow: &mut MatchFlow, ships: usize, best: u16) -> Vec<Transition> {
        flow.tick();
        std::iter::from_fn(|| flow.next(ships, best)).take(5).collect()
    }

    #[test]
    fn a_full_cycle_runs_on_the_clock() {
        use Transition::*;
        let mut flow = MatchFlow::new(settings());
        assert_eq!(step(&mut flow, 1, 0), []);
        assert_eq!(flow.phase(), Phase::Waiting);
        assert_eq!(flow.time_left_ms(), 0);
        assert_eq!(step(&mut flow, 2, 0), [CountdownStarted]);
        assert_eq!(flow.ticks_left(), 3);
        assert!(flow.frozen() && !flow.scoring());
        assert_eq!(step(&mut flow, 2, 0), []);
        assert_eq!(step(&mut flow, 2, 0), []);
        assert_eq!(step(&mut flow, 2, 0), [MatchStarted], "after three ticks of countdown");
        assert_eq!(flow.time_left_ms(), 333);
        assert!(flow.scoring() && !flow.frozen());
        for _ in 0..9 {
            assert_eq!(step(&mut flow, 2, 1), []);
        }
        assert_eq!(step(&mut flow, 2, 1), [MatchEnded], "the clock ends the match");
        assert_eq!(flow.phase(), Phase::Results);
        assert!(flow.frozen());
        for _ in 0..3 {
            assert_eq!(step(&mut flow, 2, 1), []);
        }
        assert_eq!(step(&mut flow, 2, 0), [NextMatch]);
        assert_eq!(flow.phase(), Phase::Countdown, "enough players: straight into the next countdown");
    }

    #[test]
    fn the_score_limit_ends_the_match() {
        let mut flow = MatchFlow::new(MatchSettings { countdown_ticks: 0, ..settings() });
        assert_eq!(step(&mut flow, 2, 0), [Transition::CountdownStarted, Transition::MatchStarted]);
        assert_eq!(step(&mut flow, 2, 4), []);
        assert_eq!(step(&mut flow, 2, 5), [Transition::MatchEnded]);
    }

    #[test]
    fn no_score_limit_means_only_the_clock() {
        let mut flow = MatchFlow::new(MatchSettings { countdown_ticks: 0, score_limit: 0, ..settings() });
        step(&mut flow, 2, 0);
        assert_eq!(step(&mut flow, 2, u16::MAX), []);
    }

    #[test]
    fn a_countdown_runs_to_the_match_unless_every_ship_left() {
        let mut flow = MatchFlow::new(settings());
        step(&mut flow, 2, 0);
        // A player leaving during the countdown does not call it off (from an outside test: a
        // griefer joining and leaving every 5 s held a lone player frozen in countdown).
        assert_eq!(step(&mut flow, 1, 0), []);
        assert_eq!(step(&mut flow, 1, 0), []);
        assert_eq!(step(&mut flow, 1, 0), [Transition::MatchStarted], "after three ticks of countdown");
        let mut flow = MatchFlow::new(settings());
        step(&mut flow, 2, 0);
        assert_eq!(step(&mut flow, 0, 0), [Transition::CountdownAborted], "nobody left to play");
        assert_eq!(flow.phase(), Phase::Waiting);
    }

    #[test]
    fn a_match_goes_on_when_players_leave_and_results_lead_to_waiting() {
        let mut flow = MatchFlow::new(MatchSettings { countdown_ticks: 0, ..settings() });
        step(&mut flow, 2, 0);
        assert_eq!(step(&mut flow, 1, 0), [], "still playing with one player");
        assert_eq!(flow.phase(), Phase::Playing);
        while step(&mut flow, 1, 0).is_empty() {}
        assert_eq!(flow.phase(), Phase::Results);
        while step(&mut flow, 1, 0).is_empty() {}
        assert_eq!(flow.phase(), Phase::Waiting, "not enough players for the next match");
    }

    #[test]
    fn durations_round_up_to_ticks() {
        assert_eq!(ticks(Duration::ZERO), 0);
        assert_eq!(ticks(Duration::from_millis(1)), 1);
        assert_eq!(ticks(Duration::from_secs(1)), 30);
        assert_eq!(ticks(Duration::from_secs(300)), 9000);
        assert_eq!(MatchSettings::default().match_secs(), 300);
        assert_eq!(MatchSettings::new(Duration::ZERO, Duration::ZERO, Duration::ZERO, 1, 0).match_ticks, 1);
    }
}
