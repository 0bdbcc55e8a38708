//! The deterministic movement step, shared by the server and client-side prediction.
//!
//! Only `+ - * /`, `sqrt` and comparisons on `f32`: IEEE 754 gives those the same bits on
//! x86_64 and wasm32, so a client replaying its inputs lands exactly where the server did.
//! No `sin`/`cos`/`exp`/`powf` here, and no mul-add fusion (Rust never contracts on its own).

use glam::Vec2;

use crate::consts::TICK_DT;
use crate::protocol::Rect;
use crate::tuning::{SHIP_ACCEL, SHIP_DRAG_PER_TICK, SHIP_MAX_SPEED, SHIP_RADIUS};

/// The part of a ship that movement changes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShipMotion {
    /// Centre, in world units.
    pub pos: Vec2,
    /// Velocity, in world units per second.
    pub vel: Vec2,
}

/// Advances one ship by one fixed tick under the stick input `mv` inside an arena of size
/// `arena` with solid `obstacles`. `mv` is clamped to length 1; a NaN input (which the codec
/// never lets through) is treated as no input rather than poisoning the state.
pub fn step_ship(ship: &mut ShipMotion, mv: Vec2, arena: Vec2, obstacles: &[Rect]) {
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
    for rect in obstacles {
        push_out_of_rect(&mut pos, &mut vel, rect, SHIP_RADIUS);
    }
    ship.pos = pos;
    ship.vel = vel;
}

/// True if a circle at `pos` with `radius` overlaps `rect`.
pub fn circle_hits_rect(pos: Vec2, radius: f32, rect: &Rect) -> bool {
    let closest = pos.clamp(rect.min, rect.max);
    (pos - closest).length_squared() < radius * radius
}

/// Moves a circle out of `rect` along the shortest way and removes the velocity that pushed it
/// in, so ships slide along obstacle faces.
fn push_out_of_rect(pos: &mut Vec2, vel: &mut Vec2, rect: &Rect, radius: f32) {
    let closest = pos.clamp(rect.min, rect.max);
    let delta = *pos - closest;
    let dist_sq = delta.length_squared();
    if dist_sq >= radius * radius {
        return;
    }
    let normal = if dist_sq > 0.0 {
        delta / dist_sq.sqrt()
    } else {
        // The centre is inside the rectangle: leave through the nearest face.
        let to_faces = [pos.x - rect.min.x, rect.max.x - pos.x, pos.y - rect.min.y, rect.max.y - pos.y];
        let normals = [Vec2::NEG_X, Vec2::X, Vec2::NEG_Y, Vec2::Y];
        let mut best = 0;
        for i in 1..4 {
            if to_faces[i] < to_faces[best] {
                best = i;
            }
        }
        *pos = closest + normals[best] * to_faces[best];
        normals[best]
    };
    *pos = pos.clamp(rect.min, rect.max) + normal * radius;
    let into = vel.dot(normal);
    if into < 0.0 {
        *vel -= normal * into;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{ARENA_HEIGHT, ARENA_WIDTH};

    fn step_ship(ship: &mut ShipMotion, mv: Vec2, arena: Vec2) {
        super::step_ship(ship, mv, arena, &[]);
    }

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

    #[test]
    fn obstacles_block_and_let_the_ship_slide() {
        let wall = Rect { min: Vec2::new(500.0, 0.0), max: Vec2::new(600.0, 1000.0) };
        let mut ship = ShipMotion { pos: Vec2::new(400.0, 500.0), vel: Vec2::ZERO };
        for _ in 0..120 {
            super::step_ship(&mut ship, Vec2::new(1.0, 0.3), ARENA, &[wall]);
            assert!(!circle_hits_rect(ship.pos, SHIP_RADIUS - 1e-3, &wall), "inside the wall at {}", ship.pos);
        }
        assert!((ship.pos.x - (500.0 - SHIP_RADIUS)).abs() < 1e-3, "resting against the wall: {}", ship.pos);
        assert!(ship.pos.y > 600.0, "slid along it: {}", ship.pos);
    }

    #[test]
    fn a_ship_inside_an_obstacle_is_pushed_out() {
        let block = Rect { min: Vec2::new(100.0, 100.0), max: Vec2::new(200.0, 140.0) };
        let mut ship = ShipMotion { pos: Vec2::new(150.0, 135.0), vel: Vec2::ZERO };
        super::step_ship(&mut ship, Vec2::ZERO, ARENA, &[block]);
        assert!(!circle_hits_rect(ship.pos, SHIP_RADIUS - 1e-3, &block), "{}", ship.pos);
        assert!(ship.pos.y > 140.0, "left through the nearest face: {}", ship.pos);
    }
}
