//! A bot's brain: one of the `--mix` behaviours, turning the time and what the bot sees in the
//! newest snapshot into controls for the next input (and, sometimes, a chat line).
//!
//! Every behaviour is pure and seeded ("time and view in, action out"), so a run's choices
//! repeat with the same `--seed` and each one is unit-tested without a socket.

use glam::Vec2;
use rand::rngs::Xoshiro256PlusPlus;
use skirmish_shared::PlayerState;
use skirmish_shared::delta::ShipEnt;

use crate::chatter::Chatter;
use crate::fight::Fight;
use crate::mix::Kind;
use crate::wander::Wander;

/// What the bot sees when it decides. The other ships are the client core's decoded frames,
/// borrowed, never copied: a bot builds no views to draw from (`Client::draws`).
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Our own ship in the newest snapshot, if we have one yet.
    pub me: Option<&'a PlayerState>,
    /// The other ships in view in the newest snapshot, by id.
    pub others: &'a [ShipEnt],
    /// The other ships in the snapshot received before it, by id, and the seconds between the
    /// two: what velocities are estimated from.
    pub before: (&'a [ShipEnt], f32),
    /// Arena size in world units.
    pub arena: Vec2,
}

impl<'a> View<'a> {
    /// Our ship (or none yet) and nobody else in view.
    #[cfg(test)]
    pub fn alone(me: Option<&'a PlayerState>, arena: Vec2) -> Self {
        Self { me, others: &[], before: (&[], 0.0), arena }
    }

    /// The velocity of `ship` (one of `others`) in world units a second, from where it was in
    /// the snapshot before; zero if it was not in view then, or died or respawned since (a jump).
    pub fn velocity(&self, ship: &ShipEnt) -> Vec2 {
        let (before, dt) = self.before;
        match before.binary_search_by_key(&ship.id, |s| s.id) {
            Ok(i) if dt > 0.0 && alive(&before[i]) == alive(ship) => (ship.pos_f() - before[i].pos_f()) / dt,
            _ => Vec2::ZERO,
        }
    }
}

/// Whether a decoded ship is alive.
pub fn alive(ship: &ShipEnt) -> bool {
    ship.flags & PlayerState::ALIVE != 0
}

/// The controls for one input, plus an optional chat line to send with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Action {
    /// Movement, each component in `[-1, 1]`.
    pub mv: Vec2,
    /// Aim angle in radians (0 = +x, clockwise as +y points down).
    pub aim: f32,
    /// Button bits (`Input::FIRE`).
    pub buttons: u8,
    /// A chat line to send now.
    pub say: Option<&'static str>,
}

impl Action {
    /// Move and aim, no buttons, nothing to say.
    pub fn steer((mv, aim): (Vec2, f32)) -> Self {
        Self { mv, aim, buttons: 0, say: None }
    }
}

/// One bot's behaviour and its state.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// See [`Kind::Wander`].
    Wander(Wander),
    /// See [`Kind::Fight`].
    Fight(Fight),
    /// See [`Kind::Chat`].
    Chat(Chatter),
    /// See [`Kind::Idle`]: no state, it always does nothing.
    Idle,
}

impl Behaviour {
    /// A fresh behaviour of `kind` drawing from the bot's own generator, started at `now_ms`.
    pub fn new(kind: Kind, rng: Xoshiro256PlusPlus, now_ms: f64) -> Self {
        match kind {
            Kind::Wander => Behaviour::Wander(Wander::new(rng, now_ms)),
            Kind::Fight => Behaviour::Fight(Fight::new(rng, now_ms)),
            Kind::Chat => Behaviour::Chat(Chatter::new(rng, now_ms)),
            Kind::Idle => Behaviour::Idle,
        }
    }

    /// What to do at `now_ms`.
    pub fn act(&mut self, now_ms: f64, view: &View<'_>) -> Action {
        match self {
            Behaviour::Wander(w) => Action::steer(w.steer(now_ms, view.me.map(|p| p.pos), view.arena)),
            Behaviour::Fight(f) => f.act(now_ms, view),
            Behaviour::Chat(c) => c.act(now_ms, view),
            // Zero movement, a fixed aim, no fire: still one input per tick, as an AFK player's
            // client keeps sending.
            Behaviour::Idle => Action { mv: Vec2::ZERO, aim: 0.0, buttons: 0, say: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn each_kind_gets_its_behaviour_and_idle_does_nothing() {
        let rng = || Xoshiro256PlusPlus::seed_from_u64(1);
        for kind in Kind::ALL {
            let b = Behaviour::new(kind, rng(), 0.0);
            let matches = matches!(
                (&b, kind),
                (Behaviour::Wander(_), Kind::Wander)
                    | (Behaviour::Fight(_), Kind::Fight)
                    | (Behaviour::Chat(_), Kind::Chat)
                    | (Behaviour::Idle, Kind::Idle)
            );
            assert!(matches, "{kind}: {b:?}");
        }
        let me = PlayerState { id: 1, pos: Vec2::new(100.0, 100.0), flags: PlayerState::ALIVE, ..Default::default() };
        let enemy = ShipEnt { id: 2, pos: glam::IVec2::new(400, 200), aim: 0, health: 100, flags: PlayerState::ALIVE };
        let others = [enemy];
        let view = View { others: &others, ..View::alone(Some(&me), Vec2::new(1600.0, 1000.0)) };
        let mut idle = Behaviour::new(Kind::Idle, rng(), 0.0);
        for tick in 0..300 {
            let action = idle.act(f64::from(tick) * 33.3, &view);
            assert_eq!(action, Action { mv: Vec2::ZERO, aim: 0.0, buttons: 0, say: None });
        }
    }

    #[test]
    fn wanderers_move_and_never_fire() {
        let mut b = Behaviour::new(Kind::Wander, Xoshiro256PlusPlus::seed_from_u64(5), 0.0);
        let view = View::alone(None, Vec2::new(1600.0, 1000.0));
        for tick in 0..300 {
            let action = b.act(f64::from(tick) * 33.3, &view);
            assert!((action.mv.length() - 1.0).abs() < 1e-5);
            assert_eq!((action.buttons, action.say), (0, None));
        }
    }
}
