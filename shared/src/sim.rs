//! The deterministic simulation shared by the server and client-side prediction: ship movement,
//! the quantise step after it, aim directions and bullet flight.
//!
//! Only `+ - * /`, `sqrt`, `round`, `trunc` and comparisons on `f32` (exact in IEEE 754, so the
//! same bits on x86_64 and wasm32), and `libm`'s `sinf`/`cosf` (one portable implementation
//! instead of each platform's). No `std` trigonometry, and no mul-add fusion (Rust never
//! contracts on its own).
//!
//! The authoritative ship state is fixed point ([`ShipMotion`]): after each float step it is
//! quantised, so a client stepping the same inputs from a snapshot's numbers lands on exactly the
//! server's numbers, and a snapshot can carry the state without loss.

use glam::{IVec2, Vec2};

use crate::consts::TICK_DT;
use crate::protocol::Rect;
use crate::tuning::{BULLET_SPEED, SHIP_ACCEL, SHIP_DRAG_PER_TICK, SHIP_MAX_SPEED, SHIP_RADIUS};

/// Positions are stored in steps of `1 / POS_SCALE` world units (⅛ unit).
pub const POS_SCALE: f32 = 8.0;
/// Velocities are stored in steps of `1 / VEL_SCALE` world units per second (1/16 unit/s).
pub const VEL_SCALE: f32 = 16.0;

/// The part of a ship that movement changes, in fixed point: `pos` in ⅛ world units, `vel` in
/// 1/16 world units per second. Integers, so that what the server stores, what a snapshot
/// carries and what a predicting client computes are the same numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShipMotion {
    /// Centre, in ⅛ world units.
    pub pos: IVec2,
    /// Velocity, in 1/16 world units per second.
    pub vel: IVec2,
}

impl ShipMotion {
    /// A ship at rest at `pos` (world units), rounded to the nearest step.
    pub fn at(pos: Vec2) -> Self {
        Self { pos: quantise_pos(pos), vel: IVec2::ZERO }
    }

    /// Centre in world units (exact: every step is a power-of-two fraction).
    pub fn pos_f(&self) -> Vec2 {
        self.pos.as_vec2() / POS_SCALE
    }

    /// Velocity in world units per second (exact).
    pub fn vel_f(&self) -> Vec2 {
        self.vel.as_vec2() / VEL_SCALE
    }
}

/// A position in world units to ⅛-unit steps, rounded to the nearest (ties away from zero).
pub fn quantise_pos(pos: Vec2) -> IVec2 {
    let q = pos * POS_SCALE;
    IVec2::new(q.x.round() as i32, q.y.round() as i32)
}

/// A velocity in world units per second to 1/16-unit/s steps, rounded toward zero, so that drag
/// always brings a ship fully to rest instead of leaving it creeping at the smallest step.
pub fn quantise_vel(vel: Vec2) -> IVec2 {
    let q = vel * VEL_SCALE;
    IVec2::new(q.x.trunc() as i32, q.y.trunc() as i32)
}

/// Advances one ship by one fixed tick under the stick input `mv` inside an arena of size
/// `arena` with solid `obstacles`, then quantises the result. `mv` is clamped to length 1; a NaN
/// input (which the codec never lets through) is treated as no input rather than poisoning the
/// state.
pub fn step_ship(ship: &mut ShipMotion, mv: Vec2, arena: Vec2, obstacles: &[Rect]) {
    step_ship_with(ship, mv, arena, obstacles.iter());
}

/// [`step_ship`] against any set of obstacles: the server passes only those near the ship (from
/// its obstacle grid), in map order; pushing out of a far rectangle is a no-op, so the result is
/// the same as stepping against all of them in map order (the order matters where rectangles
/// overlap).
///
/// Each rectangle pushes the ship out once, in order, which cannot resolve a gap narrower than
/// the ship: the pushes from its two sides undo each other, and the ship went on through slits
/// up to a quarter narrower than itself, partly inside the walls (from an outside test of a map
/// maker). So a move in which a push points against those before it (a negative dot product:
/// the ship is between obstacles closer than it is wide), or out of the arena, is squeezed, and
/// the ship stays where it was, at rest: at such a gap it stops, and along a wall with one it
/// goes on from rest the next tick.
pub fn step_ship_with<'a>(ship: &mut ShipMotion, mv: Vec2, arena: Vec2, obstacles: impl Iterator<Item = &'a Rect>) {
    let mut mv = if mv.is_finite() { mv } else { Vec2::ZERO };
    let len_sq = mv.length_squared();
    if len_sq > 1.0 {
        mv /= len_sq.sqrt();
    }
    let mut vel = (ship.vel_f() + mv * (SHIP_ACCEL * TICK_DT)) * SHIP_DRAG_PER_TICK;
    let speed_sq = vel.length_squared();
    if speed_sq > SHIP_MAX_SPEED * SHIP_MAX_SPEED {
        vel *= SHIP_MAX_SPEED / speed_sq.sqrt();
    }
    let start = ship.pos_f();
    let mut pos = start + vel * TICK_DT;
    // Walls stop the ship along the axis it hit, so sliding along an edge still works. (What
    // `f32::clamp` would give, without its assertion: formatting the floats of its panic
    // message would add 10 KB to the browser client, which steps this to predict.)
    let (min, max) = (Vec2::splat(SHIP_RADIUS), arena - Vec2::splat(SHIP_RADIUS));
    if pos.x < min.x || pos.x > max.x {
        pos.x = if pos.x < min.x { min.x } else { max.x };
        vel.x = 0.0;
    }
    if pos.y < min.y || pos.y > max.y {
        pos.y = if pos.y < min.y { min.y } else { max.y };
        vel.y = 0.0;
    }
    // The pushes' directions so far, and whether one went against them.
    let (mut pushed, mut squeezed) = (Vec2::ZERO, false);
    for rect in obstacles {
        let normal = push_out_of_rect(&mut pos, &mut vel, rect, SHIP_RADIUS);
        squeezed |= pushed.dot(normal) < 0.0;
        pushed += normal;
    }
    // Or one pushed it out of the arena: between an obstacle and the arena's edge, closer than
    // it is wide (a hundredth of a unit allowed for rounding).
    squeezed |= pos.cmplt(min - 0.01).any() || pos.cmpgt(max + 0.01).any();
    if squeezed {
        (pos, vel) = (start, Vec2::ZERO);
    }
    ship.pos = quantise_pos(pos);
    ship.vel = quantise_vel(vel);
}

/// The unit vector of an aim angle (radians, 0 = +x, clockwise on screen), through `libm` so
/// that the server and a predicting client agree to the bit.
pub fn aim_dir(aim: f32) -> Vec2 {
    Vec2::new(libm::cosf(aim), libm::sinf(aim))
}

/// Where a bullet fired from a ship at `ship_pos` (fixed point) with `aim` starts, and its
/// velocity: from the ship's nose, at [`BULLET_SPEED`], both quantised like ships.
pub fn bullet_launch(ship_pos: IVec2, aim: f32) -> (IVec2, IVec2) {
    let dir = aim_dir(aim);
    let origin = quantise_pos(ship_pos.as_vec2() / POS_SCALE + dir * SHIP_RADIUS);
    (origin, quantise_vel(dir * BULLET_SPEED))
}

/// A bullet's centre in world units `age` ticks after it was fired from `origin` with `vel`
/// (fixed point). Bullets fly straight, so this is exact from the launch record alone: the
/// server sweeps collisions between consecutive ages and clients draw from the same formula.
pub fn bullet_pos(origin: IVec2, vel: IVec2, age: f32) -> Vec2 {
    origin.as_vec2() / POS_SCALE + vel.as_vec2() / VEL_SCALE * (age * TICK_DT)
}

/// True if a circle at `pos` with `radius` overlaps `rect`.
pub fn circle_hits_rect(pos: Vec2, radius: f32, rect: &Rect) -> bool {
    let closest = pos.clamp(rect.min, rect.max);
    (pos - closest).length_squared() < radius * radius
}

/// Moves a circle out of `rect` along the shortest way and removes the velocity that pushed it
/// in, so ships slide along obstacle faces: the direction it was pushed, or zero if it was not.
fn push_out_of_rect(pos: &mut Vec2, vel: &mut Vec2, rect: &Rect, radius: f32) -> Vec2 {
    let closest = pos.clamp(rect.min, rect.max);
    let delta = *pos - closest;
    let dist_sq = delta.length_squared();
    if dist_sq >= radius * radius {
        return Vec2::ZERO;
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
    normal
}

/// Steps one ship through `steps` pseudo-random inputs (stick and aim, from `seed`) in a small
/// arena with overlapping obstacles, and hashes every state on the way: position and velocity
/// after each step, and each step's bullet launch (through `libm`'s trigonometry). The
/// cross-platform determinism check: the browser test runs it in the page's wasm and natively,
/// and the hashes must be equal, or prediction would drift from the server.
pub fn replay_hash(seed: u64, steps: u32) -> u64 {
    const ARENA: Vec2 = Vec2::new(900.0, 700.0);
    let obstacles = [
        Rect { min: Vec2::new(300.0, 200.0), max: Vec2::new(420.0, 500.0) },
        Rect { min: Vec2::new(380.0, 450.0), max: Vec2::new(700.0, 520.0) },
        Rect { min: Vec2::new(600.0, 100.0), max: Vec2::new(640.0, 300.0) },
    ];
    let mut rng = seed;
    let mut unit = || {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    // FNV-1a, 64 bits, over every 32-bit word of every state.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |word: u32| {
        for byte in word.to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    let mut ship = ShipMotion::at(Vec2::new(150.0, 150.0));
    for _ in 0..steps {
        let (mv, aim) = (Vec2::new(unit(), unit()), unit() * 4.0);
        step_ship(&mut ship, mv, ARENA, &obstacles);
        let (origin, vel) = bullet_launch(ship.pos, aim);
        for v in [ship.pos, ship.vel, origin, vel] {
            mix(v.x as u32);
            mix(v.y as u32);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consts::{ARENA_HEIGHT, ARENA_WIDTH};

    #[test]
    fn the_replay_hash_depends_on_every_step() {
        assert_eq!(replay_hash(7, 1000), replay_hash(7, 1000));
        assert_ne!(replay_hash(7, 1000), replay_hash(7, 1001));
        assert_ne!(replay_hash(7, 1000), replay_hash(8, 1000));
    }

    fn step_ship(ship: &mut ShipMotion, mv: Vec2, arena: Vec2) {
        super::step_ship(ship, mv, arena, &[]);
    }

    const ARENA: Vec2 = Vec2::new(ARENA_WIDTH, ARENA_HEIGHT);

    #[test]
    fn full_stick_moves_and_caps_speed() {
        let mut ship = ShipMotion::at(Vec2::new(800.0, 500.0));
        for _ in 0..60 {
            step_ship(&mut ship, Vec2::new(1.0, 0.0), ARENA);
        }
        assert!(ship.pos_f().x > 900.0, "moved right: {:?}", ship.pos);
        assert_eq!(ship.pos_f().y, 500.0);
        assert!(ship.vel_f().length() <= SHIP_MAX_SPEED + 1e-3);
    }

    #[test]
    fn diagonal_is_not_faster() {
        let mut straight = ShipMotion::at(Vec2::new(800.0, 500.0));
        let mut diag = straight;
        for _ in 0..5 {
            step_ship(&mut straight, Vec2::new(1.0, 0.0), ARENA);
            step_ship(&mut diag, Vec2::new(1.0, 1.0), ARENA);
        }
        assert!((straight.vel_f().length() - diag.vel_f().length()).abs() < 0.2);
    }

    #[test]
    fn drag_stops_an_idle_ship() {
        let mut ship =
            ShipMotion { pos: quantise_pos(Vec2::new(800.0, 500.0)), vel: quantise_vel(Vec2::new(300.0, 0.0)) };
        let mut ticks = 0;
        while ship.vel != IVec2::ZERO {
            step_ship(&mut ship, Vec2::ZERO, ARENA);
            ticks += 1;
            assert!(ticks < 200, "still drifting after {ticks} ticks: {:?}", ship.vel);
        }
        // At rest means exactly zero, and it stays put from then on.
        let rest = ship;
        step_ship(&mut ship, Vec2::ZERO, ARENA);
        assert_eq!(ship, rest);
    }

    #[test]
    fn walls_hold_the_ship_inside() {
        let mut ship = ShipMotion::at(Vec2::new(20.0, 20.0));
        for _ in 0..90 {
            step_ship(&mut ship, Vec2::new(-1.0, -1.0), ARENA);
        }
        assert_eq!(ship.pos_f(), Vec2::splat(SHIP_RADIUS));
        assert_eq!(ship.vel, IVec2::ZERO);
    }

    #[test]
    fn nan_input_is_ignored() {
        let mut ship = ShipMotion::at(Vec2::new(800.0, 500.0));
        step_ship(&mut ship, Vec2::new(f32::NAN, 1.0), ARENA);
        assert_eq!(ship.pos_f(), Vec2::new(800.0, 500.0));
    }

    #[test]
    fn replay_is_bit_identical() {
        // The same inputs from the same start give the same bits: what prediction relies on.
        let inputs: Vec<Vec2> =
            (0..300).map(|i| Vec2::new(((i * 7) % 3) as f32 - 1.0, ((i * 5) % 3) as f32 - 1.0)).collect();
        let run = || {
            let mut ship = ShipMotion::at(Vec2::new(100.0, 900.0));
            for mv in &inputs {
                step_ship(&mut ship, *mv, ARENA);
            }
            ship
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn obstacles_block_and_let_the_ship_slide() {
        let wall = Rect { min: Vec2::new(500.0, 0.0), max: Vec2::new(600.0, 1000.0) };
        let mut ship = ShipMotion::at(Vec2::new(400.0, 500.0));
        for _ in 0..120 {
            super::step_ship(&mut ship, Vec2::new(1.0, 0.3), ARENA, &[wall]);
            assert!(!circle_hits_rect(ship.pos_f(), SHIP_RADIUS - 0.2, &wall), "inside the wall at {}", ship.pos_f());
        }
        assert!((ship.pos_f().x - (500.0 - SHIP_RADIUS)).abs() < 0.2, "resting against the wall: {}", ship.pos_f());
        assert!(ship.pos_f().y > 600.0, "slid along it: {}", ship.pos_f());
    }

    /// A wall across an 800×400 arena from y = 200 to 240, with a gap `gap` wide around x = 400.
    fn slit(gap: f32) -> [Rect; 2] {
        let (y0, y1) = (200.0, 240.0);
        [
            Rect { min: Vec2::new(0.0, y0), max: Vec2::new(400.0 - gap / 2.0, y1) },
            Rect { min: Vec2::new(400.0 + gap / 2.0, y0), max: Vec2::new(800.0, y1) },
        ]
    }

    /// True if a ship at `pos` is in any of `walls` by more than rounding.
    fn in_a_wall(pos: Vec2, walls: &[Rect]) -> bool {
        walls.iter().any(|w| circle_hits_rect(pos, SHIP_RADIUS - 0.2, w))
    }

    #[test]
    fn a_gap_narrower_than_the_ship_stops_it_and_a_wider_one_lets_it_through() {
        // Ships are 32 across. Each rectangle pushing once let them through gaps down to about
        // 24, ending each tick partly inside the walls (from an outside test of a map maker).
        let arena = Vec2::new(800.0, 400.0);
        for gap in [0.0, 1.0, 4.0, 8.0, 16.0, 20.0, 22.0, 24.0, 28.0, 31.0, 31.5] {
            let walls = slit(gap);
            let mut ship = ShipMotion::at(Vec2::new(400.0, 50.0));
            for tick in 0..90 {
                super::step_ship(&mut ship, Vec2::Y, arena, &walls);
                assert!(!in_a_wall(ship.pos_f(), &walls), "gap {gap}, tick {tick}: in a wall at {}", ship.pos_f());
            }
            assert!(ship.pos_f().y < 200.0, "gap {gap}: the ship got through to {}", ship.pos_f());
            // Stopped at the gap, not short of it.
            assert!(ship.pos_f().y > 200.0 - SHIP_RADIUS - 4.0, "gap {gap}: held back at {}", ship.pos_f());
        }
        for gap in [33.0, 40.0, 64.0] {
            let walls = slit(gap);
            let mut ship = ShipMotion::at(Vec2::new(400.0, 50.0));
            for _ in 0..90 {
                super::step_ship(&mut ship, Vec2::Y, arena, &walls);
                assert!(!in_a_wall(ship.pos_f(), &walls), "gap {gap}: in a wall at {}", ship.pos_f());
            }
            assert!(ship.pos_f().y > 240.0 + SHIP_RADIUS, "gap {gap}: the ship fits but is at {}", ship.pos_f());
        }
    }

    #[test]
    fn a_gap_between_an_obstacle_and_the_edge_narrower_than_the_ship_stops_it() {
        let arena = Vec2::new(400.0, 400.0);
        for (gap, passes) in [(8.0, false), (20.0, false), (31.0, false), (33.0, true), (48.0, true)] {
            let block = [Rect { min: Vec2::new(gap, 200.0), max: Vec2::new(300.0, 240.0) }];
            let mut ship = ShipMotion::at(Vec2::new(SHIP_RADIUS, 50.0));
            for tick in 0..90 {
                super::step_ship(&mut ship, Vec2::new(-0.2, 1.0), arena, &block);
                let p = ship.pos_f();
                assert!(p.x >= SHIP_RADIUS, "gap {gap}, tick {tick}: out of the arena at {p}");
                assert!(!in_a_wall(p, &block), "gap {gap}, tick {tick}: in the block at {p}");
            }
            assert_eq!(ship.pos_f().y > 240.0 + SHIP_RADIUS, passes, "gap {gap}: at {}", ship.pos_f());
        }
    }

    #[test]
    fn a_ship_sliding_along_a_wall_passes_a_slit_it_cannot_fit_through() {
        let arena = Vec2::new(800.0, 400.0);
        let walls = slit(20.0);
        let mut ship = ShipMotion::at(Vec2::new(100.0, 200.0 - SHIP_RADIUS));
        for _ in 0..60 {
            // Pressing into the wall as it slides.
            super::step_ship(&mut ship, Vec2::new(1.0, 0.6), arena, &walls);
            assert!(!in_a_wall(ship.pos_f(), &walls), "in a wall at {}", ship.pos_f());
        }
        assert!(ship.pos_f().x > 500.0, "slid past the slit: {}", ship.pos_f());
        assert!(ship.pos_f().y <= 200.0 - SHIP_RADIUS + 0.2, "still above the wall: {}", ship.pos_f());
    }

    #[test]
    fn a_ship_inside_an_obstacle_is_pushed_out() {
        let block = Rect { min: Vec2::new(100.0, 100.0), max: Vec2::new(200.0, 140.0) };
        let mut ship = ShipMotion::at(Vec2::new(150.0, 135.0));
        super::step_ship(&mut ship, Vec2::ZERO, ARENA, &[block]);
        assert!(!circle_hits_rect(ship.pos_f(), SHIP_RADIUS - 0.2, &block), "{}", ship.pos_f());
        assert!(ship.pos_f().y > 140.0, "left through the nearest face: {}", ship.pos_f());
    }

    #[test]
    fn quantised_state_replays_exactly_from_a_snapshot() {
        // A client that receives the server's fixed-point state mid-run and steps the same
        // inputs lands on the server's numbers, tick for tick.
        let mut server = ShipMotion::at(Vec2::new(300.0, 300.0));
        let inputs: Vec<Vec2> =
            (0..200).map(|i| Vec2::new(((i * 3) % 5) as f32 / 2.0 - 1.0, ((i * 7) % 3) as f32 - 1.0)).collect();
        for mv in &inputs[..50] {
            step_ship(&mut server, *mv, ARENA);
        }
        let mut client = ShipMotion { pos: server.pos, vel: server.vel };
        for mv in &inputs[50..] {
            step_ship(&mut server, *mv, ARENA);
            step_ship(&mut client, *mv, ARENA);
            assert_eq!(client, server);
        }
    }

    #[test]
    fn bullets_fly_straight_from_the_nose() {
        let ship = quantise_pos(Vec2::new(500.0, 500.0));
        let (origin, vel) = bullet_launch(ship, 0.0);
        assert_eq!(origin, quantise_pos(Vec2::new(500.0 + SHIP_RADIUS, 500.0)));
        assert_eq!(vel, quantise_vel(Vec2::new(BULLET_SPEED, 0.0)));
        let p = bullet_pos(origin, vel, 30.0);
        assert!((p.x - (516.0 + BULLET_SPEED)).abs() < 0.01 && (p.y - 500.0).abs() < 0.01, "{p}");
        let down = aim_dir(std::f32::consts::FRAC_PI_2);
        assert!(down.x.abs() < 1e-6 && (down.y - 1.0).abs() < 1e-6, "clockwise on screen: {down}");
    }
}
