//! The fighting behaviour: chase the nearest living enemy in the newest snapshot, aim at it
//! (leading it by the bullet's flight time) and hold FIRE once it is in range; wander while
//! there is nobody to fight or while our own ship is dead.

use rand::RngExt as _;
use rand::rngs::Xoshiro256PlusPlus;
use skirmish_shared::delta::ShipEnt;
use skirmish_shared::tuning::BULLET_SPEED;
use skirmish_shared::{Input, PlayerState};

use crate::behaviour::{Action, View, alive};
use crate::wander::Wander;

/// Within this many world units the bot holds FIRE (bullets fly 900 units, so most shots that
/// miss still land near the target).
pub const FIRE_RANGE: f32 = 700.0;
/// Closer than this the bot circles its target instead of ramming it, as players strafe.
const CIRCLE_RANGE: f32 = 250.0;

/// One fighting bot's state.
#[derive(Debug, Clone)]
pub struct Fight {
    /// Used when there is nobody to fight.
    wander: Wander,
    /// Which way the bot circles a close target: +1 or −1, drawn once per bot.
    circle: f32,
}

impl Fight {
    /// Starts fighting at `now_ms`.
    pub fn new(mut rng: Xoshiro256PlusPlus, now_ms: f64) -> Self {
        let circle = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        Self { wander: Wander::new(rng, now_ms), circle }
    }

    /// The controls for `now_ms`.
    pub fn act(&mut self, now_ms: f64, view: &View<'_>) -> Action {
        let me = view.me.filter(|me| me.alive());
        let Some((me, target)) = me.and_then(|me| nearest_enemy(me, view.others).map(|t| (me, t))) else {
            return Action::steer(self.wander.steer(now_ms, view.me.map(|p| p.pos), view.arena));
        };
        let target_pos = target.pos_f();
        let to_target = target_pos - me.pos;
        let distance = to_target.length();
        let towards = to_target.normalize_or_zero();
        let mv = if distance > CIRCLE_RANGE { towards } else { towards.perp() * self.circle };
        // Where the target will be when a bullet fired now reaches it, if it keeps its velocity.
        let lead = target_pos + view.velocity(target) * (distance / BULLET_SPEED) - me.pos;
        let aim = lead.y.atan2(lead.x);
        let buttons = if distance <= FIRE_RANGE { Input::FIRE } else { 0 };
        Action { mv, aim, buttons, say: None }
    }
}

/// The living ship other than `me` closest to it (ties go to the lower id, for determinism).
pub fn nearest_enemy<'a>(me: &PlayerState, ships: &'a [ShipEnt]) -> Option<&'a ShipEnt> {
    ships.iter().filter(|s| s.id != me.id && alive(s)).min_by(|a, b| {
        me.pos.distance_squared(a.pos_f()).total_cmp(&me.pos.distance_squared(b.pos_f())).then(a.id.cmp(&b.id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::Vec2;
    use rand::SeedableRng as _;
    use skirmish_shared::delta::SHIP_WIRE_POS_SCALE;
    use std::f32::consts::{FRAC_PI_2, PI};

    const ARENA: Vec2 = Vec2::new(1600.0, 1000.0);

    fn ship(id: u32, x: f32, y: f32) -> PlayerState {
        PlayerState { id, pos: Vec2::new(x, y), flags: PlayerState::ALIVE, health: 100, ..Default::default() }
    }

    /// Another ship as the client core decodes it (positions in half units).
    fn ent(id: u32, x: f32, y: f32) -> ShipEnt {
        let pos = (Vec2::new(x, y) * SHIP_WIRE_POS_SCALE).round().as_ivec2();
        ShipEnt { id, pos, aim: 0, health: 100, flags: PlayerState::ALIVE }
    }

    fn view<'a>(me: &'a PlayerState, others: &'a [ShipEnt]) -> View<'a> {
        View { others, ..View::alone(Some(me), ARENA) }
    }

    fn fight() -> Fight {
        Fight::new(Xoshiro256PlusPlus::seed_from_u64(3), 0.0)
    }

    #[test]
    fn the_nearest_living_enemy_is_the_target() {
        let me = ship(1, 500.0, 500.0);
        let itself = ent(1, 500.0, 500.0);
        let dead = ShipEnt { flags: 0, health: 0, ..ent(2, 510.0, 500.0) };
        let far = ent(3, 1200.0, 500.0);
        let near = ent(4, 500.0, 300.0);
        let ships = [itself, dead, far, near];
        assert_eq!(nearest_enemy(&me, &ships).map(|p| p.id), Some(4));
        assert_eq!(nearest_enemy(&me, &[itself, dead]), None, "neither itself nor the dead");
        let twin = ent(5, 500.0, 700.0);
        assert_eq!(nearest_enemy(&me, &[near, twin]).map(|p| p.id), Some(4), "ties to the lower id");
    }

    #[test]
    fn chases_aims_and_fires_in_range() {
        let mut f = fight();
        let me = ship(1, 100.0, 500.0);
        // Far away to the right: chase, aim right, hold fire.
        let far = [ent(2, 1000.0, 500.0)];
        let a = f.act(0.0, &view(&me, &far));
        assert!((a.mv - Vec2::X).length() < 1e-5, "{a:?}");
        assert!(a.aim.abs() < 1e-5, "{a:?}");
        assert_eq!(a.buttons, 0, "900 units is out of range");
        // In range straight below (+y is down the screen): aim +π/2, fire.
        let below = [ent(2, 100.0, 900.0)];
        let a = f.act(33.0, &view(&me, &below));
        assert!((a.aim - FRAC_PI_2).abs() < 1e-5, "{a:?}");
        assert_eq!(a.buttons, Input::FIRE);
        assert!((a.mv - Vec2::Y).length() < 1e-5, "still closing in: {a:?}");
        // Close: circle (move across the line to the target), keep firing.
        let close = [ent(2, 0.0, 500.0)];
        let a = f.act(66.0, &view(&me, &close));
        assert!((a.aim.abs() - PI).abs() < 1e-5, "aims left: {a:?}");
        assert!(a.mv.x.abs() < 1e-5 && (a.mv.y.abs() - 1.0).abs() < 1e-5, "circles: {a:?}");
        assert_eq!(a.buttons, Input::FIRE);
    }

    #[test]
    fn leads_a_moving_target() {
        let mut f = fight();
        let me = ship(1, 100.0, 500.0);
        // 450 units away, moving down at 300 u/s (10 units in the tick between two snapshots):
        // the bullet takes 0.5 s, so aim 150 units low.
        let (now, before) = ([ent(2, 550.0, 500.0)], [ent(2, 550.0, 490.0)]);
        let dt = 1.0 / 30.0;
        let a = f.act(0.0, &View { before: (&before, dt), ..view(&me, &now) });
        assert!((a.aim - (150.0f32).atan2(450.0)).abs() < 1e-4, "{a:?}");
        // Not in view before, or respawned since: no velocity to lead by.
        for before in [[ent(3, 550.0, 490.0)], [ShipEnt { flags: 0, ..ent(2, 550.0, 490.0) }]] {
            let a = f.act(33.0, &View { before: (&before, dt), ..view(&me, &now) });
            assert!(a.aim.abs() < 1e-4, "{a:?}");
        }
    }

    #[test]
    fn wanders_without_a_target_or_while_dead() {
        let me = ship(1, 800.0, 500.0);
        let dead_me = PlayerState { flags: 0, ..me };
        let enemy = [ent(2, 850.0, 500.0)];
        let mut f = fight();
        // The same generator, advanced as `Fight::new` advances it: the wandering must match.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let _ = rng.random_bool(0.5);
        let mut w = Wander::new(rng, 0.0);
        for (t, view) in [
            (0.0, View::alone(Some(&me), ARENA)),
            (700.0, view(&dead_me, &enemy)),
            (1400.0, View { others: &enemy, ..View::alone(None, ARENA) }),
        ] {
            let a = f.act(t, &view);
            assert_eq!(a, Action::steer(w.steer(t, view.me.map(|p| p.pos), ARENA)), "at {t}");
            assert_eq!(a.buttons, 0);
        }
    }
}
