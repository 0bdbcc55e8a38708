//! The Skirmish client core, sans-IO: bytes and time go in, bytes and draw state come out.
//!
//! The browser front-end and the headless bots both drive this one [`Client`], so load tests
//! exercise the code players run. Time is always the caller's monotonic clock in milliseconds
//! (`performance.now()` or `Instant`).
//!
//! Layout:
//! - [`Client`] (here): the connection state machine, roster, score table, radar, chat log, kill
//!   feed, input sequencing, acknowledgements and the input → acknowledgement latency.
//! - `pace`: when the next input is due, one per server tick on the server's tick clock as
//!   [`clock`] estimates it from snapshot arrivals.
//! - [`wire`]: the compact decoder of server messages (the download-size reason is there).
//! - `history`: the decoded entity frames kept as delta baselines, recycled.
//! - `scores`: the score table, and which lines changed since the last view.
//! - [`view`]: snapshots in world units ([`View`]) and the interpolation buffer.

use std::collections::{BTreeMap, VecDeque};

use glam::Vec2;
use skirmish_shared::codec::check_chat;
use skirmish_shared::consts::{
    INPUT_PERIOD_MS, MAX_FRAME_BYTES, PING_LOST_AFTER_MS, PROTOCOL_VERSION, ROSTER_CHUNK_PLAYERS, TICK_RATE_HZ,
};
use skirmish_shared::delta::Frame;
use skirmish_shared::tuning::MAX_CHAT_CHARS;
use skirmish_shared::{
    Ack, Chat, ChatLine, ClientMsg, DecodeError, Follow, Hello, Input, Kill, MatchInfo, Phase, PickupState, Ping,
    PlayerId, PlayerInfo, PlayerState, Radar, Rect, Results, ScoreLine, ServerMsg,
};

pub use clock::TickClock;
pub use scores::{IdHasher, IdMap};
pub use view::{DrawBullet, DrawShip, MAX_EXTRAPOLATION_TICKS, View};

pub mod clock;
pub mod encode;
mod history;
pub mod pace;
pub mod predict;
mod scores;
pub mod view;
pub mod wire;

use history::{History, Refused};
use pace::Pace;
use predict::{Predictor, Terrain};
use scores::ScoreTable;
use view::Views;
use wire::{Msg, SnapshotRef};

/// Unacknowledged inputs remembered for latency; older ones are forgotten (a caller that
/// measures, the bots, times the oldest from [`Client::unacked_inputs_ms`] before it goes).
pub const MAX_PENDING_INPUTS: usize = 256;
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

/// What a server message meant, for the caller to react to (sound, UI, statistics). One per
/// message; a `Batch` gives one per message in it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// We are in: our id is known.
    Welcome {
        /// Our player id.
        id: PlayerId,
    },
    /// A snapshot arrived and is the newest [`Client::latest`] view.
    Snapshot {
        /// Its tick.
        tick: u64,
        /// Ticks between this snapshot and the previous one received (1 when none were missed).
        tick_gap: u64,
        /// Latency in ms of each input this snapshot acknowledged for the first time,
        /// measured from the `now_ms` given to [`Client::input`] for it (bots give the time it was
        /// due to [`Client::input_for_slot`], so a late bot cannot hide its delay). Empty (no allocation) when it
        /// acknowledged nothing new; always empty for a spectator.
        acked_latency_ms: Vec<f64>,
    },
    /// A player joined.
    Joined(PlayerInfo),
    /// This many more of the players already in the room when we joined are now in
    /// [`Client::roster`] (the part `Welcome` had no room for).
    Roster(usize),
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
    /// This many more obstacles of the current map arrived (already in [`Client::match_info`]).
    Obstacles(usize),
    /// A match ended.
    Results(Results),
    /// These score lines changed (already applied to [`Client::scores`]).
    Scores(Vec<ScoreLine>),
    /// A new radar (minimap) arrived: see [`Client::radar`].
    Radar,
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

/// Why a message from the server was not accepted. The messages are what the bots count
/// errors by in their report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The bytes did not decode or validate. Shown as the decode error alone (no `source`: the
    /// message already says it all, and a chain would repeat it).
    #[error("{0}")]
    Decode(DecodeError),
    /// A snapshot's entity records did not decode against their baseline. The next
    /// acknowledgements are 0, so the server sends a full snapshot.
    #[error("bad entity records: {0}")]
    Records(&'static str),
    /// A snapshot was a delta against a tick this client does not hold (a server bug). The next
    /// acknowledgements are 0, so the server sends a full snapshot and the client recovers.
    #[error("snapshot against a baseline not held")]
    UnknownBase,
    /// A message that makes no sense in the current state (e.g. a snapshot before `Welcome`).
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// A snapshot's tick is further ahead than the real time since the last snapshots can
    /// explain ([`TickClock::explains`]): corrupted or forged on the way, or a server bug. It is
    /// refused and changes nothing, so the clock, the pacing of inputs and the acknowledgements
    /// go on from the snapshots before it, and the next good snapshot is taken as usual.
    #[error("snapshot tick too far ahead of the server's tick clock")]
    TickTooFarAhead,
}

impl From<Refused> for ClientError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::UnknownBase => ClientError::UnknownBase,
            Refused::NotNewer => ClientError::Unexpected("snapshot not newer than the last"),
            Refused::Malformed(why) => ClientError::Records(why),
        }
    }
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
    /// The name `Hello` asks for.
    name: String,
    /// The room `Hello` asks for (`None`: the server picks one). What we got is `room_name`.
    room_asked: Option<String>,
    /// Whether `Hello` asks to spectate. Whether we are one is `is_spectator`.
    spectate_asked: bool,
    /// Whether `Hello` asks for the room to be created private.
    private: bool,
    /// Whether `Welcome` made us a spectator: asked for, or the room had no seat left. Decides
    /// whether inputs or `Follow` make sense.
    is_spectator: bool,
    /// Where the connection is: decides which messages are accepted and which frames are built.
    state: ConnState,
    /// Whether our own ship is predicted ([`Client::predict`]).
    predict: bool,
    /// Our own ship's prediction (idle unless `predict`).
    predictor: Predictor,
    /// Our id, from `Welcome`.
    me: Option<PlayerId>,
    /// Arena size: from `Welcome`, then from each `Match`.
    arena: Vec2,
    /// Snapshots per second, to turn ticks into milliseconds for interpolation and `view_tick`:
    /// the server's own from `Welcome`, the shared default before.
    tick_rate: u32,
    /// The room the server put us in, as `Welcome` named it (empty before `Welcome`).
    room_name: String,
    /// The rejoin token: the one to send in `Hello` (see [`Client::rejoin`]), then the one
    /// `Welcome` gave, to take the seat back after a lost connection.
    rejoin: String,
    /// Everyone in the room by id (`Welcome`, `Roster`, `Joined`, `Left`): the names and
    /// colours that ships, bullets and chat lines are drawn with.
    roster: BTreeMap<PlayerId, PlayerInfo>,
    /// The roster lists everyone who was in the room when we joined: a `Welcome` or `Roster` of
    /// fewer than `ROSTER_CHUNK_PLAYERS` players came (`PROTOCOL.md`, Roster).
    roster_complete: bool,
    /// Kills and deaths by player: the lines of the players in `Welcome` and each `Roster`,
    /// then the changes.
    scores: ScoreTable,
    /// The newest radar (minimap) of the whole room; `None` until the first arrives.
    radar: Option<Radar>,
    /// Decoded frames kept as delta baselines; the acknowledgement comes from here.
    history: History,
    /// The views drawn from, newest last.
    views: Views,
    /// Whose view the newest snapshot is (`Snapshot::me`): us, or whom a spectator follows.
    subject: Option<PlayerId>,
    /// Seq of the next input. Never 0 (it wraps to 1): an acknowledgement of 0 means "none yet".
    next_seq: u32,
    /// Inputs sent and not acknowledged yet: (seq, when it was due: the time given to `input`,
    /// or the slot given to `input_for_slot`).
    pending_inputs: VecDeque<(u32, f64)>,
    /// The newest input seq the server acknowledged.
    last_ack: u32,
    /// When the next input is due: the server's tick clock as the snapshots show it.
    pace: Pace,
    /// The snapshot tick last acknowledged to the server (in an input or an `Ack`).
    ack_sent: Option<u64>,
    /// Id of the next ping, so that a `Pong` can be matched to its ping.
    next_ping_id: u32,
    /// The ping awaiting its `Pong`: (id, time sent). One at a time, so each `Pong` measures
    /// one round trip; one older than `PING_LOST_AFTER_MS` counts as lost.
    ping_sent: Option<(u32, f64)>,
    /// The last measured round trip; `None` until the first `Pong`.
    rtt_ms: Option<f64>,
    /// When the oldest ping still unanswered went out (pings given up as lost included): see
    /// [`Client::ping_ms`].
    unanswered_since: Option<f64>,
    /// Counters for the front-end's display and the bots' report.
    stats: Stats,
    /// The current match (phase, map, limits) from the last `Match`, its map completed by the
    /// `Obstacles` that follow; `None` until the first `Match`.
    match_info: Option<MatchInfo>,
    /// The last match's results, kept while the results phase lasts.
    results: Option<Results>,
    /// Chat and system lines, oldest first, at most [`MAX_CHAT_LOG`]. Senders are resolved on
    /// arrival, so a line keeps its name after the sender leaves.
    chat_log: VecDeque<ChatEntry>,
    /// Recent kills with the time (ms) each arrived, for the front-end to show them a while;
    /// at most [`MAX_KILL_FEED`], emptied when the map changes.
    kill_feed: VecDeque<(Kill, f64)>,
    /// The last players to leave, newest last, at most [`MAX_KILL_FEED`] × 2: the kill feed
    /// names a player by id, and still shows a kill by or of one who has left since (or whose
    /// bullet killed after it left).
    departed: Vec<PlayerInfo>,
}

impl Client {
    /// A client that will ask to join `room` (or any room the server picks) as `name`.
    pub fn new(name: impl Into<String>, room: Option<String>) -> Self {
        Self {
            name: name.into(),
            room_asked: room,
            spectate_asked: false,
            private: false,
            is_spectator: false,
            state: ConnState::Connecting,
            predict: false,
            predictor: Predictor::default(),
            me: None,
            arena: Vec2::ZERO,
            tick_rate: TICK_RATE_HZ,
            room_name: String::new(),
            rejoin: String::new(),
            roster: BTreeMap::new(),
            roster_complete: false,
            scores: ScoreTable::default(),
            radar: None,
            history: History::default(),
            views: Views::new(TICK_RATE_HZ, true),
            subject: None,
            next_seq: 1,
            pending_inputs: VecDeque::new(),
            last_ack: 0,
            pace: Pace::default(),
            ack_sent: None,
            next_ping_id: 1,
            ping_sent: None,
            unanswered_since: None,
            rtt_ms: None,
            stats: Stats::default(),
            match_info: None,
            results: None,
            chat_log: VecDeque::new(),
            kill_feed: VecDeque::new(),
            departed: Vec::new(),
        }
    }

    /// Asks to join as a spectator (no ship, no inputs). Whether the server made us one (it
    /// also does when the room is full) is [`Client::is_spectator`].
    pub fn ask_to_spectate(mut self, yes: bool) -> Self {
        self.spectate_asked = yes;
        self
    }

    /// Asks to take back the seat of an earlier connection, with the token its `Welcome` gave
    /// ([`Client::rejoin_token`]): within the server's seat reservation it gives back the same
    /// id, ship, name, colour and score; after it (or an empty token), a newcomer joins.
    pub fn rejoin(mut self, token: &str) -> Self {
        token.clone_into(&mut self.rejoin);
        self
    }

    /// Where in each tick inputs go out, in ticks after the tick's snapshot arrives (clamped
    /// to [`pace::SEND_PHASE_RANGE`]; [`pace::SEND_PHASE_TICKS`] by default): the phase the
    /// client keeps while its inputs make their ticks, and returns to after misses moved it
    /// earlier. A swarm of bots on one machine, all a few microseconds from the server, would
    /// otherwise send in one burst each tick, which players spread over the internet never do.
    pub fn send_phase(mut self, phase: f64) -> Self {
        let (lo, hi) = pace::SEND_PHASE_RANGE;
        self.pace.phase = if phase.is_finite() { phase.clamp(lo, hi) } else { pace::SEND_PHASE_TICKS };
        self.pace.chosen = self.pace.phase;
        self
    }

    /// Predicts our own ship (see [`predict`]): on in the browser; the bots leave it off unless
    /// asked, as it costs a replay of the unacknowledged inputs per snapshot.
    pub fn predict(mut self, yes: bool) -> Self {
        self.predict = yes;
        self
    }

    /// Builds views to draw from (the default). A client that draws nothing, such as a bot,
    /// turns this off: each snapshot then still updates the history, the clock and the pacing
    /// of inputs, but [`Client::latest`] and [`Client::ships`] hold only the view's own
    /// ship (without its kills and deaths), and [`Client::bullets`] and [`Client::pickups`] are
    /// empty. The ships in view are then read from the decoded frames ([`Client::frames`]). Nor
    /// does it keep the names and colours of the room or its score table ([`Client::roster`] and
    /// [`Client::scores`] stay empty, chat lines name their sender `#id`): a bot in a room of n
    /// players would hold n of each, n² for a swarm. The events still carry every message.
    pub fn draws(mut self, yes: bool) -> Self {
        self.views = Views::new(self.tick_rate, yes);
        self
    }

    /// Asks for the room to be created private (unlisted, never picked by quick play) if it
    /// does not exist yet.
    pub fn private(mut self, yes: bool) -> Self {
        self.private = yes;
        self
    }

    /// The socket opened: returns the `Hello` frame to send.
    pub fn on_open(&mut self) -> Vec<u8> {
        self.state = ConnState::Joining;
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: self.name.clone(),
            room: self.room_asked.clone(),
            spectate: self.spectate_asked,
            private: self.private,
            rejoin: (!self.rejoin.is_empty()).then(|| self.rejoin.clone()),
        });
        self.sent(encode::client_msg(&hello))
    }

    /// The socket closed (by either side).
    pub fn on_close(&mut self, code: u16, reason: &str) {
        self.state = ConnState::Closed { code, reason: reason.to_owned() };
        // The last round trip says nothing of a connection that is gone: the HUD shows none.
        self.rtt_ms = None;
        self.unanswered_since = None;
    }

    /// A binary frame arrived from the server at `now_ms`: pushes one [`Event`] per message it
    /// held onto `events` (which the caller clears and reuses). A frame that does not decode
    /// changes nothing; in a `Batch`, a message that makes no sense is skipped, the others are
    /// applied, and the first such error is returned.
    pub fn on_message(&mut self, bytes: &[u8], now_ms: f64, events: &mut Vec<Event>) -> Result<(), ClientError> {
        self.stats.bytes_received += bytes.len() as u64;
        match wire::decode(bytes).map_err(ClientError::Decode)? {
            Msg::Snapshot(snap) => self.on_snapshot(&snap, now_ms, events),
            Msg::Other(ServerMsg::Batch(msgs)) => {
                let mut first_error = Ok(());
                for msg in msgs {
                    let result = self.apply(msg, now_ms, events);
                    if first_error.is_ok() {
                        first_error = result;
                    }
                }
                first_error
            }
            Msg::Other(msg) => self.apply(msg, now_ms, events),
        }
    }

    /// Applies one message. The match has no `_` arm: a new message kind does not compile
    /// until the client handles it.
    fn apply(&mut self, msg: ServerMsg, now_ms: f64, events: &mut Vec<Event>) -> Result<(), ClientError> {
        let event = match msg {
            ServerMsg::Welcome(w) => {
                if self.state != ConnState::Joining {
                    return Err(ClientError::Unexpected("Welcome twice or before Hello"));
                }
                self.state = ConnState::Playing;
                self.me = Some(w.id);
                self.arena = w.arena;
                self.tick_rate = w.tick_rate;
                self.views = Views::new(w.tick_rate, self.views.draws());
                self.room_name = w.room;
                self.rejoin = w.rejoin;
                self.is_spectator = w.spectator;
                self.roster_complete = w.players.len() < ROSTER_CHUNK_PLAYERS;
                if self.views.draws() {
                    self.roster = w.players.into_iter().map(|p| (p.id, p)).collect();
                }
                Event::Welcome { id: w.id }
            }
            _ if self.state != ConnState::Playing => return Err(ClientError::Unexpected("message before Welcome")),
            ServerMsg::Snapshot(snap) => return self.on_snapshot(&SnapshotRef::of(&snap), now_ms, events),
            ServerMsg::Batch(_) => return Err(ClientError::Unexpected("nested batch")),
            ServerMsg::Joined(p) => {
                if self.views.draws() {
                    self.roster.insert(p.id, p.clone());
                }
                Event::Joined(p)
            }
            ServerMsg::Roster(players) => {
                let added = players.len();
                self.roster_complete |= added < ROSTER_CHUNK_PLAYERS;
                if self.views.draws() {
                    self.roster.extend(players.into_iter().map(|p| (p.id, p)));
                }
                Event::Roster(added)
            }
            ServerMsg::Left(l) => {
                if let Some(gone) = self.roster.remove(&l.id) {
                    if self.departed.len() == 2 * MAX_KILL_FEED {
                        self.departed.remove(0);
                    }
                    self.departed.push(gone);
                }
                self.scores.remove(l.id);
                Event::Left(l.id)
            }
            ServerMsg::Pong(p) => match self.ping_sent {
                Some((id, sent)) if id == p.id => {
                    self.ping_sent = None;
                    self.unanswered_since = None;
                    let rtt = (now_ms - sent).max(0.0);
                    self.rtt_ms = Some(rtt);
                    Event::Pong { rtt_ms: rtt }
                }
                // The answer to a ping given up as lost, on a link slower than the limit: no
                // round trip of the one awaited, and no error either.
                _ if p.id != 0 && p.id < self.next_ping_id => return Ok(()),
                _ => return Err(ClientError::Unexpected("Pong for a ping not sent")),
            },
            ServerMsg::Chat(line) => Event::Chat(self.on_chat(line)),
            ServerMsg::Kill(kill) => {
                if self.kill_feed.len() == MAX_KILL_FEED {
                    self.kill_feed.pop_front();
                }
                self.kill_feed.push_back((kill, now_ms));
                Event::Kill(kill)
            }
            ServerMsg::Match(info) => {
                self.on_match(&info);
                Event::Match(info)
            }
            ServerMsg::Results(results) => {
                self.results = Some(results.clone());
                Event::Results(results)
            }
            ServerMsg::Obstacles(rects) => {
                let Some(info) = self.match_info.as_mut() else {
                    return Err(ClientError::Unexpected("Obstacles before Match"));
                };
                let added = rects.len();
                info.map.obstacles.extend(rects);
                Event::Obstacles(added)
            }
            ServerMsg::Scores(lines) => {
                if self.views.draws() {
                    self.scores.apply(&lines);
                }
                Event::Scores(lines)
            }
            ServerMsg::Radar(radar) => {
                self.radar = Some(radar);
                Event::Radar
            }
        };
        events.push(event);
        Ok(())
    }

    fn on_match(&mut self, info: &MatchInfo) {
        if info.phase != Phase::Results {
            self.results = None;
        }
        let before = self.match_info.as_ref().map(|m| m.phase);
        // Scores restart where the server resets them: when a countdown starts after waiting,
        // and when the results end (the next match, counting down or waiting). The server also
        // sends the zeroed lines then, in this batch or (128 lines a tick) the next few, but in
        // a room of more than `SCORES_ALL_MAX_PLAYERS` only the top's and ours: zeroing here is
        // what keeps the rest right. The `Match` right after `Welcome` (no phase before) comes
        // with the current lines instead.
        let restart = match (before, info.phase) {
            (Some(Phase::Waiting), Phase::Countdown) => true,
            (Some(Phase::Results), phase) => phase != Phase::Results,
            _ => false,
        };
        if restart {
            self.scores.zero();
        }
        if let Some(old) = &self.match_info
            && old.map.name != info.map.name
        {
            self.kill_feed.clear();
        }
        self.arena = info.map.size;
        self.match_info = Some(info.clone());
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

    fn on_snapshot(&mut self, snap: &SnapshotRef<'_>, now_ms: f64, events: &mut Vec<Event>) -> Result<(), ClientError> {
        if self.state != ConnState::Playing {
            return Err(ClientError::Unexpected("message before Welcome"));
        }
        // Before anything is kept: a tick the server cannot have sent would move the clock there
        // and leave every real snapshot after it refused as older (see `TickClock::explains`).
        if !self.views.clock.explains(snap.tick, now_ms) {
            return Err(ClientError::TickTooFarAhead);
        }
        let frame = self.history.apply(snap.tick, snap.base, snap.ents)?;
        let tick = snap.tick;
        let tick_gap = self.views.latest().map_or(1, |v| tick.saturating_sub(v.tick));
        self.stats.snapshots += 1;
        self.stats.ticks_missed += tick_gap.saturating_sub(1);
        let mine = snap.me.filter(|own| Some(own.id) == self.me && !self.is_spectator);
        // The tick after the last snapshot's applied no input of ours though one was on its
        // way (sent and not acknowledged): it came too late for that tick.
        let missed = mine.is_some_and(|own| {
            tick_gap == 1 && self.last_ack != 0 && own.ack == self.last_ack && !self.pending_inputs.is_empty()
        });
        let mut acked_latency_ms = Vec::new();
        // Only our own ship's `ack` counts our inputs (a spectator's `me` is someone else).
        if let Some(own) = snap.me.filter(|own| Some(own.id) == self.me)
            && own.ack > self.last_ack
        {
            self.last_ack = own.ack;
            while let Some(&(seq, sent)) = self.pending_inputs.front() {
                if seq > own.ack {
                    break;
                }
                acked_latency_ms.push((now_ms - sent).max(0.0));
                self.pending_inputs.pop_front();
            }
        }
        if let Some(own) = mine {
            let waiting = own.flags & PlayerState::INPUT_WAITING != 0;
            self.pace.on_own_state(waiting, missed, own.ack, self.next_seq.wrapping_sub(1));
        }
        if self.predict {
            match mine {
                Some(own) => {
                    let active =
                        own.flags & PlayerState::ALIVE != 0 && !matches!(snap.phase, Phase::Countdown | Phase::Results);
                    let terrain = Terrain { arena: self.arena, obstacles: obstacles(self.match_info.as_ref()) };
                    let fired = |seq: u32| frame.bullets.iter().any(|b| b.owner == own.id && b.seq == seq);
                    self.predictor.reconcile(&own, fired, active, now_ms, terrain);
                }
                None => self.predictor.reset(),
            }
        }
        self.subject = snap.me.map(|own| own.id);
        self.views.push(snap, frame, &self.scores, now_ms);
        self.scores.settle();
        events.push(Event::Snapshot { tick, tick_gap, acked_latency_ms });
        Ok(())
    }

    /// When the next input is due (ms on the caller's clock; in the past when one is due now):
    /// one per server tick, on the tick clock the snapshots show ([`Client::clock`]), half a
    /// tick after a tick's snapshot arrives on average; every [`INPUT_PERIOD_MS`] before the first snapshot.
    /// The server applies one input per tick, so an input sent on a free-running timer would
    /// now and then be dropped or leave a tick without one. Spectators send no inputs.
    ///
    /// [`INPUT_PERIOD_MS`]: skirmish_shared::consts::INPUT_PERIOD_MS
    pub fn input_due_ms(&self) -> f64 {
        self.pace.due_ms(&self.views.clock)
    }

    /// For a page that can act only when a message arrives (a hidden browser tab, whose timers
    /// the browser throttles to once a second or less, but not its messages): true if an input
    /// falls due before the next snapshot is expected, a tick from now. Sent now, it fills the
    /// slot it was due in (see [`Client::input`]), so the page sends one per snapshot, each in
    /// time for the server's next tick. Checked only at the slot's own time, an input would go
    /// out at the snapshot after it: late for its tick in one tick of three, which the server
    /// fills by repeating the last input.
    pub fn input_due_by_next_snapshot(&self, now_ms: f64) -> bool {
        now_ms + f64::from(INPUT_PERIOD_MS) >= self.input_due_ms()
    }

    /// Builds the next input frame, or `None` before `Welcome` (inputs then mean nothing). It
    /// acknowledges the newest snapshot held and names the tick being drawn at `now_ms`. Send
    /// one when [`Client::input_due_ms`] says (or, from a page whose timers are throttled,
    /// [`Client::input_due_by_next_snapshot`]: one sent before it is due fills the slot due).
    pub fn input(&mut self, mv: Vec2, aim: f32, buttons: u8, now_ms: f64) -> Option<Vec<u8>> {
        self.input_for_slot(mv, aim, buttons, now_ms, now_ms)
    }

    /// [`Client::input`] for a caller that measures latency without coordinated omission (the
    /// bots): the input's latency counts from `slot_ms`, when it was due, while the pacing and
    /// `view_tick` take `now_ms`, when it goes out; so after a stall the one input sent stands
    /// for every slot passed over, and the next is due at the next tick, not at once.
    pub fn input_for_slot(&mut self, mv: Vec2, aim: f32, buttons: u8, slot_ms: f64, now_ms: f64) -> Option<Vec<u8>> {
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
        self.pending_inputs.push_back((seq, slot_ms));
        self.pace.sent(now_ms, &self.views.clock);
        self.stats.inputs_sent += 1;
        let ack = self.history.ack();
        self.ack_sent = Some(ack);
        let view_tick = self.view_tick(now_ms);
        let input = Input { seq, mv, aim, buttons, ack, view_tick };
        if self.predict {
            let terrain = Terrain { arena: self.arena, obstacles: obstacles(self.match_info.as_ref()) };
            self.predictor.on_input(&input, now_ms, terrain);
        }
        Some(self.sent(encode::client_msg(&ClientMsg::Input(input))))
    }

    /// An `Ack` frame for the newest snapshot if it was not acknowledged yet (or for 0 when a
    /// full snapshot is needed); `None` before `Welcome` and when there is nothing new. Clients
    /// that send no inputs (spectators) call it after each snapshot.
    pub fn ack_frame(&mut self) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing {
            return None;
        }
        let tick = self.history.ack();
        if self.ack_sent == Some(tick) || (tick == 0 && !self.history.needs_full()) {
            return None;
        }
        self.ack_sent = Some(tick);
        Some(self.sent(encode::client_msg(&ClientMsg::Ack(Ack { tick }))))
    }

    /// A spectator chooses whom to watch (`None`: the server's choice). `None` (no frame) for a
    /// player, whom the server would disconnect for it, and before `Welcome`.
    pub fn follow(&mut self, id: Option<PlayerId>) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing || !self.is_spectator {
            return None;
        }
        Some(self.sent(encode::client_msg(&ClientMsg::Follow(Follow { id }))))
    }

    /// Builds a chat frame from what the player typed: trimmed and cut to `MAX_CHAT_CHARS`;
    /// `None` before `Welcome` or when nothing sendable is left.
    pub fn chat(&mut self, text: &str) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing {
            return None;
        }
        let text = chat_text(text);
        check_chat(&text).ok()?;
        Some(self.sent(encode::client_msg(&ClientMsg::Chat(Chat { text }))))
    }

    /// Why [`Client::chat`] would not send `text` although connected: the rule the line breaks
    /// (`None` for an empty line, or one it sends), for the player to be told rather than see
    /// the line vanish (pasted soft hyphens and bidi marks break them).
    pub fn chat_refusal(text: &str) -> Option<&'static str> {
        match check_chat(&chat_text(text)) {
            Err(DecodeError::Invalid(why)) if !text.trim().is_empty() => Some(why),
            _ => None,
        }
    }

    /// Builds a ping frame, or `None` before `Welcome` or while one is outstanding (unless it
    /// is older than `PING_LOST_AFTER_MS`, which counts as lost).
    pub fn ping(&mut self, now_ms: f64) -> Option<Vec<u8>> {
        if self.state != ConnState::Playing
            || self.ping_sent.is_some_and(|(_, at)| now_ms - at < PING_LOST_AFTER_MS as f64)
        {
            return None;
        }
        let id = self.next_ping_id;
        self.next_ping_id = self.next_ping_id.wrapping_add(1);
        self.ping_sent = Some((id, now_ms));
        self.unanswered_since.get_or_insert(now_ms);
        Some(self.sent(encode::client_msg(&ClientMsg::Ping(Ping { id }))))
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

    /// Whose view the newest snapshot shows: our own id for a player, the followed player's for
    /// a spectator (`None` while a spectator has nobody to follow, and before any snapshot).
    pub fn subject(&self) -> Option<PlayerId> {
        self.subject
    }

    /// Arena size from `Welcome`, then from the current match's map (zero before `Welcome`).
    pub fn arena(&self) -> Vec2 {
        self.arena
    }

    /// Snapshot rate from `Welcome`.
    pub fn tick_rate(&self) -> u32 {
        self.tick_rate
    }

    /// The room the server put us in, as `Welcome` named it (empty before `Welcome`). Not always
    /// the one asked for: quick play (none asked) gets the server's pick, a rejoin its seat's.
    pub fn room_name(&self) -> &str {
        &self.room_name
    }

    /// The rejoin token from `Welcome` (empty for spectators, or before `Welcome`).
    pub fn rejoin_token(&self) -> &str {
        &self.rejoin
    }

    /// Everyone in the room, by id.
    pub fn roster(&self) -> &BTreeMap<PlayerId, PlayerInfo> {
        &self.roster
    }

    /// A player of the room by id, or one of the last to leave it (see `departed`): for
    /// naming players in what outlives them, as the kill feed does.
    pub fn player(&self, id: PlayerId) -> Option<&PlayerInfo> {
        self.roster.get(&id).or_else(|| self.departed.iter().rev().find(|p| p.id == id))
    }

    /// True once the roster lists everyone who was in the room when we joined (a room of more
    /// than `ROSTER_CHUNK_PLAYERS` players takes a few ticks of `Roster` chunks): until then
    /// the room may be bigger than the roster says.
    pub fn roster_complete(&self) -> bool {
        self.roster_complete
    }

    /// Kills and deaths this match, by player, for everyone in the room (not only those in
    /// view). Players with no line yet have none of either. In a room of more than
    /// `SCORES_ALL_MAX_PLAYERS` players only the best `SCOREBOARD_TOP` (ranked by
    /// [`ScoreLine::rank_key`]) and our own line are sure to be current; the others rank below them.
    pub fn scores(&self) -> &IdMap<ScoreLine> {
        self.scores.lines()
    }

    /// The newest radar (minimap) of the whole room, if one came yet.
    pub fn radar(&self) -> Option<&Radar> {
        self.radar.as_ref()
    }

    /// The newest snapshot as a view, if any.
    pub fn latest(&self) -> Option<&View> {
        self.views.latest()
    }

    /// The newest snapshot tick held as a baseline (what the next acknowledgement names, unless a
    /// full snapshot is needed), 0 before the first.
    pub fn newest_tick(&self) -> u64 {
        self.history.newest().map_or(0, |f| f.tick)
    }

    /// The newest snapshot's decoded entities (in the wire's fixed point, the view's own ship not
    /// among them) and those of the snapshot received before it, if still held: what a client
    /// that does not build views ([`Client::draws`]) reads the ships in view from.
    pub fn frames(&self) -> (Option<&Frame>, Option<&Frame>) {
        (self.history.newest(), self.history.previous())
    }

    /// Last measured round trip.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.rtt_ms
    }

    /// The ping to show at `now_ms`: the last round trip, or, once an answer has been awaited
    /// longer than that, how long: on a link that has fallen seconds behind (or stalled), the
    /// last good round trip would tell the player nothing is wrong.
    pub fn ping_ms(&self, now_ms: f64) -> Option<f64> {
        let waited = self.unanswered_since.map_or(0.0, |since| now_ms - since);
        self.rtt_ms.map(|rtt| rtt.max(waited))
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// When each input not yet acknowledged was due (`slot_ms`), oldest first; at most
    /// [`MAX_PENDING_INPUTS`].
    pub fn unacked_inputs_ms(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.pending_inputs.iter().map(|&(_, sent)| sent)
    }

    /// Input slots left out to drain a backlog in the server's input buffer (see [`pace`]).
    pub fn inputs_left_out(&self) -> u64 {
        self.pace.skipped
    }

    /// True once welcomed as a spectator (asked for with [`Client::ask_to_spectate`], or the
    /// room was full).
    pub fn is_spectator(&self) -> bool {
        self.is_spectator
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

    /// Our own ship in the newest snapshot (health, score, alive), if we have one (a spectator
    /// has none: the ship it follows is [`Client::subject`]).
    pub fn my_state(&self) -> Option<&PlayerState> {
        self.views.own().filter(|p| Some(p.id) == self.me)
    }

    /// The ship the view is centred on in the newest snapshot: ours, or the one a spectator
    /// follows.
    pub fn subject_state(&self) -> Option<&PlayerState> {
        self.views.own().filter(|p| Some(p.id) == self.subject)
    }

    /// Phase and milliseconds left in it, from the newest snapshot.
    pub fn phase(&self) -> (Phase, u32) {
        self.latest().map_or((Phase::Waiting, 0), |v| (v.phase, v.time_left_ms))
    }

    /// Pickups in the newest snapshot.
    pub fn pickups(&self) -> &[PickupState] {
        self.latest().map_or(&[], |v| &v.pickups)
    }

    /// Ships to draw at `now_ms`: positions interpolated at the draw clock's tick (behind the
    /// newest snapshot by a delay that follows the jitter; see [`TickClock`]), between the two
    /// snapshots around that time, or extrapolated a little past the newest when it is late.
    /// `me` marks the [`Client::subject`].
    pub fn ships(&self, now_ms: f64) -> Vec<DrawShip> {
        let mut ships = self.views.ships(now_ms, &self.roster, self.subject);
        // Our own ship where the prediction has it (only while predicting).
        let tick_ms = 1000.0 / f64::from(self.tick_rate.max(1));
        if let Some(pos) = self.predictor.draw_pos(now_ms, tick_ms)
            && let Some(me) = ships.iter_mut().find(|s| Some(s.id) == self.me)
        {
            me.pos = pos;
        }
        ships
    }

    /// The seq of the newest input sent and of the newest the server acknowledged (0: none).
    pub fn input_seqs(&self) -> (u32, u32) {
        (self.next_seq.wrapping_sub(1), self.last_ack)
    }

    /// Our own ship's prediction: its state and corrections so far.
    pub fn prediction(&self) -> &Predictor {
        &self.predictor
    }

    /// Bullets to draw at `now_ms`, at the same delayed time as [`Client::ships`].
    pub fn bullets(&self, now_ms: f64) -> Vec<DrawBullet> {
        // While predicting, our own bullets are the predictor's shots, drawn on our own
        // timeline (fired the moment the trigger was pulled); the server's copies, a round trip
        // and the interpolation delay later, are left out.
        let predicting = self.predictor.state().is_some();
        let mine = self.me.filter(|_| predicting);
        let mut bullets = self.views.bullets(now_ms, self.tick_rate, &self.roster, mine);
        if let Some(me) = mine {
            let tick_ms = 1000.0 / f64::from(self.tick_rate.max(1));
            let colour = self.roster.get(&me).map_or(0xffffff, |p| p.colour);
            bullets.extend(self.predictor.shots().iter().map(|s| DrawBullet {
                pos: s.pos(now_ms, tick_ms),
                vel: s.vel_f(),
                colour,
            }));
        }
        bullets
    }

    /// The server's tick clock as this client sees it: jitter, interpolation delay.
    pub fn clock(&self) -> &TickClock {
        &self.views.clock
    }

    /// How far behind the newest snapshot others are drawn at `now_ms`, in milliseconds (0
    /// before the first snapshot).
    pub fn interp_delay_ms(&self, now_ms: f64) -> f64 {
        self.views.clock.delay(now_ms).unwrap_or(0.0) * 1000.0 / f64::from(self.tick_rate.max(1))
    }

    /// The whole server tick drawn at `now_ms` (0 before any snapshot): `Input::view_tick`.
    pub fn view_tick(&self, now_ms: f64) -> u64 {
        self.views.render_tick(now_ms).map_or(0, |t| if t >= 1.0 { t.floor() as u64 } else { 0 })
    }
}

/// The current map's obstacles as received so far (none before the first `Match`). Not a
/// method: the predictor borrows them while `self` is borrowed mutably elsewhere.
/// A chat line as [`Client::chat`] sends it: trimmed, and cut at `MAX_CHAT_CHARS`.
fn chat_text(text: &str) -> String {
    text.trim().chars().take(MAX_CHAT_CHARS).collect()
}

fn obstacles(info: Option<&MatchInfo>) -> &[Rect] {
    info.map_or(&[], |m| &m.map.obstacles)
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

#[cfg(test)]
mod tests;
