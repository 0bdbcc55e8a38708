//! Where things appear: ships at the map's spawn points (a random free one, else the freest),
//! pickups at its pickup spots (a random one not taken), and what touching a pickup does.
//! Both choices scan the map's short lists without allocating.

use glam::Vec2;
use rand::RngExt;
use skirmish_shared::PickupKind;
use skirmish_shared::tuning::{
    PICKUP_HEALTH_AMOUNT, PICKUP_RADIUS, PICKUP_SPAWN_INTERVAL_TICKS, RAPID_FIRE_TICKS, SHIP_MAX_HEALTH, SHIP_RADIUS,
    SPAWN_CLEARANCE,
};

use super::{Pickup, Ship, World, fresh};
use crate::maps::Map;

impl World {
    /// Brings ship `i` back to life at full health at a spawn point.
    pub(super) fn respawn(&mut self, i: usize) {
        let pos = pick_spawn(&self.map, &self.ships, &mut self.rng);
        fresh(&mut self.ships[i], pos);
    }

    /// Respawns the dead whose delay is over.
    pub(super) fn respawn_due(&mut self) {
        for i in 0..self.ships.len() {
            let ship = &mut self.ships[i];
            if ship.alive {
                continue;
            }
            ship.respawn_in = ship.respawn_in.saturating_sub(1);
            if ship.respawn_in == 0 {
                self.respawn(i);
            }
        }
    }

    /// Living ships touching a pickup take it (lowest id first). A ship at full health leaves
    /// a health pack for someone who needs it.
    pub(super) fn collect_pickups(&mut self) {
        let reach_sq = (SHIP_RADIUS + PICKUP_RADIUS) * (SHIP_RADIUS + PICKUP_RADIUS);
        let mut i = 0;
        while i < self.pickups.len() {
            let pickup = self.pickups[i];
            let taker = self.ships.iter_mut().find(|s| {
                s.alive
                    && s.pos().distance_squared(pickup.pos) < reach_sq
                    && (pickup.kind != PickupKind::Health || s.health < SHIP_MAX_HEALTH)
            });
            match taker {
                Some(ship) => {
                    match pickup.kind {
                        PickupKind::Health => {
                            ship.health = ship.health.saturating_add(PICKUP_HEALTH_AMOUNT).min(SHIP_MAX_HEALTH);
                        }
                        PickupKind::RapidFire => ship.rapid_ticks = RAPID_FIRE_TICKS,
                    }
                    self.pickups.swap_remove(i);
                }
                None => i += 1,
            }
        }
    }

    /// Every `PICKUP_SPAWN_INTERVAL_TICKS`, a random kind of pickup appears on a random free
    /// spot, if the map has one.
    pub(super) fn spawn_pickups(&mut self) {
        self.pickup_timer += 1;
        if self.pickup_timer < PICKUP_SPAWN_INTERVAL_TICKS {
            return;
        }
        self.pickup_timer = 0;
        let spots = &self.map.pickups;
        let taken = |spot: usize| self.pickups.iter().any(|p| p.spot == spot);
        let free = (0..spots.len()).filter(|&s| !taken(s)).count();
        if free == 0 {
            return;
        }
        let k = self.rng.random_range(0..free);
        let Some(spot) = (0..spots.len()).filter(|&s| !taken(s)).nth(k) else { return };
        let kind = if self.rng.random_bool(0.5) { PickupKind::Health } else { PickupKind::RapidFire };
        let pickup = Pickup { id: self.next_pickup_id, kind, spot, pos: spots[spot] };
        self.next_pickup_id = self.next_pickup_id.wrapping_add(1);
        self.pickups.push(pickup);
    }
}

/// A random spawn point with no living ship within `SPAWN_CLEARANCE`; when every point is
/// crowded, the one whose nearest living ship is farthest away (the first such on ties).
pub(super) fn pick_spawn(map: &Map, ships: &[Ship], rng: &mut impl rand::Rng) -> Vec2 {
    let spawns = &map.spawns;
    let nearest_sq =
        |p: Vec2| ships.iter().filter(|s| s.alive).map(|s| s.pos().distance_squared(p)).fold(f32::INFINITY, f32::min);
    let clear_sq = SPAWN_CLEARANCE * SPAWN_CLEARANCE;
    let free = spawns.iter().filter(|&&p| nearest_sq(p) >= clear_sq).count();
    if free > 0 {
        let k = rng.random_range(0..free);
        if let Some(&p) = spawns.iter().filter(|&&p| nearest_sq(p) >= clear_sq).nth(k) {
            return p;
        }
    }
    // Loaded maps always have a spawn point; a hand-built one without gets the centre.
    let mut best = (map.size * 0.5, f32::NEG_INFINITY);
    for &p in spawns {
        let d = nearest_sq(p);
        if d > best.1 {
            best = (p, d);
        }
    }
    best.0
}
