//! Where things appear: ships at the map's spawn points (a random free one, else the freest),
//! pickups at its pickup spots (a random one not taken), and what touching a pickup does.
//! Ships near a spawn point or a pickup are found through the ship grid; nothing allocates once
//! warm.

use glam::Vec2;
use rand::RngExt;
use skirmish_shared::PickupKind;
use skirmish_shared::tuning::{
    PICKUP_HEALTH_AMOUNT, PICKUP_RADIUS, PICKUP_SPAWN_INTERVAL_TICKS, RAPID_FIRE_TICKS, SHIP_MAX_HEALTH, SHIP_RADIUS,
    SPAWN_CLEARANCE,
};

use super::{Pickup, QUERY_MARGIN, Ship, World, fresh};
use crate::grid::Grid;
use crate::maps::Map;

/// Spawn points tried, in random order, for one spawn: on maps with more, a free point is missed
/// only when fewer than about one in this many are free (then the freest of those tried wins).
const MAX_SPAWN_TRIES: usize = 64;

impl World {
    /// Brings ship `i` back to life at full health at a spawn point.
    pub(super) fn respawn(&mut self, i: usize) {
        let pos = self.pick_spawn();
        fresh(&mut self.ships[i], pos);
        // Later spawns in this tick must keep clear of it too.
        self.ship_grid.insert(i as u32, pos);
    }

    /// A spawn point for a ship about to (re)appear (see [`pick_spawn`]).
    pub(super) fn pick_spawn(&mut self) -> Vec2 {
        if !self.ship_grid_fresh {
            self.refresh_ship_grid();
        }
        pick_spawn(&self.map, &self.ships, &self.ship_grid, &mut self.spawn_order, &mut self.rng)
    }

    /// Respawns the dead whose delay is over, but for those whose player is away: they wait
    /// for it (`World::leave_seat`), or an absent player's ship would stand at a spawn point
    /// for anyone to score on.
    pub(super) fn respawn_due(&mut self) {
        for i in 0..self.ships.len() {
            let ship = &mut self.ships[i];
            if ship.alive {
                continue;
            }
            ship.respawn_in = ship.respawn_in.saturating_sub(1);
            if ship.respawn_in == 0 && !ship.away {
                self.respawn(i);
            }
        }
    }

    /// Living ships touching a pickup take it (lowest id first). A ship at full health leaves
    /// a health pack for someone who needs it.
    pub(super) fn collect_pickups(&mut self) {
        debug_assert!(self.ship_grid_fresh, "ships moved this tick, so the grid was rebuilt");
        let reach = SHIP_RADIUS + PICKUP_RADIUS;
        let reach_sq = reach * reach;
        let mut i = 0;
        while i < self.pickups.len() {
            let pickup = self.pickups[i];
            let ships = &self.ships;
            let mut taker: Option<usize> = None;
            let slack = reach + QUERY_MARGIN;
            self.ship_grid.for_each_near(pickup.pos - slack, pickup.pos + slack, |j| {
                let j = j as usize;
                let s = &ships[j];
                if taker.is_none_or(|t| j < t)
                    && s.alive
                    && s.pos().distance_squared(pickup.pos) < reach_sq
                    && (pickup.kind != PickupKind::Health || s.health < SHIP_MAX_HEALTH)
                {
                    taker = Some(j);
                }
            });
            match taker {
                Some(j) => {
                    let ship = &mut self.ships[j];
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
        let taken = &mut self.spot_taken;
        taken.clear();
        taken.resize(spots.len(), false);
        for pickup in &self.pickups {
            if let Some(t) = taken.get_mut(pickup.spot) {
                *t = true;
            }
        }
        let free = taken.iter().filter(|&&t| !t).count();
        if free == 0 {
            return;
        }
        let k = self.rng.random_range(0..free);
        let Some(spot) = (0..spots.len()).filter(|&s| !taken[s]).nth(k) else { return };
        let kind = if self.rng.random_bool(0.5) { PickupKind::Health } else { PickupKind::RapidFire };
        let pickup = Pickup { id: self.next_pickup_id, kind, spot, pos: spots[spot] };
        self.next_pickup_id = self.next_pickup_id.wrapping_add(1);
        self.pickups.push(pickup);
    }
}

/// A random spawn point with no living ship within `SPAWN_CLEARANCE`; when every point is
/// crowded, the one whose nearest living ship is farthest away (the first such on ties).
///
/// Points are tried in a random order (a partial shuffle of `order`, reused between calls), so
/// the first free one is a uniform choice among the free ones, and each try is one grid query.
/// On maps with more than [`MAX_SPAWN_TRIES`] points only that many are tried: the crowded
/// answer is then the freest of those.
pub(super) fn pick_spawn(
    map: &Map,
    ships: &[Ship],
    grid: &Grid,
    order: &mut Vec<u32>,
    rng: &mut impl rand::Rng,
) -> Vec2 {
    let spawns = &map.spawns;
    if spawns.is_empty() {
        // Loaded maps always have a spawn point; a hand-built one without gets the centre.
        return map.size * 0.5;
    }
    // The nearest living ship's squared distance when it is within the clearance (∞ if none
    // is: a ship outside the query box is at least the clearance away on one axis).
    let reach = SPAWN_CLEARANCE + QUERY_MARGIN;
    let nearest_sq = |p: Vec2| {
        let mut best = f32::INFINITY;
        grid.for_each_near(p - reach, p + reach, |j| {
            let s = &ships[j as usize];
            if s.alive {
                best = best.min(s.pos().distance_squared(p));
            }
        });
        best
    };
    if order.len() != spawns.len() {
        order.clear();
        order.extend(0..spawns.len() as u32);
    }
    let clear_sq = SPAWN_CLEARANCE * SPAWN_CLEARANCE;
    // (index, squared distance to its nearest ship) of the freest point tried.
    let mut freest = (0, f32::NEG_INFINITY);
    for k in 0..spawns.len().min(MAX_SPAWN_TRIES) {
        order.swap(k, rng.random_range(k..spawns.len()));
        let i = order[k] as usize;
        let d = nearest_sq(spawns[i]);
        if d >= clear_sq {
            return spawns[i];
        }
        if d > freest.1 || (d == freest.1 && i < freest.0) {
            freest = (i, d);
        }
    }
    spawns[freest.0]
}
