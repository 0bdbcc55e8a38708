//! The deterministic movement step, shared by the server and client-side prediction.
//!
//! Only `+ - * /`, `sqrt` and comparisons on `f32`: IEEE 754 gives those the same bits on
//! x86_64 and wasm32, so a client replaying its inputs lands exactly where the server did.
//! No `sin`/`cos`/`exp`/`powf` here, and no mul-add fusion (Rust never contracts on its own).

use glam::Vec2;

use crate::consts::{SHIP_RADIUS, TICK_DT};

/// Thrust at full stick, in world units per second squared.
pub const SHIP_ACCEL: f32 = 2000.0;
/// Top speed, in world units per second.
pub const SHIP_MAX_SPEED: f32 = 320.0;
/// Fraction of velocity kept after one tick (drag), a literal so every platform agrees.
pub const SHIP_DRAG_PER_TICK: f32 = 0.88;

/// The part of a ship that movement changes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShipMotion {
    /// Centre, in world units.
    pub pos: Vec2,
    /// Velocity, in world units per second.
    pub vel: Vec2,
}

/// Advances one ship by one fixed tick under the stick input `mv` inside an arena of size
/// `arena`. `mv` is clamped to length 1; a NaN input (which the codec never lets through) is
/// treated as no input rather than poisoning the state.
pub fn step_ship(ship: &mut ShipMotion, mv: Vec2, arena: Vec2) {
    let mut mv = if mv.is_finite() { mv } else { Vec2::ZERO };
    let len_sq = mv.length_squared();
    if len_sq > 1.0 {
        mv /= len_sq.sqrt();
    }
    let mut vel = (ship.vel + mv * (SHIP_ACCEL * TICK_DT)) * SHIP_DRAG_PER_TICK;
    let speed_sq = vel.length_squared();
    if speed_sq > SHIP_MAX_SPEED * SHIP_MAX_SPEED {
        vel *= SHIP_MAX_SPEED / speed_sq.sqrt();
    }
    let mut pos = ship.pos + vel * TICK_DT;
    // Walls stop the ship along the axis it hit, so sliding along an edge still works.
    let (min, max) = (Vec2::splat(SHIP_RADIUS), arena - Vec2::splat(SHIP_RADIUS));
    if pos.x < min.x || pos.x > max.x {
        pos.x = pos.x.clamp(min.x, max.x);
        vel.x = 0.0;
    }
    if pos.y < min.y || pos.y > max.y {
        pos.y = pos.y.clamp(min.y, max.y);
        vel.y = 0.0;
    }
    ship.pos = pos;
    ship.vel = vel;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{ARENA_HEIGHT, ARENA_WIDTH};

    const ARENA: Vec2 = Vec2::new(ARENA_WIDTH, ARENA_HEIGHT);

    #[test]
    fn full_stick_moves_and_caps_speed() {
        let mut ship = ShipMotion { pos: Vec2::new(800.0, 500.0), vel: Vec2::ZERO };
        for _ in 0..60 {
            step_ship(&mut ship, Vec2::new(1.0, 0.0), ARENA);
        }
        assert!(ship.pos.x > 900.0, "moved right: {:?}", ship.pos);
        assert_eq!(ship.pos.y, 500.0);
        assert!(ship.vel.length() <= SHIP_MAX_SPEED + 1e-3);
    }

    #[test]
    fn diagonal_is_not_faster() {
        let mut straight = ShipMotion { pos: Vec2::new(800.0, 500.0), vel: Vec2::ZERO };
        let mut diag = straight;
        for _ in 0..5 {
            step_ship(&mut straight, Vec2::new(1.0, 0.0), ARENA);
            step_ship(&mut diag, Vec2::new(1.0, 1.0), ARENA);
        }
        assert!((straight.vel.length() - diag.vel.length()).abs() < 1e-3);
    }

    #[test]
    fn drag_stops_an_idle_ship() {
        let mut ship = ShipMotion { pos: Vec2::new(800.0, 500.0), vel: Vec2::new(300.0, 0.0) };
        for _ in 0..120 {
            step_ship(&mut ship, Vec2::ZERO, ARENA);
        }
        assert!(ship.vel.length() < 1.0);
    }

    #[test]
    fn walls_hold_the_ship_inside() {
        let mut ship = ShipMotion { pos: Vec2::new(20.0, 20.0), vel: Vec2::ZERO };
        for _ in 0..90 {
            step_ship(&mut ship, Vec2::new(-1.0, -1.0), ARENA);
        }
        assert_eq!(ship.pos, Vec2::splat(SHIP_RADIUS));
        assert_eq!(ship.vel, Vec2::ZERO);
    }

    #[test]
    fn nan_input_is_ignored() {
        let mut ship = ShipMotion { pos: Vec2::new(800.0, 500.0), vel: Vec2::ZERO };
        step_ship(&mut ship, Vec2::new(f32::NAN, 1.0), ARENA);
        assert!(ship.pos.is_finite());
        assert_eq!(ship.pos, Vec2::new(800.0, 500.0));
    }

    #[test]
    fn replay_is_bit_identical() {
        // The same inputs from the same start give the same bits: what prediction relies on.
        let inputs: Vec<Vec2> =
            (0..300).map(|i| Vec2::new(((i * 7) % 3) as f32 - 1.0, ((i * 5) % 3) as f32 - 1.0)).collect();
        let run = || {
            let mut ship = ShipMotion { pos: Vec2::new(100.0, 900.0), vel: Vec2::ZERO };
            for mv in &inputs {
                step_ship(&mut ship, *mv, ARENA);
            }
            (ship.pos.x.to_bits(), ship.pos.y.to_bits(), ship.vel.x.to_bits(), ship.vel.y.to_bits())
        };
        assert_eq!(run(), run());
    }
}
