//! The `PlayerSession` actor: one per WebSocket connection. It decodes and validates what the
//! client sends, forwards inputs to its room, and writes what the room sends back.
//!
//! Outbound goes through the connection's [`Outbox`]: the room puts each tick's reliable batch
//! and snapshot there directly, the session adds pongs and pings, and one writer task (a task
//! of its own, writing into the socket: `crate::ws_writer`) writes whatever is waiting, so a
//! session wakes at most once per tick for the room's output. Inbound frames come from
//! `crate::ws_reader`, the session's own reader on the socket. While the client's socket is
//! full the writer holds everything in the outbox (latest-wins for snapshots); output waiting
//! past the stall timeout means the client stopped reading, and it is cut off.
//! `--sim-latency` delays both directions here.
//!
//! Chat is rate-limited here, per connection, before it costs the room anything: lines over the
//! limit are dropped and only the sender is told. Spectators' inputs are dropped here too.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_http::ws::{self as websocket, ProtocolError};
use bytes::Bytes;
use skirmish_shared::consts::{DEFAULT_ROOM, FLOOD_KICK_DROPS, MAX_CLIENT_MSGS_PER_SEC, TICK_RATE_HZ};
use skirmish_shared::{ClientMsg, Hello, PlayerId, ServerMsg, decode_client, encode_server};
use tokio_util::sync::CancellationToken;

use crate::admission::Permit;
use crate::chat;
use crate::close::Close;
use crate::config::Config;
use crate::inbox::Inbox;
use crate::lobby::Lobby;
use crate::messages::{Abandon, ChatFrom, ChatTooFast, FollowFrom, Join, JoinError, Joined, Kick, Leave};
use crate::outbox::{Frame, Outbox};
use crate::rate_limit::RateLimiter;
use crate::room::Room;
use crate::sim_latency::Link;
use crate::socket::ConnSocket;
use crate::stats::{DisconnectReason, Stats};
use crate::wake::WorkerWake;
use crate::ws_reader::ReadError;
use crate::ws_writer::{self, WsWriter};

/// Frames the writer task keeps room for between wake-ups: a tick's reliable frame and snapshot.
const WRITER_FRAMES_KEPT: usize = 4;
/// How often timers (stall, heartbeat, Hello deadline, flood window) are checked.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// A connection must say `Hello` within this time.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection is kept for the client's Close or end of stream (reading and
/// discarding meanwhile) before the socket is cut, counted from the last sign that the client
/// is still reading toward our Close (a newer acknowledgement).
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// However it keeps reading, a closing connection is cut after this: enough for a client about
/// as far behind as the room lets one fall (`Close::Behind`) to read its way to our Close.
const CLOSE_MAX_WAIT: Duration = Duration::from_secs(30);
/// How often a closing connection's wait is checked.
const CLOSE_CHECK_INTERVAL: Duration = Duration::from_millis(250);
/// How long a client that fell silent for the whole client timeout is kept for its Close: it has
/// most likely vanished (a pulled cable, a frozen peer), so its session ends within the client
/// timeout plus this (the silence is checked right at its deadline).
const SILENT_CLOSE_WAIT: Duration = Duration::from_millis(500);

/// Where this connection is in its life.
enum Phase {
    /// Connected; nothing valid received yet.
    AwaitingHello,
    /// `Hello` accepted; waiting for the lobby to place us (`rejoin`: taking back a seat with
    /// a token).
    Joining { rejoin: bool },
    /// The lobby refused the join; the close follows at once.
    Refused,
    /// In a room: inputs (unless spectating) and chat are forwarded. `token_held`: the client
    /// has its rejoin token, so a lost connection keeps its seat (see `leave_room`).
    InRoom { id: PlayerId, room_name: String, room: Addr<Room>, spectator: bool, token_held: bool },
    /// A close was started; everything else is ignored.
    Closing,
}

/// See the module docs.
pub struct PlayerSession {
    socket: ConnSocket,
    peer: Option<SocketAddr>,
    client: Option<IpAddr>,
    lobby: Addr<Lobby>,
    config: Arc<Config>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
    phase: Phase,
    connected_at: Instant,
    /// Last time anything (a frame, a pong) arrived: the heartbeat deadline counts from here
    /// (moved on by any time the server itself did not run, see `excuse_own_pause`).
    last_heard: Instant,
    /// When this session's timers last ran, to tell the server's own pause from a silent client.
    last_timer: Instant,
    /// Until when messages over the limit are dropped without counting as a flood: the backlog
    /// of a pause of the server's own (see `excuse_own_pause`).
    backlog_until: Option<Instant>,
    /// How many messages over the limit may still be dropped without counting as a flood, and
    /// until when: the backlog of a stall on the client's side (see `excuse_client_stall`).
    stall_credit: (u32, Instant),
    last_ping_sent: Instant,
    /// When the client last answered one of our pings, and how many went out since: for a
    /// spectator that acknowledges nothing, the only sign that it reads (see `check`).
    last_pong: Instant,
    pings_unanswered: u32,
    /// Every message counts against this (`MAX_CLIENT_MSGS_PER_SEC`).
    limit: RateLimiter,
    /// Messages the limit refused since the last check: over `FLOOD_KICK_DROPS` is flooding.
    drops_this_window: u32,
    /// Chat has its own, much slower limit on top of the message rate.
    chat_limit: RateLimiter,
    /// The sender was told its chat is too fast and has not had a line through since.
    chat_warned: bool,
    /// Frames waiting to be written, shared with the room and the writer task.
    outbox: Arc<Outbox>,
    /// The buffered inputs and newest acknowledgement, for the room to take at its ticks (no
    /// message and no wake-up per input).
    inbox: Arc<Inbox>,
    /// Why the connection is ending, once known; counted when the actor stops (a connection
    /// that just vanishes counts as `Lost`).
    ended: Option<DisconnectReason>,
    /// The simulated link's way in (`--sim-latency`; `None` when off), and the frames in it:
    /// (due, frame), in order.
    link_in: Option<Link>,
    in_link: VecDeque<(Instant, Bytes)>,
    /// Nothing more will come from the client: it closed first (our Close answers it), its
    /// stream ended, or the reader stopped at a protocol error (the reader's linger discards
    /// the rest, its answering Close included). Once our Close is written, the session ends.
    client_done: bool,
    /// The writer has written our Close: with `client_done`, the session ends.
    close_written: bool,
    /// The newest snapshot tick the client acknowledged, and when it last grew: while closing,
    /// a client whose acknowledgements still grow is reading its way to our Close.
    newest_ack: u64,
    ack_grew: Instant,
    /// The task that kicks this session when the server shuts down; aborted when it stops.
    shutdown_watch: Option<tokio::task::JoinHandle<()>>,
    /// This connection's place under the connection caps, held for the session's whole life:
    /// it is freed when the actor is dropped, once, however the connection ended. Its address
    /// also counts the rooms this connection opens.
    permit: Permit,
}

/// What the HTTP upgrade knows of one connection.
#[derive(Debug)]
pub struct Connection {
    /// The writer's handle on the TCP socket, also the one that shuts or cuts it (the reader
    /// has the other).
    pub socket: ConnSocket,
    /// The TCP peer, for the logs.
    pub peer: Option<SocketAddr>,
    /// The client's address when a trusted proxy forwarded one (the peer is then the proxy),
    /// for the logs.
    pub client: Option<IpAddr>,
    /// The connection's place under the caps, given back when the session ends.
    pub permit: Permit,
}

impl PlayerSession {
    /// A session for a freshly upgraded connection; its message stream is added by the caller.
    pub fn new(
        conn: Connection,
        lobby: Addr<Lobby>,
        config: Arc<Config>,
        stats: Arc<Stats>,
        shutdown: CancellationToken,
    ) -> Self {
        let Connection { socket, peer, client, permit } = conn;
        let now = Instant::now();
        let link_in = Link::new(config.sim_latency, config.sim_jitter, rand::random());
        Self {
            socket,
            peer,
            client,
            lobby,
            config,
            stats,
            shutdown,
            phase: Phase::AwaitingHello,
            connected_at: now,
            last_heard: now,
            last_timer: now,
            backlog_until: None,
            stall_credit: (0, now),
            last_ping_sent: now,
            last_pong: now,
            pings_unanswered: 0,
            limit: RateLimiter::per_second(MAX_CLIENT_MSGS_PER_SEC, now),
            drops_this_window: 0,
            chat_limit: chat::chat_limiter(now),
            chat_warned: false,
            outbox: Arc::new(Outbox::new()),
            inbox: Arc::new(Inbox::new()),
            ended: None,
            link_in,
            in_link: VecDeque::new(),
            client_done: false,
            close_written: false,
            newest_ack: 0,
            ack_grew: Instant::now(),
            shutdown_watch: None,
            permit,
        }
    }

    fn player_id(&self) -> Option<PlayerId> {
        match &self.phase {
            Phase::InRoom { id, .. } => Some(*id),
            _ => None,
        }
    }

    fn queue_reliable(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        if self.outbox.push_reliable(frame).is_err() {
            self.end(ctx, Close::QueueFull);
        }
    }

    /// Spawns the task that writes what the outbox holds, woken by every push. Ends when the
    /// outbox closes or a write fails (the connection is gone: the actor stops too). While the
    /// client's socket is backed up it writes nothing and waits for the socket to drain, so a
    /// slow reader gets the newest snapshot when it catches up, not a queue of stale ones, and
    /// one that stopped reading costs no buffer beyond the outbox's bound. With
    /// `--sim-latency`, what it takes waits in the simulated link until due.
    fn start_writer(&mut self, ctx: &mut Context<Self>) {
        let (outbox, stats) = (self.outbox.clone(), self.stats.clone());
        let link = Link::new(self.config.sim_latency, self.config.sim_jitter, rand::random());
        let mut out = Out { raw: WsWriter::new(self.socket.clone()), stats: stats.clone() };
        let writer = async move {
            let mut link = link;
            let mut frames = Vec::new();
            // Frames in the simulated link: (due, frame), due times in order.
            let mut in_link: VecDeque<(Instant, Frame)> = VecDeque::new();
            // The socket refused bytes or is backed up: wait until it drains.
            let mut blocked = false;
            loop {
                let due = in_link.front().map(|&(due, _)| due);
                tokio::select! {
                    () = outbox.ready() => {}
                    () = sleep_until_some(due), if due.is_some() => {}
                    drained = out.writable(), if blocked => if drained.is_err() {
                        return false;
                    },
                }
                // The session stopped (it abandons the outbox, which wakes us): whatever was
                // waiting, the connection is over. A flag under the lock `take` takes anyway,
                // not a cancellation token: every select polled that token, a cold cache line
                // and a locked instruction on each of the writer's 30 wake-ups a second.
                if outbox.is_abandoned() {
                    return false;
                }
                blocked = false;
                let had_pending = out.has_pending();
                match out.flush() {
                    // What a refused write left is out: the write is over.
                    Ok(true) if had_pending => outbox.sent(),
                    Ok(true) => {}
                    Ok(false) => {
                        blocked = true;
                        continue;
                    }
                    Err(()) => return false,
                }
                let now = Instant::now();
                if in_link.front().is_some_and(|(due, _)| *due <= now) {
                    while in_link.front().is_some_and(|(due, _)| *due <= now) {
                        let Some((_, frame)) = in_link.pop_front() else { break };
                        frames.push(frame);
                    }
                    match out.write(&mut frames) {
                        // What was due is written; what is still in the link is on the wire.
                        Ok(true) => outbox.sent(),
                        Ok(false) => {
                            blocked = true;
                            continue;
                        }
                        Err(()) => return false,
                    }
                }
                loop {
                    let taken = outbox.take(&mut frames);
                    if frames.is_empty() {
                        break;
                    }
                    if let Some(bytes) = taken.snapshot_bytes {
                        Stats::inc(&stats.snapshots_sent);
                        Stats::add(&stats.snapshot_bytes, bytes as u64);
                    }
                    if let Some(link) = &mut link {
                        // Written when due; until then the write counts as under way (the
                        // stall clock runs).
                        let due = link.due(Instant::now());
                        in_link.extend(frames.drain(..).map(|frame| (due, frame)));
                        break;
                    }
                    match out.write(&mut frames) {
                        Ok(true) => outbox.sent(),
                        // The socket is full: the rest waits in the writer, newer output in
                        // the outbox (latest-wins), and the stall clock runs until it drains.
                        Ok(false) => {
                            blocked = true;
                            break;
                        }
                        Err(()) => return false,
                    }
                }
                if outbox.is_closed() && !outbox.has_waiting() && in_link.is_empty() && !blocked {
                    return true;
                }
                // Room for a backlog's frames (after a stall of the client) goes back once out.
                if frames.capacity() > 4 * WRITER_FRAMES_KEPT {
                    frames.shrink_to(WRITER_FRAMES_KEPT);
                }
            }
        };
        // A task of its own, not a future in the actor's context: a wake-up per tick then
        // polls just this, not every timer and stream of the actor.
        let session = ctx.address();
        actix::spawn(async move {
            let closed_by_us = writer.await;
            session.do_send(WriterDone { closed_by_us });
        });
    }

    /// A binary frame from the client: handled now, or once the simulated link delivers it.
    fn receive(&mut self, bytes: Bytes, ctx: &mut Context<Self>) {
        let Some(link) = &mut self.link_in else {
            return self.on_binary(&bytes, ctx);
        };
        let now = Instant::now();
        let due = link.due(now);
        if self.in_link.is_empty() {
            ctx.run_later(due.saturating_duration_since(now), |session, ctx| session.deliver(ctx));
        }
        self.in_link.push_back((due, bytes));
    }

    /// Handles what the simulated inbound link has delivered by now, in order.
    fn deliver(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        while self.in_link.front().is_some_and(|(due, _)| *due <= now) {
            if matches!(self.phase, Phase::Closing) {
                self.in_link.clear();
                return;
            }
            let Some((_, bytes)) = self.in_link.pop_front() else { break };
            self.on_binary(&bytes, ctx);
        }
        if let Some(&(due, _)) = self.in_link.front() {
            ctx.run_later(due.saturating_duration_since(now), |session, ctx| session.deliver(ctx));
        }
    }

    /// Ends the connection for `why`, the one way every close path goes. A client that can read
    /// gets a Close frame with the code and reason, and the connection ends cleanly: RFC 6455
    /// has the server end the TCP stream after both Close frames, and a server that ends it
    /// while the client is still sending makes the client's kernel discard our Close under a
    /// reset. So our side of the stream is shut (a FIN, never a reset) right behind our Close,
    /// once the writer has written it; the connection is read and discarded until the client's
    /// Close arrives or its stream ends (or at once, if it closed first), and once
    /// `CLOSE_FLUSH_TIMEOUT` has passed since the close or the client's newest acknowledgement
    /// that grew (`SILENT_CLOSE_WAIT` for a client silent past the timeout), or
    /// `CLOSE_MAX_WAIT` since the close, it is cut whatever happens. A client that stopped
    /// reading could never read a Close: it is cut at
    /// once.
    fn end(&mut self, ctx: &mut Context<Self>, why: Close) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        self.ended = Some(why.label());
        // The frame's code and reason are the ones logged: built once.
        let Some(frame) = why.frame() else { return self.abort(ctx, &why) };
        let (code, reason) = (u16::from(frame.code), frame.description.unwrap_or_default());
        if why.is_routine() {
            tracing::debug!(
                peer = self.peer.map(display), client = self.client.map(display), player = self.player_id(), code, %reason,
                "closing"
            );
        } else {
            tracing::info!(
                peer = self.peer.map(display), client = self.client.map(display), player = self.player_id(), code, %reason,
                "closing connection"
            );
        }
        self.leave_room(why.is_connection_lost(), ctx);
        self.phase = Phase::Closing;
        let answering = matches!(why, Close::ClientLeft | Close::ClientLost);
        let wait = if why == Close::HeartbeatTimeout { SILENT_CLOSE_WAIT } else { CLOSE_FLUSH_TIMEOUT };
        // A client on a slow link reads our Close only after what its link holds, seconds of
        // snapshots for one closed as `Behind`: cut at a fixed 2 s, its kernel discarded our
        // Close under the reset and its page said "connection lost" (from an outside test of a
        // LAN host's phones). So the wait runs from the newest sign that it still reads.
        let closing_since = Instant::now();
        self.ack_grew = closing_since;
        ctx.run_interval(CLOSE_CHECK_INTERVAL, move |session, ctx| {
            let now = Instant::now();
            if now - session.ack_grew >= wait || now - closing_since >= CLOSE_MAX_WAIT {
                session.cut();
                ctx.stop();
            }
        });
        // The writer owns the socket: the Close goes out after what it is writing, and when it
        // is out the writer ends (see `start_writer`).
        self.client_done |= answering;
        self.outbox.close_with(Frame::Close(ws_writer::close_payload(code, &reason)));
    }

    /// Ends our side of the TCP stream (a FIN after what is already written); reading goes on.
    fn shut_write(&self) {
        self.socket.shutdown_write();
    }

    /// Cuts the TCP connection both ways.
    fn cut(&self) {
        self.socket.shutdown();
    }

    /// Cuts the connection at once, without a Close frame: for clients that cannot read one.
    fn abort(&mut self, ctx: &mut Context<Self>, why: &Close) {
        let dropped = self.outbox.replaced();
        let (waiting_frames, waiting_bytes) = self.outbox.waiting();
        let reason = why.reason();
        tracing::warn!(
            peer = self.peer.map(display), client = self.client.map(display), player = self.player_id(),
            dropped, waiting_frames, waiting_bytes, why = %reason,
            "disconnecting"
        );
        self.leave_room(why.is_connection_lost(), ctx);
        self.phase = Phase::Closing;
        self.outbox.close();
        self.socket.shutdown();
        ctx.stop();
    }

    /// Tells the lobby we left; `reserve` when the connection was lost rather than closed on
    /// purpose, so the player's seat waits for a rejoin.
    fn leave_room(&mut self, reserve: bool, ctx: &Context<Self>) {
        let why = self.ended.unwrap_or(DisconnectReason::Lost);
        match std::mem::replace(&mut self.phase, Phase::Closing) {
            // A seat is kept only for a client that has its token: one lost before it read its
            // `Welcome` (an outside attack reset its connections right behind their `Hello`)
            // left a ship nobody could take back in the world, holding a seat, for the whole
            // reservation.
            Phase::InRoom { id, room_name, token_held, .. } => {
                let reserve = reserve && token_held;
                self.lobby.do_send(Leave { id, room: room_name, session: ctx.address(), reserve, why });
            }
            // The lobby's answer may never be read: the session can stop first (a client that
            // sends its Close right behind its `Hello` does that), and the room, finding the
            // session gone, would report a lost connection and keep a seat nobody holds a token
            // for. The lobby finds what it made of us by our session.
            Phase::Joining { rejoin } => {
                self.lobby.do_send(Abandon { session: ctx.address(), reserve: reserve && rejoin, why });
            }
            _ => {}
        }
    }

    /// Takes one message from the rate limit; false, counted toward the flood close, when over
    /// it. A flood (over `FLOOD_KICK_DROPS` refused in this check's window) is closed at once
    /// rather than at the next check, up to a second later: an outside attack's tiny frames,
    /// sent as fast as a socket takes them, held a core for that second.
    fn allow_message(&mut self, ctx: &mut Context<Self>) -> bool {
        let now = Instant::now();
        // The messages of a pause of the server's own may be read before its timers run.
        self.excuse_own_pause(now);
        if self.limit.allow(now) {
            return true;
        }
        Stats::inc(&self.stats.inputs_dropped);
        if self.backlog_until.is_some_and(|until| now < until) {
            return false;
        }
        if self.stall_credit.0 > 0 && now < self.stall_credit.1 {
            self.stall_credit.0 -= 1;
            return false;
        }
        self.drops_this_window += 1;
        if self.drops_this_window > FLOOD_KICK_DROPS {
            self.end(ctx, Close::Flood);
        }
        false
    }

    /// The client acknowledged snapshot `tick`: past 0, it has read its `Welcome`, which comes
    /// before any snapshot, and so holds its rejoin token.
    fn acknowledged(&mut self, tick: u64) {
        if let Phase::InRoom { token_held, .. } = &mut self.phase {
            *token_held |= tick > 0;
        }
        self.read_up_to(tick);
    }

    /// Notes an acknowledgement of snapshot `tick`: the client reads.
    fn read_up_to(&mut self, tick: u64) {
        if tick > self.newest_ack {
            (self.newest_ack, self.ack_grew) = (tick, Instant::now());
        }
    }

    fn on_binary(&mut self, bytes: &[u8], ctx: &mut Context<Self>) {
        if !self.allow_message(ctx) {
            return;
        }
        let msg = match decode_client(bytes, self.config.max_frame_bytes) {
            Ok(msg) => msg,
            Err(e) => return self.end(ctx, Close::Decode(e)),
        };
        match (msg, &self.phase) {
            (ClientMsg::Hello(hello), Phase::AwaitingHello) => self.on_hello(hello, ctx),
            (ClientMsg::Hello(_), _) => self.end(ctx, Close::HelloTwice),
            (_, Phase::AwaitingHello) => self.end(ctx, Close::NotHello),
            (ClientMsg::Input(input), Phase::InRoom { spectator: false, .. }) => {
                self.acknowledged(input.ack);
                if !self.inbox.input(input) {
                    Stats::inc(&self.stats.inputs_dropped);
                }
            }
            // A spectator has no ship: harmless, so counted and ignored rather than closed
            // (a client may keep sending inputs while it switches to watching); its
            // acknowledgement still counts.
            (ClientMsg::Input(input), Phase::InRoom { spectator: true, .. }) => {
                Stats::inc(&self.stats.inputs_dropped);
                self.read_up_to(input.ack);
                self.inbox.ack(input.ack);
            }
            // Inputs before the lobby has placed us have nothing to move yet.
            (ClientMsg::Input(_), _) => {}
            (ClientMsg::Chat(line), Phase::InRoom { id, room, .. }) => {
                // The connection's own allowance, then its address's share (see `admission`);
                // the room applies the seat's.
                if self.chat_limit.allow(Instant::now()) && self.permit.chat_line() {
                    self.chat_warned = false;
                    room.do_send(ChatFrom { id: *id, text: line.text });
                } else if !std::mem::replace(&mut self.chat_warned, true) {
                    // Through the room, not straight to the socket: the lines it let through
                    // go out with its next tick, and the warning must come after them.
                    room.do_send(ChatTooFast { id: *id });
                }
            }
            // Nobody to talk to before the lobby has placed us.
            (ClientMsg::Chat(_), _) => {}
            (ClientMsg::Ack(ack), Phase::InRoom { .. }) => {
                self.acknowledged(ack.tick);
                self.inbox.ack(ack.tick);
            }
            (ClientMsg::Ack(_), _) => {}
            (ClientMsg::Follow(follow), Phase::InRoom { id, room, spectator: true, .. }) => {
                room.do_send(FollowFrom { id: *id, target: follow.id });
            }
            (ClientMsg::Follow(_), Phase::InRoom { spectator: false, .. }) => self.end(ctx, Close::NotSpectator),
            (ClientMsg::Follow(_), _) => {}
            (ClientMsg::Ping(ping), _) => {
                let pong = Bytes::from(encode_server(&ServerMsg::Pong(ping)));
                self.queue_reliable(Frame::Binary(pong), ctx);
            }
        }
    }

    fn on_hello(&mut self, hello: Hello, ctx: &mut Context<Self>) {
        let rejoin = hello.rejoin.filter(|t| !t.is_empty());
        self.phase = Phase::Joining { rejoin: rejoin.is_some() };
        // No room: the default room. An empty name: quick play, the lobby picks.
        let room = match hello.room {
            None => Some(DEFAULT_ROOM.to_owned()),
            Some(name) if name.is_empty() => None,
            Some(name) => Some(name),
        };
        let asked = room.clone().unwrap_or_else(|| "(quick play)".to_owned());
        let join = Join {
            rejoin,
            name: hello.name,
            room,
            private: hello.private,
            spectate: hello.spectate,
            client: self.permit.key(),
            session: ctx.address(),
            outbox: self.outbox.clone(),
            inbox: self.inbox.clone(),
        };
        let reply = self.lobby.send(join).into_actor(self).map(move |reply, session, ctx| {
            let closed = !matches!(session.phase, Phase::Joining { .. });
            match reply {
                Ok(Ok(joined)) if closed => {
                    // We closed while the join was on its way: undo it. Our `Abandon` did already,
                    // unless a full lobby mailbox held the join back until after it.
                    let (id, room) = (joined.id, joined.room_name);
                    let why = session.ended.unwrap_or(DisconnectReason::Lost);
                    session.lobby.do_send(Leave { id, room, session: ctx.address(), reserve: false, why });
                }
                Ok(Ok(joined)) => {
                    let Joined { id, room_name, room, spectator } = joined;
                    // A rejoin's client had the token before it came.
                    let token_held = matches!(session.phase, Phase::Joining { rejoin: true });
                    session.phase = Phase::InRoom { id, room_name, room, spectator, token_held };
                }
                // Refused (or the lobby gone) after we closed: nothing to undo, nothing to say.
                _ if closed => {}
                Ok(Err(e)) => {
                    // Nothing was made of us: nothing for `leave_room` to undo.
                    session.phase = Phase::Refused;
                    let why = match e {
                        JoinError::RoomFull => Close::RoomFull { room: asked },
                        JoinError::NoSpectatorPlace => Close::NoSpectatorPlace { room: asked },
                        JoinError::TooManyRooms => Close::TooManyRooms,
                        JoinError::TooManyRoomsFromAddress => Close::TooManyRoomsFromAddress,
                        JoinError::TooManyRoomOpenings(wait) => Close::TooManyRoomOpenings { wait },
                        JoinError::ShuttingDown => Close::Restart,
                        JoinError::Closed(reason) => {
                            Close::Kicked { code: 1008, reason, label: DisconnectReason::RoomClosed }
                        }
                        JoinError::Banned(left) => Close::Banned { left },
                    };
                    session.end(ctx, why);
                }
                Err(e) => {
                    tracing::error!(error = %e, "lobby unreachable");
                    session.phase = Phase::Refused;
                    session.end(ctx, Close::ServerError);
                }
            }
        });
        ctx.spawn(reply);
    }

    /// Once a second: stalled sends, heartbeats, the Hello deadline and the flood window.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        let now = Instant::now();
        self.excuse_own_pause(now);
        self.last_timer = now;
        if self.backlog_until.is_some_and(|until| now >= until) {
            self.backlog_until = None;
        }
        if self.outbox.sending_since().is_some_and(|since| now.duration_since(since) >= self.config.send_stall_timeout)
        {
            return self.end(ctx, Close::Stalled);
        }
        if self.outbox.sending_since().is_some() {
            // A writer holding back for a backed-up socket looks again even if nothing new
            // is pushed meanwhile.
            self.outbox.retry();
        }
        let silent_until = self.last_heard + self.config.client_timeout;
        if now >= silent_until {
            return self.end(ctx, Close::HeartbeatTimeout);
        }
        if silent_until - now < CHECK_INTERVAL {
            // Due before the next check: look again right at the deadline, so a vanished peer
            // goes at the timeout, not up to a check interval after it.
            ctx.run_later(silent_until - now, |session, ctx| session.check_silence(ctx));
        }
        if matches!(self.phase, Phase::AwaitingHello) && now.duration_since(self.connected_at) >= HELLO_TIMEOUT {
            return self.end(ctx, Close::NoHello);
        }
        // A spectator that acknowledges no snapshot is judged by the room by nothing it sends,
        // and one that sends pings of its own is never silent: one that stopped reading held its
        // spectator place until its socket's buffers filled, half an hour of small snapshots
        // (from an outside test of casters). Every WebSocket client answers our pings as it
        // reads, so three unanswered, and none answered for the client timeout, is a client
        // that does not read.
        if matches!(self.phase, Phase::InRoom { spectator: true, token_held: false, .. })
            && self.pings_unanswered >= 3
            && now.saturating_duration_since(self.last_pong) >= self.config.client_timeout
        {
            return self.end(ctx, Close::HeartbeatTimeout);
        }
        self.drops_this_window = 0;
        if now.duration_since(self.last_ping_sent) >= self.config.heartbeat_interval {
            self.last_ping_sent = now;
            self.pings_unanswered = self.pings_unanswered.saturating_add(1);
            self.queue_reliable(Frame::Ping, ctx);
        }
    }

    /// Ends a connection silent for the whole client timeout (a deadline set by `check`).
    fn check_silence(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.excuse_own_pause(now);
        self.last_timer = now;
        if !matches!(self.phase, Phase::Closing) && self.last_heard.elapsed() >= self.config.client_timeout {
            self.end(ctx, Close::HeartbeatTimeout);
        }
    }

    /// A stall between the client and us (a wifi blip, a handover, a congested link) holds
    /// what the client sent meanwhile, 30 inputs a second, and delivers it at once when the
    /// link comes back: over the limit, and after a stall of 6 s over the flood close. So a
    /// client heard from again after more than a second of silence may have as many messages
    /// dropped without counting as the limit would have let through in that silence (counted up
    /// to the client timeout, past which it is closed anyway), within the next two check
    /// intervals (the backlog arrives at once). The stale messages are dropped all the same,
    /// unread; a flooder that falls silent to earn this gets, over time, no more than twice the
    /// limit through the socket, none of it decoded.
    fn excuse_client_stall(&mut self) {
        let silence = self.last_heard.elapsed().min(self.config.client_timeout);
        if silence > CHECK_INTERVAL {
            let earned = silence.as_millis() as u64 * u64::from(MAX_CLIENT_MSGS_PER_SEC) / 1000;
            self.stall_credit = (u32::try_from(earned).unwrap_or(u32::MAX), Instant::now() + 2 * CHECK_INTERVAL);
            // Nor are the stale acknowledgements of that backlog a sign of not reading.
            let ticks = silence.as_millis() as u64 * u64::from(TICK_RATE_HZ) / 1000;
            self.inbox.back_from_silence(u32::try_from(ticks).unwrap_or(u32::MAX));
            tracing::debug!(
                peer = self.peer.map(display),
                client = self.client.map(display),
                silent_ms = silence.as_millis() as u64,
                "heard from again"
            );
        }
    }

    /// Time the server itself did not run is nobody's silence, and what piled up meanwhile is
    /// no flood. The timers run at least once a `CHECK_INTERVAL`; a longer gap means the
    /// process was stopped or starved (a host's laptop asleep, a paused VM, `SIGSTOP`), and
    /// what the client sent meanwhile waits, unread, in the socket. So the heartbeat deadline
    /// moves on by the gap, and for the next two check intervals the messages over the limit
    /// (the stale part of that backlog) are dropped without counting as a flood: otherwise
    /// every player would be closed, as silent or as flooding, the moment the server woke. The
    /// window is fixed, whatever the pause: what the limit drops costs no decoding, and a pause
    /// of an hour gives a flooder no more than one of a second. Called by the timers and for
    /// every message, whichever runs first.
    fn excuse_own_pause(&mut self, now: Instant) {
        let gap = now.saturating_duration_since(self.last_timer);
        if gap > 2 * CHECK_INTERVAL {
            let paused = gap - CHECK_INTERVAL;
            self.last_heard += paused;
            self.last_pong += paused;
            self.backlog_until = Some(now + 2 * CHECK_INTERVAL);
            self.last_timer = now;
            tracing::debug!(
                paused_ms = paused.as_millis() as u64,
                "the server did not run: its pause is not the client's"
            );
        }
    }
}

impl Actor for PlayerSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        Stats::inc(&self.stats.connections);
        crate::idle_memory::claim();
        // The writer task runs on this thread: the room wakes it through this thread's task.
        self.outbox.set_worker(WorkerWake::current());
        self.start_writer(ctx);
        ctx.run_interval(CHECK_INTERVAL, |session, ctx| session.check(ctx));
        // A task of its own, woken only by the shutdown: a future in the actor's context would
        // be polled on each of the actor's wake-ups (every input: actix polls all of a
        // context's futures), and each poll takes the token's lock, which every session shares
        // (with the writer's token, 3 % of the server's samples at 1000 bots in
        // `scripts/perf_fanout.sh`).
        let (shutdown, session) = (self.shutdown.clone(), ctx.address());
        self.shutdown_watch = Some(actix::spawn(async move {
            shutdown.cancelled_owned().await;
            session.do_send(Kick(Close::Restart));
        }));
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        // Still in the room here means the connection just ended, without a close: lost.
        self.leave_room(true, ctx);
        // Reason first: whoever sees the connection count drop must also see why.
        self.stats.disconnected(self.ended.unwrap_or(DisconnectReason::Lost));
        Stats::dec(&self.stats.connections);
        self.outbox.abandon();
        // The writer writes nothing more: end our side of the stream (a FIN after what it
        // wrote), which the reader no longer does when it is dropped.
        self.shut_write();
        if let Some(watch) = self.shutdown_watch.take() {
            watch.abort();
        }
        let dropped = self.outbox.replaced();
        if dropped > 0 {
            tracing::debug!(peer = self.peer.map(display), client = self.client.map(display), dropped, "session ended");
        }
        crate::idle_memory::release();
    }
}

impl StreamHandler<Result<websocket::Frame, ReadError>> for PlayerSession {
    /// The client ended its stream, or reading failed. While closing, the close path decides
    /// when the connection ends.
    fn finished(&mut self, ctx: &mut Self::Context) {
        if !matches!(self.phase, Phase::Closing) {
            ctx.stop();
        } else {
            self.client_done = true;
            if self.close_written {
                ctx.stop();
            }
        }
    }

    fn handle(&mut self, item: Result<websocket::Frame, ReadError>, ctx: &mut Self::Context) {
        if matches!(self.phase, Phase::Closing) {
            // Everything else is discarded but for its acknowledgements, which keep the wait
            // for our Close going (see `end`); the client's Close answers ours (or crossed it),
            // so the session ends once ours is written.
            match item {
                Ok(websocket::Frame::Close(_)) => {
                    self.client_done = true;
                    if self.close_written {
                        ctx.stop();
                    }
                }
                Ok(websocket::Frame::Binary(bytes)) => match decode_client(&bytes, self.config.max_frame_bytes) {
                    Ok(ClientMsg::Input(input)) => self.read_up_to(input.ack),
                    Ok(ClientMsg::Ack(ack)) => self.read_up_to(ack.tick),
                    _ => {}
                },
                _ => {}
            }
            return;
        }
        self.excuse_client_stall();
        self.last_heard = Instant::now();
        match item {
            Ok(websocket::Frame::Binary(bytes)) => self.receive(bytes, ctx),
            Ok(websocket::Frame::Text(_)) => self.end(ctx, Close::TextFrame),
            // Pings and pongs count against the message limit like binary messages: without it, a
            // client sending millions of empty control frames a second held a core for as long as
            // it liked. One every 5 s (our pings' answers, a library's keepalive) costs nothing.
            Ok(websocket::Frame::Ping(bytes)) => {
                if self.allow_message(ctx) {
                    self.queue_reliable(Frame::Pong(bytes), ctx);
                }
            }
            Ok(websocket::Frame::Pong(_)) => {
                (self.last_pong, self.pings_unanswered) = (self.last_heard, 0);
                self.allow_message(ctx);
            }
            Ok(websocket::Frame::Close(reason)) => {
                // Only a leave (1000, or none given) is on purpose. Any other code says the
                // client's connection failed, 1001 included: a browser sends it for a page
                // closed, but also reloaded, frozen or put in the back/forward cache, and that
                // page comes back with its token (from an outside test on a phone: an app
                // switch or a Back press cost the player its seat and score).
                let code = reason.as_ref().map_or(1000, |r| u16::from(r.code));
                // Its own code and words (escaped: they are the client's), since the log's
                // "closing" line holds only our answer (a host read 1000 "goodbye" for every
                // reload and tab closed: an outside test).
                let words = reason.as_ref().and_then(|r| r.description.as_deref()).unwrap_or_default();
                let (peer, player) = (self.peer.map(tracing::field::display), self.player_id());
                if code == 1000 {
                    tracing::debug!(peer, player, code, reason = ?words, "client closed");
                } else {
                    tracing::info!(peer, player, code, reason = ?words, "client closed: its connection failed");
                }
                self.end(ctx, if code == 1000 { Close::ClientLeft } else { Close::ClientLost });
            }
            Ok(websocket::Frame::Continuation(_)) => self.end(ctx, Close::Fragmented),
            Err(ReadError::Io(error)) => {
                // The connection broke under us (a reset from a killed process, a read error):
                // nobody is left to read a Close, so the session ends now, counted as lost.
                tracing::debug!(
                    peer = self.peer.map(display), client = self.client.map(display), player = self.player_id(), %error,
                    "connection lost"
                );
                self.cut();
                ctx.stop();
            }
            Err(ReadError::Protocol(ProtocolError::Overflow)) => {
                self.end(ctx, Close::FrameTooBig { max: self.config.max_frame_bytes });
            }
            // actix-http (3.20) reports a bad close payload as "Bad opcode".
            Err(ReadError::Protocol(ProtocolError::BadOpCode)) => {
                self.end(ctx, Close::WebSocketError("an invalid close code, or a close reason not UTF-8".into()));
            }
            Err(ReadError::Protocol(e)) => self.end(ctx, Close::WebSocketError(e.to_string())),
        }
    }
}

/// The writer task ended: `closed_by_us` once the outbox closed and everything in it is out,
/// else the connection failed under it.
#[derive(Message)]
#[rtype(result = "()")]
struct WriterDone {
    closed_by_us: bool,
}

impl Handler<WriterDone> for PlayerSession {
    type Result = ();

    fn handle(&mut self, msg: WriterDone, ctx: &mut Self::Context) {
        if !msg.closed_by_us && !matches!(self.phase, Phase::Closing) {
            // The connection is gone; the stream end will follow, but stop now anyway.
            ctx.stop();
        } else if msg.closed_by_us {
            // Our Close is in the kernel, behind everything written before it: the end of our
            // stream goes after it, never ahead (nothing else ends our side while the writer
            // may still write: `ws_reader`).
            self.shut_write();
            self.close_written = true;
            if self.client_done {
                // It answered the client's, or nothing more can come: the handshake is over, so
                // the session is too. Kept to the backstop, every clean leave would hold a
                // connection for 2 s, and every protocol error its address's place as long.
                ctx.stop();
            }
        }
    }
}

impl Handler<Kick> for PlayerSession {
    type Result = ();

    fn handle(&mut self, msg: Kick, ctx: &mut Self::Context) {
        self.end(ctx, msg.0);
    }
}

/// Where the writer task writes: the socket, through the connection's [`WsWriter`].
struct Out {
    raw: WsWriter,
    /// For `skirmish_writes_held_total`.
    stats: Arc<Stats>,
}

impl Out {
    /// True while bytes of a frame already begun wait for the socket.
    fn has_pending(&self) -> bool {
        self.raw.has_pending()
    }

    /// Writes what an earlier write left: `Ok(true)` once nothing waits.
    fn flush(&mut self) -> Result<bool, ()> {
        self.raw.flush().map_err(drop)
    }

    /// Writes `frames` in order and empties the vector; `Ok(false)` when the socket took only
    /// part (the rest waits in the writer; counted as held), `Err` when the connection is gone.
    fn write(&mut self, frames: &mut Vec<Frame>) -> Result<bool, ()> {
        let complete = self.raw.write(frames).map_err(drop)?;
        if !complete {
            Stats::inc(&self.stats.writes_held);
        }
        Ok(complete)
    }

    /// Waits until the socket drains.
    async fn writable(&mut self) -> std::io::Result<()> {
        self.raw.writable().await
    }
}

/// Sleeps until `due`; never wakes for `None`.
async fn sleep_until_some(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}
