//! The `PlayerSession` actor: one per WebSocket connection. It decodes and validates what the
//! client sends, forwards inputs to its room, and writes what the room sends back.
//!
//! Outbound goes through the connection's [`Outbox`]: the room puts each tick's reliable batch
//! and snapshot there directly, the session adds pongs and pings, and one writer task (spawned
//! in this actor's context) writes whatever is waiting, so a session wakes at most once per tick
//! for the room's output. A write stuck past the stall timeout means the client stopped
//! reading; it is cut off.
//!
//! Chat is rate-limited here, per connection, before it costs the room anything: lines over the
//! limit are dropped and only the sender is told. Spectators' inputs are dropped here too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_ws::{CloseCode, CloseReason, Message, ProtocolError};
use bytes::Bytes;
use skirmish_shared::consts::{DEFAULT_ROOM, PROTOCOL_VERSION};
use skirmish_shared::{ChatLine, ClientMsg, DecodeError, Hello, PlayerId, ServerMsg, decode_client, encode_server};
use tokio_util::sync::CancellationToken;

use crate::chat::{self, ChatLimiter};
use crate::config::Config;
use crate::lobby::Lobby;
use crate::messages::{AckFrom, ChatFrom, FollowFrom, Join, JoinError, Kick, Leave, PlayerInput};
use crate::outbox::{Frame, Outbox};
use crate::room::Room;
use crate::socket::ConnSocket;
use crate::stats::{DisconnectReason, Stats};

/// How often timers (stall, heartbeat, Hello deadline, flood window) are checked.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// A connection must say `Hello` within this time.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a Close frame may take to get out before the socket is cut instead.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Client messages allowed per second on average (inputs at 30 Hz plus pings, with headroom)…
const MSGS_PER_SEC: f64 = 60.0;
/// …and in one burst (network jitter bunches frames together).
const MSG_BURST: f64 = 60.0;
/// Messages dropped by the rate limit within one check interval that mean deliberate flooding.
const FLOOD_KICK_DROPS: u32 = 120;

/// Where this connection is in its life.
enum Phase {
    /// Connected; nothing valid received yet.
    AwaitingHello,
    /// `Hello` accepted; waiting for the lobby to place us.
    Joining,
    /// In a room: inputs (unless spectating) and chat are forwarded.
    InRoom { id: PlayerId, room_name: String, room: Addr<Room>, spectator: bool },
    /// A close was started; everything else is ignored.
    Closing,
}

/// Token bucket limiting how fast one client may send.
struct RateLimit {
    tokens: f64,
    last: Instant,
    drops_this_window: u32,
}

impl RateLimit {
    fn new(now: Instant) -> Self {
        Self { tokens: MSG_BURST, last: now, drops_this_window: 0 }
    }

    /// True if a message may pass now.
    fn allow(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.last).as_secs_f64() * MSGS_PER_SEC;
        self.tokens = (self.tokens + refill).min(MSG_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.drops_this_window += 1;
            false
        }
    }
}

/// See the module docs.
pub struct PlayerSession {
    ws: actix_ws::Session,
    socket: Option<ConnSocket>,
    peer: Option<SocketAddr>,
    lobby: Addr<Lobby>,
    config: Arc<Config>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
    phase: Phase,
    connected_at: Instant,
    /// Last time anything (a frame, a pong) arrived: the heartbeat deadline counts from here.
    last_heard: Instant,
    last_ping_sent: Instant,
    limit: RateLimit,
    /// Chat has its own, much slower limit on top of the message rate.
    chat_limit: ChatLimiter,
    /// Frames waiting to be written, shared with the room and the writer task.
    outbox: Arc<Outbox>,
    /// Why the connection is ending, once known; counted when the actor stops (a connection
    /// that just vanishes counts as `Lost`).
    ended: Option<DisconnectReason>,
}

impl PlayerSession {
    /// A session for a freshly upgraded connection; its message stream is added by the caller.
    pub fn new(
        ws: actix_ws::Session,
        socket: Option<ConnSocket>,
        peer: Option<SocketAddr>,
        lobby: Addr<Lobby>,
        config: Arc<Config>,
        stats: Arc<Stats>,
        shutdown: CancellationToken,
    ) -> Self {
        let now = Instant::now();
        Self {
            ws,
            socket,
            peer,
            lobby,
            config,
            stats,
            shutdown,
            phase: Phase::AwaitingHello,
            connected_at: now,
            last_heard: now,
            last_ping_sent: now,
            limit: RateLimit::new(now),
            chat_limit: ChatLimiter::new(now),
            outbox: Arc::new(Outbox::new()),
            ended: None,
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
            self.abort(ctx, "outgoing queue full: client is not reading");
        }
    }

    /// Spawns the task that writes what the outbox holds, woken by every push. Ends when the
    /// outbox closes or a write fails (the connection is gone: the actor stops too).
    fn start_writer(&mut self, ctx: &mut Context<Self>) {
        let (outbox, mut ws, stats) = (self.outbox.clone(), self.ws.clone(), self.stats.clone());
        let writer = async move {
            let mut frames = Vec::new();
            loop {
                outbox.ready().await;
                loop {
                    let taken = outbox.take(&mut frames);
                    if frames.is_empty() {
                        break;
                    }
                    if let Some(bytes) = taken.snapshot_bytes {
                        Stats::inc(&stats.snapshots_sent);
                        Stats::add(&stats.snapshot_bytes, bytes as u64);
                    }
                    for frame in frames.drain(..) {
                        let written = match frame {
                            Frame::Binary(bytes) => ws.binary(bytes).await,
                            Frame::Ping => ws.ping(b"").await,
                            Frame::Pong(bytes) => ws.pong(&bytes).await,
                        };
                        if written.is_err() {
                            outbox.sent();
                            return false;
                        }
                    }
                    outbox.sent();
                }
                if outbox.is_closed() {
                    return true;
                }
            }
        };
        ctx.spawn(writer.into_actor(self).map(|closed_by_us, session, ctx| {
            if !closed_by_us && !matches!(session.phase, Phase::Closing) {
                // The connection is gone; the stream end will follow, but stop now anyway.
                ctx.stop();
            }
        }));
    }

    /// Sends a Close frame with `code` and `reason`, then stops. If the frame cannot get out
    /// (the client is not reading), the socket is cut after a short wait.
    fn close(&mut self, ctx: &mut Context<Self>, code: u16, reason: String) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        self.ended.get_or_insert(DisconnectReason::from_close_code(code));
        if code == 1000 || code == 1012 {
            tracing::debug!(peer = ?self.peer, player = ?self.player_id(), code, %reason, "closing");
        } else {
            tracing::info!(peer = ?self.peer, player = ?self.player_id(), code, %reason, "closing connection");
        }
        self.leave_room();
        self.phase = Phase::Closing;
        self.outbox.close();
        let (ws, socket) = (self.ws.clone(), self.socket.clone());
        let reason = CloseReason { code: CloseCode::from(code), description: Some(reason) };
        let close = async move {
            if tokio::time::timeout(CLOSE_FLUSH_TIMEOUT, ws.close(Some(reason))).await.is_err()
                && let Some(socket) = socket
            {
                socket.shutdown();
            }
        };
        ctx.spawn(close.into_actor(self).map(|(), _, ctx| ctx.stop()));
    }

    /// Cuts the connection at once, without a Close frame: for clients that cannot read one.
    fn abort(&mut self, ctx: &mut Context<Self>, why: &str) {
        let dropped = self.outbox.replaced();
        tracing::warn!(peer = ?self.peer, player = ?self.player_id(), dropped, why, "disconnecting");
        self.ended = Some(DisconnectReason::Stalled);
        self.leave_room();
        self.phase = Phase::Closing;
        self.outbox.close();
        if let Some(socket) = &self.socket {
            socket.shutdown();
        }
        ctx.stop();
    }

    fn leave_room(&mut self) {
        if let Phase::InRoom { id, room_name, .. } = std::mem::replace(&mut self.phase, Phase::Closing) {
            self.lobby.do_send(Leave { id, room: room_name });
        }
    }

    fn protocol_error(&mut self, ctx: &mut Context<Self>, code: u16, reason: String) {
        self.close(ctx, code, reason);
    }

    fn on_binary(&mut self, bytes: &[u8], ctx: &mut Context<Self>) {
        if !self.limit.allow(Instant::now()) {
            Stats::inc(&self.stats.inputs_dropped);
            return;
        }
        let msg = match decode_client(bytes, self.config.max_frame_bytes) {
            Ok(msg) => msg,
            Err(DecodeError::WrongVersion(v)) => {
                let reason = format!("protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}");
                return self.protocol_error(ctx, 1008, reason);
            }
            Err(DecodeError::TooLarge { len, max }) => {
                return self.protocol_error(ctx, 1009, format!("message of {len} bytes exceeds {max}"));
            }
            Err(e) => return self.protocol_error(ctx, 1007, e.to_string()),
        };
        match (msg, &self.phase) {
            (ClientMsg::Hello(hello), Phase::AwaitingHello) => self.on_hello(hello, ctx),
            (ClientMsg::Hello(_), _) => self.protocol_error(ctx, 1008, "Hello sent twice".into()),
            (_, Phase::AwaitingHello) => self.protocol_error(ctx, 1008, "the first message must be Hello".into()),
            (ClientMsg::Input(input), Phase::InRoom { id, room, spectator: false, .. }) => {
                room.do_send(PlayerInput { id: *id, input });
            }
            // A spectator has no ship: harmless, so counted and ignored rather than closed
            // (a client may keep sending inputs while it switches to watching); its
            // acknowledgement still counts.
            (ClientMsg::Input(input), Phase::InRoom { id, room, spectator: true, .. }) => {
                Stats::inc(&self.stats.inputs_dropped);
                room.do_send(AckFrom { id: *id, tick: input.ack });
            }
            // Inputs before the lobby has placed us have nothing to move yet.
            (ClientMsg::Input(_), _) => {}
            (ClientMsg::Chat(line), Phase::InRoom { id, room, .. }) => {
                if self.chat_limit.allow(Instant::now()) {
                    room.do_send(ChatFrom { id: *id, text: line.text });
                } else {
                    let warning = ChatLine { from: None, text: chat::TOO_FAST.to_owned() };
                    let bytes = Bytes::from(encode_server(&ServerMsg::Chat(warning)));
                    self.queue_reliable(Frame::Binary(bytes), ctx);
                }
            }
            // Nobody to talk to before the lobby has placed us.
            (ClientMsg::Chat(_), _) => {}
            (ClientMsg::Ack(ack), Phase::InRoom { id, room, .. }) => room.do_send(AckFrom { id: *id, tick: ack.tick }),
            (ClientMsg::Ack(_), _) => {}
            (ClientMsg::Follow(follow), Phase::InRoom { id, room, spectator: true, .. }) => {
                room.do_send(FollowFrom { id: *id, target: follow.id });
            }
            (ClientMsg::Follow(_), Phase::InRoom { spectator: false, .. }) => {
                self.protocol_error(ctx, 1008, "only spectators may choose whom to follow".into());
            }
            (ClientMsg::Follow(_), _) => {}
            (ClientMsg::Ping(ping), _) => {
                let pong = Bytes::from(encode_server(&ServerMsg::Pong(ping)));
                self.queue_reliable(Frame::Binary(pong), ctx);
            }
        }
    }

    fn on_hello(&mut self, hello: Hello, ctx: &mut Context<Self>) {
        self.phase = Phase::Joining;
        // An empty name asks for quick play, which joins the default room until rooms can be
        // listed and compared (a reserved meaning in v3).
        let room_name = hello.room.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_ROOM.to_owned());
        let join = Join {
            name: hello.name,
            room: room_name.clone(),
            spectate: hello.spectate,
            session: ctx.address(),
            outbox: self.outbox.clone(),
        };
        let reply = self.lobby.send(join).into_actor(self).map(move |reply, session, ctx| match reply {
            Ok(Ok(joined)) => {
                if matches!(session.phase, Phase::Joining) {
                    session.phase =
                        Phase::InRoom { id: joined.id, room_name, room: joined.room, spectator: joined.spectator };
                } else {
                    // We closed while the join was on its way: undo it.
                    session.lobby.do_send(Leave { id: joined.id, room: room_name });
                }
            }
            Ok(Err(JoinError::RoomFull)) => session.close(ctx, 1008, format!("room {room_name} is full")),
            Ok(Err(JoinError::ShuttingDown)) => session.close(ctx, 1012, "server restarting".into()),
            Err(e) => {
                tracing::error!(error = %e, "lobby unreachable");
                session.close(ctx, 1011, "internal error".into());
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
        if self.outbox.sending_since().is_some_and(|since| now.duration_since(since) >= self.config.send_stall_timeout)
        {
            return self.abort(ctx, "send stalled: client is not reading");
        }
        if now.duration_since(self.last_heard) >= self.config.client_timeout {
            self.ended = Some(DisconnectReason::Timeout);
            return self.close(ctx, 1008, "heartbeat timeout".into());
        }
        if matches!(self.phase, Phase::AwaitingHello) && now.duration_since(self.connected_at) >= HELLO_TIMEOUT {
            return self.protocol_error(ctx, 1008, "no Hello received".into());
        }
        if self.limit.drops_this_window > FLOOD_KICK_DROPS {
            let reason = format!("flooding: more than {MSGS_PER_SEC} messages per second");
            self.ended = Some(DisconnectReason::Flood);
            return self.protocol_error(ctx, 1008, reason);
        }
        self.limit.drops_this_window = 0;
        if now.duration_since(self.last_ping_sent) >= self.config.heartbeat_interval {
            self.last_ping_sent = now;
            self.queue_reliable(Frame::Ping, ctx);
        }
    }
}

impl Actor for PlayerSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        Stats::inc(&self.stats.connections);
        self.start_writer(ctx);
        ctx.run_interval(CHECK_INTERVAL, |session, ctx| session.check(ctx));
        let shutdown = self.shutdown.clone();
        ctx.spawn(
            async move { shutdown.cancelled().await }
                .into_actor(self)
                .map(|(), session, ctx| session.close(ctx, 1012, "server restarting".into())),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.leave_room();
        // Reason first: whoever sees the connection count drop must also see why.
        self.stats.disconnected(self.ended.unwrap_or(DisconnectReason::Lost));
        Stats::dec(&self.stats.connections);
        self.outbox.close();
        let dropped = self.outbox.replaced();
        if dropped > 0 {
            tracing::debug!(peer = ?self.peer, dropped, "session ended");
        }
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for PlayerSession {
    fn handle(&mut self, item: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        if matches!(self.phase, Phase::Closing) {
            return;
        }
        self.last_heard = Instant::now();
        match item {
            Ok(Message::Binary(bytes)) => self.on_binary(&bytes, ctx),
            Ok(Message::Text(_)) => self.protocol_error(
                ctx,
                1003,
                "text frames are not accepted: the protocol is binary MessagePack".into(),
            ),
            Ok(Message::Ping(bytes)) => self.queue_reliable(Frame::Pong(bytes), ctx),
            Ok(Message::Pong(_) | Message::Nop) => {}
            Ok(Message::Close(reason)) => {
                tracing::debug!(peer = ?self.peer, ?reason, "client closed");
                self.close(ctx, 1000, "goodbye".into());
            }
            Ok(Message::Continuation(_)) => {
                self.protocol_error(ctx, 1003, "fragmented messages are not supported".into())
            }
            Err(ProtocolError::Overflow) => {
                let reason = format!("frame exceeds {} bytes", self.config.max_frame_bytes);
                self.protocol_error(ctx, 1009, reason)
            }
            Err(e) => self.protocol_error(ctx, 1002, format!("websocket protocol error: {e}")),
        }
    }
}

impl Handler<Kick> for PlayerSession {
    type Result = ();

    fn handle(&mut self, msg: Kick, ctx: &mut Self::Context) {
        self.close(ctx, msg.code, msg.reason.to_owned());
    }
}
