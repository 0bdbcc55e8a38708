//! Fire, bullets and damage. Bullets are tested along the whole segment they travel in a tick
//! (30 units at 900 u/s), so they cannot tunnel through a thin wall or a ship's edge; the earliest
//! thing on the segment is what they hit.
//!
//! A bullet's flight is its launch record (`shared::sim::bullet_launch`, `bullet_pos`, with
//! `libm` trigonometry), so clients draw it, and can later predict it, from the same formula.
//!
//! Shots are lag-compensated: a shooter sees the others where they were a few ticks ago
//! (`Input::view_tick`), so a shot starts at that tick (at most `LAG_COMP_MAX_TICKS` back) and is
//! swept tick by tick through the ships as they were then (`World::past`) up to the present,
//! with the obstacles (which never move) blocking as usual. A hit on the way counts now. The
//! launch record carries the earlier tick, so clients draw the bullet already that far along.
//! A ship's shots start at least a cooldown apart, whatever ticks they claim.

use glam::Vec2;
use skirmish_shared::consts::{LAG_COMP_MAX_TICKS, TICK_DT};
use skirmish_shared::delta::BulletEnt;
use skirmish_shared::sim::{bullet_launch, bullet_pos};
use skirmish_shared::tuning::{
    BULLET_DAMAGE, BULLET_LIFETIME_TICKS, BULLET_RADIUS, FIRE_COOLDOWN_TICKS, RAPID_FIRE_COOLDOWN_TICKS,
    RESPAWN_DELAY_TICKS, SHIP_MAX_SPEED, SHIP_RADIUS,
};
use skirmish_shared::{Input, Kill, PlayerId, PlayerState, Rect};

use super::{Bullet, GameEvent, PastShips, QUERY_MARGIN, Ship, World};

/// The farthest a ship can be from where it was one tick earlier, in world units: its top
/// speed for a tick, plus slack for obstacles pushing it out and the wire's half-unit rounding.
/// Past positions are found through the present ship grid, searched this much wider per tick.
const SHIP_REACH_PER_TICK: f32 = SHIP_MAX_SPEED * TICK_DT + 2.0;

/// What a bullet's path in one tick meets first.
struct Trace {
    /// It ends on an obstacle (before any ship).
    wall: bool,
    /// The ship it hits (an index into `ships`), if it hits one before any obstacle.
    victim: Option<usize>,
    /// It ends past the arena edge.
    outside: bool,
}

impl Trace {
    /// The bullet stops here.
    fn ends(&self) -> bool {
        self.wall || self.victim.is_some() || self.outside
    }
}

impl World {
    /// Every living ship holding fire whose gun is ready shoots one bullet from its nose, at the
    /// tick its input says the shooter was showing (see the module docs).
    pub(super) fn fire(&mut self) {
        let mut rewound = Vec::new();
        for i in 0..self.ships.len() {
            let ship = &mut self.ships[i];
            ship.cooldown = ship.cooldown.saturating_sub(1);
            if !ship.alive || ship.input.buttons & Input::FIRE == 0 || ship.cooldown > 0 {
                continue;
            }
            ship.cooldown = if ship.rapid_ticks > 0 { RAPID_FIRE_COOLDOWN_TICKS } else { FIRE_COOLDOWN_TICKS };
            let (origin, vel) = bullet_launch(ship.motion.pos, ship.input.aim);
            let (owner, seq, view_tick) = (ship.id, ship.input.seq, ship.input.view_tick);
            let (earliest, cooldown) = (ship.next_launch, ship.cooldown);
            // A shot starts no earlier than the last one's start and its cooldown: a client
            // showing the room moves its shown tick on with the room, so its shots start as far
            // apart as they were fired. Without it, a hand-made client claiming an older shown
            // tick for each shot started several at the same tick (from an outside test: four
            // rapid-fire bullets, 80 damage in one tick, a kill in 67 ms instead of 267).
            let rewind = self.rewind(view_tick).min((self.tick - 1).saturating_sub(earliest));
            self.ships[i].next_launch = self.tick - 1 - rewind + u64::from(cooldown);
            let launch = BulletEnt {
                id: self.next_bullet_id,
                owner,
                origin,
                vel,
                // The tick it was at its origin: it leaves the nose and moves one step during
                // this tick, like every bullet already in flight; `rewind` ticks earlier when
                // compensated.
                tick: self.tick - 1 - rewind,
                seq,
            };
            self.next_bullet_id = self.next_bullet_id.wrapping_add(1);
            let bullet = Bullet { launch, pos: bullet_pos(origin, vel, 0.0), ticks_left: BULLET_LIFETIME_TICKS };
            if rewind == 0 {
                self.bullets.push(bullet);
            } else {
                rewound.push(bullet);
            }
        }
        // After the loop, as catching up may hit (and change) any ship. In firing order, so
        // the outcome does not depend on anything but the inputs.
        for bullet in rewound {
            if let Some(bullet) = self.catch_up(bullet) {
                self.bullets.push(bullet);
            }
        }
    }

    /// How many ticks to rewind a shot made while showing `view_tick`: none for 0 (unknown)
    /// or a tick not before the previous one (an uncompensated shot starts there); otherwise
    /// back to it, but at most `LAG_COMP_MAX_TICKS` and never before the ticks kept (a freeze
    /// or a new match in between, or a world just started).
    pub(super) fn rewind(&self, view_tick: u64) -> u64 {
        let newest = self.tick - 1;
        if view_tick == 0 || view_tick >= newest || self.past.back().is_none_or(|p| p.tick != newest) {
            return 0;
        }
        (newest - view_tick).min(LAG_COMP_MAX_TICKS).min(self.past.len() as u64)
    }

    /// Sweeps a rewound bullet from its launch tick up to the previous tick through the ships
    /// as they were at each tick (this tick's step is `move_bullets`', as for every bullet);
    /// `None` when it hit something on the way (a ship takes the hit now) or left the arena.
    fn catch_up(&mut self, mut bullet: Bullet) -> Option<Bullet> {
        let (origin, vel, owner) = (bullet.launch.origin, bullet.launch.vel, bullet.owner());
        let first = self.past.len() - (self.tick - 1 - bullet.launch.tick) as usize;
        for k in first..self.past.len() {
            let past = &self.past[k];
            let to = bullet_pos(origin, vel, (past.tick - bullet.launch.tick) as f32);
            let slack = (self.tick - past.tick) as f32 * SHIP_REACH_PER_TICK;
            let trace = self.trace(bullet.pos, to, owner, slack, |ship| past_position(past, ship));
            bullet.ticks_left -= 1;
            bullet.pos = to;
            if let Some(j) = trace.victim {
                self.hit(j, owner);
            }
            if trace.ends() {
                return None;
            }
        }
        Some(bullet)
    }

    /// What a bullet of `owner` moving from `from` to `to` meets first: the obstacles near its
    /// path and the living ships other than its owner's whose position `at` gives (searched
    /// through the present ship grid, `slack` wider). The earliest hit wins, an obstacle before
    /// a ship at the same point, and the ship first in id order among ships.
    fn trace(&self, from: Vec2, to: Vec2, owner: PlayerId, slack: f32, at: impl Fn(&Ship) -> Option<Vec2>) -> Trace {
        let rect_reach = BULLET_RADIUS + QUERY_MARGIN;
        let ship_reach = SHIP_RADIUS + BULLET_RADIUS + QUERY_MARGIN + slack;
        let (lo, hi) = (from.min(to), from.max(to));
        let map = &*self.map;
        let mut wall = f32::INFINITY;
        self.obstacles.for_each_near(lo - rect_reach, hi + rect_reach, |k| {
            if let Some(t) = segment_hits_rect(from, to, &map.obstacles[k], BULLET_RADIUS) {
                wall = wall.min(t);
            }
        });
        let mut victim: Option<(f32, usize)> = None;
        self.ship_grid.for_each_near(lo - ship_reach, hi + ship_reach, |j| {
            let (j, ship) = (j as usize, &self.ships[j as usize]);
            if !ship.alive || ship.id == owner {
                return;
            }
            if let Some(t) = at(ship).and_then(|p| segment_hits_circle(from, to, p, SHIP_RADIUS + BULLET_RADIUS))
                && t < wall
                && victim.is_none_or(|(best, k)| t < best || (t == best && j < k))
            {
                victim = Some((t, j));
            }
        });
        let outside = to.x < 0.0 || to.y < 0.0 || to.x > map.size.x || to.y > map.size.y;
        Trace { wall: wall.is_finite(), victim: victim.map(|(_, j)| j), outside }
    }

    /// Moves every bullet one tick; it dies on the first ship (not its owner's) or obstacle on
    /// its path, past the arena edge, or when its lifetime runs out. Only the obstacles and
    /// ships near its path are tested (through the grids).
    pub(super) fn move_bullets(&mut self) {
        debug_assert!(self.ship_grid_fresh, "ships moved this tick, so the grid was rebuilt");
        for i in 0..self.bullets.len() {
            let bullet = self.bullets[i];
            // Where the launch record puts it at the end of this tick (`pos` is where it was).
            let age = (self.tick - bullet.launch.tick) as f32;
            let to = bullet_pos(bullet.launch.origin, bullet.launch.vel, age);
            let trace = self.trace(bullet.pos, to, bullet.owner(), 0.0, |ship| Some(ship.pos()));
            if let Some(j) = trace.victim {
                self.hit(j, bullet.owner());
            }
            let bullet = &mut self.bullets[i];
            bullet.ticks_left = bullet.ticks_left.saturating_sub(1);
            if trace.ends() {
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

/// Where `ship` was at a past tick, if it was alive then (and is in the record: a ship that
/// joined since was not there to be seen).
fn past_position(past: &PastShips, ship: &Ship) -> Option<Vec2> {
    let i = past.ships.binary_search_by_key(&ship.id, |s| s.id).ok()?;
    let seen = &past.ships[i];
    (seen.flags & PlayerState::ALIVE != 0).then(|| seen.pos_f())
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
