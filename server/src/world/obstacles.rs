//! The map's obstacles by grid cell, built once per map, so that a moving ship or a bullet is
//! tested against the few rectangles near it instead of all of them, with the same result.
//!
//! Ships: `sim::step_ship_with` gives the same result as `sim::step_ship` over the whole map (what
//! the client runs) when it gets, in map order, every rectangle the ship comes within a radius
//! of during the step. The shortcut takes those near the ship's reach and checks its own premise:
//! if any push carried the ship out of the region they cover, the step is redone with them all.

use glam::Vec2;
use skirmish_shared::Rect;
use skirmish_shared::consts::TICK_DT;
use skirmish_shared::sim::{ShipMotion, step_ship_with};
use skirmish_shared::tuning::{SHIP_MAX_SPEED, SHIP_RADIUS};

use crate::grid::Grid;
use crate::maps::Map;

/// World units per cell side: a ship's reach in one tick and a bullet's path span one to four
/// cells, and a map of the largest size still has a modest table.
const CELL: f32 = 256.0;
/// Most a ship's centre moves in one tick before obstacles push it (its top speed, plus room
/// for rounding in the speed cap).
const MAX_MOVE: f32 = SHIP_MAX_SPEED * TICK_DT * 1.01 + 0.5;
/// How far obstacle pushes may carry a ship beyond its own move while the shortcut holds.
/// Sliding into a wall is pushed back by at most the move, so this is rarely reached.
const PUSH_SLACK: f32 = SHIP_RADIUS;
/// Room for rounding: positions are checked after quantising (1/16 unit at most) and boxes are
/// compared in `f32`.
const MARGIN: f32 = 1.0;

/// See the module docs. Items are indices into the map's `obstacles`, each listed in every cell
/// it overlaps.
#[derive(Debug, Clone, Default)]
pub(super) struct ObstacleGrid {
    grid: Grid,
}

impl ObstacleGrid {
    /// The grid of `map`'s obstacles.
    pub(super) fn new(map: &Map) -> Self {
        let mut grid = Grid::new(map.size, CELL);
        grid.rebuild_boxes(map.obstacles.iter().map(|r| (r.min, r.max)));
        Self { grid }
    }

    /// Calls `f` with every obstacle listed in a cell that overlaps `min..=max`: a superset of
    /// those overlapping it, and one spanning several of the cells comes once per cell.
    pub(super) fn for_each_near(&self, min: Vec2, max: Vec2, mut f: impl FnMut(usize)) {
        self.grid.for_each_near(min, max, |i| f(i as usize));
    }

    /// The obstacles of `rects` (the map's) overlapping `min..=max`, each once, in map order,
    /// into `out` (replaced).
    pub(super) fn overlapping(&self, rects: &[Rect], min: Vec2, max: Vec2, out: &mut Vec<u32>) {
        out.clear();
        self.for_each_near(min, max, |i| {
            let r = &rects[i];
            if r.min.cmple(max).all() && r.max.cmpge(min).all() {
                out.push(i as u32);
            }
        });
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
    }

    /// One tick of `sim::step_ship` for a ship on `map` (the map this grid was built from),
    /// testing only the rectangles near it; `near` is scratch. The result is bit for bit that of
    /// `step_ship` over every rectangle.
    pub(super) fn step_ship(&self, map: &Map, motion: &mut ShipMotion, mv: Vec2, near: &mut Vec<u32>) {
        let (rects, arena) = (&map.obstacles, map.size);
        // Where the centre can be after moving (walls clamp it, monotonically), and the wider
        // region it must stay in while obstacles push it.
        let (wall_lo, wall_hi) = (Vec2::splat(SHIP_RADIUS), arena - SHIP_RADIUS);
        let start = motion.pos_f();
        let lo = (start - MAX_MOVE).max(wall_lo).min(wall_hi) - PUSH_SLACK;
        let hi = (start + MAX_MOVE).max(wall_lo).min(wall_hi) + PUSH_SLACK;
        // Every rectangle that comes within a radius of any point of that region.
        self.overlapping(rects, lo - (SHIP_RADIUS + MARGIN), hi + (SHIP_RADIUS + MARGIN), near);
        // The full step runs the rectangles in map order. Those left out are too far to push a
        // ship inside the region, so as long as the ship stays in it, each prefix of `near`
        // gives where the full step is after that rectangle: check each one. Almost always
        // `near` holds zero or one rectangle.
        let mut trial = *motion;
        for j in 0..=near.len() {
            trial = *motion;
            step_ship_with(&mut trial, mv, arena, near[..j].iter().map(|&i| &rects[i as usize]));
            let p = trial.pos_f();
            if !(p.cmpge(lo).all() && p.cmple(hi).all()) {
                // Pushed far (a ship deep inside a block, or a crowd of them): take them all.
                step_ship_with(motion, mv, arena, rects.iter());
                return;
            }
        }
        *motion = trial;
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};
    use skirmish_shared::sim::{quantise_pos, quantise_vel, step_ship};

    use super::*;

    const SIZE: Vec2 = Vec2::new(3000.0, 2000.0);

    /// Thin walls, big blocks, clusters of overlapping or touching rectangles, and slits.
    fn tangle(rng: &mut SmallRng) -> Map {
        let mut obstacles = Vec::new();
        for _ in 0..60 {
            let min = Vec2::new(rng.random_range(0.0..2900.0), rng.random_range(0.0..1900.0));
            let size = match rng.random_range(0..3) {
                0 => Vec2::new(rng.random_range(10.0..40.0), rng.random_range(100.0..600.0)),
                1 => Vec2::splat(rng.random_range(100.0..500.0)),
                _ => Vec2::new(rng.random_range(20.0..80.0), rng.random_range(20.0..80.0)),
            };
            let rect = Rect { min, max: (min + size).min(SIZE) };
            obstacles.push(rect);
            if rng.random_bool(0.3) {
                // A neighbour overlapping it or touching it, to make ships bounce between two.
                let shift = Vec2::new(rng.random_range(-60.0..60.0), size.y.min(200.0));
                let min = (rect.min + shift).clamp(Vec2::ZERO, SIZE - 10.0);
                obstacles.push(Rect { min, max: (min + Vec2::new(60.0, 30.0)).min(SIZE) });
            }
            if rng.random_bool(0.3) {
                // A twin beside it across a gap up to a bit wider than a ship, where ships are
                // squeezed (`sim::step_ship_with`).
                let min = Vec2::new(rect.max.x + rng.random_range(0.0..40.0), rect.min.y);
                if min.x < SIZE.x - 10.0 {
                    obstacles.push(Rect { min, max: (min + size).min(SIZE) });
                }
            }
        }
        Map { name: "tangle".into(), size: SIZE, obstacles, spawns: vec![SIZE / 2.0], pickups: Vec::new() }
    }

    /// A point in or around a random obstacle (or anywhere, now and then just outside the arena).
    fn somewhere_tricky(rng: &mut SmallRng, map: &Map) -> Vec2 {
        if rng.random_bool(0.2) {
            return Vec2::new(rng.random_range(-20.0..SIZE.x + 20.0), rng.random_range(-20.0..SIZE.y + 20.0));
        }
        let r = &map.obstacles[rng.random_range(0..map.obstacles.len())];
        let (lo, hi) = (r.min - 2.0 * SHIP_RADIUS, r.max + 2.0 * SHIP_RADIUS);
        Vec2::new(rng.random_range(lo.x..hi.x), rng.random_range(lo.y..hi.y))
    }

    #[test]
    fn stepping_through_the_grid_matches_stepping_against_every_obstacle() {
        let mut near = Vec::new();
        for seed in 0..4 {
            let mut rng = SmallRng::seed_from_u64(seed);
            let map = tangle(&mut rng);
            let grid = ObstacleGrid::new(&map);
            // Single steps from anywhere, inside obstacles included, at any speed.
            for _ in 0..20_000 {
                let pos = somewhere_tricky(&mut rng, &map);
                let vel = Vec2::new(rng.random_range(-400.0..400.0), rng.random_range(-400.0..400.0));
                let mv = Vec2::new(rng.random_range(-1.5..1.5), rng.random_range(-1.5..1.5));
                let start = ShipMotion { pos: quantise_pos(pos), vel: quantise_vel(vel) };
                let (mut fast, mut full) = (start, start);
                grid.step_ship(&map, &mut fast, mv, &mut near);
                step_ship(&mut full, mv, map.size, &map.obstacles);
                assert_eq!(fast, full, "seed {seed}: from {start:?} with {mv}");
            }
            // Whole flights: ships pressing into walls and corners tick after tick.
            for _ in 0..200 {
                let mut fast = ShipMotion::at(somewhere_tricky(&mut rng, &map));
                let mut full = fast;
                let mut mv = Vec2::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                for tick in 0..150 {
                    if tick % 30 == 0 {
                        mv = Vec2::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
                    }
                    grid.step_ship(&map, &mut fast, mv, &mut near);
                    step_ship(&mut full, mv, map.size, &map.obstacles);
                    assert_eq!(fast, full, "seed {seed}, tick {tick}");
                }
            }
        }
    }

    #[test]
    fn a_ship_tests_only_the_obstacles_beside_it() {
        let wall = Rect { min: Vec2::new(500.0, 0.0), max: Vec2::new(540.0, 1000.0) };
        let far = Rect { min: Vec2::new(1500.0, 100.0), max: Vec2::new(1600.0, 200.0) };
        let map = Map { obstacles: vec![far, wall], ..tangle(&mut SmallRng::seed_from_u64(0)) };
        let grid = ObstacleGrid::new(&map);
        let mut near = Vec::new();
        let mut ship = ShipMotion::at(Vec2::new(1000.0, 1000.0));
        grid.step_ship(&map, &mut ship, Vec2::X, &mut near);
        assert!(near.is_empty(), "open space: {near:?}");
        let mut ship = ShipMotion::at(Vec2::new(500.0 - SHIP_RADIUS, 300.0));
        grid.step_ship(&map, &mut ship, Vec2::X, &mut near);
        assert_eq!(near, [1], "only the wall it leans on");
        assert_eq!(ship.pos_f().x, 500.0 - SHIP_RADIUS, "and it holds");
    }

    #[test]
    fn overlapping_lists_exactly_the_rectangles_touching_a_box_in_map_order() {
        let mut rng = SmallRng::seed_from_u64(9);
        let map = tangle(&mut rng);
        let grid = ObstacleGrid::new(&map);
        let mut found = Vec::new();
        for _ in 0..2000 {
            let min = Vec2::new(rng.random_range(-100.0..3000.0), rng.random_range(-100.0..2000.0));
            let max = min + Vec2::new(rng.random_range(0.0..700.0), rng.random_range(0.0..700.0));
            grid.overlapping(&map.obstacles, min, max, &mut found);
            let expected: Vec<u32> = (0..map.obstacles.len() as u32)
                .filter(|&i| {
                    let r = &map.obstacles[i as usize];
                    r.min.cmple(max).all() && r.max.cmpge(min).all()
                })
                .collect();
            assert_eq!(found, expected, "{min}..{max}");
        }
    }

    #[test]
    fn a_ship_moves_at_most_max_move_before_obstacles_push_it() {
        let arena = Vec2::splat(10_000.0);
        for (vel, mv) in [(Vec2::new(5000.0, -5000.0), Vec2::new(1.0, -1.0)), (Vec2::X * 320.0, Vec2::X)] {
            let mut ship = ShipMotion { pos: quantise_pos(Vec2::splat(5000.0)), vel: quantise_vel(vel) };
            let start = ship.pos_f();
            step_ship(&mut ship, mv, arena, &[]);
            let moved = (ship.pos_f() - start).abs().max_element();
            assert!(moved <= MAX_MOVE, "{moved} > {MAX_MOVE}");
        }
    }
}
