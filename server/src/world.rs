//! The game world: plain Rust, no actix, no clock, no I/O. `Room` owns one and steps it at the
//! fixed tick; tests and benches drive it directly.

use glam::Vec2;
use rand::{RngExt, SeedableRng, rngs::SmallRng};
use skirmish_shared::consts::{ARENA_HEIGHT, ARENA_WIDTH, SHIP_RADIUS};
use skirmish_shared::sim::{ShipMotion, step_ship};
use skirmish_shared::{Input, PlayerId, PlayerState, Snapshot};

/// One player's ship.
#[derive(Debug, Clone)]
struct Ship {
    id: PlayerId,
    motion: ShipMotion,
    /// The input in force: the last one consumed (inputs persist until replaced).
    input: Input,
}

/// All ships in one room.
#[derive(Debug)]
pub struct World {
    arena: Vec2,
    /// Kept sorted by id so snapshots are in a stable order.
    ships: Vec<Ship>,
    rng: SmallRng,
}

impl World {
    /// An empty world of the default arena size; `seed` fixes spawn points for tests.
    pub fn new(seed: u64) -> Self {
        Self { arena: Vec2::new(ARENA_WIDTH, ARENA_HEIGHT), ships: Vec::new(), rng: SmallRng::seed_from_u64(seed) }
    }

    /// Arena size in world units.
    pub fn arena(&self) -> Vec2 {
        self.arena
    }

    /// Number of ships.
    pub fn len(&self) -> usize {
        self.ships.len()
    }

    /// True when no ship is in the world.
    pub fn is_empty(&self) -> bool {
        self.ships.is_empty()
    }

    /// Adds a ship at a random point inside the arena; returns where.
    pub fn add_player(&mut self, id: PlayerId) -> Vec2 {
        let margin = SHIP_RADIUS * 4.0;
        let pos = Vec2::new(
            self.rng.random_range(margin..self.arena.x - margin),
            self.rng.random_range(margin..self.arena.y - margin),
        );
        let ship = Ship { id, motion: ShipMotion { pos, vel: Vec2::ZERO }, input: Input::default() };
        let at = self.ships.partition_point(|s| s.id < id);
        self.ships.insert(at, ship);
        pos
    }

    /// Removes a ship; unknown ids are ignored.
    pub fn remove_player(&mut self, id: PlayerId) {
        if let Ok(i) = self.ships.binary_search_by_key(&id, |s| s.id) {
            self.ships.remove(i);
        }
    }

    /// Advances one fixed tick. `inputs` holds at most one new input per player (the one this
    /// tick consumes); players without one keep their previous input.
    pub fn step(&mut self, inputs: &[(PlayerId, Input)]) {
        for (id, input) in inputs {
            if let Ok(i) = self.ships.binary_search_by_key(id, |s| s.id) {
                self.ships[i].input = *input;
            }
        }
        let arena = self.arena;
        for ship in &mut self.ships {
            step_ship(&mut ship.motion, ship.input.mv, arena);
        }
    }

    /// The state every player receives, into `out` (reused between ticks to avoid allocating).
    pub fn snapshot_into(&self, tick: u64, out: &mut Snapshot) {
        out.tick = tick;
        out.players.clear();
        out.players.extend(self.ships.iter().map(|s| PlayerState {
            id: s.id,
            pos: s.motion.pos,
            vel: s.motion.vel,
            aim: s.input.aim,
            ack: s.input.seq,
        }));
    }

    /// Position of one ship (tests and spawn logic).
    pub fn position(&self, id: PlayerId) -> Option<Vec2> {
        self.ships.binary_search_by_key(&id, |s| s.id).ok().map(|i| self.ships[i].motion.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u32, x: f32) -> Input {
        Input { seq, mv: Vec2::new(x, 0.0), aim: 0.5, buttons: 0 }
    }

    #[test]
    fn inputs_move_their_own_ship_only() {
        let mut world = World::new(1);
        let a0 = world.add_player(1);
        let b0 = world.add_player(2);
        for seq in 1..=10 {
            world.step(&[(1, input(seq, 1.0))]);
        }
        assert!(world.position(1).unwrap().x > a0.x);
        assert_eq!(world.position(2).unwrap(), b0);
    }

    #[test]
    fn input_persists_and_ack_is_the_last_consumed() {
        let mut world = World::new(1);
        let start = world.add_player(5);
        world.step(&[(5, input(3, 1.0))]);
        let after_one = world.position(5).unwrap();
        world.step(&[]);
        assert!(world.position(5).unwrap().x > after_one.x, "input stays in force");
        let mut snap = Snapshot::default();
        world.snapshot_into(9, &mut snap);
        assert_eq!(snap.tick, 9);
        assert_eq!(snap.players.len(), 1);
        assert_eq!(snap.players[0].ack, 3);
        assert_eq!(snap.players[0].aim, 0.5);
        assert!(snap.players[0].pos.x > start.x);
    }

    #[test]
    fn snapshots_are_sorted_and_removal_works() {
        let mut world = World::new(7);
        for id in [5, 1, 3] {
            world.add_player(id);
        }
        world.remove_player(3);
        world.remove_player(42);
        let mut snap = Snapshot::default();
        world.snapshot_into(0, &mut snap);
        assert_eq!(snap.players.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 5]);
    }

    #[test]
    fn spawns_are_inside_the_arena_and_seeded() {
        let (mut a, mut b) = (World::new(42), World::new(42));
        for id in 0..100 {
            let p = a.add_player(id);
            assert_eq!(p, b.add_player(id), "same seed, same spawns");
            assert!(p.x > SHIP_RADIUS && p.x < ARENA_WIDTH - SHIP_RADIUS);
            assert!(p.y > SHIP_RADIUS && p.y < ARENA_HEIGHT - SHIP_RADIUS);
        }
    }
}
