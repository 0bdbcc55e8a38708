//! What a client draws: each snapshot's decoded frame turned into world units ([`View`]), and a
//! short buffer of views to interpolate other ships between (`Views`).
//!
//! The buffer recycles its oldest view's lists for the next one, so building views allocates
//! nothing once it is full. A client that draws nothing (a bot) keeps one view holding only its
//! own ship ([`Views::new`]): refilling a view of every ship, bullet and pickup each tick cost a
//! bot 15 to 30 CPU-µs a second, in cache misses across a thousand bots' views
//! (`docs/performance.md`, "Where the rest of the bots' CPU goes").

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;
use skirmish_shared::consts::TICK_DT;
use skirmish_shared::delta::{Frame, ShipEnt, aim_from_byte};
use skirmish_shared::sim::{POS_SCALE, ShipMotion};
use skirmish_shared::{BulletState, OwnState, Phase, PickupKind, PickupState, PlayerId, PlayerInfo, PlayerState};

use crate::clock::TickClock;
use crate::scores::ScoreTable;
use crate::wire::SnapshotRef;

/// Views kept for interpolation (a third of a second at 30 Hz: the longest delay the clock
/// asks for, [`crate::clock::MAX_DELAY_TICKS`], plus one).
const VIEW_BUFFER_LEN: usize = 10;
/// When the next snapshot is late, ships and bullets go on along their last motion for at
/// most this many ticks past the newest view (100 ms), then wait: guessing further would
/// mostly be corrected with a jump.
pub const MAX_EXTRAPOLATION_TICKS: f64 = 3.0;

/// One snapshot in world units: what the client draws.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// The snapshot's tick.
    pub tick: u64,
    /// The match phase.
    pub phase: Phase,
    /// Milliseconds left in the phase (0 when it has no end).
    pub time_left_ms: u32,
    /// The full state of the ship this view is for (ours, or the player a spectator follows),
    /// in the simulation's fixed point, for prediction.
    pub own: Option<OwnState>,
    /// The ships in view, by id: the one the view is for (exact position and velocity) and
    /// the others (position to half a unit, velocity estimated from the previous view), with
    /// kills and deaths from the score table as it stood when the snapshot arrived
    /// ([`crate::Client::scores`] is always current).
    pub players: Vec<PlayerState>,
    /// Bullets in view, by id, where they are at this tick.
    pub bullets: Vec<BulletState>,
    /// Pickups in view, by id.
    pub pickups: Vec<PickupState>,
}

impl View {
    /// The ship `id`, if in view.
    pub fn player(&self, id: PlayerId) -> Option<&PlayerState> {
        self.players.binary_search_by_key(&id, |p| p.id).ok().map(|i| &self.players[i])
    }

    /// Refills this view (keeping its lists' capacity) from a snapshot and its decoded frame;
    /// `prev` is the view before it, for other ships' velocities and for the kills and deaths of
    /// those whose score line did not change since. Returns where the view's own ship is in
    /// `players`.
    fn fill(
        &mut self,
        snap: &SnapshotRef<'_>,
        frame: &Frame,
        prev: Option<&View>,
        scores: &ScoreTable,
    ) -> Option<usize> {
        self.reset(snap);
        // Merge the view's own ship into the others, which come sorted by id. The server never
        // sends it among them; if it did, the exact state wins.
        let (mut own, mut own_at) = (snap.me, None);
        for ship in &frame.ships {
            if let Some(me) = own.filter(|me| me.id <= ship.id) {
                own_at = Some(self.players.len());
                self.players.push(own_player(&me));
                own = None;
                if me.id == ship.id {
                    continue;
                }
            }
            self.players.push(other_player(ship));
        }
        if let Some(me) = own {
            own_at = Some(self.players.len());
            self.players.push(own_player(&me));
        }
        // One walk along the previous view (both lists are by id) for velocities and scores.
        let (before, dt) = match prev.filter(|v| v.tick < snap.tick) {
            Some(v) => (&v.players[..], (snap.tick - v.tick) as f32 * TICK_DT),
            None => (&[][..], 1.0),
        };
        let mut j = 0;
        for (i, p) in self.players.iter_mut().enumerate() {
            while j < before.len() && before[j].id < p.id {
                j += 1;
            }
            let old = before.get(j).filter(|q| q.id == p.id);
            (p.kills, p.deaths) = match old {
                Some(q) if !scores.changed(p.id) => (q.kills, q.deaths),
                _ => scores.get(p.id),
            };
            // A ship that died or respawned since jumps: no velocity from that.
            if Some(i) != own_at
                && let Some(q) = old.filter(|q| q.alive() == p.alive())
            {
                p.vel = (p.pos - q.pos) / dt;
            }
        }
        let at = snap.tick as f64;
        self.bullets.extend(frame.bullets.iter().map(|b| BulletState {
            id: b.id,
            owner: b.owner,
            pos: b.pos_at(at),
            vel: b.vel_f(),
        }));
        self.pickups.extend(frame.pickups.iter().map(|p| PickupState {
            id: p.id,
            kind: if p.kind == 0 { PickupKind::Health } else { PickupKind::RapidFire },
            pos: p.pos.as_vec2() / POS_SCALE,
        }));
        own_at
    }

    /// Takes the snapshot's header and empties the lists, keeping their capacity.
    fn reset(&mut self, snap: &SnapshotRef<'_>) {
        self.tick = snap.tick;
        self.phase = snap.phase;
        self.time_left_ms = snap.time_left_ms;
        self.own = snap.me;
        self.players.clear();
        self.bullets.clear();
        self.pickups.clear();
    }

    /// Refills this view with only the snapshot's header and the ship it is for (kills and
    /// deaths left at 0): what a client that draws nothing needs. Returns where that ship is.
    fn fill_own(&mut self, snap: &SnapshotRef<'_>) -> Option<usize> {
        self.reset(snap);
        let me = snap.me?;
        self.players.push(own_player(&me));
        Some(0)
    }
}

/// The ship a view is for, exactly.
fn own_player(me: &OwnState) -> PlayerState {
    let motion = ShipMotion { pos: me.pos, vel: me.vel };
    PlayerState {
        id: me.id,
        pos: motion.pos_f(),
        vel: motion.vel_f(),
        aim: aim_from_byte(me.aim),
        ack: me.ack,
        health: me.health,
        flags: me.flags,
        kills: 0,
        deaths: 0,
    }
}

/// Another ship, at rest until compared with the previous view.
fn other_player(ship: &ShipEnt) -> PlayerState {
    PlayerState {
        id: ship.id,
        pos: ship.pos_f(),
        vel: Vec2::ZERO,
        aim: ship.aim_rad(),
        ack: 0,
        health: ship.health,
        flags: ship.flags,
        kills: 0,
        deaths: 0,
    }
}

/// One ship as it should be drawn now.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawShip {
    /// Player id.
    pub id: PlayerId,
    /// Display name ("?" if the roster does not know it yet).
    pub name: String,
    /// Colour as `0xRRGGBB`.
    pub colour: u32,
    /// Interpolated position in world units.
    pub pos: Vec2,
    /// Aim angle in radians.
    pub aim: f32,
    /// True for the ship the view is for (ours, or the one a spectator follows).
    pub me: bool,
    /// The rest of its state (health, flags, scores) from the newer snapshot.
    pub state: PlayerState,
}

/// One bullet as it should be drawn now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawBullet {
    /// Position, advanced along its velocity to the draw time.
    pub pos: Vec2,
    /// Velocity (for drawing a streak).
    pub vel: Vec2,
    /// Colour of its owner.
    pub colour: u32,
}

/// A view and when its snapshot arrived.
#[derive(Debug, Default)]
struct Arrived {
    at_ms: f64,
    view: View,
    /// Where the view's own ship is in `view.players`.
    own_at: Option<usize>,
}

/// The last few views, oldest first, for interpolation.
#[derive(Debug)]
pub(crate) struct Views {
    buf: VecDeque<Arrived>,
    /// The server's tick clock from the arrivals, and the draw time.
    pub clock: TickClock,
    /// Whether views are built to draw from; if not, only the newest view's header and own ship.
    draws: bool,
}

impl Views {
    /// No views yet, for a server ticking `tick_rate` times a second; `draws`: build views of
    /// everything in view to draw from, or (a client that draws nothing) keep only the newest
    /// snapshot's header and own ship, so that [`Views::ships`] holds only that ship and
    /// [`Views::bullets`] is empty.
    pub fn new(tick_rate: u32, draws: bool) -> Self {
        Self { buf: VecDeque::new(), clock: TickClock::new(tick_rate), draws }
    }

    /// Whether views are built to draw from (see [`Views::new`]).
    pub fn draws(&self) -> bool {
        self.draws
    }

    /// Builds the view of a snapshot that arrived at `now_ms` and keeps it as the newest,
    /// recycling the oldest view's buffers once the buffer is full.
    pub fn push(&mut self, snap: &SnapshotRef<'_>, frame: &Frame, scores: &ScoreTable, now_ms: f64) -> &View {
        self.clock.on_snapshot(snap.tick, now_ms);
        let keep = if self.draws { VIEW_BUFFER_LEN } else { 1 };
        let mut slot = if self.buf.len() >= keep { self.buf.pop_front() } else { None }.unwrap_or_default();
        slot.at_ms = now_ms;
        slot.own_at = if self.draws {
            slot.view.fill(snap, frame, self.buf.back().map(|a| &a.view), scores)
        } else {
            slot.view.fill_own(snap)
        };
        self.buf.push_back(slot);
        // Just pushed.
        &self.buf.back().expect("the view just built").view
    }

    /// The newest view.
    pub fn latest(&self) -> Option<&View> {
        self.buf.back().map(|a| &a.view)
    }

    /// The own ship of the newest view (the one its snapshot's `me` describes).
    pub fn own(&self) -> Option<&PlayerState> {
        let newest = self.buf.back()?;
        newest.view.players.get(newest.own_at?)
    }

    /// The (fractional) server tick to draw at `now_ms`, from the tick clock: behind the
    /// newest snapshot by a delay that follows the measured jitter.
    pub fn render_tick(&self, now_ms: f64) -> Option<f64> {
        self.buf.back()?;
        self.clock.draw_tick(now_ms)
    }

    /// Ships to draw at `now_ms`: positions interpolated between the two views around the draw
    /// time; `subject` is flagged as `me`.
    pub fn ships(
        &self,
        now_ms: f64,
        roster: &BTreeMap<PlayerId, PlayerInfo>,
        subject: Option<PlayerId>,
    ) -> Vec<DrawShip> {
        let Some(render_tick) = self.render_tick(now_ms) else { return Vec::new() };
        let (from, to, t) = self.bracket(render_tick);
        to.players
            .iter()
            .map(|p| {
                // A ship that just respawned jumps; interpolating would draw it sweeping across.
                let pos = match from.player(p.id) {
                    Some(q) if q.alive() == p.alive() => q.pos.lerp(p.pos, t),
                    _ => p.pos,
                };
                let info = roster.get(&p.id);
                DrawShip {
                    id: p.id,
                    name: info.map_or_else(|| "?".to_owned(), |i| i.name.clone()),
                    colour: info.map_or(0xffffff, |i| i.colour),
                    pos,
                    aim: p.aim,
                    me: Some(p.id) == subject,
                    state: *p,
                }
            })
            .collect()
    }

    /// Bullets to draw at `now_ms`, at the same delayed time as [`Views::ships`]: each is taken
    /// from the older bracketing view and advanced along its straight path. Those of
    /// `skip_owner` are left out (a predicting client draws its own).
    pub fn bullets(
        &self,
        now_ms: f64,
        tick_rate: u32,
        roster: &BTreeMap<PlayerId, PlayerInfo>,
        skip_owner: Option<PlayerId>,
    ) -> Vec<DrawBullet> {
        let Some(render_tick) = self.render_tick(now_ms) else { return Vec::new() };
        let (from, to, t) = self.bracket(render_tick);
        let dt_s = (to.tick - from.tick) as f32 * t / tick_rate.max(1) as f32;
        from.bullets
            .iter()
            .filter(|b| Some(b.owner) != skip_owner)
            .map(|b| DrawBullet {
                pos: b.pos + b.vel * dt_s,
                vel: b.vel,
                colour: roster.get(&b.owner).map_or(0xffffff, |p| p.colour),
            })
            .collect()
    }

    /// The views just before and after `tick` and the blend factor between them; past the
    /// newest, the last two and a factor over 1 (extrapolation, at most
    /// [`MAX_EXTRAPOLATION_TICKS`]); before the oldest, the oldest. Only called with a view held.
    fn bracket(&self, tick: f64) -> (&View, &View, f32) {
        let views = &self.buf;
        let n = views.len();
        if n >= 2 && tick > views[n - 1].view.tick as f64 {
            let (a, b) = (&views[n - 2].view, &views[n - 1].view);
            let tick = tick.min(b.tick as f64 + MAX_EXTRAPOLATION_TICKS);
            return (a, b, ((tick - a.tick as f64) / (b.tick - a.tick) as f64) as f32);
        }
        for i in 1..views.len() {
            let (a, b) = (&views[i - 1].view, &views[i].view);
            if (a.tick as f64) <= tick && tick <= b.tick as f64 {
                let t = (tick - a.tick as f64) / (b.tick - a.tick) as f64;
                return (a, b, t as f32);
            }
        }
        let (oldest, newest) = (&views[0].view, &views[views.len() - 1].view);
        if tick < oldest.tick as f64 { (oldest, oldest, 0.0) } else { (newest, newest, 0.0) }
    }
}
