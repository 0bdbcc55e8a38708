//! Fire, bullets and damage. Bullets are tested along the whole segment they travel in a tick
//! (30 units at 900 u/s), so they cannot tunnel through a thin wall or a ship's edge; the earliest
//! thing on the segment is what they hit.
//!
//! A bullet's flight is its launch record (`shared::sim::bullet_launch`, `bullet_pos`, with
//! `libm` trigonometry), so clients draw it, and can later predict it, from the same formula.

use glam::Vec2;
use skirmish_shared::delta::BulletEnt;
use skirmish_shared::sim::{bullet_launch, bullet_pos};
use skirmish_shared::tuning::{
    BULLET_DAMAGE, BULLET_LIFETIME_TICKS, BULLET_RADIUS, FIRE_COOLDOWN_TICKS, RAPID_FIRE_COOLDOWN_TICKS,
    RESPAWN_DELAY_TICKS, SHIP_RADIUS,
};
use skirmish_shared::{Input, Kill, PlayerId, Rect};

use super::{Bullet, GameEvent, QUERY_MARGIN, World};

impl World {
    /// Every living ship holding fire whose gun is ready shoots one bullet from its nose.
    pub(super) fn fire(&mut self) {
        for ship in &mut self.ships {
            ship.cooldown = ship.cooldown.saturating_sub(1);
            if !ship.alive || ship.input.buttons & Input::FIRE == 0 || ship.cooldown > 0 {
                continue;
            }
            let (origin, vel) = bullet_launch(ship.motion.pos, ship.input.aim);
            let launch = BulletEnt {
                id: self.next_bullet_id,
                owner: ship.id,
                origin,
                vel,
                // The tick it was at its origin: it leaves the nose and moves one step during
                // this tick, like every bullet already in flight.
                tick: self.tick - 1,
                seq: ship.input.seq,
            };
            self.bullets.push(Bullet { launch, pos: bullet_pos(origin, vel, 0.0), ticks_left: BULLET_LIFETIME_TICKS });
            self.next_bullet_id = self.next_bullet_id.wrapping_add(1);
            ship.cooldown = if ship.rapid_ticks > 0 { RAPID_FIRE_COOLDOWN_TICKS } else { FIRE_COOLDOWN_TICKS };
        }
    }

    /// Moves every bullet one tick; it dies on the first ship (not its owner's) or obstacle on
    /// its path, past the arena edge, or when its lifetime runs out. Only the obstacles and
    /// ships near its path are tested (through the grids); the earliest hit wins, an obstacle
    /// before a ship at the same point, and the ship first in id order among ships.
    pub(super) fn move_bullets(&mut self) {
        debug_assert!(self.ship_grid_fresh, "ships moved this tick, so the grid was rebuilt");
        let map = self.map.clone();
        let rect_reach = BULLET_RADIUS + QUERY_MARGIN;
        let ship_reach = SHIP_RADIUS + BULLET_RADIUS + QUERY_MARGIN;
        for i in 0..self.bullets.len() {
            let bullet = self.bullets[i];
            // Where the launch record puts it at the end of this tick (`pos` is where it was).
            let age = (self.tick - bullet.launch.tick) as f32;
            let to = bullet_pos(bullet.launch.origin, bullet.launch.vel, age);
            let (lo, hi) = (bullet.pos.min(to), bullet.pos.max(to));
            let mut wall = f32::INFINITY;
            self.obstacles.for_each_near(lo - rect_reach, hi + rect_reach, |k| {
                if let Some(t) = segment_hits_rect(bullet.pos, to, &map.obstacles[k], BULLET_RADIUS) {
                    wall = wall.min(t);
                }
            });
            let ships = &self.ships;
            let mut victim: Option<(f32, usize)> = None;
            self.ship_grid.for_each_near(lo - ship_reach, hi + ship_reach, |j| {
                let (j, ship) = (j as usize, &ships[j as usize]);
                if !ship.alive || ship.id == bullet.owner() {
                    return;
                }
                if let Some(t) = segment_hits_circle(bullet.pos, to, ship.pos(), SHIP_RADIUS + BULLET_RADIUS)
                    && t < wall
                    && victim.is_none_or(|(best, k)| t < best || (t == best && j < k))
                {
                    victim = Some((t, j));
                }
            });
            if let Some((_, j)) = victim {
                self.hit(j, bullet.owner());
            }
            let outside = to.x < 0.0 || to.y < 0.0 || to.x > map.size.x || to.y > map.size.y;
            let bullet = &mut self.bullets[i];
            bullet.ticks_left = bullet.ticks_left.saturating_sub(1);
            if wall.is_finite() || victim.is_some() || outside {
                bullet.ticks_left = 0;
            }
            bullet.pos = to;
        }
        // One order-preserving pass: the list stays in id order for snapshots.
        self.bullets.retain(|b| b.ticks_left > 0);
    }

    /// Ship `j` takes a bullet from `shooter`; at zero health it dies, and while the match
    /// counts, the shooter gets the kill and the victim the death.
    pub(super) fn hit(&mut self, j: usize, shooter: PlayerId) {
        let scoring = self.flow.scoring();
        let ship = &mut self.ships[j];
        ship.health = ship.health.saturating_sub(BULLET_DAMAGE);
        if ship.health > 0 {
            return;
        }
        ship.alive = false;
        ship.respawn_in = RESPAWN_DELAY_TICKS;
        ship.motion.vel = glam::IVec2::ZERO;
        ship.rapid_ticks = 0;
        let (victim, at) = (ship.id, ship.pos());
        if scoring {
            ship.deaths = ship.deaths.saturating_add(1);
            ship.score_changed = true;
            if let Ok(k) = self.ships.binary_search_by_key(&shooter, |s| s.id) {
                self.ships[k].kills = self.ships[k].kills.saturating_add(1);
                self.ships[k].score_changed = true;
            }
        }
        self.events.push(GameEvent::Kill(Kill { killer: shooter, victim }, at));
    }
}

/// Where (as a fraction 0..=1 of the way from `from` to `to`) a point moving along the segment
/// first comes within `radius` of `centre`; 0 if it starts within.
pub(super) fn segment_hits_circle(from: Vec2, to: Vec2, centre: Vec2, radius: f32) -> Option<f32> {
    let d = to - from;
    let f = from - centre;
    let c = f.length_squared() - radius * radius;
    if c <= 0.0 {
        return Some(0.0);
    }
    let a = d.length_squared();
    let b = f.dot(d);
    // Solve |f + d·t|² = r²: a·t² + 2b·t + c = 0; the smaller root is the entry.
    let disc = b * b - a * c;
    if a == 0.0 || disc < 0.0 {
        return None;
    }
    let t = (-b - disc.sqrt()) / a;
    (0.0..=1.0).contains(&t).then_some(t)
}

/// Where a circle of `radius` moving along the segment first touches `rect` (approximated as
/// the rectangle grown by the radius, a little generous at the corners); 0 if it starts inside.
pub(super) fn segment_hits_rect(from: Vec2, to: Vec2, rect: &Rect, radius: f32) -> Option<f32> {
    let (min, max) = (rect.min - radius, rect.max + radius);
    let d = to - from;
    let (mut t_in, mut t_out) = (0.0f32, 1.0f32);
    for axis in 0..2 {
        let (p, v, lo, hi) = (from[axis], d[axis], min[axis], max[axis]);
        if v == 0.0 {
            if p < lo || p > hi {
                return None;
            }
            continue;
        }
        let (t1, t2) = ((lo - p) / v, (hi - p) / v);
        t_in = t_in.max(t1.min(t2));
        t_out = t_out.min(t1.max(t2));
        if t_in > t_out {
            return None;
        }
    }
    Some(t_in)
}
