//! The `Room` actor: owns one `World`, steps it on the drift-free 30 Hz schedule and, once per
//! tick, builds every member's snapshot (its area of interest, as a delta against what it
//! acknowledged) and its reliable messages, and hands both to its session's outbox in one go.
//!
//! Reliable messages (joins, leaves, chat, kills, scores, radar) are collected between ticks
//! and go out with the tick as one batch frame per member; each is encoded once however many
//! receive it. A newcomer learns who was already there a chunk per tick (`Welcome`, then
//! `Roster`), and a big map's obstacles a chunk per tick after each `Match` (`Obstacles`), so
//! no frame grows with the room or the map (a write the socket cannot take at once is copied
//! and held by the session's writer). Rooms above `big_room_players` go quiet: no system lines
//! for joins, leaves and kills, and each player's kill feed only gets kills that involve it or
//! happen in its view. A member that keeps acknowledging but none newer for the send-stall
//! timeout's worth of snapshots has stopped reading, and is cut (`ClientView::unacknowledged`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use glam::Vec2;
use skirmish_shared::codec::is_combining_mark;
use skirmish_shared::consts::{
    AOI_HALF_EXTENT, MAP_CHUNK_OBSTACLES, RADAR_INTERVAL_TICKS, ROSTER_CHUNK_PLAYERS, SCOREBOARD_TOP,
    SCORES_CHUNK_LINES, TICK_DURATION, TICK_RATE_HZ, view_centre,
};
use skirmish_shared::schedule::{MAX_CATCHUP_STEPS, TickClock};
use skirmish_shared::sim::POS_SCALE;
use skirmish_shared::{
    ChatLine, Input, Kill, Left, MatchInfo, PlayerId, PlayerInfo, PlayerState, Radar, ScoreLine, ServerMsg, Welcome,
    encode_server,
};

use crate::chat;
use crate::close::Close;
use crate::inbox::Inbox;
use crate::lobby::Lobby;
use crate::messages::{
    AddPlayer, ChatFrom, ChatTooFast, FollowFrom, Kick, Leave, PlayerReport, ReleaseSeat, RemovePlayer, Replace,
    Report, RoomFailed, RoomReport, RoomStatus, StopRoom,
};
use crate::outbox::{Frame, Outbox};
use crate::palette::{Palette, palette_colour};
use crate::panic_watch::PanicFlag;
use crate::player_session::PlayerSession;
use crate::stats::{DisconnectReason, Stats};
use crate::view::{ClientView, Head, History, ViewBuilder};
use crate::wake::Wakes;
use crate::world::{GameEvent, World};

/// Messages a member's `pending` queue keeps room for between ticks; more is given back.
/// During a ramp-up every member hears of dozens of joins per tick, and each of thousands of
/// members would otherwise keep a queue that long (about 2 KiB each at 1000 players) for good.
const PENDING_KEPT: usize = 8;

/// The system line a spectator gets when the player it asked to follow is not one it may watch
/// (`PROTOCOL.md`, Follow): it watches its own address's players while one is in the room.
pub const FOLLOW_OVERRULED: &str =
    "you can watch only the players from your own address while one of them is in this room";

/// The system line a player gets when it finds the room's ships all taken and watches instead
/// (`PROTOCOL.md`, Hello `spectate`).
pub const ROOM_FULL: &str = "every ship in this room is taken, so you are watching: join again later to play";

/// Output bytes reserved per member per tick (one buffer for the whole tick; it grows if short).
const TICK_BYTES_PER_MEMBER: usize = 192;

/// The ships-in-view histogram is fed every this many ticks: a sample is as good as every
/// snapshot for a distribution, and costs a tenth.
const VIEW_SAMPLE_TICKS: u64 = 10;

/// A room's limits, from the server's configuration.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    /// Above this many players, no system lines and a kill feed limited to what concerns you.
    pub big_room_players: usize,
    /// Snapshots a member may be sent while it acknowledges none newer (see
    /// `ClientView::unacknowledged`).
    pub unacknowledged: u32,
}

/// Someone in this room: a player with a ship, or a spectator.
struct Member {
    info: PlayerInfo,
    /// The session actor, for kicks.
    session: Addr<PlayerSession>,
    /// Where this member's frames go; the session's writer sends them.
    outbox: Arc<Outbox>,
    /// Where its session leaves its inputs and newest acknowledgement: each tick applies the
    /// oldest buffered input (one per tick, none skipped, so a predicting client can replay
    /// them). The client paces its inputs by the server's ticks, which keeps the buffer from
    /// creeping up to its cap and adding latency (see `inbox`).
    inbox: Arc<Inbox>,
    /// Its acknowledgement and what it was sent: the delta baseline.
    view: ClientView,
    /// Reliable messages for this member alone (its welcome, kills it should hear about),
    /// encoded, waiting for the next tick.
    pending: Vec<Bytes>,
    /// Its palette slot (its colour), given back when it leaves.
    colour_slot: u32,
    /// Its `Welcome` has gone out: roster chunks may follow.
    welcomed: bool,
    /// Where in the room's `announced` (this tick's joins and leaves) its news starts: 0 for a
    /// member from before this tick, past its own `Joined` for one who joined in it (its
    /// welcome lists everyone here then).
    hears_from: usize,
    /// While its roster is open: the players who were here when it joined and whose roster
    /// line and score it has not been sent yet, highest id first (each tick's chunk comes off
    /// the end), possibly none when only the closing short `Roster` is owed. `None` once it was
    /// sent a `Welcome` or `Roster` of fewer than `ROSTER_CHUNK_PLAYERS` players: that is how a
    /// client knows its roster is whole (`PROTOCOL.md`, Roster), within `players /
    /// ROSTER_CHUNK_PLAYERS + 1` ticks of joining.
    roster_due: Option<Vec<PlayerId>>,
    /// The next of the room's `obstacle_chunks` to send it, one per tick after its `Match`
    /// (`obstacle_chunks.len()` once all are sent).
    obstacles_due: usize,
    /// For a spectator: the player it watches whose true score line it was sent, and is sent
    /// again at each change (see `Room::subject_scores`).
    scored: Option<PlayerId>,
    /// Its chat allowance: the seat's, whichever connection holds it.
    chat: chat::Allowance,
    /// Its client's address as the connection caps count it (`None`: not known, as in the
    /// unit tests): a spectator from an address that plays in the room watches only that
    /// address's players (see `Room::ships_by_address`).
    client: Option<IpAddr>,
    /// A spectator's `Follow` not yet checked against that rule: one it overrules is answered
    /// with [`FOLLOW_OVERRULED`], once.
    follow_unchecked: bool,
}

/// The seat of a player whose connection was lost, kept for a rejoin: who it was and its
/// colour. Its ship stays in the world meanwhile, away (see [`World::leave_seat`]), and the
/// others keep it in their rosters: they hear `Left` only if the seat is released.
struct Seat {
    info: PlayerInfo,
    colour_slot: u32,
    /// The chat allowance it left with: dropping the connection and rejoining does not refill it.
    chat: chat::Allowance,
    /// Its lost connection's address, for the host's list.
    client: Option<IpAddr>,
}

/// See the module docs.
pub struct Room {
    name: String,
    lobby: Addr<Lobby>,
    stats: Arc<Stats>,
    world: World,
    /// By id, so every pass over members runs in the same order.
    members: BTreeMap<PlayerId, Member>,
    clock: TickClock,
    /// Tick `n` is due at `start + due_nanos(n)`.
    start: Instant,
    limits: RoomLimits,
    /// The last `HISTORY_TICKS` frames: delta baselines.
    history: History,
    /// Grids and buffers for building snapshots, reused every tick.
    builder: ViewBuilder,
    /// Reused every tick: the inputs the step consumes.
    tick_inputs: Vec<(PlayerId, Input)>,
    /// Players with an input still waiting in their buffer after the last step, ascending (filled
    /// in `members`' id order): their own state says so ([`PlayerState::INPUT_WAITING`]), and
    /// their client leaves a slot out.
    inputs_waiting: Vec<PlayerId>,
    /// Reused every tick: what the step produced for players to hear about.
    events: Vec<GameEvent>,
    /// Messages every member gets with the next tick, each encoded once.
    shared: Vec<Bytes>,
    /// This tick's `Joined` and `Left`, in order, each encoded once: each member hears those
    /// from its `hears_from` on. A log rather than a copy in every member's `pending`, so a
    /// ramp-up or a mass leave costs one entry per arrival, not one per arrival per member, and
    /// the members from before the tick still share one batch.
    announced: Vec<Bytes>,
    /// Kills since the last tick, where they happened and encoded: in big rooms each member
    /// gets only those that concern it.
    kills: Vec<(Kill, Vec2, Bytes)>,
    /// Members told this tick that their chat is too fast, and the warning, encoded once.
    too_fast: (Vec<PlayerId>, Bytes),
    /// [`FOLLOW_OVERRULED`] as a `Chat`, encoded once.
    follow_overruled: Bytes,
    /// Reused per member: its reliable messages this tick.
    outgoing: Vec<Bytes>,
    /// Reused every tick: score lines for everyone (see `world::scores`).
    scores: Vec<ScoreLine>,
    /// Reused every tick: changed score lines for their owners alone.
    own_scores: Vec<ScoreLine>,
    /// The newest radar, encoded, for newcomers; refreshed every `RADAR_INTERVAL_TICKS`.
    radar: Option<Bytes>,
    radar_cells: Vec<u8>,
    /// Reused every tick: members whose session is gone, with that session.
    gone: Vec<(PlayerId, Addr<PlayerSession>)>,
    /// Rebuilt each tick while the room has spectators: its players by address (connected, or
    /// away with a seat kept), sorted. A spectator whose address has a player here watches only those players: else
    /// a player could open a second connection as a spectator, follow an opponent and see
    /// everything the opponent sees (the area of interest would hide nothing from it).
    ships_by_address: Vec<(IpAddr, PlayerId)>,
    /// The outboxes filled this tick, by worker thread: one wake-up per worker.
    wakes: Wakes,
    /// Colours in use: each member holds a slot, given back when it leaves.
    palette: Palette,
    /// This room's entry in the health watchdog's list, stored at every tick.
    heartbeat: Arc<std::sync::atomic::AtomicU64>,
    /// Seats kept for lost players until they rejoin or the lobby releases them.
    seats: BTreeMap<PlayerId, Seat>,
    /// The last `TICK_TIMES` wake-ups' durations in microseconds, for the admin page.
    tick_times: std::collections::VecDeque<u32>,
    /// The current map's obstacles past those a `Match` carries, as encoded `Obstacles`
    /// messages of `MAP_CHUNK_OBSTACLES` each, shared by every member that is sent them.
    obstacle_chunks: Vec<Bytes>,
    /// The encoded `Results` of the match just ended, while its results phase lasts: whoever
    /// joins (or takes its seat back) then gets them after its `Match`, as those present did.
    results: Option<Bytes>,
    /// How many "NAME joined" lines the chat may still carry (`chat::presence_limiter`): a
    /// client joining and leaving in a loop must not fill everyone's chat with lines whose
    /// text is the name it chose.
    presence: crate::rate_limit::RateLimiter,
    /// The players (members and kept seats) whose "joined" line was said: only they get a
    /// "left" line.
    introduced: std::collections::BTreeSet<PlayerId>,
    /// Players whose "joined" line waits for `presence`, oldest first: said as it allows, or
    /// never if they leave first (so a client joining and leaving in a loop is not heard of,
    /// while a LAN party arriving together is, a few seconds late for the last of them).
    unannounced: std::collections::VecDeque<PlayerId>,
    /// How the names of the members and kept seats draw ([`look`]), one each: a newcomer whose
    /// name draws like one of them gets a number.
    looks: std::collections::HashSet<String>,
    /// Raised when a panic unwinds out of the room's own code (a wake-up, a message): its
    /// thread's runtime then drops the room, and other rooms on that thread go on. `stopped`
    /// tells the lobby, which closes its players and forgets it: left as it was, its players
    /// stayed connected to nothing, the lobby sent joins into it, and the health checks no
    /// longer saw it.
    panicked: PanicFlag,
}

/// Wake-up durations kept for the admin page: ten seconds' worth.
const TICK_TIMES: usize = 300;

impl Room {
    /// A room named `name` playing `world`; it starts ticking when started.
    pub fn new(name: String, lobby: Addr<Lobby>, stats: Arc<Stats>, world: World, limits: RoomLimits) -> Self {
        let builder = ViewBuilder::new(world.arena());
        let heartbeat = stats.heartbeats.register();
        Self {
            name,
            lobby,
            stats,
            world,
            members: BTreeMap::new(),
            clock: TickClock::new(MAX_CATCHUP_STEPS),
            start: Instant::now(),
            limits,
            history: History::default(),
            builder,
            tick_inputs: Vec::new(),
            inputs_waiting: Vec::new(),
            events: Vec::new(),
            shared: Vec::new(),
            announced: Vec::new(),
            kills: Vec::new(),
            too_fast: (Vec::new(), encode(&ServerMsg::Chat(ChatLine { from: None, text: chat::TOO_FAST.to_owned() }))),
            follow_overruled: encode(&ServerMsg::Chat(ChatLine { from: None, text: FOLLOW_OVERRULED.to_owned() })),
            outgoing: Vec::new(),
            scores: Vec::new(),
            own_scores: Vec::new(),
            radar: None,
            radar_cells: Vec::new(),
            gone: Vec::new(),
            ships_by_address: Vec::new(),
            wakes: Wakes::default(),
            palette: Palette::new(),
            heartbeat,
            seats: BTreeMap::new(),
            tick_times: std::collections::VecDeque::with_capacity(TICK_TIMES),
            obstacle_chunks: Vec::new(),
            results: None,
            presence: chat::presence_limiter(Instant::now()),
            introduced: std::collections::BTreeSet::new(),
            unannounced: std::collections::VecDeque::new(),
            looks: std::collections::HashSet::new(),
            panicked: PanicFlag::default(),
        }
    }

    /// True while the room is small enough for everyone to hear about everything.
    fn chatty(&self) -> bool {
        self.world.len() <= self.limits.big_room_players
    }

    /// Sleeps until the next tick is due (never re-arming a fixed period, which drifts).
    fn schedule(&self, ctx: &mut Context<Self>) {
        let due = self.start + Duration::from_nanos(self.clock.next_due_nanos());
        ctx.run_later(due.saturating_duration_since(Instant::now()), |room, ctx| room.wake(ctx));
    }

    fn wake(&mut self, ctx: &mut Context<Self>) {
        let _watch = self.panicked.watch();
        let elapsed = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let plan = self.clock.advance(elapsed);
        if plan.skipped > 0 {
            Stats::add(&self.stats.ticks_skipped, plan.skipped);
            tracing::warn!(room = %self.name, skipped = plan.skipped, "room fell behind; ticks skipped");
        }
        if plan.steps == 0 {
            return self.schedule(ctx);
        }
        let work = Instant::now();
        let cpu = thread_cpu_seconds();
        for _ in 0..plan.steps {
            self.step();
        }
        self.broadcast();
        let took = work.elapsed();
        crate::priority::room_ticked(took);
        self.stats.tick_seconds.observe(took.as_secs_f64());
        self.stats.tick_cpu_seconds.observe((thread_cpu_seconds() - cpu).max(0.0));
        if self.tick_times.len() == TICK_TIMES {
            self.tick_times.pop_front();
        }
        self.tick_times.push_back(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        if plan.steps > 1 || took >= TICK_DURATION {
            Stats::inc(&self.stats.tick_overruns);
        }
        self.schedule(ctx);
    }

    fn step(&mut self) {
        self.tick_inputs.clear();
        self.inputs_waiting.clear();
        let (mut repeated, mut overflowed) = (0, 0);
        for (id, member) in &mut self.members {
            let taken = member.inbox.take();
            if taken.silent_ticks > 0 {
                member.view.excuse_unacknowledged(taken.silent_ticks);
            }
            if let Some(tick) = taken.ack {
                member.view.ack(tick);
                member.view.heard(self.world.tick());
                // Checked only as acknowledgements come: one that sends none (a spectator
                // that does not, or a hidden tab that stopped its inputs) is the heartbeat's.
                let unacknowledged = member.view.unacknowledged();
                if unacknowledged > self.limits.unacknowledged {
                    member.view.restart_unacknowledged();
                    member.session.do_send(Kick(Close::Unacknowledged { snapshots: unacknowledged }));
                    tracing::debug!(room = %self.name, player = id, unacknowledged, "not reading: kicking");
                } else if let Some(ticks) = member.view.trailing(self.world.tick(), self.limits.unacknowledged) {
                    member.session.do_send(Kick(Close::Behind { seconds: ticks / u64::from(TICK_RATE_HZ) }));
                    tracing::debug!(room = %self.name, player = id, ticks, "reading too slowly: kicking");
                }
            }
            // Spectators have no ship to steer (their sessions drop inputs already).
            if member.info.spectator {
                continue;
            }
            repeated += u64::from(taken.repeated);
            overflowed += u64::from(taken.overflowed);
            if taken.waiting {
                self.inputs_waiting.push(*id);
            }
            if let Some(input) = taken.input {
                self.tick_inputs.push((*id, input));
            }
        }
        // Only when there is something to add: the counters are shared by every room.
        if repeated > 0 {
            Stats::add(&self.stats.inputs_repeated, repeated);
        }
        if overflowed > 0 {
            Stats::add(&self.stats.inputs_overflowed, overflowed);
        }
        if !self.inputs_waiting.is_empty() {
            Stats::add(&self.stats.inputs_waiting, self.inputs_waiting.len() as u64);
        }
        self.world.step(&self.tick_inputs);
        Stats::inc(&self.stats.ticks);
        self.stats.heartbeats.beat(&self.heartbeat);
        self.world.take_events(&mut self.events);
        if !self.events.is_empty() {
            let mut events = std::mem::take(&mut self.events);
            for event in events.drain(..) {
                self.announce(event);
            }
            self.events = events;
        }
    }

    /// Queues what players must hear about one game event for the next tick.
    fn announce(&mut self, event: GameEvent) {
        match event {
            GameEvent::Kill(kill, at) => {
                let bytes = encode(&ServerMsg::Kill(kill));
                if self.chatty() {
                    self.shared.push(bytes);
                    let line = chat::kill_line(self.name_of(kill.killer), self.name_of(kill.victim));
                    self.system_line(line);
                } else {
                    self.kills.push((kill, at, bytes));
                }
            }
            GameEvent::Match(info) => {
                tracing::info!(room = %self.name, phase = ?info.phase, map = %info.map.name, "match phase");
                let status = RoomStatus { room: self.name.clone(), map: info.map.name.clone(), phase: info.phase };
                self.lobby.do_send(status);
                if info.phase != skirmish_shared::Phase::Results {
                    self.results = None;
                }
                let bytes = self.encode_match(info);
                self.shared.push(bytes);
                // The `Match` replaces the client's map: the rest of it follows again.
                for member in self.members.values_mut() {
                    member.obstacles_due = 0;
                }
            }
            GameEvent::Results(results) => {
                tracing::info!(room = %self.name, winner = results.winner, next = %results.next_map, "match over");
                let bytes = encode(&ServerMsg::Results(results));
                self.results = Some(bytes.clone());
                self.shared.push(bytes);
            }
        }
    }

    /// Encodes a `Match` carrying the first `MAP_CHUNK_OBSTACLES` of its map's obstacles, and
    /// keeps the rest as the chunks to follow it (the same bytes for every `Match` of a map).
    fn encode_match(&mut self, mut info: MatchInfo) -> Bytes {
        let rest = info.map.obstacles.split_off(info.map.obstacles.len().min(MAP_CHUNK_OBSTACLES));
        self.obstacle_chunks.clear();
        self.obstacle_chunks
            .extend(rest.chunks(MAP_CHUNK_OBSTACLES).map(|c| encode(&ServerMsg::Obstacles(c.to_vec()))));
        encode(&ServerMsg::Match(info))
    }

    fn name_of(&self, id: PlayerId) -> &str {
        self.members.get(&id).map_or("someone", |m| m.info.name.as_str())
    }

    /// A system chat line (joins, leaves, kills) to everyone with the next tick.
    fn system_line(&mut self, text: String) {
        self.shared.push(encode(&ServerMsg::Chat(ChatLine { from: None, text })));
    }

    /// The radar of living ships, encoded (for everyone, and for newcomers until the next one).
    fn refresh_radar(&mut self) -> Bytes {
        let (width, height) = self.world.radar_grid();
        self.world.radar_into(width, height, &mut self.radar_cells);
        // Both fit in a byte: the limits are 64 and 40.
        let radar = Radar { width: width as u8, height: height as u8, cells: self.radar_cells.clone() };
        let bytes = encode(&ServerMsg::Radar(radar));
        self.radar = Some(bytes.clone());
        bytes
    }

    /// Queues the next roster chunk (and its players' scores, as the room holds them: see
    /// `world::scores`) for every member whose roster is open: `ROSTER_CHUNK_PLAYERS` players
    /// per member per tick, fewer only in the last chunk, which closes the roster (an empty one
    /// when the players due ran out on a full chunk). A player who left before its turn is
    /// skipped and the chunk filled from those after it (the member hears of the departure
    /// through `Left`), so a short chunk always means the end.
    fn queue_roster_chunks(&mut self) {
        let mut infos = Vec::new();
        let mut scores = Vec::new();
        let due: Vec<PlayerId> =
            self.members.iter().filter(|(_, m)| m.welcomed && m.roster_due.is_some()).map(|(id, _)| *id).collect();
        for id in due {
            let Some(member) = self.members.get_mut(&id) else { continue };
            let Some(mut ids) = member.roster_due.take() else { continue };
            let mut scored = member.scored;
            infos.clear();
            scores.clear();
            while infos.len() < ROSTER_CHUNK_PLAYERS
                && let Some(other) = ids.pop()
            {
                if let Some(info) = self.info_of(other) {
                    infos.push(info.clone());
                    scores.extend(self.world.shown_score(other));
                    // The chunk carries the line the room holds: a spectator watching that
                    // player is sent its true line again after it (`subject_scores`).
                    scored = scored.filter(|&s| s != other);
                }
            }
            let Some(member) = self.members.get_mut(&id) else { continue };
            member.scored = scored;
            // A full chunk leaves the roster open (the next may be empty); a short one closes
            // it, and the list's memory goes back rather than stay for the connection's life.
            member.roster_due = (infos.len() == ROSTER_CHUNK_PLAYERS).then_some(ids);
            member.pending.push(encode(&ServerMsg::Roster(std::mem::take(&mut infos))));
            if !scores.is_empty() {
                member.pending.push(encode(&ServerMsg::Scores(std::mem::take(&mut scores))));
            }
        }
    }

    /// Builds and hands out every member's frames for the tick just simulated.
    fn broadcast(&mut self) {
        let tick = self.world.tick();
        self.scores.clear();
        self.own_scores.clear();
        self.world.publish_scores(SCORES_CHUNK_LINES, &mut self.scores, &mut self.own_scores);
        if !self.scores.is_empty() {
            self.shared.push(encode(&ServerMsg::Scores(std::mem::take(&mut self.scores))));
        }
        for line in &self.own_scores {
            if let Some(member) = self.members.get_mut(&line.id) {
                member.pending.push(encode(&ServerMsg::Scores(vec![*line])));
            }
        }
        // After the scores: a chunk's lines are then the ones the room holds from this tick on.
        self.queue_roster_chunks();
        if !self.unannounced.is_empty() {
            self.announce_joins();
        }
        if tick.is_multiple_of(RADAR_INTERVAL_TICKS) || self.radar.is_none() {
            let radar = self.refresh_radar();
            self.shared.push(radar);
        }
        self.history.record(tick, |frame| self.world.frame_into(frame));
        let Some(frame) = self.history.get(tick) else { return };
        let arena = self.world.arena();
        self.builder.index(frame, arena, self.members.len() * TICK_BYTES_PER_MEMBER);
        let head = Head { phase: self.world.phase(), time_left_ms: self.world.time_left_ms() };
        let first_ship = frame.ships.first().map(|s| s.id);
        let sample = tick.is_multiple_of(VIEW_SAMPLE_TICKS);
        let (mut records, mut bits, mut fulls, mut bytes_out) = (0u64, 0u64, 0u64, 0u64);
        // What every member gets alike this tick, copied once into the tick's buffer (a lone
        // message is not copied at all: its bytes are shared as they are). A member with
        // nothing of its own gets it as the whole batch; one with messages of its own (its
        // zeroed score line when a match restarts, the next map chunk after a `Match`) gets its
        // own start, these bytes and its own end, gathered into one frame as it is written. A
        // copy each was up to 2.8 MB of output a tick at 1000 players: RSS bumps of 2–5 MiB at
        // every match change in a soak.
        let shared_count = self.announced.len() + self.shared.len();
        let shared_body = self.builder.concat(self.announced.iter().chain(&self.shared));
        let shared_batch = match (shared_count, &shared_body) {
            (1, Some(body)) => Some(Frame::Binary(body.clone())),
            (n, Some(body)) => {
                Some(Frame::Gathered([self.builder.batch_head(n, std::iter::empty()), body.clone(), Bytes::new()]))
            }
            (_, None) => None,
        };
        self.ships_by_address.clear();
        if self.members.values().any(|m| m.info.spectator) {
            self.ships_by_address.extend(
                self.members.iter().filter(|(_, m)| !m.info.spectator).filter_map(|(&id, m)| Some((m.client?, id))),
            );
            // And the seats kept for its players away: else its spectator could follow an
            // opponent as soon as its player dropped (from an outside test of a griefer).
            self.ships_by_address.extend(self.seats.iter().filter_map(|(&id, seat)| Some((seat.client?, id))));
            self.ships_by_address.sort_unstable();
        }
        for (&id, member) in &mut self.members {
            if !member.session.connected() {
                self.gone.push((id, member.session.clone()));
                continue;
            }
            // A spectator sees what the player it follows sees (the first player if it named
            // nobody, or its choice left); one from an address with players here, only what
            // they see (its choice among them, else the first of them).
            let mut overruled = false;
            let subject = if member.info.spectator {
                let own = member.client.map_or(&[][..], |client| {
                    let from = self.ships_by_address.partition_point(|(a, _)| *a < client);
                    let to = self.ships_by_address.partition_point(|(a, _)| *a <= client);
                    &self.ships_by_address[from..to]
                });
                let allowed = |f: &PlayerId| own.is_empty() || own.iter().any(|(_, p)| p == f);
                // Said, not only done (from an outside test of a caster: Q/E seemed broken).
                overruled =
                    std::mem::take(&mut member.follow_unchecked) && member.view.follow.is_some_and(|f| !allowed(&f));
                let choice = member.view.follow.filter(|f| allowed(f) && self.world.position(*f).is_some());
                choice.or_else(|| if own.is_empty() { first_ship } else { own.first().map(|(_, p)| *p) })
            } else {
                Some(id)
            };
            let mut me = subject.and_then(|s| self.world.own_state(s));
            // Whose inputs wait is news for the subject's client; a spectator sees it too, as it
            // sees everything else its player does.
            if let Some(own) = &mut me
                && self.inputs_waiting.binary_search(&own.id).is_ok()
            {
                own.flags |= PlayerState::INPUT_WAITING;
            }
            let centre = me.map_or(arena / 2.0, |m| view_centre(m.pos.as_vec2() / POS_SCALE, arena));

            self.outgoing.clear();
            self.outgoing.append(&mut member.pending);
            let own_first = self.outgoing.len();
            let hears_all = member.hears_from == 0;
            // Shrink only well past the usual size, so a steady trickle of joins does not
            // reallocate every tick.
            if member.pending.capacity() > 4 * PENDING_KEPT {
                member.pending.shrink_to(PENDING_KEPT);
            }
            // A member that joined this tick hears only part of the log: its batch is its own.
            let own = self.outgoing.len() + member.hears_from;
            self.outgoing.extend(self.announced.iter().skip(member.hears_from).cloned());
            member.hears_from = 0;
            self.outgoing.extend(self.shared.iter().cloned());
            let own_last = self.outgoing.len();
            let mut watched = false;
            if member.info.spectator
                && let Some(lines) = subject_scores(&self.world, &self.own_scores, member, subject)
            {
                self.outgoing.push(encode(&ServerMsg::Scores(lines)));
                watched = true;
            }
            let mut kills = 0;
            // A spectator's feed is its player's: the kills that player made or suffered out of
            // view too (they used to be the spectator's own, which are none).
            let whose = subject.unwrap_or(id);
            for (kill, at, bytes) in &self.kills {
                let near = (*at - centre).abs().max_element() <= AOI_HALF_EXTENT;
                if near || kill.killer == whose || kill.victim == whose {
                    self.outgoing.push(bytes.clone());
                    kills += 1;
                }
            }
            // After the chat lines of this tick, among them the sender's own let through.
            let too_fast = self.too_fast.0.contains(&id);
            if too_fast {
                self.outgoing.push(self.too_fast.1.clone());
            }
            if overruled {
                self.outgoing.push(self.follow_overruled.clone());
            }
            let warned = too_fast || overruled;
            // The rest of the map, a chunk per tick after its `Match` (which went out in an
            // earlier batch, or earlier in this one), never in the welcome's own batch.
            let mut chunks = 0;
            if member.welcomed
                && let Some(chunk) = self.obstacle_chunks.get(member.obstacles_due)
            {
                self.outgoing.push(chunk.clone());
                member.obstacles_due += 1;
                chunks += 1;
            }
            let reliable = if own == 0 && kills == 0 && chunks == 0 && !warned && !watched {
                shared_batch.clone()
            } else if hears_all && self.outgoing.len() > 1 {
                // Two or more messages, at least one of its own: its own start, the shared
                // bytes (none on some ticks) and its own end. A lone message goes to `batch`,
                // which hands it out uncopied (a map chunk on a tick with nothing shared, the
                // usual case after a `Match`: a copy each was 1 MB a tick at 1000 players, heap
                // peaks about 1 MB over the usual at every match change).
                let head = self.builder.batch_head(self.outgoing.len(), self.outgoing[..own_first].iter());
                let tail = self.builder.concat(self.outgoing[own_last..].iter()).unwrap_or_default();
                Some(Frame::Gathered([head, shared_body.clone().unwrap_or_default(), tail]))
            } else {
                self.builder.batch(self.outgoing.iter()).map(Frame::Binary)
            };
            member.welcomed = true;
            if let Some(frame) = &reliable {
                member.view.sent_reliable(frame.payload_len());
            }
            let snapshot = member.view.wants_snapshot(tick).then(|| {
                let (snapshot, delta, full) =
                    self.builder.build(frame, &self.history, &mut member.view, centre, me, head);
                bytes_out += snapshot.len() as u64;
                records += u64::from(delta.ships.changed + delta.ships.entered);
                bits += delta.ships.bits;
                fulls += u64::from(full);
                if sample {
                    let in_view = delta.ships.carried + delta.ships.changed + delta.ships.entered;
                    self.stats.ships_in_view.observe(f64::from(in_view));
                }
                snapshot
            });
            if snapshot.is_none() {
                Stats::inc(&self.stats.snapshots_thinned);
            }
            match member.outbox.push_tick(reliable, snapshot) {
                Ok(true) => Stats::inc(&self.stats.snapshots_dropped),
                Ok(false) => {}
                Err(overflow) => {
                    member.session.do_send(Kick(Close::QueueFull));
                    tracing::warn!(room = %self.name, player = id, %overflow, "kicking");
                }
            }
            self.wakes.add(&member.outbox);
        }
        // One wake-up per worker thread, which wakes its writers (see `crate::wake`).
        self.wakes.send();
        Stats::add(&self.stats.ship_records, records);
        Stats::add(&self.stats.ship_record_bits, bits);
        Stats::add(&self.stats.full_snapshots, fulls);
        tracing::trace!(room = %self.name, tick, bytes_out, "tick sent");
        self.shared.clear();
        self.announced.clear();
        self.kills.clear();
        self.too_fast.0.clear();
        // A session that died without saying goodbye (e.g. before its join reply arrived) is
        // removed through the lobby, which keeps the authoritative membership.
        for (id, session) in self.gone.drain(..) {
            self.lobby.do_send(Leave {
                id,
                room: self.name.clone(),
                session,
                reserve: true,
                why: DisconnectReason::Lost,
            });
        }
    }
}

/// The score lines a spectator needs this tick, if any. Its HUD shows the line of the player it
/// watches (`subject`), which a big room keeps current for that player alone
/// (`world::scores`): so it gets that player's true line when it starts watching them and
/// again at each change no one else hears of, and, for the player it stopped watching, the line
/// the whole room holds, so that its table's top stays the true top.
fn subject_scores(
    world: &World,
    own_scores: &[ScoreLine],
    member: &mut Member,
    subject: Option<PlayerId>,
) -> Option<Vec<ScoreLine>> {
    let mut lines = Vec::new();
    if member.scored == subject {
        let subject = subject?;
        lines.extend(own_scores.iter().find(|l| l.id == subject));
    } else {
        if let Some(old) = member.scored
            && world.position(old).is_some()
        {
            lines.push(world.shown_score(old).unwrap_or(ScoreLine { id: old, kills: 0, deaths: 0 }));
        }
        lines.extend(subject.and_then(|s| world.score(s)));
        member.scored = subject;
    }
    (!lines.is_empty()).then_some(lines)
}

impl Room {
    /// The room panicked (`panicked`): its members leave the player counts, and the
    /// lobby closes their connections (1011) and forgets the room.
    fn failed_room(&mut self, addr: Addr<Room>) {
        for member in self.members.values() {
            Stats::dec(&self.stats.players);
            if member.info.spectator {
                Stats::dec(&self.stats.spectators);
            }
        }
        tracing::error!(
            room = %self.name, members = self.members.len(), seats_kept = self.seats.len(), tick = self.world.tick(),
            "room failed: a panic in its code (logged above); its players are closed with 1011, and the next join opens it afresh"
        );
        self.lobby.do_send(RoomFailed { room: self.name.clone(), addr });
    }
}

/// Encodes a message once, for any number of receivers.
fn encode(msg: &ServerMsg) -> Bytes {
    Bytes::from(encode_server(msg))
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        self.start = Instant::now();
        tracing::debug!(room = %self.name, hz = TICK_RATE_HZ, "room ticking");
        crate::idle_memory::claim();
        self.schedule(ctx);
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        if self.panicked.raised() {
            self.failed_room(ctx.address());
        }
        // The room's history and views are freed when it is dropped, just after this: into
        // this thread's allocator cache, which goes a few seconds later if no room is left here.
        crate::idle_memory::release();
    }
}

impl Handler<AddPlayer> for Room {
    type Result = ();

    fn handle(&mut self, msg: AddPlayer, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        let seat = if msg.rejoin { self.seats.remove(&msg.id) } else { None };
        let (info, colour_slot) = match &seat {
            // The seat kept for it: the same name and colour.
            Some(seat) => (seat.info.clone(), seat.colour_slot),
            None => {
                let name = unique_name(&msg.name, |n| self.looks.contains(&look(n)));
                self.looks.insert(look(&name));
                let colour_slot = self.palette.take();
                let colour = palette_colour(colour_slot);
                (PlayerInfo { id: msg.id, name, colour, spectator: msg.spectator }, colour_slot)
            }
        };
        let back = seat.is_some();
        if back {
            self.world.return_to_seat(msg.id);
        } else if !msg.spectator {
            // Joining mid-match means playing at once: the ship spawns now, whatever the phase.
            self.world.add_player(msg.id, &info.name);
        }
        let (mut pending, roster_due) = self.welcome_bundle(&info, &msg.token);
        if msg.room_full {
            // Else the page of a player who asked to play shows the game with no ship and no
            // word of why (an outside test of a caster's room).
            pending.push(encode(&ServerMsg::Chat(ChatLine { from: None, text: ROOM_FULL.to_owned() })));
        }
        self.members.insert(
            msg.id,
            Member {
                info: info.clone(),
                session: msg.session,
                outbox: msg.outbox,
                inbox: msg.inbox,
                view: ClientView::default(),
                pending,
                colour_slot,
                welcomed: false,
                follow_unchecked: false,
                hears_from: 0,
                roster_due,
                obstacles_due: 0,
                scored: None,
                chat: seat.map_or_else(|| chat::Allowance::new(Instant::now()), |seat| seat.chat),
                client: msg.client,
            },
        );
        Stats::inc(&self.stats.players);
        if info.spectator {
            Stats::inc(&self.stats.spectators);
        }
        // Everyone else learns of the newcomer with the next tick (the newcomer's own welcome
        // already lists it); a player back in its seat never left their rosters.
        if !back {
            self.announced.push(encode(&ServerMsg::Joined(info.clone())));
            if self.chatty() {
                self.unannounced.push_back(msg.id);
                self.announce_joins();
            }
        }
        let hears_from = self.announced.len();
        if let Some(member) = self.members.get_mut(&msg.id) {
            member.hears_from = hears_from;
        }
        tracing::info!(
            room = %self.name, player = msg.id, name = ?info.name, address = msg.client.map(display),
            spectator = msg.spectator, back, members = self.members.len(), "player joined"
        );
    }
}

impl Room {
    /// What a member needs before its first snapshot, in order, encoded: `Welcome` (it first,
    /// then the top of the scoreboard, then as many of the others by id as fit one chunk, and
    /// its rejoin `token`), the match, those players' scores and the radar; and the others,
    /// whose roster lines follow a chunk per tick (`queue_roster_chunks`), each with its
    /// players' scores: `Some` (possibly empty) while the roster stays open, `None` when the
    /// `Welcome` lists everyone and, being short, closes it.
    ///
    /// The top comes first because in a big room a member's board shows the best
    /// `SCOREBOARD_TOP` of the lines it holds, and its place among them: with the rest a chunk a
    /// tick, the newcomer's board and place would be wrong for as long as the chunks take (a
    /// second at 1000 players).
    fn welcome_bundle(&mut self, info: &PlayerInfo, token: &str) -> (Vec<Bytes>, Option<Vec<PlayerId>>) {
        const { assert!(SCOREBOARD_TOP < ROSTER_CHUNK_PLAYERS, "the top fits the first chunk") };
        let top: Vec<PlayerId> = self
            .world
            .top_players(SCOREBOARD_TOP + 1)
            .into_iter()
            .filter(|id| *id != info.id && self.info_of(*id).is_some())
            .take(SCOREBOARD_TOP)
            .collect();
        // Members and kept seats (no id is in both), highest id first, so that the lowest
        // comes off the end first.
        let mut roster_due: Vec<PlayerId> = Vec::with_capacity(self.members.len() + self.seats.len());
        roster_due.extend(self.members.keys().chain(self.seats.keys()).copied());
        roster_due.sort_unstable_by(|a, b| b.cmp(a));
        roster_due.retain(|id| *id != info.id && !top.contains(id));
        let room_left = ROSTER_CHUNK_PLAYERS - 1 - top.len();
        let first = roster_due.split_off(roster_due.len().saturating_sub(room_left));
        let mut players = vec![info.clone()];
        players.extend(top.iter().chain(first.iter().rev()).filter_map(|id| self.info_of(*id)).cloned());
        // Its own line as it stands, the others' as the room holds them (see `world::scores`).
        let table: Vec<ScoreLine> = self
            .world
            .score(info.id)
            .into_iter()
            .chain(players[1..].iter().filter_map(|p| self.world.shown_score(p.id)))
            .collect();
        let players_listed = players.len();
        let welcome = ServerMsg::Welcome(Welcome {
            id: info.id,
            arena: self.world.arena(),
            tick_rate: TICK_RATE_HZ,
            colour: info.colour,
            room: self.name.clone(),
            players,
            spectator: info.spectator,
            rejoin: token.to_owned(),
        });
        let matched = self.encode_match(self.world.match_info());
        let mut pending = vec![encode(&welcome), matched];
        pending.extend(self.results.clone());
        pending.push(encode(&ServerMsg::Scores(table)));
        pending.extend(self.radar.clone());
        // A full `Welcome` leaves the roster open: `Roster` chunks follow, the last one short.
        let open = players_listed == ROSTER_CHUNK_PLAYERS;
        (pending, open.then_some(roster_due))
    }

    /// Tells everyone a player left (and, in a small room, says so in the chat if it said the
    /// player joined). To the members
    /// of now only: one who joins later in this tick (the same player taking a seat back, even)
    /// starts past it (`hears_from`), so it does not hear of this departure after its welcome.
    fn announce_departure(&mut self, id: PlayerId, name: &str) {
        self.announced.push(encode(&ServerMsg::Left(Left { id })));
        self.looks.remove(&look(name));
        if let Some(waiting) = self.unannounced.iter().position(|&p| p == id) {
            self.unannounced.remove(waiting);
        }
        if self.introduced.remove(&id) && self.chatty() {
            self.system_line(chat::left_line(name));
        }
    }

    /// Says the "joined" lines waiting for the allowance, oldest first, as far as it allows (in
    /// a room grown big meanwhile, none).
    fn announce_joins(&mut self) {
        if !self.chatty() {
            self.unannounced.clear();
        }
        while let Some(&id) = self.unannounced.front() {
            let Some(name) = self.info_of(id).map(|info| chat::joined_line(&info.name)) else {
                self.unannounced.pop_front();
                continue;
            };
            if !self.presence.allow(Instant::now()) {
                return;
            }
            self.unannounced.pop_front();
            self.system_line(name);
            self.introduced.insert(id);
        }
    }

    /// Who a player is, for a roster: a member's, or a kept seat's (its ship is still in the
    /// world, so every roster holds it).
    fn info_of(&self, id: PlayerId) -> Option<&PlayerInfo> {
        self.members.get(&id).map(|m| &m.info).or_else(|| self.seats.get(&id).map(|s| &s.info))
    }
}

/// How `name` draws, for telling names apart: its UTS #39 skeleton (which takes `José` with a
/// combining accent for `José`, the Kelvin sign for `K`, Cyrillic `е` for Latin `e` and a
/// no-break space for a space), once the variation selectors and the zero-width joiner and
/// non-joiner are out, the characters a name may hold that draw nothing by themselves
/// (`codec::check_name` refuses every other). A player whose name draws like another's gets a
/// number, so nobody's chat lines, kills and "wins!" read as someone else's.
///
/// Marks on a Latin letter, digit or sign are left out too: a dot, a kasra or an enclosing circle
/// on the `0` of `bot-0` is a few pixels a reader does not see at a glance (from an outside test
/// of a griefer), and `José` and `Jose` side by side would be told apart by the number anyway.
/// Marks on other scripts' letters stay: a Devanagari vowel sign makes another name.
fn look(name: &str) -> String {
    let drawn: String = name
        .chars()
        .filter(|c| !matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{200C}' | '\u{200D}'))
        .collect();
    let mut on_ascii = false;
    unicode_security::confusable_detection::skeleton(&drawn)
        .filter(|&c| {
            let mark = is_combining_mark(c);
            on_ascii = (on_ascii && mark) || c.is_ascii();
            !(mark && on_ascii)
        })
        .collect()
}

/// Two people may not share a name in one room: the later one gets a number appended (cut so
/// the result still fits `MAX_NAME_CHARS`).
///
/// A name typed with a number of that kind, `bot-0#2` while a `bot-0` plays, is numbered as the
/// look-alike it is (`bot-0#2#2`): as typed it would read as the server's own second `bot-0`.
/// Alone, `Ann#1234` stays as typed.
pub fn unique_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let numbered_like_a_taken_name = name
        .rsplit_once('#')
        .is_some_and(|(base, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && taken(base));
    if !taken(name) && !numbered_like_a_taken_name {
        return name.to_owned();
    }
    (2u32..)
        .map(|i| {
            let suffix = format!("#{i}");
            let keep = skirmish_shared::consts::MAX_NAME_CHARS.saturating_sub(suffix.len());
            format!("{}{suffix}", name.chars().take(keep).collect::<String>().trim_end())
        })
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_owned())
}

impl Handler<RemovePlayer> for Room {
    type Result = ();

    fn handle(&mut self, msg: RemovePlayer, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if let Some(member) = self.members.remove(&msg.id) {
            Stats::dec(&self.stats.players);
            if member.info.spectator {
                Stats::dec(&self.stats.spectators);
            }
            // A seat is kept for a player with a ship: the ship stays, away, until the player
            // is back or the seat is released.
            let kept = msg.reserve && self.world.leave_seat(msg.id);
            tracing::info!(
                room = %self.name, player = msg.id, name = ?member.info.name, why = %msg.why.label(),
                members = self.members.len(), kept, "player left"
            );
            if kept {
                let seat = Seat {
                    info: member.info,
                    colour_slot: member.colour_slot,
                    chat: member.chat,
                    client: member.client,
                };
                self.seats.insert(msg.id, seat);
            } else {
                self.world.remove_player(msg.id);
                self.palette.give_back(member.colour_slot);
                self.announce_departure(msg.id, &member.info.name);
            }
        }
    }
}

impl Handler<Report> for Room {
    type Result = MessageResult<Report>;

    fn handle(&mut self, _msg: Report, _ctx: &mut Self::Context) -> Self::Result {
        let _watch = self.panicked.watch();
        // The kept seats too: their ships play on in the world, and the host may kick them.
        let members = self.members.values().map(|m| (&m.info, false, m.client));
        let players = members
            .chain(self.seats.values().map(|s| (&s.info, true, s.client)))
            .map(|(info, away, address)| {
                let (kills, deaths) = self.world.score_of(info.id).unwrap_or_default();
                let (id, name, spectator) = (info.id, info.name.clone(), info.spectator);
                PlayerReport { id, name, spectator, kills, deaths, away, address }
            })
            .collect();
        let mut times: Vec<u32> = self.tick_times.iter().copied().collect();
        times.sort_unstable();
        let at = |q: f64| {
            let i = ((times.len() as f64 - 1.0) * q).round() as usize;
            times.get(i).map_or(0.0, |us| f64::from(*us) / 1000.0)
        };
        MessageResult(RoomReport { players, tick_p50_ms: at(0.5), tick_p99_ms: at(0.99) })
    }
}

impl Handler<ReleaseSeat> for Room {
    type Result = ();

    fn handle(&mut self, msg: ReleaseSeat, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if let Some(seat) = self.seats.remove(&msg.id) {
            self.world.remove_player(msg.id);
            self.palette.give_back(seat.colour_slot);
            self.announce_departure(msg.id, &seat.info.name);
            tracing::debug!(room = %self.name, player = msg.id, "seat released");
        }
    }
}

impl Handler<Replace> for Room {
    type Result = ();

    /// The player's new connection takes over its live seat: the old session is closed, the
    /// new one gets a fresh welcome and full snapshots from the next tick.
    fn handle(&mut self, msg: Replace, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        let Some(member) = self.members.get(&msg.id) else { return };
        member.session.do_send(Kick(Close::Replaced));
        let info = member.info.clone();
        let (pending, roster_due) = self.welcome_bundle(&info, &msg.token);
        let Some(member) = self.members.get_mut(&msg.id) else { return };
        (member.session, member.outbox, member.inbox) = (msg.session, msg.outbox, msg.inbox);
        member.client = msg.client;
        self.world.reset_input(msg.id);
        member.view = ClientView::default();
        member.pending = pending;
        (member.welcomed, member.roster_due, member.obstacles_due) = (false, roster_due, 0);
        member.scored = None;
        tracing::info!(room = %self.name, player = msg.id, "player's new connection replaced its old one");
    }
}

impl Handler<FollowFrom> for Room {
    type Result = ();

    fn handle(&mut self, msg: FollowFrom, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if let Some(member) = self.members.get_mut(&msg.id)
            && member.info.spectator
        {
            member.view.follow = msg.target;
            member.follow_unchecked = true;
        }
    }
}

impl Handler<ChatFrom> for Room {
    type Result = ();

    fn handle(&mut self, msg: ChatFrom, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        let Some(member) = self.members.get_mut(&msg.id) else { return };
        match member.chat.line(Instant::now()) {
            chat::Verdict::Send => {
                // Who said what, from where: the host's only way to tell a spammer among
                // look-alike names (from an outside test of a griefer). A target of its own, so
                // `RUST_LOG=info,skirmish_server::chat=off` leaves it out.
                tracing::info!(
                    target: "skirmish_server::chat", room = %self.name, player = msg.id, name = ?member.info.name,
                    address = member.client.map(display), text = ?msg.text, "chat"
                );
                self.shared.push(encode(&ServerMsg::Chat(ChatLine { from: Some(msg.id), text: msg.text })));
            }
            chat::Verdict::Warn => self.chat_too_fast(msg.id),
            chat::Verdict::Drop => {}
        }
    }
}

impl Room {
    /// Tells `id` its chat goes too fast (once per burst: the verdicts say when) and logs it,
    /// whichever limit dropped the lines: the seat's here, or the connection's or the
    /// address's in its session (from an outside test of a host: a spammer over the
    /// connection's limit was told, but the log said nothing).
    fn chat_too_fast(&mut self, id: PlayerId) {
        let Some(member) = self.members.get(&id) else { return };
        tracing::info!(
            target: "skirmish_server::chat", room = %self.name, player = id, name = ?member.info.name,
            address = member.client.map(display), "chat too fast: lines dropped"
        );
        self.too_fast.0.push(id);
    }
}

impl Handler<ChatTooFast> for Room {
    type Result = ();

    fn handle(&mut self, msg: ChatTooFast, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if let Some(member) = self.members.get_mut(&msg.id)
            && member.chat.dropped() == chat::Verdict::Warn
        {
            self.chat_too_fast(msg.id);
        }
    }
}

impl Handler<StopRoom> for Room {
    type Result = ();

    fn handle(&mut self, _msg: StopRoom, ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        ctx.stop();
    }
}

/// CPU time this thread has used, in seconds (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

#[cfg(test)]
mod tests {
    use super::{look, unique_name};

    #[test]
    fn duplicate_names_get_a_number_and_still_fit() {
        let taken = ["Twin", "Twin#2", "ABCDEFGHIJKLMNOP"];
        let is_taken = |n: &str| taken.contains(&n);
        assert_eq!(unique_name("Solo", is_taken), "Solo");
        assert_eq!(unique_name("Twin", is_taken), "Twin#3");
        let long = unique_name("ABCDEFGHIJKLMNOP", is_taken);
        assert_eq!(long, "ABCDEFGHIJKLMN#2");
        assert_eq!(long.chars().count(), skirmish_shared::consts::MAX_NAME_CHARS);
        // A cut that leaves a trailing space trims it rather than showing "Some #2".
        assert_eq!(unique_name("Abcdefghijklm xy", |n| n == "Abcdefghijklm xy"), "Abcdefghijklm#2");
    }

    /// From an outside test of a griefer: names that read as another player's at a glance.
    #[test]
    fn a_name_numbered_or_marked_like_a_players_is_numbered_as_a_look_alike() {
        let room = [look("bot-0")];
        let taken = |n: &str| room.contains(&look(n));
        // The server's own number, typed: it would read as the second `bot-0`.
        assert_eq!(unique_name("bot-0#2", taken), "bot-0#2#2");
        // A dot above, a kasra below, an enclosing circle on the 0.
        for marked in ["bot-0\u{307}", "bot-0\u{650}", "bot-0\u{20DD}", "bo\u{301}t-0"] {
            assert_eq!(unique_name(marked, taken), format!("{marked}#2"), "{marked:?}");
        }
        // With no `bot-0` to pass for, a tag stays as typed, and so does a name with a `#` alone.
        assert_eq!(unique_name("Ann#1234", taken), "Ann#1234");
        assert_eq!(unique_name("bot-0#", taken), "bot-0#");
        // Marks on another script's letters make another name: Devanagari राम and रम.
        assert_ne!(look("\u{930}\u{93E}\u{92E}"), look("\u{930}\u{92E}"));
        assert_eq!(look("Jos\u{E9}"), look("Jose"));
    }
}
