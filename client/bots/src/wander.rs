//! The wandering behaviour: keep a heading, pick a new one (and a new aim) every 0.5–2 s.
//!
//! Pure and seeded, so a run's choices repeat with the same `--seed`; the fighting and chatting
//! behaviours fall back on it when they have nothing else to do.

use std::f32::consts::PI;

use glam::Vec2;
use rand::RngExt as _;
use rand::rngs::Xoshiro256PlusPlus;

/// Shortest time between two changes of heading, in ms.
const MIN_TURN_MS: f64 = 500.0;
/// Longest time between two changes of heading, in ms.
const MAX_TURN_MS: f64 = 2000.0;
/// Within this many world units of a wall, a heading towards it is mirrored away, so bots
/// spread over the arena instead of piling up against its edges.
const WALL_MARGIN: f32 = 80.0;

/// One bot's wandering state.
#[derive(Debug, Clone)]
pub struct Wander {
    /// The bot's own generator (seeded from the run seed and the bot index).
    rng: Xoshiro256PlusPlus,
    /// Unit direction of travel.
    dir: Vec2,
    /// Aim angle in radians.
    aim: f32,
    /// When the next change of heading is due, in the caller's ms clock.
    next_turn_ms: f64,
}

impl Wander {
    /// Starts wandering at `now_ms`; the first heading is picked on the first [`Wander::steer`].
    pub fn new(rng: Xoshiro256PlusPlus, now_ms: f64) -> Self {
        Self { rng, dir: Vec2::X, aim: 0.0, next_turn_ms: now_ms }
    }

    /// The controls for `now_ms`: a unit move vector and an aim angle. `pos` is the bot's own
    /// position in the newest snapshot (if any yet) inside an arena of size `arena`.
    pub fn steer(&mut self, now_ms: f64, pos: Option<Vec2>, arena: Vec2) -> (Vec2, f32) {
        if now_ms >= self.next_turn_ms {
            let heading = self.rng.random_range(-PI..PI);
            self.dir = Vec2::new(heading.cos(), heading.sin());
            self.aim = self.rng.random_range(-PI..PI);
            self.next_turn_ms = now_ms + self.rng.random_range(MIN_TURN_MS..=MAX_TURN_MS);
        }
        if let Some(pos) = pos {
            // Mirror the component that points into a nearby wall; the heading is kept, so the
            // bot does not jitter along the wall.
            let near_low = pos.cmplt(Vec2::splat(WALL_MARGIN));
            let near_high = pos.cmpgt(arena - WALL_MARGIN);
            if (near_low.test(0) && self.dir.x < 0.0) || (near_high.test(0) && self.dir.x > 0.0) {
                self.dir.x = -self.dir.x;
            }
            if (near_low.test(1) && self.dir.y < 0.0) || (near_high.test(1) && self.dir.y > 0.0) {
                self.dir.y = -self.dir.y;
            }
        }
        (self.dir, self.aim)
    }

    /// When the heading changes next.
    #[cfg(test)]
    fn next_turn_ms(&self) -> f64 {
        self.next_turn_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    const ARENA: Vec2 = Vec2::new(1600.0, 1000.0);

    fn wander(seed: u64) -> Wander {
        Wander::new(Xoshiro256PlusPlus::seed_from_u64(seed), 0.0)
    }

    #[test]
    fn turns_every_half_to_two_seconds() {
        let mut w = wander(1);
        let mut last = w.steer(0.0, None, ARENA);
        let mut turns = 0;
        let mut last_turn_ms = 0.0;
        // Steer at 30 Hz for a minute of fake time.
        for tick in 1..1800 {
            let now = f64::from(tick) * 1000.0 / 30.0;
            let before = w.next_turn_ms();
            let controls = w.steer(now, None, ARENA);
            if now >= before {
                let wait = w.next_turn_ms() - now;
                assert!((MIN_TURN_MS..=MAX_TURN_MS).contains(&wait), "{wait}");
                assert_ne!(controls, last, "a turn picks a new heading and aim");
                assert!(now - last_turn_ms >= MIN_TURN_MS);
                turns += 1;
                last_turn_ms = now;
            } else {
                assert_eq!(controls, last, "the heading is kept between turns");
            }
            assert!((controls.0.length() - 1.0).abs() < 1e-5 && (-PI..PI).contains(&controls.1));
            last = controls;
        }
        assert!((30..=120).contains(&turns), "{turns} turns in 60 s");
    }

    #[test]
    fn same_seed_same_choices() {
        let (mut a, mut b, mut c) = (wander(7), wander(7), wander(8));
        let times = [0.0, 600.0, 1300.0, 2100.0, 4000.0, 6500.0];
        let run = |w: &mut Wander| times.map(|t| w.steer(t, None, ARENA));
        let (ra, rb, rc) = (run(&mut a), run(&mut b), run(&mut c));
        assert_eq!(ra, rb);
        assert_ne!(ra, rc);
    }

    #[test]
    fn walls_turn_the_bot_back() {
        let mut w = wander(3);
        for corner in [Vec2::new(10.0, 10.0), Vec2::new(1590.0, 990.0), Vec2::new(10.0, 990.0)] {
            for step in 0..100 {
                let (mv, _) = w.steer(f64::from(step) * 700.0, Some(corner), ARENA);
                let to_centre = ARENA / 2.0 - corner;
                assert!(mv.x * to_centre.x >= 0.0 && mv.y * to_centre.y >= 0.0, "{mv} at {corner}");
            }
        }
    }
}
