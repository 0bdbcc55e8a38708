//! The Skirmish client core, sans-IO: bytes and time go in, bytes and draw state come out.
//!
//! The browser front-end and the headless bots both drive this one [`Client`], so load tests
//! exercise the code players run. It owns the connection state machine, the roster, a short
//! snapshot buffer for interpolation, input sequencing and the input → acknowledgement latency.
//! Time is always the caller's monotonic clock in milliseconds (`performance.now()` or `Instant`).

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;
use skirmish_shared::codec::check_chat;
use skirmish_shared::consts::{MAX_FRAME_BYTES, PROTOCOL_VERSION};
use skirmish_shared::tuning::MAX_CHAT_CHARS;
use skirmish_shared::{
    Chat, ChatLine, ClientMsg, DecodeError, Hello, Input, Kill, MatchInfo, Phase, PickupState, Ping, PlayerId,
    PlayerInfo, PlayerState, Results, ServerMsg, Snapshot, encode_client,
};

/// Snapshots kept for interpolation (a third of a second at 30 Hz).
const SNAPSHOT_BUFFER_LEN: usize = 10;
/// How far behind the newest snapshot others are drawn, in ticks: enough to have a snapshot on
/// each side of the draw time despite one late or dropped snapshot.
pub const INTERP_DELAY_TICKS: f64 = 2.0;
/// Unacknowledged inputs remembered for latency; older ones are forgotten (and not measured).
const MAX_PENDING_INPUTS: usize = 256;
/// Chat lines kept for display.
pub const MAX_CHAT_LOG: usize = 100;
/// Kills kept for the kill feed.
pub const MAX_KILL_FEED: usize = 8;

/// Where the connection is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// The socket is opening; nothing sent yet.
    Connecting,
    /// `Hello` sent, waiting for `Welcome`.
    Joining,
    /// Welcomed: inputs flow, snapshots arrive.
    Playing,
    /// Closed by either side; `code` is the WebSocket close code (1006 when none was given).
    Closed {
        /// WebSocket close code.
        code: u16,
        /// Close reason as sent by the server, possibly empty.
        reason: String,
    },
}

/// What a server message meant, for the caller to react to (sound, UI, statistics).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// We are in: our id is known.
    Welcome {
        /// Our player id.
        id: PlayerId,
    },
    /// A snapshot arrived.
    Snapshot {
        /// Its tick.
        tick: u64,
        /// Ticks between this snapshot and the previous one received (1 when none were missed).
        tick_gap: u64,
        /// Latency in ms of each input this snapshot acknowledged for the first time,
        /// measured from the `now_ms` given to [`Client::input`] for it (bots pass the input's
        /// scheduled slot, so a late bot cannot hide its delay).
        acked_latency_ms: Vec<f64>,
    },
    /// A player joined.
    Joined(PlayerInfo),
    /// A player left.
    Left(PlayerId),
    /// A ping came back after `rtt_ms`.
    Pong {
        /// Round-trip time in ms.
        rtt_ms: f64,
    },
    /// A chat or system line arrived (also appended to [`Client::chat_log`]).
    Chat(ChatEntry),
    /// Someone was killed (also appended to [`Client::kill_feed`]).
    Kill(Kill),
    /// The match phase or map changed.
    Match(MatchInfo),
    /// A match ended.
    Results(Results),
}

/// One line of the chat log, with the sender's name resolved when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEntry {
    /// Sender's name, or `None` for a system line.
    pub from: Option<String>,
    /// Sender's colour (white for system lines).
    pub colour: u32,
    /// The text, to be shown as text.
    pub text: String,
}

/// Why a message from the server was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The bytes did not decode or validate.
    Decode(DecodeError),
    /// A message that makes no sense in the current state (e.g. a snapshot before `Welcome`).
    Unexpected(&'static str),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Decode(e) => write!(f, "{e}"),
            ClientError::Unexpected(what) => write!(f, "unexpected message: {what}"),
        }
    }
}

impl std::error::Error for ClientError {}

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
    /// True for our own ship.
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

/// A received snapshot and when it arrived.
#[derive(Debug, Clone)]
struct Received {
    at_ms: f64,
    snap: Snapshot,
}

/// Counters a front-end or bot can show or report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Snapshots received and accepted.
    pub snapshots: u64,
    /// Ticks skipped between consecutive snapshots (the server dropped or merged them).
    pub ticks_missed: u64,
    /// Inputs sent.
    pub inputs_sent: u64,
    /// Bytes of server messages received.
    pub bytes_received: u64,
    /// Bytes of client messages produced.
    pub bytes_sent: u64,
}

/// The sans-IO client. See the module docs.
#[derive(Debug)]
pub struct Client {
    name: String,
    room: Option<String>,
    spectate: bool,
    spectator: bool,
    state: ConnState,
    me: Option<PlayerId>,
    arena: Vec2,
    tick_rate: u32,
    room_joined: String,
    roster: BTreeMap<PlayerId, PlayerInfo>,
    snapshots: VecDeque<Received>,
    next_seq: u32,
    pending_inputs: VecDeque<(u32, f64)>,
    last_ack: u32,
    next_ping_id: u32,
    ping_sent: Option<(u32, f64)>,
    rtt_ms: Option<f64>,
    stats: Stats,
    match_info: Option<MatchInfo>,
    results: Option<Results>,
    chat_log: VecDeque<ChatEntry>,
    kill_feed: VecDeque<(Kill, f64)>,
}

impl Client {
    /// A client that will join `room` (or the default room) as `name`.
    pub fn new(name: impl Into<String>, room: Option<String>) -> Self {
        Self {
            name: name.into(),
            room,
            spectate: false,
            spectator: false,
            state: ConnState::Connecting,
            me: None,
            arena: Vec2::ZERO,
            tick_rate: 30,
            room_joined: String::new(),
            roster: BTreeMap::new(),
            snapshots: VecDeque::with_capacity(SNAPSHOT_BUFFER_LEN + 1),
            next_seq: 1,
            pending_inputs: VecDeque::new(),
            last_ack: 0,
            next_ping_id: 1,
            ping_sent: None,
            rtt_ms: None,
            stats: Stats::default(),
            match_info: None,
            results: None,
            chat_log: VecDeque::new(),
            kill_feed: VecDeque::new(),
        }
    }

    /// Asks to join as a spectator (no ship, no inputs).
    pub fn spectate(mut self, yes: bool) -> Self {
        self.spectate = yes;
        self
    }

    /// The socket opened: returns the `Hello` frame to send.
    pub fn on_open(&mut self) -> Vec<u8> {
        self.state = ConnState::Joining;
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: self.name.clone(),
            room: self.room.clone(),
            spectate: self.spectate,
        });
        self.sent(encode_client(&hello))
    }

    /// The socket closed (by either side).
    pub fn on_close(&mut self, code: u16, reason: &str) {
        self.state = ConnState::Closed { code, reason: reason.to_owned() };
    }

    /// A binary frame arrived from the server at `now_ms`.
    pub fn on_message(&mut self, bytes: &[u8], now_ms: f64) -> Result<Event, ClientError> {
        self.stats.bytes_received += bytes.len() as u64;
        let msg = wire::decode_server(bytes).map_err(ClientError::Decode)?;
        match msg {
            ServerMsg::Welcome(w) => {
                if self.state != ConnState::Joining {
                    return Err(ClientError::Unexpected("Welcome twice or before Hello"));
                }
                self.state = ConnState::Playing;
                self.me = Some(w.id);
                self.arena = w.arena;
                self.tick_rate = w.tick_rate;
                self.room_joined = w.room;
                self.spectator = w.spectator;
                self.roster = w.players.into_iter().map(|p| (p.id, p)).collect();
                Ok(Event::Welcome { id: w.id })
            }
            _ if self.state != ConnState::Playing => Err(ClientError::Unexpected("message before Welcome")),
            ServerMsg::Snapshot(snap) => Ok(self.on_snapshot(snap, now_ms)),
            ServerMsg::Joined(p) => {
                self.roster.insert(p.id, p.clone());
                Ok(Event::Joined(p))
            }
            ServerMsg::Left(l) => {
                self.roster.remove(&l.id);
                Ok(Event::Left(l.id))
            }
            ServerMsg::Pong(p) => match self.ping_sent {
                Some((id, sent)) if id == p.id => {
                    self.ping_sent = None;
                    let rtt = (now_ms - sent).max(0.0);
                    self.rtt_ms = Some(rtt);
                    Ok(Event::Pong { rtt_ms: rtt })
                }
                _ => Err(ClientError::Unexpected("Pong for a ping not sent")),
            },
            ServerMsg::Chat(line) => Ok(Event::Chat(self.on_chat(line))),
            ServerMsg::Kill(kill) => {
                if self.kill_feed.len() == MAX_KILL_FEED {
                    self.kill_feed.pop_front();
                }
                self.kill_feed.push_back((kill, now_ms));
                Ok(Event::Kill(kill))
            }
            ServerMsg::Match(info) => {
                if info.phase != Phase::Results {
                    self.results = None;
                }
                if let Some(old) = &self.match_info
                    && old.map.name != info.map.name
                {
                    self.kill_feed.clear();
                }
                self.arena = info.map.size;
                self.match_info = Some(info.clone());
                Ok(Event::Match(info))
            }
            ServerMsg::Results(results) => {
                self.results = Some(results.clone());
                Ok(Event::Results(results))
            }
        }
    }

    fn on_chat(&mut self, line: ChatLine) -> ChatEntry {
        let sender = line.from.and_then(|id| self.roster.get(&id));
        let entry = ChatEntry {
            from: line.from.map(|id| sender.map_or_else(|| format!("#{id}"), |p| p.name.clone())),
            colour: sender.map_or(0xffffff, |p| p.colour),
            text: line.text,
        };
        if self.chat_log.len() == MAX_CHAT_LOG {
            self.chat_log.pop_front();
        }
        self.chat_log.push_back(entry.clone());
        entry
    }

    fn on_snapshot(&mut self, snap: Snapshot, now_ms: f64) -> Event {
        let tick = snap.tick;
        let tick_gap = self.snapshots.back().map_or(1, |r| tick.saturating_sub(r.snap.tick));
        self.stats.snapshots += 1;
        self.stats.ticks_missed += tick_gap.saturating_sub(1);
        let mut acked_latency_ms = Vec::new();
        if let Some(ack) = self.me.and_then(|me| snap.players.iter().find(|p| p.id == me)).map(|p| p.ack)
            && ack > self.last_ack
        {
            self.last_ack = ack;
            while let Some(&(seq, sent)) = self.pending_inputs.front() {
                if seq > ack {
                    break;
                }
                acked_latency_ms.push((now_ms - sent).max(0.0));
                self.pending_inputs.pop_front();
            }
        }
        // A snapshot older than the newest (never expected over one TCP stream) is not kept.
        if self.snapshots.back().is_none_or(|r| r.snap.tick < tick) {
            self.snapshots.push_back(Received { at_ms: now_ms, snap });
            if self.snapshots.len() > SNAPSHOT_BUFFER_LEN {
                self.snapshots.pop_front();
            }
        }
        Event::Snapshot { tick, tick_gap, acked_latency_ms }
    }

    /// Builds the next input frame, or `None` before `Welcome` (inputs then mean nothing).
    pub fn input(&mut self, mv: Vec2, aim: f32, buttons: u8, now_ms: f64) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing {
            return None;
        }
        let mv = if mv.is_finite() { mv.clamp(Vec2::NEG_ONE, Vec2::ONE) } else { Vec2::ZERO };
        let aim = if aim.is_finite() { wrap_angle(aim) } else { 0.0 };
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        if self.pending_inputs.len() == MAX_PENDING_INPUTS {
            self.pending_inputs.pop_front();
        }
        self.pending_inputs.push_back((seq, now_ms));
        self.stats.inputs_sent += 1;
        Some(self.sent(encode_client(&ClientMsg::Input(Input { seq, mv, aim, buttons }))))
    }

    /// Builds a chat frame from what the player typed: trimmed and cut to `MAX_CHAT_CHARS`;
    /// `None` before `Welcome` or when nothing sendable is left.
    pub fn chat(&mut self, text: &str) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing {
            return None;
        }
        let text: String = text.trim().chars().take(MAX_CHAT_CHARS).collect();
        check_chat(&text).ok()?;
        Some(self.sent(encode_client(&ClientMsg::Chat(Chat { text }))))
    }

    /// Builds a ping frame, or `None` before `Welcome` or while one is outstanding (unless it
    /// is older than 5 s, which counts as lost).
    pub fn ping(&mut self, now_ms: f64) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing || self.ping_sent.is_some_and(|(_, at)| now_ms - at < 5000.0) {
            return None;
        }
        let id = self.next_ping_id;
        self.next_ping_id = self.next_ping_id.wrapping_add(1);
        self.ping_sent = Some((id, now_ms));
        Some(self.sent(encode_client(&ClientMsg::Ping(Ping { id }))))
    }

    fn sent(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        debug_assert!(bytes.len() <= MAX_FRAME_BYTES);
        self.stats.bytes_sent += bytes.len() as u64;
        bytes
    }

    /// Connection state.
    pub fn state(&self) -> &ConnState {
        &self.state
    }

    /// Our id once welcomed.
    pub fn my_id(&self) -> Option<PlayerId> {
        self.me
    }

    /// Arena size from `Welcome` (zero before).
    pub fn arena(&self) -> Vec2 {
        self.arena
    }

    /// Snapshot rate from `Welcome`.
    pub fn tick_rate(&self) -> u32 {
        self.tick_rate
    }

    /// The room we are in (empty before `Welcome`).
    pub fn room(&self) -> &str {
        &self.room_joined
    }

    /// Everyone in the room, by id.
    pub fn roster(&self) -> &BTreeMap<PlayerId, PlayerInfo> {
        &self.roster
    }

    /// The newest snapshot, if any.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.snapshots.back().map(|r| &r.snap)
    }

    /// Last measured round trip.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// True once welcomed as a spectator.
    pub fn is_spectator(&self) -> bool {
        self.spectator
    }

    /// The current match: phase, map, limits (after `Welcome`).
    pub fn match_info(&self) -> Option<&MatchInfo> {
        self.match_info.as_ref()
    }

    /// The last match's results while the results phase lasts.
    pub fn results(&self) -> Option<&Results> {
        self.results.as_ref()
    }

    /// Chat and system lines, oldest first.
    pub fn chat_log(&self) -> &VecDeque<ChatEntry> {
        &self.chat_log
    }

    /// Recent kills with the time (ms) they arrived, oldest first.
    pub fn kill_feed(&self) -> impl Iterator<Item = (&Kill, f64)> {
        self.kill_feed.iter().map(|(k, at)| (k, *at))
    }

    /// Our own ship in the newest snapshot (health, score, alive), if we have one.
    pub fn my_state(&self) -> Option<&PlayerState> {
        let me = self.me?;
        self.latest()?.players.iter().find(|p| p.id == me)
    }

    /// Phase and milliseconds left in it, from the newest snapshot.
    pub fn phase(&self) -> (Phase, u32) {
        self.latest().map_or((Phase::Waiting, 0), |s| (s.phase, s.time_left_ms))
    }

    /// Pickups in the newest snapshot.
    pub fn pickups(&self) -> &[PickupState] {
        self.latest().map_or(&[], |s| &s.pickups)
    }

    /// Bullets to draw at `now_ms`, at the same delayed time as [`Client::ships`]: each is taken
    /// from the older bracketing snapshot and advanced along its straight path.
    pub fn bullets(&self, now_ms: f64) -> Vec<DrawBullet> {
        let Some(render_tick) = self.render_tick(now_ms) else { return Vec::new() };
        let (from, to, t) = self.bracket(render_tick);
        let dt_s = (to.tick - from.tick) as f32 * t / self.tick_rate.max(1) as f32;
        from.bullets
            .iter()
            .map(|b| DrawBullet {
                pos: b.pos + b.vel * dt_s,
                vel: b.vel,
                colour: self.roster.get(&b.owner).map_or(0xffffff, |p| p.colour),
            })
            .collect()
    }

    /// The (fractional) server tick to draw: [`INTERP_DELAY_TICKS`] behind the newest snapshot,
    /// extrapolated from when it arrived.
    fn render_tick(&self, now_ms: f64) -> Option<f64> {
        let newest = self.snapshots.back()?;
        let tick_ms = 1000.0 / f64::from(self.tick_rate.max(1));
        Some(newest.snap.tick as f64 + (now_ms - newest.at_ms) / tick_ms - INTERP_DELAY_TICKS)
    }

    /// Ships to draw at `now_ms`: positions interpolated [`INTERP_DELAY_TICKS`] behind the
    /// newest snapshot, between the two snapshots around that time.
    pub fn ships(&self, now_ms: f64) -> Vec<DrawShip> {
        let Some(render_tick) = self.render_tick(now_ms) else { return Vec::new() };
        let (from, to, t) = self.bracket(render_tick);
        to.players
            .iter()
            .map(|p| {
                // A ship that just respawned jumps; interpolating would draw it sweeping across.
                let pos = match from.players.iter().find(|q| q.id == p.id) {
                    Some(q) if q.alive() == p.alive() => q.pos.lerp(p.pos, t),
                    _ => p.pos,
                };
                let info = self.roster.get(&p.id);
                DrawShip {
                    id: p.id,
                    name: info.map_or_else(|| "?".to_owned(), |i| i.name.clone()),
                    colour: info.map_or(0xffffff, |i| i.colour),
                    pos,
                    aim: p.aim,
                    me: Some(p.id) == self.me,
                    state: *p,
                }
            })
            .collect()
    }

    /// The snapshots just before and after `tick` and the blend factor between them; clamps to
    /// the oldest or newest when `tick` is outside the buffer.
    fn bracket(&self, tick: f64) -> (&Snapshot, &Snapshot, f32) {
        let snaps = &self.snapshots;
        for i in 1..snaps.len() {
            let (a, b) = (&snaps[i - 1].snap, &snaps[i].snap);
            if (a.tick as f64) <= tick && tick <= b.tick as f64 {
                let t = (tick - a.tick as f64) / (b.tick - a.tick) as f64;
                return (a, b, t as f32);
            }
        }
        let (oldest, newest) = (&snaps[0].snap, &snaps[snaps.len() - 1].snap);
        if tick < oldest.tick as f64 { (oldest, oldest, 0.0) } else { (newest, newest, 0.0) }
    }
}

/// Wraps an angle into `[-π, π]` using only arithmetic (no trig), so it validates server-side.
fn wrap_angle(a: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    let mut a = a % TAU;
    if a > PI {
        a -= TAU;
    } else if a < -PI {
        a += TAU;
    }
    a
}

pub mod wire;

#[cfg(test)]
mod tests;
