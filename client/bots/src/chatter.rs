//! The chatting behaviour: wander, and say a line picked at random every 5–15 s.
//!
//! The interval stays under the server's chat rate limit (a burst of 5, then one line per 2 s),
//! so chatting bots load the chat path without being throttled.

use rand::RngExt as _;
use rand::SeedableRng as _;
use rand::rngs::Xoshiro256PlusPlus;

use crate::behaviour::{Action, View};
use crate::wander::Wander;

/// Shortest time between two lines, in ms.
pub const MIN_LINE_MS: f64 = 5_000.0;
/// Longest time between two lines, in ms.
pub const MAX_LINE_MS: f64 = 15_000.0;

/// What chatting bots say: short, printable, within the protocol's chat rules.
pub const LINES: [&str; 8] = [
    "gg",
    "hello from a bot",
    "nice shot!",
    "anyone up for a rematch?",
    "lag check: 1 2 3",
    "o7",
    "watch the left side",
    "one more round",
];

/// One chatting bot's state.
#[derive(Debug, Clone)]
pub struct Chatter {
    /// How it moves between lines.
    wander: Wander,
    /// Picks the lines and the intervals; separate from the wandering's generator.
    rng: Xoshiro256PlusPlus,
    /// When the next line is due, in the caller's ms clock.
    next_line_ms: f64,
}

impl Chatter {
    /// Starts at `now_ms`. The first line comes after a random part of one interval, so a swarm
    /// started at once does not speak in chorus.
    pub fn new(mut rng: Xoshiro256PlusPlus, now_ms: f64) -> Self {
        let mut own = Xoshiro256PlusPlus::fork(&mut rng);
        let first = own.random_range(0.0..1.0) * own.random_range(MIN_LINE_MS..=MAX_LINE_MS);
        Self { wander: Wander::new(rng, now_ms), rng: own, next_line_ms: now_ms + first }
    }

    /// The controls for `now_ms`, with a line when one is due.
    pub fn act(&mut self, now_ms: f64, view: &View<'_>) -> Action {
        let mut action = Action::steer(self.wander.steer(now_ms, view.me.map(|p| p.pos), view.arena));
        if now_ms >= self.next_line_ms {
            action.say = Some(LINES[self.rng.random_range(0..LINES.len())]);
            self.next_line_ms = now_ms + self.rng.random_range(MIN_LINE_MS..=MAX_LINE_MS);
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec2;
    use skirmish_shared::codec::check_chat;

    fn chatter(seed: u64) -> Chatter {
        Chatter::new(Xoshiro256PlusPlus::seed_from_u64(seed), 0.0)
    }

    /// Acts at 30 Hz for `secs` of fake time; returns (time, line) of each line said.
    fn talk(c: &mut Chatter, secs: u32) -> Vec<(f64, &'static str)> {
        let view = View::alone(None, Vec2::new(1600.0, 1000.0));
        (0..secs * 30)
            .filter_map(|tick| {
                let now = f64::from(tick) * 1000.0 / 30.0;
                let action = c.act(now, &view);
                assert!((action.mv.length() - 1.0).abs() < 1e-5, "keeps wandering");
                assert_eq!(action.buttons, 0);
                action.say.map(|line| (now, line))
            })
            .collect()
    }

    #[test]
    fn speaks_every_five_to_fifteen_seconds() {
        let mut c = chatter(11);
        let said = talk(&mut c, 600);
        assert!(said[0].0 <= MAX_LINE_MS, "first line within one interval: {:?}", said[0]);
        for pair in said.windows(2) {
            let gap = pair[1].0 - pair[0].0;
            // One tick of slack: lines go out on the 30 Hz input grid.
            assert!((MIN_LINE_MS..=MAX_LINE_MS + 34.0).contains(&gap), "{gap}");
        }
        // 600 s at 5–15 s apart: between 40 and 120 lines.
        assert!((40..=121).contains(&said.len()), "{}", said.len());
        assert!(said.iter().map(|(_, l)| l).collect::<std::collections::BTreeSet<_>>().len() > 3, "varied lines");
    }

    #[test]
    fn same_seed_same_lines() {
        assert_eq!(talk(&mut chatter(4), 120), talk(&mut chatter(4), 120));
        assert_ne!(talk(&mut chatter(4), 120), talk(&mut chatter(5), 120));
    }

    #[test]
    fn every_line_is_valid_chat() {
        for line in LINES {
            assert_eq!(check_chat(line), Ok(()), "{line}");
        }
    }
}
