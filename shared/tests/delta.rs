//! Delta snapshots under random world histories and a random network (issue 7, item 12).
//!
//! A simulated server keeps what the real one must: one ring of the room's last `HISTORY_TICKS`
//! frames, and per client only *which* entities it sent at each of those ticks, dropping entries
//! as they leave the window whether or not the client ever acknowledges. It encodes each client's
//! view against the client's most recent acknowledgement when that names a tick it sent to the
//! client with `tick − base < HISTORY_TICKS`, else in full (PROTOCOL.md, "Baselines"). The
//! baseline is rebuilt exactly as it was sent: bullets carry their `seq` only in their owner's
//! view, so a view of another ship (a spectator switched) starts with a full snapshot.
//! Simulated clients decode with `delta::decode` and keep what PROTOCOL.md says a client keeps.
//! Between them: a latest-wins downlink that stalls and replaces frames, and an uplink whose
//! acknowledgements are delayed, lost or bogus. At every tick a client decodes, its frame must be
//! exactly the server's view of that tick, bullets included.
//!
//! The proptest seed is fixed so a failure reproduces; `PROPTEST_RNG_SEED=n` explores other
//! histories and `PROPTEST_CASES=n` runs more of them. Nothing here depends on timing.

use std::collections::{BTreeMap, VecDeque};

use glam::{IVec2, Vec2};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngSeed, TestRunner};
use skirmish_shared::PlayerState;
use skirmish_shared::bits::BitWriter;
use skirmish_shared::consts::{AOI_HALF_EXTENT, HISTORY_TICKS};
use skirmish_shared::delta::{self, BulletEnt, DeltaStats, Frame, PickupEnt, SectionStats, ShipEnt};
use skirmish_shared::sim::{POS_SCALE, bullet_launch};
use skirmish_shared::tuning::{BULLET_LIFETIME_TICKS, SHIP_MAX_HEALTH};

const HISTORY: u64 = HISTORY_TICKS as u64;

/// Side of the square world in ⅛ units: 3000 world units, a little under two views across, so
/// entities keep entering and leaving views.
const WORLD_EIGHTHS: i32 = 3000 * 8;

// ---------------------------------------------------------------------------------------------
// The world: what the room simulates, reduced to what snapshots carry.

#[derive(Debug, Clone, Copy)]
struct Ship {
    id: u32,
    /// Centre in ⅛ world units, as the server stores it.
    pos: IVec2,
    aim: u8,
    health: u8,
    flags: u8,
}

impl Ship {
    fn ent(&self) -> ShipEnt {
        ShipEnt {
            id: self.id,
            pos: delta::ship_wire_pos(self.pos),
            aim: self.aim,
            health: self.health,
            flags: self.flags,
        }
    }

    fn centre(&self) -> Vec2 {
        self.pos.as_vec2() / POS_SCALE
    }
}

#[derive(Debug, Default)]
struct World {
    tick: u64,
    /// By id, as every list here.
    ships: Vec<Ship>,
    bullets: Vec<BulletEnt>,
    pickups: Vec<PickupEnt>,
    next_player: u32,
    next_bullet: u32,
    next_pickup: u32,
}

/// Picks one of what exists: the `n`-th, modulo how many there are.
#[derive(Debug, Clone, Copy)]
struct Pick(u32);

impl Pick {
    fn index(self, len: usize) -> usize {
        self.0 as usize % len
    }
}

/// One thing that happens in the world during a tick.
#[derive(Debug, Clone)]
enum Op {
    Move(Pick, i32, i32),
    Teleport(Pick, i32, i32),
    Turn(Pick, i8),
    Hurt(Pick, u8),
    Die(Pick),
    Respawn(Pick, i32, i32),
    RapidFire(Pick, bool),
    /// Aim byte and input seq.
    Fire(Pick, u8, u32),
    /// A bullet hits something before its time.
    Hit(Pick),
    SpawnPickup(u8, i32, i32),
    Collect(Pick),
    /// A player joins (id gap to the previous one, position).
    Join(u32, i32, i32),
    /// A player leaves the room (never one of the clients' own ships).
    Leave(Pick),
    /// Every spectator follows this ship (`None`: the server's choice).
    Follow(Option<Pick>),
}

fn clamp_to_world(p: IVec2) -> IVec2 {
    p.clamp(IVec2::ZERO, IVec2::splat(WORLD_EIGHTHS))
}

impl World {
    fn new(starts: &[(i32, i32)]) -> Self {
        let mut world = World { next_player: 1, next_bullet: 1, next_pickup: 1, ..World::default() };
        for &(x, y) in starts {
            world.join(0, x, y);
        }
        world
    }

    fn join(&mut self, gap: u32, x: i32, y: i32) {
        let id = self.next_player + gap;
        self.next_player = id + 1;
        let flags = PlayerState::ALIVE;
        self.ships.push(Ship { id, pos: IVec2::new(x, y), aim: 0, health: SHIP_MAX_HEALTH, flags });
    }

    fn ship(&self, id: u32) -> Option<&Ship> {
        self.ships.iter().find(|s| s.id == id)
    }

    fn frame(&self) -> Frame {
        Frame {
            tick: self.tick,
            ships: self.ships.iter().map(Ship::ent).collect(),
            bullets: self.bullets.clone(),
            pickups: self.pickups.clone(),
        }
    }

    /// Applies one op; `keep` are ships that must not leave (the players' own).
    fn apply(&mut self, op: &Op, keep: &[u32]) {
        let ship = |ships: &mut Vec<Ship>, i: &Pick| {
            let n = ships.len();
            (n > 0).then(|| i.index(n))
        };
        match op {
            Op::Move(i, dx, dy) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    self.ships[k].pos = clamp_to_world(self.ships[k].pos + IVec2::new(*dx, *dy));
                }
            }
            Op::Teleport(i, x, y) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    self.ships[k].pos = IVec2::new(*x, *y);
                }
            }
            Op::Turn(i, by) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    self.ships[k].aim = self.ships[k].aim.wrapping_add(*by as u8);
                }
            }
            Op::Hurt(i, by) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    let s = &mut self.ships[k];
                    s.health = s.health.saturating_sub(*by);
                    if s.health == 0 {
                        s.flags = 0;
                    }
                }
            }
            Op::Die(i) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    (self.ships[k].health, self.ships[k].flags) = (0, 0);
                }
            }
            Op::Respawn(i, x, y) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    let s = &mut self.ships[k];
                    (s.health, s.flags, s.pos) = (SHIP_MAX_HEALTH, PlayerState::ALIVE, IVec2::new(*x, *y));
                }
            }
            Op::RapidFire(i, on) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    let s = &mut self.ships[k];
                    if s.flags & PlayerState::ALIVE != 0 {
                        s.flags =
                            if *on { s.flags | PlayerState::RAPID_FIRE } else { s.flags & !PlayerState::RAPID_FIRE };
                    }
                }
            }
            Op::Fire(i, aim, seq) => {
                if let Some(k) = ship(&mut self.ships, i) {
                    let s = self.ships[k];
                    if s.flags & PlayerState::ALIVE != 0 {
                        let (origin, vel) = bullet_launch(s.pos, delta::aim_from_byte(*aim));
                        // As the server does: at its origin on the previous tick, one step out now.
                        let tick = self.tick - 1;
                        let bullet = BulletEnt { id: self.next_bullet, owner: s.id, origin, vel, tick, seq: *seq };
                        self.bullets.push(bullet);
                        self.next_bullet += 1;
                    }
                }
            }
            Op::Hit(i) => {
                if !self.bullets.is_empty() {
                    self.bullets.remove(i.index(self.bullets.len()));
                }
            }
            Op::SpawnPickup(kind, x, y) => {
                self.pickups.push(PickupEnt { id: self.next_pickup, kind: *kind, pos: IVec2::new(*x, *y) });
                self.next_pickup += 1;
            }
            Op::Collect(i) => {
                if !self.pickups.is_empty() {
                    self.pickups.remove(i.index(self.pickups.len()));
                }
            }
            Op::Join(gap, x, y) => self.join(*gap, *x, *y),
            Op::Leave(i) => {
                if let Some(k) = ship(&mut self.ships, i)
                    && !keep.contains(&self.ships[k].id)
                {
                    self.ships.remove(k);
                }
            }
            Op::Follow(_) => {}
        }
    }

    /// Bullets whose lifetime is over leave the world.
    fn expire(&mut self) {
        let now = self.tick;
        self.bullets.retain(|b| b.tick + u64::from(BULLET_LIFETIME_TICKS) > now);
    }

    /// What a view centred on `subject`'s ship holds at this tick: everything within the area of
    /// interest but the subject itself. Nothing without a subject.
    fn view(&self, subject: Option<u32>) -> Frame {
        let mut view = Frame { tick: self.tick, ..Frame::default() };
        let Some(centre) = subject.and_then(|id| self.ship(id)).map(Ship::centre) else { return view };
        let near = |p: Vec2| (p - centre).abs().max_element() <= AOI_HALF_EXTENT;
        view.ships = self.ships.iter().filter(|s| Some(s.id) != subject && near(s.centre())).map(Ship::ent).collect();
        view.bullets =
            self.bullets.iter().filter(|b| near(b.pos_at(self.tick as f64))).map(|b| as_seen_by(*b, subject)).collect();
        view.pickups = self.pickups.iter().filter(|p| near(p.pos.as_vec2() / POS_SCALE)).copied().collect();
        view
    }
}

/// A bullet as a view of `subject` carries it: the input `seq` that fired it only for the
/// subject's own bullets (PROTOCOL.md), 0 for everyone else's.
fn as_seen_by(mut bullet: BulletEnt, subject: Option<u32>) -> BulletEnt {
    if Some(bullet.owner) != subject {
        bullet.seq = 0;
    }
    bullet
}

// ---------------------------------------------------------------------------------------------
// The server: one ring of frames for the room, and per client which ids it sent per tick.

/// Which entities one client was sent at one tick: ids only, the values are in the room's ring.
#[derive(Debug)]
struct Sent {
    tick: u64,
    /// Whose view it was: bullets' `seq` depends on it, so rebuilding the baseline needs it.
    subject: Option<u32>,
    ships: Vec<u32>,
    bullets: Vec<u32>,
    pickups: Vec<u32>,
}

/// What the server keeps per client.
#[derive(Debug, Default)]
struct Record {
    /// The most recent acknowledgement received (0: none).
    acked: u64,
    /// What was sent at each tick still in the window, oldest first. Bounded by the window
    /// alone, so a client that never acknowledges costs no more than one that does. The real
    /// server must keep its per-client history the same way.
    sent: VecDeque<Sent>,
}

impl Record {
    /// An acknowledgement arrives: the most recent one is the baseline from now on. What was
    /// sent before a tick the client acknowledged can never be a baseline again (an honest
    /// client's acknowledgements only move forward), so it is forgotten at once.
    fn ack(&mut self, tick: u64) {
        self.acked = tick;
        if self.sent.iter().any(|s| s.tick == tick) {
            while self.sent.front().is_some_and(|s| s.tick < tick) {
                self.sent.pop_front();
            }
        }
    }
}

/// Why a snapshot was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Full {
    /// Nothing acknowledged (just joined, or an acknowledgement of 0).
    NoAck,
    /// The acknowledged tick was never sent to this client (or is forgotten).
    NeverSent,
    /// The acknowledged tick is older than the history.
    TooOld,
    /// The view is of another ship than the baseline's (a spectator switched): its bullets'
    /// `seq` differ, and bullets cannot change.
    NewSubject,
}

/// A snapshot on its way, with what the client must make of it.
#[derive(Debug)]
struct Packet {
    tick: u64,
    base: u64,
    ents: Vec<u8>,
    /// Why it is full (`None` for a delta).
    full: Option<Full>,
    stats: DeltaStats,
    /// The test's oracle: the view the server encoded.
    expected: Frame,
}

#[derive(Debug, Default)]
struct Server {
    /// The room's last `HISTORY_TICKS` frames (whole world), oldest first.
    ring: VecDeque<Frame>,
    clients: Vec<Record>,
}

impl Server {
    /// Stores the room's frame of this tick and forgets what left the window.
    fn store(&mut self, world: &World) {
        self.ring.push_back(world.frame());
        while self.ring.front().is_some_and(|f| f.tick + HISTORY <= world.tick) {
            self.ring.pop_front();
        }
        for record in &mut self.clients {
            while record.sent.front().is_some_and(|s| s.tick + HISTORY <= world.tick) {
                record.sent.pop_front();
            }
        }
    }

    /// The baseline for client `c` at tick `t` of a view of `subject`: the client's frame of its
    /// acknowledged tick exactly as it was sent, rebuilt from the ring and the ids sent, or why
    /// there is none.
    fn baseline(&self, c: usize, t: u64, subject: Option<u32>) -> Result<Frame, Full> {
        let record = &self.clients[c];
        let b = record.acked;
        if b == 0 {
            return Err(Full::NoAck);
        }
        if b < t && t - b >= HISTORY {
            return Err(Full::TooOld);
        }
        let sent = record.sent.iter().find(|s| s.tick == b).ok_or(Full::NeverSent)?;
        if sent.subject != subject {
            return Err(Full::NewSubject);
        }
        let room = self.ring.iter().find(|f| f.tick == b).expect("the ring covers every tick a record holds");
        let keep = |ids: &[u32], id: u32| ids.binary_search(&id).is_ok();
        Ok(Frame {
            tick: b,
            ships: room.ships.iter().filter(|e| keep(&sent.ships, e.id)).copied().collect(),
            // As sent: the ring holds every bullet's real `seq`.
            bullets: room
                .bullets
                .iter()
                .filter(|e| keep(&sent.bullets, e.id))
                .map(|e| as_seen_by(*e, sent.subject))
                .collect(),
            pickups: room.pickups.iter().filter(|e| keep(&sent.pickups, e.id)).copied().collect(),
        })
    }

    /// Encodes client `c`'s `view` of `subject` and remembers which entities it holds.
    fn encode(&mut self, c: usize, subject: Option<u32>, view: Frame) -> Packet {
        let t = view.tick;
        let (base, full) = match self.baseline(c, t, subject) {
            Ok(frame) => (frame, None),
            Err(why) => (Frame::default(), Some(why)),
        };
        let mut w = BitWriter::new();
        let stats = delta::encode(&mut w, t, base.lists(), view.lists());
        let ids = |ids: &mut dyn Iterator<Item = u32>| ids.collect::<Vec<_>>();
        self.clients[c].sent.push_back(Sent {
            tick: t,
            subject,
            ships: ids(&mut view.ships.iter().map(|e| e.id)),
            bullets: ids(&mut view.bullets.iter().map(|e| e.id)),
            pickups: ids(&mut view.pickups.iter().map(|e| e.id)),
        });
        Packet {
            tick: t,
            base: if full.is_some() { 0 } else { base.tick },
            ents: w.as_bytes().to_vec(),
            full,
            stats,
            expected: view,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The client: decodes and keeps frames as PROTOCOL.md says.

#[derive(Debug, Default)]
struct Client {
    /// Decoded frames by tick.
    frames: BTreeMap<u64, Frame>,
    /// The newest non-zero `base` seen.
    newest_base: u64,
    /// The newest tick decoded (what it acknowledges).
    newest: u64,
}

impl Client {
    fn receive(&mut self, p: &Packet) {
        assert!(p.tick > self.newest, "snapshots arrive in tick order: {} after {}", p.tick, self.newest);
        if p.base != 0 {
            assert!(p.base >= self.newest_base, "tick {}: base {} after base {}", p.tick, p.base, self.newest_base);
            self.newest_base = p.base;
        }
        let empty = Frame::default();
        let base = if p.base == 0 {
            &empty
        } else {
            self.frames.get(&p.base).unwrap_or_else(|| panic!("tick {}: base {} is not kept", p.tick, p.base))
        };
        let mut out = Frame::default();
        delta::decode(&p.ents, p.tick, base, &mut out)
            .unwrap_or_else(|e| panic!("tick {} against {}: {e}", p.tick, p.base));
        assert_eq!(out, p.expected, "tick {} against {}", p.tick, p.base);
        self.newest = p.tick;
        self.frames.insert(p.tick, out);
        let (keep_from, newest) = (self.newest_base, self.newest);
        self.frames.retain(|&t, _| t >= keep_from && t + HISTORY > newest);
        assert!(self.frames.len() <= HISTORY_TICKS, "a client keeps at most the history");
    }
}

// ---------------------------------------------------------------------------------------------
// The network and the harness.

/// What one connection does in one tick.
#[derive(Debug, Clone, Copy)]
enum Net {
    /// The downlink delivers the pending snapshot, the uplink delivers queued acknowledgements,
    /// the client sends its acknowledgement (each when true; a false `ack` is a lost one).
    Flow { down: bool, up: bool, ack: bool },
    /// The downlink holds everything for this many ticks (a slow reader: frames are replaced).
    StallDown(u32),
    /// The uplink holds acknowledgements for this many ticks.
    StallUp(u32),
    /// The client acknowledges a tick this far past a million ticks from now: never sent, even
    /// once the acknowledgement arrives (an acknowledgement of a tick that is sent meanwhile
    /// but that the client did not decode would break that client, by its own fault).
    AckFuture(u64),
    /// The client acknowledges 0 (none).
    AckZero,
    /// The client acknowledges exactly this tick (hand-written histories only: an honest client
    /// never names a tick it did not decode).
    AckExact(u64),
}

const OPEN: Net = Net::Flow { down: true, up: true, ack: true };

#[derive(Debug, Clone)]
struct Tick {
    /// Ticks simulated before this broadcast (more than 1 after a server stall).
    advance: u64,
    ops: Vec<Op>,
    /// Per connection, in order (repeated if shorter).
    net: Vec<Net>,
}

#[derive(Debug, Clone, Copy)]
enum Subject {
    Player(u32),
    /// Follows this player, or the server's choice (the lowest id).
    Spectator(Option<u32>),
}

#[derive(Debug)]
struct Conn {
    subject: Subject,
    client: Client,
    /// The latest-wins slot: a newer snapshot replaces it.
    pending: Option<Packet>,
    down_stall: u32,
    /// Acknowledgements on their way, in order (one TCP stream).
    uplink: VecDeque<u64>,
    up_stall: u32,
}

/// What happened over a whole run, to show the histories exercise every case.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    delivered: u64,
    replaced: u64,
    deltas: u64,
    full_no_ack: u64,
    full_never_sent: u64,
    full_too_old: u64,
    full_new_subject: u64,
    ships: SectionStats,
    bullets: SectionStats,
    pickups: SectionStats,
    follow_changes: u64,
}

fn add(to: &mut SectionStats, s: &SectionStats) {
    to.carried += s.carried;
    to.changed += s.changed;
    to.entered += s.entered;
    to.left += s.left;
}

struct Sim {
    world: World,
    server: Server,
    conns: Vec<Conn>,
    tally: Tally,
}

impl Sim {
    fn new(starts: &[(i32, i32)], subjects: &[Subject]) -> Self {
        let conns = subjects
            .iter()
            .map(|&subject| Conn {
                subject,
                client: Client::default(),
                pending: None,
                down_stall: 0,
                uplink: VecDeque::new(),
                up_stall: 0,
            })
            .collect();
        let server = Server { clients: subjects.iter().map(|_| Record::default()).collect(), ..Server::default() };
        Sim { world: World::new(starts), server, conns, tally: Tally::default() }
    }

    fn players(&self) -> Vec<u32> {
        self.conns
            .iter()
            .filter_map(|c| match c.subject {
                Subject::Player(id) => Some(id),
                Subject::Spectator(_) => None,
            })
            .collect()
    }

    /// The ship a connection's view is centred on.
    fn subject(&self, c: usize) -> Option<u32> {
        match self.conns[c].subject {
            Subject::Player(id) => Some(id),
            Subject::Spectator(follow) => {
                follow.filter(|id| self.world.ship(*id).is_some()).or_else(|| self.world.ships.first().map(|s| s.id))
            }
        }
    }

    /// One broadcast tick; returns what each connection decoded in it.
    fn step(&mut self, tick: &Tick) -> Vec<Option<Packet>> {
        self.world.tick += tick.advance.max(1);
        let keep = self.players();
        for op in &tick.ops {
            self.world.apply(op, &keep);
            if let Op::Follow(choice) = op {
                let id = choice.as_ref().filter(|_| !self.world.ships.is_empty()).map(|i| {
                    let n = self.world.ships.len();
                    self.world.ships[i.index(n)].id
                });
                for conn in &mut self.conns {
                    if let Subject::Spectator(follow) = &mut conn.subject {
                        *follow = id;
                        self.tally.follow_changes += 1;
                    }
                }
            }
        }
        self.world.expire();
        self.server.store(&self.world);
        let mut decoded = Vec::new();
        for c in 0..self.conns.len() {
            let net = tick.net.get(c % tick.net.len().max(1)).copied().unwrap_or(OPEN);
            decoded.push(self.connection_tick(c, net));
        }
        assert!(self.server.ring.len() <= HISTORY_TICKS);
        for record in &self.server.clients {
            assert!(record.sent.len() <= HISTORY_TICKS, "per-client history is bounded by the window");
        }
        decoded
    }

    fn connection_tick(&mut self, c: usize, net: Net) -> Option<Packet> {
        let now = self.world.tick;
        let conn = &mut self.conns[c];
        match net {
            Net::StallDown(n) => conn.down_stall = conn.down_stall.max(n),
            Net::StallUp(n) => conn.up_stall = conn.up_stall.max(n),
            _ => {}
        }
        // Acknowledgements that arrive before this tick's snapshot is built.
        let up = conn.up_stall == 0 && !matches!(net, Net::Flow { up: false, .. });
        conn.up_stall = conn.up_stall.saturating_sub(1);
        if up {
            while let Some(ack) = conn.uplink.pop_front() {
                self.server.clients[c].ack(ack);
            }
        }
        let subject = self.subject(c);
        let view = self.world.view(subject);
        let packet = self.server.encode(c, subject, view);
        let conn = &mut self.conns[c];
        if conn.pending.replace(packet).is_some() {
            self.tally.replaced += 1;
        }
        let down = conn.down_stall == 0 && !matches!(net, Net::Flow { down: false, .. });
        conn.down_stall = conn.down_stall.saturating_sub(1);
        let delivered = if down { conn.pending.take() } else { None };
        if let Some(p) = &delivered {
            conn.client.receive(p);
            let t = &mut self.tally;
            t.delivered += 1;
            match p.full {
                None => t.deltas += 1,
                Some(Full::NoAck) => t.full_no_ack += 1,
                Some(Full::NeverSent) => t.full_never_sent += 1,
                Some(Full::TooOld) => t.full_too_old += 1,
                Some(Full::NewSubject) => t.full_new_subject += 1,
            }
            add(&mut t.ships, &p.stats.ships);
            add(&mut t.bullets, &p.stats.bullets);
            add(&mut t.pickups, &p.stats.pickups);
        }
        // The acknowledgement this tick's input (or Ack) carries.
        match net {
            Net::Flow { ack: false, .. } => {}
            Net::AckFuture(ahead) => conn.uplink.push_back(now + 1_000_000 + ahead),
            Net::AckZero => conn.uplink.push_back(0),
            Net::AckExact(tick) => conn.uplink.push_back(tick),
            _ => conn.uplink.push_back(conn.client.newest),
        }
        delivered
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn pick() -> impl Strategy<Value = Pick> {
    any::<u32>().prop_map(Pick)
}

fn coord() -> impl Strategy<Value = i32> {
    0..=WORLD_EIGHTHS
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Up to 40 world units a tick, a little faster than a ship at top speed.
        12 => (pick(), -320..=320i32, -320..=320i32).prop_map(|(i, dx, dy)| Op::Move(i, dx, dy)),
        1 => (pick(), coord(), coord()).prop_map(|(i, x, y)| Op::Teleport(i, x, y)),
        4 => (pick(), any::<i8>()).prop_map(|(i, by)| Op::Turn(i, by)),
        2 => (pick(), 1..=60u8).prop_map(|(i, by)| Op::Hurt(i, by)),
        1 => pick().prop_map(Op::Die),
        1 => (pick(), coord(), coord()).prop_map(|(i, x, y)| Op::Respawn(i, x, y)),
        1 => (pick(), any::<bool>()).prop_map(|(i, on)| Op::RapidFire(i, on)),
        6 => (pick(), any::<u8>(), 0..1000u32).prop_map(|(i, aim, seq)| Op::Fire(i, aim, seq)),
        2 => pick().prop_map(Op::Hit),
        1 => (0..2u8, coord(), coord()).prop_map(|(kind, x, y)| Op::SpawnPickup(kind, x, y)),
        1 => pick().prop_map(Op::Collect),
        1 => (0..50u32, coord(), coord()).prop_map(|(gap, x, y)| Op::Join(gap, x, y)),
        1 => pick().prop_map(Op::Leave),
        1 => proptest::option::of(pick()).prop_map(Op::Follow),
    ]
}

fn net() -> impl Strategy<Value = Net> {
    prop_oneof![
        100 => (prop::bool::weighted(0.8), prop::bool::weighted(0.85), prop::bool::weighted(0.85))
            .prop_map(|(down, up, ack)| Net::Flow { down, up, ack }),
        // Stalls long enough, now and then, to outlast the history.
        1 => (1..45u32).prop_map(Net::StallDown),
        1 => (1..45u32).prop_map(Net::StallUp),
        1 => (0..100u64).prop_map(Net::AckFuture),
        1 => Just(Net::AckZero),
    ]
}

fn tick() -> impl Strategy<Value = Tick> {
    let advance = prop_oneof![15 => Just(1u64), 1 => 2..5u64];
    (advance, vec(op(), 0..6), vec(net(), 3)).prop_map(|(advance, ops, net)| Tick { advance, ops, net })
}

/// Starting positions of the first four ships, and the ticks.
fn history() -> impl Strategy<Value = (Vec<(i32, i32)>, Vec<Tick>)> {
    (vec((coord(), coord()), 4), vec(tick(), 1..200))
}

/// Two players (ships 1 and 2) and a spectator.
const SUBJECTS: [Subject; 3] = [Subject::Player(1), Subject::Player(2), Subject::Spectator(None)];

fn config() -> ProptestConfig {
    let mut config = ProptestConfig { failure_persistence: None, ..ProptestConfig::default() };
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x5EED_0007);
    }
    config
}

fn run(starts: &[(i32, i32)], ticks: &[Tick]) -> Tally {
    let mut sim = Sim::new(starts, &SUBJECTS);
    for tick in ticks {
        sim.step(tick);
    }
    sim.tally
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_decoded_frame_is_the_servers_view_of_that_tick((starts, ticks) in history()) {
        run(&starts, &ticks);
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written histories for the cases the issue names.

/// Four ships near each other (so views are not empty) and one far away: ids 1 to 5.
const NEAR: [(i32, i32); 5] = [(8000, 8000), (9000, 8400), (7600, 9000), (8400, 7000), (23000, 23000)];

/// Ship 1 drifts and turns; everything flows.
fn open_tick() -> Tick {
    Tick { advance: 1, ops: vec![Op::Move(Pick(0), 8, -8), Op::Turn(Pick(0), 3)], net: vec![OPEN] }
}

fn with_net(net: Net) -> Tick {
    Tick { net: vec![net], ..open_tick() }
}

/// As [`with_net`], and ship 2 fires.
fn firing(net: Net) -> Tick {
    Tick { ops: vec![Op::Move(Pick(0), 8, -8), Op::Fire(Pick(1), 40, 1)], ..with_net(net) }
}

fn delivered(got: Vec<Option<Packet>>) -> Packet {
    got.into_iter().next().flatten().expect("the snapshot was delivered")
}

#[test]
fn the_generated_histories_exercise_every_case() {
    let mut runner = TestRunner::new(config());
    let strategy = history();
    let mut t = Tally::default();
    for _ in 0..40 {
        let (starts, ticks) = strategy.new_tree(&mut runner).expect("a history").current();
        let one = run(&starts, &ticks);
        t.delivered += one.delivered;
        t.replaced += one.replaced;
        t.deltas += one.deltas;
        t.full_no_ack += one.full_no_ack;
        t.full_never_sent += one.full_never_sent;
        t.full_too_old += one.full_too_old;
        t.full_new_subject += one.full_new_subject;
        t.follow_changes += one.follow_changes;
        add(&mut t.ships, &one.ships);
        add(&mut t.bullets, &one.bullets);
        add(&mut t.pickups, &one.pickups);
    }
    let counts = [
        ("snapshots decoded", t.delivered),
        ("snapshots replaced before delivery", t.replaced),
        ("deltas", t.deltas),
        ("full: nothing acknowledged", t.full_no_ack),
        ("full: never sent", t.full_never_sent),
        ("full: older than the history", t.full_too_old),
        ("full: the spectator switched", t.full_new_subject),
        ("follow changes", t.follow_changes),
        ("ships carried", u64::from(t.ships.carried)),
        ("ships changed", u64::from(t.ships.changed)),
        ("ships entered", u64::from(t.ships.entered)),
        ("ships left", u64::from(t.ships.left)),
        ("bullets carried", u64::from(t.bullets.carried)),
        ("bullets entered", u64::from(t.bullets.entered)),
        ("bullets left", u64::from(t.bullets.left)),
        ("pickups carried", u64::from(t.pickups.carried)),
        ("pickups entered", u64::from(t.pickups.entered)),
        ("pickups left", u64::from(t.pickups.left)),
    ];
    for (what, n) in counts {
        assert!(n > 0, "no {what} in the generated histories: {t:?}");
    }
    let fulls = t.full_no_ack + t.full_never_sent + t.full_too_old + t.full_new_subject;
    assert!(t.deltas > fulls, "mostly deltas: {t:?}");
}

#[test]
fn an_ack_for_a_tick_never_sent_gets_a_full_snapshot_and_the_client_recovers() {
    let mut sim = Sim::new(&NEAR, &[Subject::Player(1)]);
    for _ in 0..5 {
        sim.step(&firing(OPEN));
    }
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base), (6, 5), "a delta against the previous tick");
    assert!(!p.expected.ships.is_empty() && !p.expected.bullets.is_empty(), "the view holds ships and bullets");

    // Tick 7 carries an acknowledgement of a tick far in the future.
    sim.step(&with_net(Net::AckFuture(0)));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base, p.full), (8, 0, Some(Full::NeverSent)));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base, p.full), (9, 8, None), "recovered: a delta against the full snapshot");

    // A tick skipped by a server stall was never sent either.
    sim.step(&Tick { advance: 3, ..open_tick() }); // tick 12: 10 and 11 were never broadcast
    sim.step(&with_net(Net::AckExact(11)));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base, p.full), (14, 0, Some(Full::NeverSent)));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base), (15, 14));

    // An acknowledgement of 0 asks for a full snapshot too (a client that lost its frames).
    sim.step(&with_net(Net::AckZero));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base, p.full), (17, 0, Some(Full::NoAck)));
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base), (18, 17));
}

#[test]
fn an_ack_older_than_the_history_gets_a_full_snapshot_and_the_client_recovers() {
    let mut sim = Sim::new(&NEAR, &[Subject::Player(1)]);
    for _ in 0..5 {
        sim.step(&open_tick());
    }
    // Tick 6 receives the acknowledgement of tick 5; from tick 7 the uplink holds everything
    // for 40 ticks, while the downlink keeps delivering.
    sim.step(&open_tick());
    let stall = 40;
    let p = delivered(sim.step(&with_net(Net::StallUp(stall))));
    assert_eq!((p.tick, p.base), (7, 5));
    let (mut last_delta, mut first_full) = (p.tick, None);
    for _ in 1..stall {
        let p = delivered(sim.step(&firing(OPEN)));
        match p.base {
            5 => last_delta = p.tick,
            0 => {
                assert_eq!(p.full, Some(Full::TooOld), "tick {}", p.tick);
                first_full.get_or_insert(p.tick);
            }
            other => panic!("tick {}: base {other} while the uplink is stalled", p.tick),
        }
    }
    // Usable while tick − base < HISTORY_TICKS, as PROTOCOL.md says.
    assert_eq!(last_delta, 5 + HISTORY - 1);
    assert_eq!(first_full, Some(5 + HISTORY));
    // The stall ends: the queued acknowledgements arrive, the newest is usable, deltas resume.
    let p = delivered(sim.step(&open_tick()));
    let stall = u64::from(stall);
    assert_eq!((p.tick, p.base, p.full), (7 + stall, 6 + stall, None));
}

#[test]
fn a_client_that_never_acknowledges_keeps_the_server_bounded() {
    let mut sim = Sim::new(&NEAR, &[Subject::Player(1)]);
    let silent = Net::Flow { down: true, up: true, ack: false };
    let mut most_ids = 0;
    for i in 0..600 {
        let mut tick = firing(silent);
        if i % 7 == 0 {
            tick.ops.push(Op::SpawnPickup(1, 8000 + (i % 50) * 40, 8200));
        }
        let p = delivered(sim.step(&tick));
        assert_eq!((p.base, p.full), (0, Some(Full::NoAck)), "tick {}: nothing to delta against", p.tick);
        let record = &sim.server.clients[0];
        assert!(record.sent.len() <= HISTORY_TICKS, "tick {}: {} ticks kept", p.tick, record.sent.len());
        let ids: usize = record.sent.iter().map(|s| s.ships.len() + s.bullets.len() + s.pickups.len()).sum();
        most_ids = most_ids.max(ids);
        assert!(sim.conns[0].client.frames.len() <= HISTORY_TICKS, "the client is bounded too");
    }
    // The window times what one view holds (4 ships, a second of bullets, every pickup), however
    // long the client stays silent.
    let view_most = 4 + 31 + 600 / 7 + 1;
    assert!(most_ids > HISTORY_TICKS, "the record holds something: {most_ids}");
    assert!(most_ids <= HISTORY_TICKS * view_most, "{most_ids} ids kept");
}

#[test]
fn a_bullet_is_entered_in_every_delta_until_a_snapshot_holding_it_is_acknowledged() {
    let mut sim = Sim::new(&NEAR, &[Subject::Player(1)]);
    sim.step(&open_tick());
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base, p.stats.bullets.entered), (2, 1, 0));
    // Tick 3: ship 2 fires, and the uplink holds acknowledgements for 4 ticks (3 to 6).
    let p = delivered(sim.step(&firing(Net::StallUp(4))));
    assert_eq!((p.tick, p.base, p.stats.bullets.entered), (3, 1, 1));
    for tick in 4..=6 {
        let p = delivered(sim.step(&open_tick()));
        assert_eq!((p.tick, p.base, p.stats.bullets.entered), (tick, 1, 1), "the launch record again");
    }
    // Tick 7: the acknowledgements of ticks 2 to 6 arrive; the newest, 6, holds the bullet.
    let p = delivered(sim.step(&open_tick()));
    assert_eq!((p.tick, p.base), (7, 6));
    assert_eq!((p.stats.bullets.entered, p.stats.bullets.carried), (0, 1), "now one bit");
}

#[test]
fn a_spectator_sees_what_its_player_sees_and_switches_cleanly() {
    let mut sim = Sim::new(&NEAR, &[Subject::Player(2), Subject::Spectator(Some(2))]);
    for _ in 0..3 {
        let mut got = sim.step(&firing(OPEN)).into_iter().flatten();
        let (player, spectator) = (got.next().expect("player's"), got.next().expect("spectator's"));
        assert_eq!(player.expected, spectator.expected);
        assert!(!player.expected.ships.is_empty(), "ships 1, 3 and 4 are near");
        assert!(!player.expected.ships.iter().any(|s| s.id == 2), "the followed ship is `me`, not an entity");
        assert!(spectator.expected.bullets.iter().all(|b| b.owner == 2 && b.seq == 1), "its player's own bullets");
    }
    // The spectator switches to ship 3: ship 3 is `me` now, ship 2 an entity, and ship 2's
    // bullets lose their `seq`. Bullets cannot change, so the switch is a full snapshot.
    let got = sim.step(&Tick { ops: vec![Op::Follow(Some(Pick(2)))], ..open_tick() });
    let spectator = got[1].as_ref().expect("delivered");
    assert_eq!((spectator.base, spectator.full), (0, Some(Full::NewSubject)));
    assert_eq!(spectator.expected, sim.world.view(Some(3)));
    assert!(spectator.expected.ships.iter().any(|s| s.id == 2) && !spectator.expected.ships.iter().any(|s| s.id == 3));
    assert!(spectator.expected.bullets.iter().all(|b| b.seq == 0) && !spectator.expected.bullets.is_empty());
    let got = sim.step(&open_tick());
    let spectator = got[1].as_ref().expect("delivered");
    assert_eq!((spectator.base, spectator.full), (spectator.tick - 1, None), "deltas again");
}
