//! One bot's life: connect, join through the client core, play until the run ends, close, report.
//!
//! The bot only carries bytes and time between its socket and [`Client`]; every protocol
//! decision is the core's, so a load test exercises the code players run. Inputs go out when the
//! core says (one per server tick) and are timed from then, not from when they went out (see
//! [`Bot::play`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use rand::SeedableRng as _;
use rand::rngs::Xoshiro256PlusPlus;
use skirmish_client::{Client, ClientError, Event, MAX_PENDING_INPUTS};
use skirmish_shared::consts::{PING_PERIOD, TICK_DT, TICK_RATE_HZ};
use skirmish_shared::protocol::PlayerId;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, client_async_with_config, connect_async_with_config};

use crate::behaviour::{Behaviour, View};
use crate::live::Live;
use crate::mix::Kind;
use crate::report::{BotReport, EventCounts, Outcome};
use crate::samples::{Samples, Shared};
use crate::spectators::{self, FollowPlan, WatchCounts};
use crate::stalls::StallMeter;
use crate::stop::Stop;

/// Longest wait for the TCP connection and the WebSocket handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for `Welcome` once `Hello` is sent.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// A send blocked this long means the server stopped reading; the bot gives up on it.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the server to answer our close frame.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Socket read buffer: tungstenite's 128 KiB default would cost a thousand bots 128 MiB. Small,
/// because tungstenite zero-fills the buffer's free room before every read (the one that finds
/// the socket empty too): at 4 KiB that `memset` was 3.5 % of the bots' CPU. A snapshot is about
/// 100 bytes; a bigger frame makes tungstenite reserve room for its whole length.
const READ_BUFFER_BYTES: usize = 512;
/// Where in the tick bot `index` sends its inputs: spread evenly over the range the core allows
/// (golden-ratio steps), so a swarm on one machine does not send in one burst each tick as
/// bots all a few microseconds from the server would; players' different distances spread
/// theirs.
fn send_phase(index: u32) -> f64 {
    let (lo, hi) = skirmish_client::pace::SEND_PHASE_RANGE;
    lo + (hi - lo) * (f64::from(index) * 0.618_033_988_749_895).fract()
}

/// Spreads bot indices over the seed space so neighbouring bots draw unrelated numbers.
pub const SEED_STRIDE: u64 = 0x9E37_79B9_7F4A_7C15;
/// An input that goes out this long after its slot counts as late: beyond the timer's usual
/// millisecond of jitter, and a third of a tick, so the bot process itself is falling behind.
pub const LATE_INPUT_MS: f64 = 10.0;
/// How often a bot adds the snapshots it counted to the live counter (and at the end), with the
/// time since its last batch: a counter bumped by every bot on every snapshot is one cache line
/// written 30 000 times a second from both shards' threads. Within the progress line's refresh.
/// By the clock, not every so many snapshots: a server that sends none (frozen) must still see
/// its bots' time fall due, so a `--stats` line of the freeze shows delivery 0 rather than
/// nothing due and the next line the whole loss.
const LIVE_BATCH_PERIOD: Duration = Duration::from_millis(500);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one bot is told by the swarm.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Position in the swarm: names the bot and picks its random stream.
    pub index: u32,
    /// What it does once in (a `--spectators` bot sends no inputs: `Idle`, never used).
    pub kind: Kind,
    /// A `--spectators` bot: `Hello` asks to spectate, and it switches whom it follows now and
    /// then, as a caster does (see [`crate::spectators`]).
    pub spectate: bool,
    /// Server URL (already validated).
    pub url: Arc<str>,
    /// Room for `Hello`; `None` joins the server's default room.
    pub room: Option<String>,
    /// The run's seed.
    pub seed: u64,
    /// Predict our own ship (`--predict`).
    pub predict: bool,
    /// Zero of the millisecond clock handed to the client core.
    pub epoch: Instant,
    /// When to connect (the ramp-up staggers this).
    pub start_at: Instant,
    /// When to close.
    pub end_at: Instant,
    /// Given to end the run early (Ctrl-C): bots close as at the end.
    pub stop: Stop,
    /// Where timing samples go.
    pub samples: Arc<Shared>,
    /// Live counters for the progress line.
    pub live: Arc<Live>,
    /// Permits for connection attempts in flight, held from the TCP connect to `Welcome`.
    pub connecting: Arc<Semaphore>,
    /// The local address to connect from (`--source-ips`); `None`: the system's choice.
    pub source: Option<IpAddr>,
}

/// Why the playing loop ended.
pub enum End {
    /// The run is over (or was stopped): we close.
    RunOver,
    /// The server sent a close frame: code and reason.
    ServerClosed(String),
    /// The connection broke: error kind.
    Lost(String),
}

/// Runs one bot to the end and reports what it saw.
pub async fn run(spec: Spec) -> BotReport {
    let mut bot = Bot::new(&spec);
    tokio::select! {
        () = sleep_until(spec.start_at) => {}
        () = spec.stop.stopped() => return bot.report(Outcome::NotStarted, None),
    }
    let joined = tokio::select! {
        joined = bot.join(spec.end_at) => joined,
        // Its start had come: it tried to join and did not get in (the README's categories).
        () = spec.stop.stopped() => Err("stopped while joining".to_owned()),
    };
    let mut ws = match joined {
        Ok(ws) => ws,
        Err(kind) => {
            tracing::debug!(bot = spec.index, error = %kind, "failed to join");
            spec.live.failed();
            return bot.report(Outcome::Failed(kind), None);
        }
    };
    let welcomed_at = Instant::now();
    if welcomed_at >= spec.end_at && !spec.stop.is_stopped() {
        // Let in only once the run was over: it never played, so it did not join the run.
        tracing::debug!(bot = spec.index, "welcomed only after the run ended");
        spec.live.failed();
        close(&mut ws).await;
        return bot.report(Outcome::Failed("welcomed only after the run ended".into()), None);
    }
    spec.live.welcomed();
    bot.join_time = Some(welcomed_at.saturating_duration_since(spec.start_at));
    // Snapshots are due from the `Welcome`, or from `JOIN_ALLOWANCE` after the bot's start if
    // it was let in later than that: a server slow to let bots in owes them the snapshots of
    // the wait past a join's ordinary time (the connection, the upgrade, the room's next tick:
    // tens of milliseconds, which counted as missed took a healthy room of 1000 under 99.9 %).
    let due_from = welcomed_at.min(spec.start_at + JOIN_ALLOWANCE);
    // The first batch of snapshots is due from there, as in the summary.
    bot.live_since = due_from;
    let end = bot.play(&mut ws).await;
    let ended_at = Instant::now();
    bot.record_what_never_came(ended_at);
    bot.report_live_snapshots();
    let connected = ended_at.duration_since(welcomed_at);
    let outcome = match end {
        End::RunOver => {
            bot.client.on_close(CloseCode::Normal.into(), "");
            close(&mut ws).await;
            Outcome::Completed
        }
        End::ServerClosed(why) => {
            // Flushing sends tungstenite's queued reply to the server's close frame; the
            // server then ends the connection. Failing to do so changes nothing measured.
            let _ = timeout(CLOSE_TIMEOUT, ws.flush()).await;
            Outcome::Disconnected(why)
        }
        End::Lost(why) => Outcome::Disconnected(why),
    };
    spec.live.gone(outcome != Outcome::Completed, ended_at.saturating_duration_since(spec.epoch));
    drop(ws);
    let due = match &outcome {
        Outcome::Disconnected(why) => {
            tracing::debug!(bot = spec.index, reason = %why, "disconnected");
            // Snapshots stay due until the run ends: wait for it, so the delivery ratio counts
            // the ones this bot missed after being dropped.
            tokio::select! {
                () = sleep_until(spec.end_at) => {}
                () = spec.stop.stopped() => {}
            }
            due_from.elapsed()
        }
        _ => ended_at.saturating_duration_since(due_from),
    };
    bot.report(outcome, Some((connected, due)))
}

/// How long a bot's join may take before the wait counts as snapshots missed (see `run`).
pub const JOIN_ALLOWANCE: Duration = Duration::from_secs(1);

/// One bot's state while it runs.
pub struct Bot<'a> {
    spec: &'a Spec,
    /// The client core: all protocol state lives here.
    pub client: Client,
    samples: Samples,
    /// Arrival of the previous snapshot, for the gap between snapshots.
    last_snapshot_ms: Option<f64>,
    /// Input slots whose input went out `LATE_INPUT_MS` or more after the slot, or never.
    inputs_late: u64,
    /// Input slots passed over without an input (the bot woke up a tick or more late).
    inputs_missed: u64,
    /// Ticks whose snapshot had not come when the bot stopped playing, a whole tick overdue
    /// (the core counts only the ticks skipped between snapshots that came).
    ticks_missed_at_end: u64,
    /// Ticks a stalled server skipped without numbering them, which the core's count of gaps in
    /// tick numbers cannot see.
    stalls: StallMeter,
    chat_sent: u64,
    /// What a spectator did and saw of its `Ack`s and `Follow`s.
    watch: WatchCounts,
    /// A `Follow` naming a player whose view has not come yet, and when it went out (core
    /// clock, ms): the first snapshot showing that player times the switch.
    follow_pending: Option<(PlayerId, f64)>,
    /// From the bot's start in the ramp-up to its `Welcome`: how long the server (and the
    /// `--max-connecting` queue) kept it waiting; `None` until welcomed.
    join_time: Option<Duration>,
    /// Snapshots not yet added to the live counter (see [`LIVE_BATCH_PERIOD`])…
    live_snapshots: u32,
    /// …received since this instant (the bot's start, then the last batch added).
    live_since: Instant,
    events: EventCounts,
    client_errors: BTreeMap<String, u64>,
    /// Events of the frame being handled: one buffer for the bot's life, so a frame costs no
    /// allocation here.
    inbox: Vec<Event>,
}

impl<'a> Bot<'a> {
    pub fn new(spec: &'a Spec) -> Self {
        Self {
            spec,
            // A player bot draws nothing: its behaviour reads the decoded frames instead of views.
            // A spectator bot draws, as a caster's browser does: it picks whom to follow from
            // the roster, which the core keeps only then.
            client: Client::new(format!("bot-{}", spec.index), spec.room.clone())
                .draws(spec.spectate)
                .ask_to_spectate(spec.spectate)
                .predict(spec.predict)
                .send_phase(send_phase(spec.index)),
            samples: Samples::new(spec.samples.clone()),
            last_snapshot_ms: None,
            inputs_late: 0,
            inputs_missed: 0,
            ticks_missed_at_end: 0,
            stalls: StallMeter::new(TICK_RATE_HZ),
            chat_sent: 0,
            watch: WatchCounts::default(),
            follow_pending: None,
            join_time: None,
            live_snapshots: 0,
            live_since: Instant::now(),
            events: EventCounts::default(),
            client_errors: BTreeMap::new(),
            inbox: Vec::new(),
        }
    }

    /// The core's clock: ms since the run's epoch.
    pub fn now_ms(&self) -> f64 {
        self.ms_at(Instant::now())
    }

    /// `at` on the core's clock.
    fn ms_at(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.spec.epoch).as_secs_f64() * 1000.0
    }

    /// The instant at `ms` on the core's clock: the epoch for anything before it, the end of the
    /// run for anything after (the core's due times come from what the server sent, and one too
    /// far off for an `Instant` must not panic).
    fn instant_at(&self, ms: f64) -> Instant {
        Duration::try_from_secs_f64(ms.max(0.0) / 1000.0)
            .ok()
            .and_then(|since| self.spec.epoch.checked_add(since))
            .map_or(self.spec.end_at, |at| at.min(self.spec.end_at))
    }

    /// Connects, sends `Hello` and waits for `Welcome`, giving up at `run_end` (the end of the
    /// run: no attempt outlives it, nor starts after it); the error is a short kind for the
    /// report.
    pub async fn join(&mut self, run_end: Instant) -> Result<Socket, String> {
        const QUEUED: &str = "run over while waiting to connect";
        // Held until this returns; waiting for it does not count against the timeouts below.
        // The semaphore is never closed, so an error cannot happen.
        let _permit = timeout_at(run_end, self.spec.connecting.acquire())
            .await
            .map_err(|_| QUEUED.to_owned())?
            .map_err(|_| "connection limiter closed".to_owned())?;
        // A slot freed at the end of the run (by an attempt it cut off) starts nothing.
        if Instant::now() >= run_end {
            return Err(QUEUED.to_owned());
        }
        // Each wait below ends at its own timeout or the run's end, whichever comes first.
        let until = |timeout: Duration| (Instant::now() + timeout).min(run_end);
        let late = |deadline: Instant, timed_out: &str, run_over: &str| {
            if deadline == run_end { run_over.to_owned() } else { timed_out.to_owned() }
        };
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES).write_buffer_size(0);
        let connect = async {
            match self.spec.source {
                // Nagle off, as browsers do for WebSockets: inputs are small and latency-sensitive.
                None => {
                    connect_async_with_config(&*self.spec.url, Some(config), true).await.map_err(|e| error_kind(&e))
                }
                Some(source) => connect_from(source, &self.spec.url, config).await,
            }
        };
        let connect_by = until(CONNECT_TIMEOUT);
        let (mut ws, _response) = match timeout_at(connect_by, connect).await {
            Err(_) => return Err(late(connect_by, "connect timeout", "run over while connecting")),
            Ok(Err(kind)) => return Err(kind),
            Ok(Ok(connected)) => connected,
        };
        send(&mut ws, self.client.on_open()).await?;
        let deadline = until(WELCOME_TIMEOUT);
        loop {
            let msg = timeout_at(deadline, ws.next())
                .await
                .map_err(|_| late(deadline, "no welcome in time", "run over before welcome"))?;
            match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    let now = self.now_ms();
                    let mut events = std::mem::take(&mut self.inbox);
                    let result = self.client.on_message(&bytes, now, &mut events);
                    // `Welcome` may come alone or first in a batch with what follows it.
                    let joined = match (events.first(), result) {
                        (Some(Event::Welcome { .. }), result) => {
                            if let Err(e) = result {
                                self.client_error(&e);
                            }
                            Ok(ws)
                        }
                        (_, Err(e)) => Err(format!("bad first message: {e}")),
                        (other, Ok(())) => Err(format!("expected welcome, got {other:?}")),
                    };
                    if joined.is_ok() {
                        for event in events.drain(..) {
                            self.on_event(event, now);
                        }
                    }
                    events.clear();
                    self.inbox = events;
                    return joined;
                }
                Some(Ok(Message::Close(frame))) => return Err(format!("closed before welcome: {}", close_text(frame))),
                Some(Ok(Message::Text(_))) => return Err("text frame before welcome".into()),
                // Pings are answered by tungstenite; nothing else can arrive before Welcome.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(error_kind(&e)),
                None => return Err("closed before welcome".into()),
            }
        }
    }

    /// Sends inputs when the core says, one per server tick (and chat lines when the behaviour
    /// speaks), pings every [`PING_PERIOD`], feeds every message to the core, until the run ends
    /// or the connection does. A spectator (seated as one because the room was full) sends no
    /// inputs; it acknowledges each snapshot instead, as the browser does.
    ///
    /// Latency is measured without coordinated omission: every input is handed to the core
    /// with the time it was *due*, so the core's input → acknowledgement latency starts there
    /// and a bot that wakes up late adds its own delay to the figure instead of hiding it. After
    /// a stall the one input sent stands for every tick passed over and carries the earliest
    /// one's time; those ticks count as missed.
    pub async fn play(&mut self, ws: &mut Socket) -> End {
        let seed = self.spec.seed.wrapping_add(u64::from(self.spec.index).wrapping_mul(SEED_STRIDE));
        let rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let tick_ms = 1000.0 / f64::from(self.client.tick_rate().max(1));
        // Re-armed whenever a frame moves the due time (the core's estimate of the server's
        // tick clock follows the snapshots). Each bot's phase within the tick is its own
        // (`send_phase`) after its own snapshots arrive, as a player's is set by its distance.
        let mut due_ms = self.client.input_due_ms();
        let spectator = self.client.is_spectator();
        // The first ping goes out at once, then one every `PING_PERIOD` after the previous.
        let mut ping_at = Instant::now();
        // One timer for the inputs, the pings and the end of the run, set to whichever comes
        // first: each turn of the loop polls every branch of the `select!`, and every timer
        // polled registers its waker again (with three, `Sleep::poll` and the waker
        // registration were 3.6 % of the bots' samples in `scripts/perf_fanout.sh 1000 OUT
        // bots`; in the capacity benchmark the gain is within its noise).
        let next_wake = |due_ms: f64, ping_at: Instant, bot: &Self| {
            let end = bot.spec.end_at.min(ping_at).min(bot.live_since + LIVE_BATCH_PERIOD);
            if spectator { end } else { end.min(bot.instant_at(due_ms)) }
        };
        // A `--spectators` bot switches whom it follows now and then (see `crate::spectators`).
        let mut follow = self.spec.spectate.then(|| FollowPlan::new(seed, self.now_ms()));
        let next_wake = |due_ms: f64, ping_at: Instant, follow: &Option<FollowPlan>, bot: &Self| {
            let at = next_wake(due_ms, ping_at, bot);
            follow.as_ref().map_or(at, |plan| at.min(bot.instant_at(plan.due_ms())))
        };
        let mut wake_at = next_wake(due_ms, ping_at, &follow, self);
        let wake = sleep_until(wake_at);
        tokio::pin!(wake);
        // A player reads the stop flag when its timer fires, at least once a tick; only a
        // spectator, whose timer may sleep until the next ping, waits on the signal itself
        // (see `crate::stop` for why not every bot). Made once, not per turn of the loop.
        let stop = self.spec.stop.clone();
        let stopped = stop.stopped();
        tokio::pin!(stopped);
        let start_ms = self.now_ms();
        let mut behaviour = Behaviour::new(self.spec.kind, rng, start_ms);
        loop {
            // Timers first: they fire at most 30 times a second, so they cannot starve reading,
            // while a steady stream of snapshots could delay them.
            tokio::select! {
                biased;
                () = &mut stopped, if spectator => return End::RunOver,
                () = &mut wake => {
                    let now = Instant::now();
                    if now >= self.spec.end_at || stop.is_stopped() {
                        return End::RunOver;
                    }
                    if !spectator && now >= self.instant_at(due_ms) {
                        // Nothing was due before we were in (the first input is due at once).
                        let slot_ms = due_ms.max(start_ms);
                        let skipped = ((self.now_ms() - slot_ms) / tick_ms) as u64;
                        if let Err(kind) = self.send_input(ws, &mut behaviour, slot_ms, skipped).await {
                            return End::Lost(kind);
                        }
                        due_ms = self.client.input_due_ms();
                    }
                    if let Some(plan) = &mut follow
                        && now >= self.instant_at(plan.due_ms())
                        && let Err(kind) = self.switch_follow(ws, plan).await
                    {
                        return End::Lost(kind);
                    }
                    if now >= ping_at {
                        ping_at = now + PING_PERIOD;
                        if let Some(frame) = self.client.ping(self.now_ms())
                            && let Err(kind) = send(ws, frame).await
                        {
                            return End::Lost(kind);
                        }
                    }
                    if now >= self.live_since + LIVE_BATCH_PERIOD {
                        self.report_live_snapshots();
                    }
                }
                msg = ws.next() => {
                    if let Some(end) = self.on_frame(msg) {
                        return end;
                    }
                    // Spectators' snapshots stay deltas only if acknowledged.
                    if spectator && let Some(frame) = self.client.ack_frame() {
                        if let Err(kind) = send(ws, frame).await {
                            return End::Lost(kind);
                        }
                        self.watch.acks_sent += 1;
                    }
                    // A frame can move the due time: the core's estimate of the server's tick
                    // clock follows the snapshots.
                    due_ms = self.client.input_due_ms();
                }
            }
            let next = next_wake(due_ms, ping_at, &follow, self);
            if next != wake_at {
                wake_at = next;
                wake.as_mut().reset(wake_at);
            }
        }
    }

    /// Sends the `Follow` the plan picks (a player of the roster, or the server's choice) and
    /// notes it, so that the first snapshot showing that player times the switch.
    async fn switch_follow(&mut self, ws: &mut Socket, plan: &mut FollowPlan) -> Result<(), String> {
        let now = self.now_ms();
        let target = plan.switch(now, self.client.roster(), self.client.subject());
        // `None` only before `Welcome` or for a player, neither of which gets here.
        let Some(frame) = self.client.follow(target) else { return Ok(()) };
        send(ws, frame).await?;
        self.watch.follows_sent += 1;
        self.watch.follows_nil += u64::from(target.is_none());
        // A switch not shown yet is dropped for the new one (its player may have left).
        self.follow_pending = target.map(|id| (id, now));
        Ok(())
    }

    /// Sends the input that was due at `slot_ms` (and a chat line if the behaviour says one),
    /// `skipped` ticks after the one the previous input should have gone out in.
    async fn send_input(
        &mut self,
        ws: &mut Socket,
        behaviour: &mut Behaviour,
        slot_ms: f64,
        skipped: u64,
    ) -> Result<(), String> {
        let now = self.now_ms();
        let lag_ms = now - slot_ms;
        self.samples.send_lag_ms(lag_ms);
        self.inputs_missed += skipped;
        self.inputs_late += skipped + u64::from(lag_ms >= LATE_INPUT_MS);
        let (newest, before) = self.client.frames();
        let view = View {
            me: self.client.my_state(),
            others: newest.map_or(&[], |f| &f.ships),
            before: match (newest, before) {
                (Some(n), Some(b)) => (&b.ships, n.tick.saturating_sub(b.tick) as f32 * TICK_DT),
                _ => (&[], 0.0),
            },
            arena: self.client.arena(),
        };
        let action = behaviour.act(slot_ms, &view);
        // The core forgets its oldest unacknowledged input to make room: time it now, at least
        // this late, rather than lose it from the latency (a long freeze would show shorter).
        if self.client.unacked_inputs_ms().len() >= MAX_PENDING_INPUTS
            && let Some(oldest) = self.client.unacked_inputs_ms().next()
        {
            self.samples.latency_ms(now - oldest);
        }
        if let Some(frame) = self.client.input_for_slot(action.mv, action.aim, action.buttons, slot_ms, now) {
            send(ws, frame).await?;
        }
        if let Some(frame) = action.say.and_then(|line| self.client.chat(line)) {
            send(ws, frame).await?;
            self.chat_sent += 1;
        }
        Ok(())
    }

    /// Handles one read from the socket; `Some` when the connection is over.
    fn on_frame(&mut self, msg: Option<Result<Message, tungstenite::Error>>) -> Option<End> {
        let now = self.now_ms();
        match msg {
            Some(Ok(Message::Binary(bytes))) => {
                let mut events = std::mem::take(&mut self.inbox);
                if let Err(e) = self.client.on_message(&bytes, now, &mut events) {
                    // A player's client would carry on too: one bad message is not worth leaving.
                    self.client_error(&e);
                }
                for event in events.drain(..) {
                    self.on_event(event, now);
                }
                self.inbox = events;
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) =
                    frame.as_ref().map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.to_string()));
                self.client.on_close(code, &reason);
                return Some(End::ServerClosed(close_text(frame)));
            }
            Some(Ok(Message::Text(_))) => *self.client_errors.entry("text frame".into()).or_default() += 1,
            // Pings and pongs are handled inside tungstenite.
            Some(Ok(_)) => {}
            Some(Err(e)) => return Some(End::Lost(error_kind(&e))),
            None => return Some(End::Lost("closed without a close frame".into())),
        }
        None
    }

    /// Records what one event from the core means for the report. No `_` arm: a new kind of
    /// event is a decision to make here.
    fn on_event(&mut self, event: Event, now: f64) {
        match event {
            Event::Snapshot { tick, acked_latency_ms, .. } => {
                self.stalls.snapshot(now, tick);
                // A spectator's latency: its `Follow` to the first view of that player.
                if let Some((id, sent_ms)) = self.follow_pending
                    && self.client.subject() == Some(id)
                {
                    self.follow_pending = None;
                    self.watch.follows_shown += 1;
                    self.samples.latency_ms(now - sent_ms);
                }
                self.live_snapshots += 1;
                if let Some(last) = self.last_snapshot_ms.replace(now) {
                    self.samples.gap_ms(now - last);
                }
                for latency in acked_latency_ms {
                    self.samples.latency_ms(latency);
                }
            }
            Event::Pong { rtt_ms } => self.samples.rtt_ms(rtt_ms),
            Event::Chat(line) => {
                self.events.chat += 1;
                if line.from.is_none() && line.text.starts_with(spectators::OVERRULED_LINE) {
                    self.watch.follows_overruled += 1;
                    self.follow_pending = None;
                }
            }
            Event::Kill(_) => self.events.kills += 1,
            Event::Match(_) => self.events.matches += 1,
            Event::Results(_) => self.events.results += 1,
            Event::Welcome { .. }
            | Event::Joined(_)
            | Event::Roster(_)
            | Event::Obstacles(_)
            | Event::Left(_)
            | Event::Scores(_)
            | Event::Radar => {}
        }
    }

    /// At the end of the bot's play (`ended_at`), what it was still waiting for: every input not
    /// acknowledged is a latency sample of at least its wait so far, and the time since the last
    /// snapshot a gap, with the ticks whose snapshot is a whole tick overdue counted as missed.
    /// Without this a server that froze near the end would show in none of them (coordinated
    /// omission: only the answers that came would be timed).
    fn record_what_never_came(&mut self, ended_at: Instant) {
        let end_ms = self.ms_at(ended_at);
        for sent in self.client.unacked_inputs_ms() {
            self.samples.latency_ms(end_ms - sent);
        }
        if let Some(last) = self.last_snapshot_ms.take() {
            let gap_ms = (end_ms - last).max(0.0);
            self.samples.gap_ms(gap_ms);
            let tick_ms = 1000.0 / f64::from(self.client.tick_rate().max(1));
            self.ticks_missed_at_end = ((gap_ms / tick_ms).floor() as u64).saturating_sub(1);
        }
    }

    /// Adds the snapshots counted since the last call to the live counter, with the time they
    /// arrived over, and merges the timing samples buffered meanwhile: so a `--stats` line gets
    /// the latencies of the same batches as the snapshots, not those of whenever a bot's
    /// sample buffer happened to fill (about every 1.4 s).
    fn report_live_snapshots(&mut self) {
        self.samples.flush();
        let now = Instant::now();
        let covered = now.saturating_duration_since(std::mem::replace(&mut self.live_since, now));
        self.spec.live.snapshots(u64::from(std::mem::take(&mut self.live_snapshots)), covered);
    }

    /// Counts a message the core refused, by reason.
    fn client_error(&mut self, e: &ClientError) {
        *self.client_errors.entry(e.to_string()).or_default() += 1;
    }

    /// The report, from the core's counters and ours. `times` (connected, due) is `None` for a
    /// bot never welcomed.
    fn report(mut self, outcome: Outcome, times: Option<(Duration, Duration)>) -> BotReport {
        self.samples.flush();
        let stats = self.client.stats();
        let ticks_unnumbered = self.stalls.finish();
        let welcomed = times.is_some();
        let (connected, due) = times.unwrap_or_default();
        BotReport {
            outcome,
            kind: self.spec.kind,
            room: welcomed.then(|| self.client.room_name().to_owned()),
            spectator: welcomed && self.client.is_spectator(),
            join_time: self.join_time.filter(|_| welcomed),
            connected,
            due,
            snapshots: stats.snapshots,
            ticks_missed: stats.ticks_missed + self.ticks_missed_at_end + ticks_unnumbered,
            ticks_unnumbered,
            inputs_sent: stats.inputs_sent,
            corrections: self.client.prediction().corrections,
            correction_units: self.client.prediction().correction_units,
            inputs_late: self.inputs_late,
            inputs_missed: self.inputs_missed,
            inputs_left_out: self.client.inputs_left_out(),
            chat_sent: self.chat_sent,
            events: self.events,
            bytes_down: stats.bytes_received,
            bytes_up: stats.bytes_sent,
            client_errors: std::mem::take(&mut self.client_errors),
            watch: self.watch,
        }
    }
}

/// Sends one binary frame (written at once: the write buffer is off).
pub async fn send(ws: &mut Socket, frame: Vec<u8>) -> Result<(), String> {
    match timeout(SEND_TIMEOUT, ws.send(Message::Binary(frame.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(error_kind(&e)),
        Err(_) => Err("send stalled".into()),
    }
}

/// Closes normally (1000) and waits briefly for the server's close frame in reply. Errors
/// are ignored: the run is over and its figures are taken.
///
/// The handshake is complete once the reply arrives, and the socket is dropped then, without
/// waiting for the server to end the TCP connection as tungstenite's client role otherwise
/// would (the server may hold it open for a while, which would only stretch the run).
pub async fn close(ws: &mut Socket) {
    let frame = CloseFrame { code: CloseCode::Normal, reason: "run over".into() };
    let handshake = async {
        ws.close(Some(frame)).await?;
        while let Some(msg) = ws.next().await {
            if let Message::Close(_) = msg? {
                break;
            }
        }
        Ok::<(), tungstenite::Error>(())
    };
    let _ = timeout(CLOSE_TIMEOUT, handshake).await;
}

/// Connects to `url` from the local address `source` (the socket is bound to it before
/// connecting) and shakes hands; the error is a short kind for the report.
async fn connect_from(source: IpAddr, url: &str, config: WebSocketConfig) -> Result<(Socket, Response), String> {
    let io = |e: std::io::Error| error_kind(&tungstenite::Error::Io(e));
    let request = url.into_client_request().map_err(|e| error_kind(&e))?;
    let host = request.uri().host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = request.uri().port_u16().unwrap_or(80);
    let server = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(io)?
        .find(|addr| addr.is_ipv4() == source.is_ipv4())
        .ok_or_else(|| format!("{host} has no address of the family of {source}"))?;
    let socket = if source.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(io)?;
    socket.bind(SocketAddr::new(source, 0)).map_err(io)?;
    let stream = socket.connect(server).await.map_err(io)?;
    // Nagle off, as on the usual path.
    stream.set_nodelay(true).map_err(io)?;
    client_async_with_config(request, MaybeTlsStream::Plain(stream), Some(config)).await.map_err(|e| error_kind(&e))
}

pub fn close_text(frame: Option<CloseFrame>) -> String {
    match frame {
        Some(f) => format!("{} {}", u16::from(f.code), f.reason).trim_end().to_owned(),
        None => "1005".to_owned(),
    }
}

/// A short, stable description of a connection error, used as a key when counting failures.
pub fn error_kind(e: &tungstenite::Error) -> String {
    use std::io::ErrorKind as K;
    use tungstenite::Error as E;
    match e {
        E::Io(io) => match io.kind() {
            k @ (K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::TimedOut
            | K::BrokenPipe
            | K::UnexpectedEof
            | K::AddrNotAvailable) => k.to_string(),
            _ => format!("io: {io}"),
        },
        E::Http(response) => {
            let chunked = response
                .headers()
                .get("transfer-encoding")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
            match response.body().as_deref().and_then(|body| refusal_reason(body, chunked)) {
                Some(why) => format!("http {}: {why}", response.status()),
                None => format!("http {}", response.status()),
            }
        }
        E::ConnectionClosed | E::AlreadyClosed => "connection closed".into(),
        E::Protocol(p) => format!("protocol: {p}"),
        E::Url(u) => format!("bad url: {u}"),
        other => other.to_string(),
    }
}

/// Longest reason taken from a refusal's body: the server's are one short line, and a failure
/// kind is a key counted in the summary, not a place for a page of HTML.
const REASON_CHARS: usize = 80;

/// Why the server refused an upgrade, from its response's body: the first line (after the chunk
/// size, if `chunked`), control characters dropped, at most [`REASON_CHARS`] characters (an
/// ellipsis marks a cut); `None` for a body with nothing to say.
fn refusal_reason(body: &[u8], chunked: bool) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let mut lines = text.lines();
    if chunked {
        lines.next();
    }
    let line: String = lines.next()?.chars().filter(|c| !c.is_control()).collect();
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let mut reason: String = line.chars().take(REASON_CHARS).collect();
    if line.chars().nth(REASON_CHARS).is_some() {
        reason.push('…');
    }
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_servers_reason_short_and_clean() {
        let refused = |body: Option<&[u8]>, chunked: bool| {
            let mut response = tungstenite::http::Response::builder().status(429);
            if chunked {
                response = response.header("Transfer-Encoding", "chunked");
            }
            error_kind(&tungstenite::Error::Http(Box::new(response.body(body.map(<[u8]>::to_vec)).unwrap())))
        };
        assert_eq!(
            refused(Some(b"too many connections from your address"), false),
            "http 429 Too Many Requests: too many connections from your address"
        );
        assert_eq!(
            refused(Some(b"26\r\nconnecting too fast from your address\r\n0\r\n\r\n"), true),
            "http 429 Too Many Requests: connecting too fast from your address"
        );
        assert_eq!(refused(None, false), "http 429 Too Many Requests");
        assert_eq!(refused(Some(b"  \r\n"), false), "http 429 Too Many Requests", "nothing to say");
        // A proxy's page: its first line, without the terminal's escapes, cut short.
        let page = format!("<html>\x1b[31m{}\nmore", "x".repeat(200));
        let kind = refused(Some(page.as_bytes()), false);
        assert!(kind.starts_with("http 429 Too Many Requests: <html>[31mxxx"), "{kind}");
        assert!(kind.ends_with('…') && !kind.contains('\x1b') && !kind.contains("more"), "{kind}");
        assert_eq!(kind.chars().count(), "http 429 Too Many Requests: ".len() + REASON_CHARS + 1);
    }

    #[test]
    fn error_kinds_are_short_and_stable() {
        let refused = tungstenite::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(error_kind(&refused), "connection refused");
        let reset = tungstenite::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(error_kind(&reset), "connection reset");
        let other = tungstenite::Error::Io(std::io::Error::other("name lookup failed"));
        assert_eq!(error_kind(&other), "io: name lookup failed");
        assert_eq!(error_kind(&tungstenite::Error::ConnectionClosed), "connection closed");
    }

    #[test]
    fn close_frames_read_as_code_and_reason() {
        let frame = CloseFrame { code: CloseCode::Policy, reason: "flooding".into() };
        assert_eq!(close_text(Some(frame)), "1008 flooding");
        assert_eq!(close_text(Some(CloseFrame { code: CloseCode::Normal, reason: "".into() })), "1000");
        assert_eq!(close_text(None), "1005");
    }
}
