//! The `Lobby` actor: one `Room` actor per room name, created on the first join and stopped once
//! it has stayed empty for a grace period (a player whose connection dropped finds it again).
//! Every join and leave passes through here, so the player count per room is exact and a room is
//! never stopped while a join is on its way to it. Quick play (a `Hello` with an empty room
//! name) is decided here: the fullest public room with space, or a new one.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use skirmish_shared::consts::DEFAULT_ROOM;
use skirmish_shared::{Phase, PlayerId};
use tokio_util::sync::CancellationToken;

use crate::close::Close;
use crate::maps::MapList;
use crate::match_flow::MatchSettings;
use crate::messages::{
    Abandon, AddPlayer, Join, JoinError, Joined, Kick, Leave, ReleaseSeat, RemovePlayer, Replace, Report, RoomFailed,
    RoomReport, RoomStatus, StopRoom,
};
use crate::panic_watch::PanicFlag;
use crate::player_session::PlayerSession;
use crate::room::{Room, RoomLimits};
use crate::stats::{DisconnectReason, Stats};
use crate::world::World;

/// A live room as the lobby sees it.
struct RoomEntry {
    addr: Addr<Room>,
    /// Everyone the room holds: players with a ship, spectators, and the seats kept for lost
    /// players, by id. One B-tree rather than a hash table per kind: it allocates and frees its
    /// nodes as members come and go, so under churn (a thousand players coming and going) it
    /// holds what the room holds now, where each table kept the buckets its tombstones once
    /// made it double to. Ids only grow, so a join appends at its right edge.
    members: BTreeMap<PlayerId, Member>,
    /// How many members are players with a ship, spectators and kept seats: `members` counted
    /// by role, kept as it changes (quick play reads them for every room at every join).
    players: usize,
    spectators: usize,
    kept: usize,
    /// Created private: not listed, never picked by quick play; joined by name only.
    private: bool,
    /// The map being played, as the room last reported.
    map: String,
    /// The match phase, as the room last reported.
    phase: Phase,
    /// Counts the times the room became empty: a removal timer set then only acts if no
    /// one came and went since.
    emptied: u64,
    /// The address that opened it, counted against `max_rooms_per_ip` while it lives.
    opened_by: Option<IpAddr>,
    /// Closed by the admin (the reason its players read): nobody joins it any more, and it
    /// goes as soon as its sessions have left, with no grace period.
    closing: Option<&'static str>,
}

/// One of a room's members.
struct Member {
    role: Role,
    /// The client's address as the connection caps count it: a player's seat, connected or
    /// kept, counts against it (`max_kept_seats_per_ip`).
    client: Option<IpAddr>,
    /// The player's rejoin token, while its seat can be taken back; empty for spectators,
    /// who hold no seat.
    token: String,
}

/// What a member is.
enum Role {
    /// A player with a ship, connected through this session: a leave from any other session
    /// is stale.
    Player(Addr<PlayerSession>),
    /// A spectator, connected through this session.
    Spectator(Addr<PlayerSession>),
    /// A lost player's seat, waiting for its rejoin. `number` numbers the reservation: an
    /// expiry timer acts only on the reservation it was set for.
    Kept { number: u64 },
}

impl Member {
    /// The connection, for a player or a spectator.
    fn session(&self) -> Option<&Addr<PlayerSession>> {
        match &self.role {
            Role::Player(session) | Role::Spectator(session) => Some(session),
            Role::Kept { .. } => None,
        }
    }
}

/// One fewer for `client` in a per-address count (rooms opened), which holds only addresses
/// with at least one.
fn count_down(per_ip: &mut HashMap<IpAddr, usize>, client: Option<IpAddr>) {
    if let Some(ip) = client
        && let Some(count) = per_ip.get_mut(&ip)
    {
        *count -= 1;
        if *count == 0 {
            per_ip.remove(&ip);
        }
    }
}

/// The seats one client address holds, in every room.
#[derive(Default)]
struct Held {
    /// Its players with a ship and a connection.
    players: usize,
    /// Its lost players' kept seats, by reservation number: the first is the oldest.
    kept: BTreeMap<u64, PlayerId>,
}

/// The seats each client address holds (only addresses with one), kept as members come and go
/// ([`RoomEntry::admit`], [`RoomEntry::dismiss`]): its connected players and its kept seats
/// together are held to its share, so that dropping connections holds no more seats than
/// keeping them open would. It also keeps the `skirmish_kept_seats` gauge, every address's.
struct SeatsPerIp(HashMap<IpAddr, Held>, Arc<Stats>);

impl SeatsPerIp {
    /// Seats `client` holds: connected players and kept seats.
    fn held(&self, client: Option<IpAddr>) -> usize {
        client.and_then(|ip| self.0.get(&ip)).map_or(0, |held| held.players + held.kept.len())
    }

    /// `client`'s oldest kept seat: its reservation number and its player.
    fn oldest_kept(&self, client: IpAddr) -> Option<(u64, PlayerId)> {
        self.0.get(&client)?.kept.first_key_value().map(|(&number, &id)| (number, id))
    }

    /// Counts member `id` in (`up`) or out of its address's seats; spectators hold none.
    fn count(&mut self, id: PlayerId, member: &Member, up: bool) {
        match (&member.role, up) {
            (Role::Kept { .. }, true) => Stats::inc(&self.1.kept_seats),
            (Role::Kept { .. }, false) => Stats::dec(&self.1.kept_seats),
            _ => {}
        }
        let Some(ip) = member.client else { return };
        let held = self.0.entry(ip).or_default();
        match (&member.role, up) {
            (Role::Player(_), true) => held.players += 1,
            (Role::Player(_), false) => held.players -= 1,
            (Role::Kept { number }, true) => _ = held.kept.insert(*number, id),
            (Role::Kept { number }, false) => _ = held.kept.remove(number),
            (Role::Spectator(_), _) => {}
        }
        if held.players == 0 && held.kept.is_empty() {
            self.0.remove(&ip);
        }
    }
}

impl RoomEntry {
    fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Seats taken: players with a ship, and the seats kept for lost players to take back (a
    /// newcomer given one would leave its owner's rejoin over the room's limit).
    fn seats_taken(&self) -> usize {
        self.players + self.kept
    }

    /// The count of `role`'s kind.
    fn tally(&mut self, role: &Role) -> &mut usize {
        match role {
            Role::Player(_) => &mut self.players,
            Role::Spectator(_) => &mut self.spectators,
            Role::Kept { .. } => &mut self.kept,
        }
    }

    /// Adds (or replaces) member `id`, counted in `seats` too.
    fn admit(&mut self, id: PlayerId, member: Member, seats: &mut SeatsPerIp) {
        *self.tally(&member.role) += 1;
        seats.count(id, &member, true);
        if let Some(old) = self.members.insert(id, member) {
            *self.tally(&old.role) -= 1;
            seats.count(id, &old, false);
        }
    }

    /// Takes member `id` out, counted out of `seats` too.
    fn dismiss(&mut self, id: PlayerId, seats: &mut SeatsPerIp) -> Option<Member> {
        let member = self.members.remove(&id)?;
        *self.tally(&member.role) -= 1;
        seats.count(id, &member, false);
        Some(member)
    }

    /// Member `id`'s kept seat, taken out, if that is what it is.
    fn take_kept(&mut self, id: PlayerId, seats: &mut SeatsPerIp) -> Option<Member> {
        let kept = self.members.get(&id).is_some_and(|m| matches!(m.role, Role::Kept { .. }));
        if kept { self.dismiss(id, seats) } else { None }
    }
}

/// What every room's game is made of: shared by all rooms, fixed at start-up.
#[derive(Debug, Clone)]
pub struct GameSetup {
    /// The map rotation.
    pub maps: Arc<MapList>,
    /// Match timings and limits.
    pub settings: MatchSettings,
    /// The server's seed; each room mixes in its name.
    pub seed: u64,
    /// Players with a ship per room; later joiners spectate.
    pub max_players_per_room: usize,
    /// Rooms with more players than this go quiet (see `Config::big_room_players`).
    pub big_room_players: usize,
    /// Snapshots a client may be sent while it acknowledges none newer, before it is cut as not
    /// reading: the send-stall timeout's worth (see `ClientView::unacknowledged`).
    pub unacknowledged_limit: u32,
    /// Spectators per room; later joiners are refused.
    pub max_spectators_per_room: usize,
    /// Most rooms at once; a join that would create one more is refused (the default room is
    /// always created).
    pub max_rooms: usize,
    /// Rooms alive that one client address may have opened (0: no cap).
    pub max_rooms_per_ip: usize,
    /// Seats one client address may hold with its players connected and its lost players'
    /// seats kept, together (0: no cap): the open connections it may hold, so that dropping them
    /// cannot hold more seats than keeping them. A lost player's seat is not kept past it, and
    /// a player who joins past it frees the address's oldest kept seat.
    pub max_kept_seats_per_ip: usize,
    /// How long an empty room is kept before it is removed.
    pub empty_room_grace: Duration,
    /// How long a lost player's seat waits for a rejoin (zero: seats are not kept).
    pub seat_reservation: Duration,
}

impl GameSetup {
    /// The seed of room `name`: the server seed and the name through FNV-1a, so rooms differ
    /// from each other and a room replays the same under the same server seed.
    pub fn room_seed(&self, name: &str) -> u64 {
        self.seed
            .to_le_bytes()
            .iter()
            .chain(name.as_bytes())
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
    }
}

/// One room in `/api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSummary {
    /// Its name.
    pub name: String,
    /// Players with a ship.
    pub players: usize,
    /// Seats kept for lost players to take back: taken, like `players`, for a newcomer.
    pub kept: usize,
    /// Spectators.
    pub spectators: usize,
    /// Players with a ship it holds at most (later joiners spectate).
    pub capacity: usize,
    /// The map being played.
    pub map: String,
    /// The match phase.
    pub phase: Phase,
}

/// See the module docs.
pub struct Lobby {
    rooms: HashMap<String, RoomEntry>,
    /// Ids are unique for the life of the process, so a late message about a player who left
    /// can never be mistaken for a newcomer.
    next_id: PlayerId,
    setup: GameSetup,
    /// Rooms are spread over these threads so independent rooms tick on different cores.
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    stats: Arc<Stats>,
    shutting_down: bool,
    /// Numbers the rooms quick play creates (`play-1`, `play-2`, …).
    next_quick: u64,
    /// Where each rejoin token leads: room and player.
    seats: HashMap<String, (String, PlayerId)>,
    /// Numbers seat reservations, so a stale expiry timer does nothing.
    next_reservation: u64,
    /// Rooms alive per address that opened them (only addresses with one).
    opened_per_ip: HashMap<IpAddr, usize>,
    /// When each address opened its rooms of the last [`ROOM_OPENINGS_WINDOW`] (at most
    /// [`OPENINGS_PER_CAP`] × `max_rooms_per_ip` each), gone or alive: the cap on rooms alive
    /// alone let an address that opened rooms and left hold its share for ever, reopening each
    /// as the last went at the end of its grace (from an outside test: 13 addresses held 98 of
    /// 100 rooms, empty, and no new or private room could open).
    openings: HashMap<IpAddr, std::collections::VecDeque<Instant>>,
    /// Seats held per client address: players connected and seats kept.
    seats_per_ip: SeatsPerIp,
    /// Addresses the host kicked a player of, by room, and until when they may not join it
    /// again (see [`KICK_BAN`]).
    banned: HashMap<(String, IpAddr), Instant>,
    /// The rejoin tokens of seats kept in rooms the host closed, with the room's reason, until
    /// their reservation would have run out: a page that was away when the room closed comes
    /// back with one, and is told, rather than open the room again as a newcomer with no word
    /// of the close (an outside test of a LAN host).
    closed_seats: HashMap<String, (&'static str, Instant)>,
    /// Raised when a panic unwinds out of the lobby's own code (a message, a timer): the
    /// runtime then drops the lobby, and with it every join, leave and room; `stopped` says so
    /// through `failed`, and the server shuts down rather than serve on with no lobby.
    panicked: PanicFlag,
    /// Cancelled when the lobby failed: see [`Lobby::failure`].
    failed: CancellationToken,
}

/// The window over which an address's room openings are counted (see [`OPENINGS_PER_CAP`]).
pub const ROOM_OPENINGS_WINDOW: Duration = Duration::from_secs(600);

/// How many rooms an address may open within [`ROOM_OPENINGS_WINDOW`], gone ones included, as a
/// multiple of `--max-rooms-per-ip`: twice its share of rooms alive, room enough for a household
/// that opens and leaves a few rooms, while one that opens rooms only to leave them holds few.
pub const OPENINGS_PER_CAP: usize = 2;

/// How long the address of a player the host kicked may not join that room again: without
/// it, a kicked griefer was back as a newcomer half a second later (an outside test of a LAN
/// host), and the page's Reconnect button took it back in one click. An address, so everyone
/// behind it (a household, a NAT) is kept out of that room too; a restart forgets it.
pub const KICK_BAN: Duration = Duration::from_secs(10 * 60);

/// How the reason a join refused by a kick's ban reads starts ([`banned_reason`] adds the time
/// left). It says the address, not "you": everyone behind it (a household) is kept out, and a
/// housemate who was never kicked read "kicked" (an outside test of a LAN host).
pub const BANNED_REASON: &str = "the host kicked a player from your address out of this room";

/// The reason a join refused by a kick's ban reads, `left` before the ban ends.
pub fn banned_reason(left: Duration) -> String {
    format!("{BANNED_REASON}: try again in {} min", left.as_secs().div_ceil(60).max(1))
}

impl Lobby {
    /// A lobby whose rooms play `setup` on `threads` arbiter threads of nice value `room_nice`
    /// and real-time priority `room_realtime` (0: none; see `crate::priority`).
    pub fn new(setup: GameSetup, threads: usize, room_nice: i32, room_realtime: u8, stats: Arc<Stats>) -> Self {
        let arbiters = (0..threads.max(1))
            .map(|_| {
                let handle = Arbiter::new().handle();
                handle.spawn_fn(move || crate::priority::apply_room_priority(room_nice, room_realtime));
                handle
            })
            .collect();
        Self {
            rooms: HashMap::new(),
            next_id: 1,
            setup,
            arbiters,
            next_arbiter: 0,
            stats: Arc::clone(&stats),
            shutting_down: false,
            next_quick: 1,
            seats: HashMap::new(),
            next_reservation: 0,
            opened_per_ip: HashMap::new(),
            openings: HashMap::new(),
            seats_per_ip: SeatsPerIp(HashMap::new(), stats),
            banned: HashMap::new(),
            closed_seats: HashMap::new(),
            panicked: PanicFlag::default(),
            failed: CancellationToken::new(),
        }
    }

    /// Cancelled if the lobby fails (a panic in its code, a bug): no one could join or leave a
    /// room from then on, so the server shuts down (`http::run`), for a supervisor to start it
    /// afresh.
    pub fn failure(&self) -> CancellationToken {
        self.failed.clone()
    }

    /// Whether a kick's ban keeps `client` out of `room` now.
    fn is_banned(&self, room: &str, client: Option<IpAddr>) -> bool {
        self.ban_left(room, client).is_some()
    }

    /// How long a kick's ban keeps `client` out of `room` yet, if one does.
    fn ban_left(&self, room: &str, client: Option<IpAddr>) -> Option<Duration> {
        let until = *self.banned.get(&(room.to_owned(), client?))?;
        until.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())
    }

    /// Keeps `client` out of `room` for [`KICK_BAN`], and forgets the bans that ran out.
    fn ban(&mut self, room: &str, client: Option<IpAddr>) {
        let now = Instant::now();
        self.banned.retain(|_, until| *until > now);
        if let Some(client) = client {
            self.banned.insert((room.to_owned(), client), now + KICK_BAN);
        }
    }

    /// Quick play's room for `client`: the public room with the most players that has space
    /// for one more (the first by name among equals), or the name of a new one: the default
    /// room while it is not open (on a fresh server, quick play and the clients that name no
    /// room, the bots among them, would otherwise start apart in `play-1` and `main`), else
    /// `play-N`. Never a room the host is closing, nor one a kick's ban keeps `client` out of:
    /// the fullest room would otherwise refuse everyone behind a kicked player's address (a
    /// household, a NAT) for the length of the ban.
    fn quick_play_room(&mut self, client: Option<IpAddr>) -> String {
        let best = self
            .rooms
            .iter()
            .filter(|(name, e)| {
                !e.private
                    && e.closing.is_none()
                    && e.seats_taken() < self.setup.max_players_per_room
                    && !self.is_banned(name, client)
            })
            .max_by(|(a_name, a), (b_name, b)| a.seats_taken().cmp(&b.seats_taken()).then(b_name.cmp(a_name)));
        if let Some((name, _)) = best {
            return name.clone();
        }
        if !self.rooms.contains_key(DEFAULT_ROOM) && !self.is_banned(DEFAULT_ROOM, client) {
            return DEFAULT_ROOM.to_owned();
        }
        loop {
            let name = format!("play-{}", self.next_quick);
            self.next_quick += 1;
            if !self.rooms.contains_key(&name) && !self.is_banned(&name, client) {
                return name;
            }
        }
    }

    /// Starts room `name` on the next arbiter.
    fn create_room(&mut self, name: &str, private: bool, opened_by: Option<IpAddr>, lobby: Addr<Lobby>) -> RoomEntry {
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter += 1;
        let seed = self.setup.room_seed(name);
        let world = World::new(seed, self.setup.maps.clone(), self.setup.settings);
        let (map, phase) = (world.map().name.clone(), world.phase());
        let limits = RoomLimits {
            big_room_players: self.setup.big_room_players,
            unacknowledged: self.setup.unacknowledged_limit,
        };
        let (room_name, stats) = (name.to_owned(), self.stats.clone());
        let addr = Room::start_in_arbiter(arbiter, move |_| Room::new(room_name, lobby, stats, world, limits));
        Stats::inc(&self.stats.rooms);
        tracing::info!(room = %name, seed, private, opened_by = opened_by.map(display), "room created");
        // The default room is nobody's to count (`may_open`): its first player keeps its share
        // (from an outside test: the day's first player, at a cap of 1, could open no room).
        let opened_by = opened_by.filter(|_| name != DEFAULT_ROOM);
        if let Some(ip) = opened_by {
            *self.opened_per_ip.entry(ip).or_default() += 1;
            let now = Instant::now();
            self.openings.retain(|_, times| {
                while times.front().is_some_and(|t| now.duration_since(*t) >= ROOM_OPENINGS_WINDOW) {
                    times.pop_front();
                }
                !times.is_empty()
            });
            self.openings.entry(ip).or_default().push_back(now);
        }
        RoomEntry {
            addr,
            members: BTreeMap::new(),
            players: 0,
            spectators: 0,
            kept: 0,
            private,
            map,
            phase,
            emptied: 0,
            opened_by,
            closing: None,
        }
    }

    /// Why opening room `name` for `client` is refused, if it is.
    fn may_open(&self, name: &str, client: Option<IpAddr>) -> Result<(), JoinError> {
        // The default room is where the plain URL leads: nobody can take it away by filling the
        // server with rooms.
        if name == DEFAULT_ROOM {
            return Ok(());
        }
        if self.rooms.len() >= self.setup.max_rooms {
            return Err(JoinError::TooManyRooms);
        }
        let opened = client.and_then(|ip| self.opened_per_ip.get(&ip)).copied().unwrap_or(0);
        let cap = self.setup.max_rooms_per_ip;
        if cap > 0 && opened >= cap {
            return Err(JoinError::TooManyRoomsFromAddress);
        }
        let now = Instant::now();
        let recent: Vec<Instant> = client.and_then(|ip| self.openings.get(&ip)).map_or_else(Vec::new, |times| {
            times.iter().copied().filter(|t| now.duration_since(*t) < ROOM_OPENINGS_WINDOW).collect()
        });
        let allowed = cap.saturating_mul(OPENINGS_PER_CAP);
        if cap > 0 && recent.len() >= allowed {
            // Free again when the opening that brought the count to the limit leaves the window.
            let freed_at = recent[recent.len() - allowed] + ROOM_OPENINGS_WINDOW;
            return Err(JoinError::TooManyRoomOpenings(freed_at.saturating_duration_since(now)));
        }
        Ok(())
    }

    /// Stops room `name` if it is still empty since it became so for the `emptied`-th time.
    fn remove_if_empty(&mut self, name: &str, emptied: u64) {
        // Also run by a timer, outside any message.
        let _watch = self.panicked.watch();
        let still_empty = self.rooms.get(name).is_some_and(|e| e.emptied == emptied && e.is_empty());
        if still_empty && let Some(entry) = self.rooms.remove(name) {
            entry.addr.do_send(StopRoom);
            Stats::dec(&self.stats.rooms);
            count_down(&mut self.opened_per_ip, entry.opened_by);
            tracing::info!(room = %name, "room empty, removed");
        }
    }
}

impl Lobby {
    /// Starts the grace period of room `name` if no one is left in it, not even a reserved seat.
    fn check_empty(&mut self, name: &str, ctx: &mut Context<Self>) {
        let Some(entry) = self.rooms.get_mut(name) else { return };
        if !entry.is_empty() {
            return;
        }
        entry.emptied += 1;
        let emptied = entry.emptied;
        let grace = if entry.closing.is_some() { Duration::ZERO } else { self.setup.empty_room_grace };
        if grace.is_zero() {
            self.remove_if_empty(name, emptied);
        } else {
            let name = name.to_owned();
            ctx.run_later(grace, move |lobby, _| lobby.remove_if_empty(&name, emptied));
        }
    }

    /// A `Hello.rejoin` token's seat, taken back by a new session: `None` when the token leads
    /// nowhere (unknown, revoked, expired), and the caller joins it as a newcomer.
    fn rejoin(&mut self, token: &str, msg: &Join, ctx: &mut Context<Self>) -> Option<Joined> {
        let (room, id) = self.seats.get(token)?.clone();
        let entry = self.rooms.get_mut(&room)?;
        let (session, outbox, inbox) = (msg.session.clone(), msg.outbox.clone(), msg.inbox.clone());
        if let Some(kept) = entry.take_kept(id, &mut self.seats_per_ip) {
            let member = Member { role: Role::Player(session.clone()), client: msg.client, token: kept.token };
            entry.admit(id, member, &mut self.seats_per_ip);
            let add = AddPlayer {
                id,
                name: msg.name.clone(),
                spectator: false,
                room_full: false,
                session,
                outbox,
                inbox,
                token: token.to_owned(),
                rejoin: true,
                client: msg.client,
            };
            entry.addr.do_send(add);
        } else if let Some(member) = entry.members.get_mut(&id)
            && matches!(member.role, Role::Player(_))
        {
            // The old connection has not been noticed gone yet: the new one takes over.
            self.seats_per_ip.count(id, member, false);
            member.role = Role::Player(session.clone());
            member.client = msg.client.or(member.client);
            self.seats_per_ip.count(id, member, true);
            entry.addr.do_send(Replace { id, session, outbox, inbox, token: token.to_owned(), client: msg.client });
        } else {
            return None;
        }
        tracing::info!(room = %room, player = id, "player rejoined its seat");
        let joined = Joined { id, room: entry.addr.clone(), room_name: room, spectator: false };
        // A seat taken back from another address counts against this one now.
        self.free_over_share(msg.client, ctx);
        Some(joined)
    }

    /// Frees `client`'s oldest kept seats while the seats it holds are over its share (see
    /// [`GameSetup::max_kept_seats_per_ip`]): its players connected come first.
    fn free_over_share(&mut self, client: Option<IpAddr>, ctx: &mut Context<Self>) {
        let share = self.setup.max_kept_seats_per_ip;
        let Some(ip) = client.filter(|_| share > 0) else { return };
        while self.seats_per_ip.held(client) > share
            && let Some((number, id)) = self.seats_per_ip.oldest_kept(ip)
        {
            let is_it = |e: &RoomEntry| {
                e.members.get(&id).is_some_and(|m| matches!(m.role, Role::Kept { number: n } if n == number))
            };
            let room = self.rooms.iter().find(|(_, e)| is_it(e)).map(|(name, _)| name.clone());
            let Some(room) = room else {
                // Counted but in no room: cannot happen, as every dismissal counts it out;
                // forgotten, so that the loop ends.
                self.seats_per_ip.0.get_mut(&ip).map(|held| held.kept.remove(&number));
                continue;
            };
            self.free_seat(&room, id, number, "seat freed: its address's players hold its share", ctx);
        }
    }
}

impl Actor for Lobby {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if self.panicked.raised() {
            tracing::error!(
                rooms = self.rooms.len(),
                "lobby failed: a panic in its code (logged above); no one can join or leave a room now, so the server shuts down"
            );
            self.failed.cancel();
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl Handler<Join> for Lobby {
    type Result = Result<Joined, JoinError>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        let _watch = self.panicked.watch();
        if self.shutting_down {
            return Err(JoinError::ShuttingDown);
        }
        // A rejoin is not checked against a kick's ban: the kick freed the seats its address had
        // kept (see `AdminKick`), so a token that still leads to a seat is a player who was in
        // the room, still connected, when the host kicked: a housemate of the griefer, who must
        // not lose its seat at its next lost connection (an outside test of a LAN host).
        if let Some(token) = msg.rejoin.as_deref() {
            if let Some(joined) = self.rejoin(token, &msg, ctx) {
                return Ok(joined);
            }
            if let Some(&(reason, until)) = self.closed_seats.get(token)
                && Instant::now() < until
            {
                return Err(JoinError::Closed(reason));
            }
        }
        // The default room and quick play's rooms are everyone's: nobody may hide them from the
        // list and from quick play (a private room quick play opened would never be filled).
        let private = msg.private && msg.room.as_deref().is_some_and(|name| name != DEFAULT_ROOM);
        let room = match msg.room {
            Some(name) => name,
            None => self.quick_play_room(msg.client),
        };
        if let Some(left) = self.ban_left(&room, msg.client) {
            return Err(JoinError::Banned(left));
        }
        // Decided before a room is opened, so a refused join leaves none behind (no one would
        // ever leave it, so nothing would remove it).
        let existing = self.rooms.get(&room);
        if let Some(reason) = existing.and_then(|e| e.closing) {
            return Err(JoinError::Closed(reason));
        }
        let (seats_taken, spectators) = existing.map_or((0, 0), |e| (e.seats_taken(), e.spectators));
        // A player who finds the room full of players watches instead of being turned away.
        let spectator = msg.spectate || seats_taken >= self.setup.max_players_per_room;
        if spectator && spectators >= self.setup.max_spectators_per_room {
            let watching = seats_taken < self.setup.max_players_per_room;
            return Err(if watching { JoinError::NoSpectatorPlace } else { JoinError::RoomFull });
        }
        if existing.is_none() {
            self.may_open(&room, msg.client)?;
            let entry = self.create_room(&room, private, msg.client, ctx.address());
            self.rooms.insert(room.clone(), entry);
        }
        let entry = self.rooms.get_mut(&room).expect("the room was found or created above");
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        // A seat to take back after a lost connection, for players (spectators hold none).
        let (role, token) = if spectator {
            (Role::Spectator(msg.session.clone()), String::new())
        } else {
            let token = format!("{:032x}", rand::random::<u128>());
            self.seats.insert(token.clone(), (room.clone(), id));
            (Role::Player(msg.session.clone()), token)
        };
        entry.admit(id, Member { role, client: msg.client, token: token.clone() }, &mut self.seats_per_ip);
        let (session, outbox, inbox) = (msg.session, msg.outbox, msg.inbox);
        let add = AddPlayer {
            id,
            name: msg.name,
            spectator,
            room_full: spectator && !msg.spectate,
            session,
            outbox,
            inbox,
            token,
            rejoin: false,
            client: msg.client,
        };
        entry.addr.do_send(add);
        let joined = Joined { id, room: entry.addr.clone(), room_name: room, spectator };
        if !spectator {
            self.free_over_share(msg.client, ctx);
        }
        Ok(joined)
    }
}

impl Handler<Leave> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        self.leave(&msg.room, msg.id, &msg.session, msg.reserve, msg.why, ctx);
    }
}

impl Handler<Abandon> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: Abandon, ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        // The session never learnt its id: find it by its session. Rare (a connection that
        // ends within moments of its `Hello`), so one pass over the members is cheap enough.
        let found = self.rooms.iter().find_map(|(name, entry)| {
            entry.members.iter().find(|(_, m)| m.session() == Some(&msg.session)).map(|(&id, _)| (name.clone(), id))
        });
        if let Some((room, id)) = found {
            self.leave(&room, id, &msg.session, msg.reserve, msg.why, ctx);
        }
    }
}

impl Lobby {
    /// Member `id` of `room` left through `session`; `reserve` when its connection was lost, so
    /// its seat waits for a rejoin (see [`Leave`]).
    fn leave(
        &mut self,
        room: &str,
        id: PlayerId,
        session: &Addr<PlayerSession>,
        reserve: bool,
        why: DisconnectReason,
        ctx: &mut Context<Self>,
    ) {
        let Some(entry) = self.rooms.get_mut(room) else { return };
        if entry.members.get(&id).and_then(Member::session) != Some(session) {
            // A session whose seat a rejoin took over, or a second report of the same leave.
            return;
        }
        let member = entry.dismiss(id, &mut self.seats_per_ip).expect("the member was found above");
        let player = matches!(member.role, Role::Player(_));
        let grace = self.setup.seat_reservation;
        let client = member.client;
        // The seats the address holds without this one: its players still connected (who could
        // drop and be kept in turn) and its kept seats.
        let held = self.seats_per_ip.held(client);
        let over_cap = self.setup.max_kept_seats_per_ip > 0 && held >= self.setup.max_kept_seats_per_ip;
        if player && reserve && over_cap {
            tracing::info!(
                room,
                player = id,
                client = client.map(display),
                held,
                "seat not kept: its address holds its share"
            );
        }
        // A room the admin closed keeps no seat: one lost as the kick went out would hold it.
        // Nor does a seat whose token was revoked (an admin kick on its way when the
        // connection was lost): nothing could take it back.
        let reserve = player
            && reserve
            && !grace.is_zero()
            && !self.shutting_down
            && !over_cap
            && entry.closing.is_none()
            && self.seats.contains_key(&member.token);
        entry.addr.do_send(RemovePlayer { id, reserve, why });
        if reserve {
            self.next_reservation += 1;
            let number = self.next_reservation;
            entry.admit(id, Member { role: Role::Kept { number }, ..member }, &mut self.seats_per_ip);
            let room = room.to_owned();
            ctx.run_later(grace, move |lobby, ctx| lobby.free_seat(&room, id, number, "reserved seat expired", ctx));
        } else if !member.token.is_empty() {
            // A leave on purpose, or a close for cause (a kick): the token is revoked.
            self.seats.remove(&member.token);
        }
        self.check_empty(room, ctx);
    }

    /// The `number`-th reservation, of `id`'s seat in `room`, is over (`why`: it ran out, or
    /// its address's players took its share): free the seat and refuse its token from now on.
    fn free_seat(&mut self, room: &str, id: PlayerId, number: u64, why: &'static str, ctx: &mut Context<Self>) {
        // Also run by a timer, outside any message.
        let _watch = self.panicked.watch();
        let Some(entry) = self.rooms.get_mut(room) else { return };
        if !entry.members.get(&id).is_some_and(|m| matches!(m.role, Role::Kept { number: n } if n == number)) {
            return;
        }
        let Some(kept) = entry.dismiss(id, &mut self.seats_per_ip) else { return };
        self.seats.remove(&kept.token);
        entry.addr.do_send(ReleaseSeat { id });
        tracing::info!(room, player = id, client = kept.client.map(display), "{why}");
        self.check_empty(room, ctx);
    }
}

/// Server → Lobby: refuse new joins from now on (graceful shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for Lobby {
    type Result = ();

    fn handle(&mut self, _msg: Drain, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        self.shutting_down = true;
    }
}

/// Anyone → Lobby: whether a room of this name is open now, private ones included (for room
/// invite codes, drawn only for rooms that exist).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct RoomExists(pub String);

impl Handler<RoomExists> for Lobby {
    type Result = bool;

    fn handle(&mut self, msg: RoomExists, _ctx: &mut Self::Context) -> bool {
        let _watch = self.panicked.watch();
        self.rooms.contains_key(&msg.0)
    }
}

/// Anyone → Lobby: the public rooms and their head counts, by name (for `/api/rooms` and tests).
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

impl Handler<ListRooms> for Lobby {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _msg: ListRooms, _ctx: &mut Self::Context) -> Self::Result {
        let _watch = self.panicked.watch();
        let mut rooms: Vec<_> = self
            .rooms
            .iter()
            .filter(|(_, e)| !e.private)
            .map(|(name, e)| RoomSummary {
                name: name.clone(),
                players: e.players,
                kept: e.kept,
                spectators: e.spectators,
                capacity: self.setup.max_players_per_room,
                map: e.map.clone(),
                phase: e.phase,
            })
            .collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        MessageResult(rooms)
    }
}

impl Handler<RoomStatus> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: RoomStatus, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if let Some(entry) = self.rooms.get_mut(&msg.room) {
            (entry.map, entry.phase) = (msg.map, msg.phase);
        }
    }
}

/// One room on the admin page: what the lobby knows and what the room reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomAdmin {
    /// Its name.
    pub name: String,
    /// Created private (not listed).
    pub private: bool,
    /// The map being played.
    pub map: String,
    /// The match phase (as `/api/rooms` names it).
    pub phase: &'static str,
    /// Seats kept for lost players.
    pub reserved_seats: usize,
    /// The address that opened it (as the caps count it; none for the default room), so the
    /// host can tell whose empty rooms are piling up (from an outside test of a griefer).
    pub opened_by: Option<IpAddr>,
    /// Players and tick times, from the room.
    #[serde(flatten)]
    pub report: RoomReport,
}

/// Admin → Lobby: every room, private ones included, with what each room reports.
#[derive(Message)]
#[rtype(result = "Vec<RoomAdmin>")]
pub struct AdminRooms;

impl Handler<AdminRooms> for Lobby {
    type Result = ResponseFuture<Vec<RoomAdmin>>;

    fn handle(&mut self, _msg: AdminRooms, _ctx: &mut Self::Context) -> Self::Result {
        let _watch = self.panicked.watch();
        let mut rooms: Vec<(RoomAdmin, Addr<Room>)> = self
            .rooms
            .iter()
            .map(|(name, e)| {
                let admin = RoomAdmin {
                    name: name.clone(),
                    private: e.private,
                    map: e.map.clone(),
                    phase: phase_name(e.phase),
                    reserved_seats: e.kept,
                    opened_by: e.opened_by,
                    report: RoomReport::default(),
                };
                (admin, e.addr.clone())
            })
            .collect();
        rooms.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Box::pin(async move {
            let reports = futures_util::future::join_all(rooms.iter().map(|(_, addr)| addr.send(Report))).await;
            rooms
                .into_iter()
                .zip(reports)
                .map(|((mut admin, _), report)| {
                    // A room that stopped meanwhile reports nothing.
                    admin.report = report.unwrap_or_default();
                    admin
                })
                .collect()
        })
    }
}

/// A phase as `/api/rooms` and the admin page name it.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Waiting => "waiting",
        Phase::Countdown => "countdown",
        Phase::Playing => "playing",
        Phase::Results => "results",
    }
}

/// Admin → Lobby: close player `id`'s connection in `room` with 1008 and `reason` (its rejoin
/// token goes with it), and with `all_from_address` every other connection of its address in
/// that room. How many connections and seats went (0: there is no such player).
#[derive(Message)]
#[rtype(result = "usize")]
pub struct AdminKick {
    /// The room.
    pub room: String,
    /// The player.
    pub id: PlayerId,
    /// What the player reads.
    pub reason: &'static str,
    /// The address's other players and spectators in that room go too: a griefer with a
    /// room's worth of ships from one address took as many kicks (from an outside test).
    pub all_from_address: bool,
}

impl Handler<AdminKick> for Lobby {
    type Result = usize;

    fn handle(&mut self, msg: AdminKick, ctx: &mut Self::Context) -> usize {
        let _watch = self.panicked.watch();
        let Some(entry) = self.rooms.get_mut(&msg.room) else { return 0 };
        let client = if let Some(member) = entry.members.get(&msg.id)
            && let Some(session) = member.session()
        {
            session.do_send(Kick(Close::Kicked { code: 1008, reason: msg.reason, label: DisconnectReason::Kicked }));
            // Revoked now, not when the session's goodbye arrives: a rejoin with the token on its
            // way meanwhile would otherwise take the seat over and keep the player in.
            self.seats.remove(&member.token);
            let client = member.client;
            self.ban(&msg.room, client);
            client
        } else if let Some(kept) = entry.take_kept(msg.id, &mut self.seats_per_ip) {
            // A lost player's kept seat: freed, and its token leads nowhere.
            self.seats.remove(&kept.token);
            entry.addr.do_send(ReleaseSeat { id: msg.id });
            self.ban(&msg.room, kept.client);
            self.check_empty(&msg.room, ctx);
            kept.client
        } else {
            return 0;
        };
        // The address's other seats kept in that room are freed too: their tokens would get
        // the kicked player's other ships (lost on purpose beforehand) back in past the ban.
        // Its players still connected stay, seats and all, unless the host asked for them all.
        let (mut kept, mut connected) = (Vec::new(), Vec::new());
        if let Some(entry) = self.rooms.get(&msg.room)
            && client.is_some()
        {
            for (&id, m) in entry.members.iter().filter(|(id, m)| **id != msg.id && m.client == client) {
                match (&m.role, m.session()) {
                    (Role::Kept { number }, _) => kept.push((id, *number)),
                    (_, Some(session)) if msg.all_from_address => connected.push((session.clone(), m.token.clone())),
                    _ => {}
                }
            }
        }
        let count = 1 + kept.len() + connected.len();
        tracing::info!(
            room = %msg.room, player = msg.id, banned = client.map(display), others = count - 1, "kicked by the admin"
        );
        for (id, number) in kept {
            self.free_seat(&msg.room, id, number, "seat freed: the host kicked a player of its address", ctx);
        }
        for (session, token) in connected {
            session.do_send(Kick(Close::Kicked { code: 1008, reason: msg.reason, label: DisconnectReason::Kicked }));
            self.seats.remove(&token);
        }
        count
    }
}

/// One kick's ban still running, for the admin page and `/admin/api/status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BanReport {
    /// The room it keeps the address out of.
    pub room: String,
    /// The address (a global IPv6 address's /64, as the caps count it).
    pub address: IpAddr,
    /// Whole seconds until it ends (rounded up).
    pub seconds_left: u64,
}

/// Admin → Lobby: the kicks' bans still running, the soonest to end first.
#[derive(Message)]
#[rtype(result = "Vec<BanReport>")]
pub struct AdminBans;

impl Handler<AdminBans> for Lobby {
    type Result = Vec<BanReport>;

    fn handle(&mut self, _msg: AdminBans, _ctx: &mut Self::Context) -> Vec<BanReport> {
        let _watch = self.panicked.watch();
        let now = Instant::now();
        let mut bans: Vec<BanReport> = self
            .banned
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|((room, address), until)| BanReport {
                room: room.clone(),
                address: *address,
                seconds_left: (*until - now).as_secs_f64().ceil() as u64,
            })
            .collect();
        bans.sort_by(|a, b| (a.seconds_left, &a.room, a.address).cmp(&(b.seconds_left, &b.room, b.address)));
        bans
    }
}

/// Admin → Lobby: lift the kick's ban that keeps `address` out of `room` (a kick by mistake, or
/// a housemate of the griefer behind the same address): it may join and rejoin at once. False
/// when no such ban is running.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct AdminUnban {
    /// The room.
    pub room: String,
    /// The address, as [`AdminBans`] lists it (any address of a global IPv6 /64 does).
    pub address: IpAddr,
}

impl Handler<AdminUnban> for Lobby {
    type Result = bool;

    fn handle(&mut self, msg: AdminUnban, _ctx: &mut Self::Context) -> bool {
        let _watch = self.panicked.watch();
        let address = crate::client_addr::cap_key(msg.address);
        let lifted = self.banned.remove(&(msg.room.clone(), address)).is_some_and(|until| until > Instant::now());
        if lifted {
            tracing::info!(room = %msg.room, address = %address, "ban lifted by the admin");
        }
        lifted
    }
}

/// Admin → Lobby: close every connection in `room` with 1008 and `reason`, and free its kept
/// seats; the room goes once empty. False when there is no such room.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct AdminCloseRoom {
    /// The room.
    pub room: String,
    /// What its players read.
    pub reason: &'static str,
}

impl Handler<RoomFailed> for Lobby {
    type Result = ();

    /// Forgets the room at once, seats and all (its world is gone), and closes its members'
    /// connections with 1011: the page reconnects, and its join opens the room afresh.
    fn handle(&mut self, msg: RoomFailed, _ctx: &mut Self::Context) {
        let _watch = self.panicked.watch();
        if self.rooms.get(&msg.room).is_none_or(|entry| entry.addr != msg.addr) {
            return;
        }
        let mut entry = self.rooms.remove(&msg.room).expect("the room was found above");
        Stats::dec(&self.stats.rooms);
        Stats::inc(&self.stats.rooms_failed);
        count_down(&mut self.opened_per_ip, entry.opened_by);
        let ids: Vec<PlayerId> = entry.members.keys().copied().collect();
        for id in ids {
            let Some(member) = entry.dismiss(id, &mut self.seats_per_ip) else { continue };
            if let Some(session) = member.session() {
                session.do_send(Kick(Close::RoomFailed));
            }
            // Its rejoin now leads nowhere: the page joins as a newcomer.
            self.seats.remove(&member.token);
        }
    }
}

impl Handler<AdminCloseRoom> for Lobby {
    type Result = bool;

    fn handle(&mut self, msg: AdminCloseRoom, ctx: &mut Self::Context) -> bool {
        let _watch = self.panicked.watch();
        let Some(entry) = self.rooms.get_mut(&msg.room) else { return false };
        entry.closing = Some(msg.reason);
        let mut kept = Vec::new();
        let now = Instant::now();
        self.closed_seats.retain(|_, (_, until)| *until > now);
        for (&id, member) in &entry.members {
            if let Some(session) = member.session() {
                let label = DisconnectReason::RoomClosed;
                session.do_send(Kick(Close::Kicked { code: 1008, reason: msg.reason, label }));
            } else {
                kept.push(id);
                let until = now + self.setup.seat_reservation;
                self.closed_seats.insert(member.token.clone(), (msg.reason, until));
            }
            // No seat of this room may be taken back while its sessions are on their way out.
            self.seats.remove(&member.token);
        }
        for id in kept {
            if entry.take_kept(id, &mut self.seats_per_ip).is_some() {
                entry.addr.do_send(ReleaseSeat { id });
            }
        }
        tracing::info!(room = %msg.room, "room closed by the admin");
        self.check_empty(&msg.room, ctx);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_tells_the_minutes_left_rounded_up() {
        let says = |secs| banned_reason(Duration::from_secs(secs));
        assert_eq!(says(600), format!("{BANNED_REASON}: try again in 10 min"));
        assert!(says(599).ends_with("in 10 min") && says(61).ends_with("in 2 min"));
        assert!(says(60).ends_with("in 1 min") && says(1).ends_with("in 1 min") && says(0).ends_with("in 1 min"));
        assert!(says(600).len() <= crate::close::MAX_CLOSE_REASON_BYTES);
    }
    use crate::config::Config;
    use crate::inbox::Inbox;
    use crate::outbox::Outbox;
    use actix::dev::channel::{AddressReceiver, channel};

    /// A lobby with the built-in maps, seats kept for 20 s (its timers never run here: the
    /// handlers are called directly, not through a running actor).
    fn new_lobby(max_players_per_room: usize, max_spectators_per_room: usize) -> (Lobby, Context<Lobby>) {
        let setup = GameSetup {
            maps: Arc::new(MapList::load(None, None).expect("built-in maps load")),
            settings: Config::for_tests().match_settings(),
            seed: 1,
            max_players_per_room,
            max_spectators_per_room,
            big_room_players: 50,
            unacknowledged_limit: 150,
            max_rooms: 10,
            max_rooms_per_ip: 4,
            max_kept_seats_per_ip: 0,
            empty_room_grace: Duration::from_secs(30),
            seat_reservation: Duration::from_secs(20),
        };
        (Lobby::new(setup, 1, 0, 0, Arc::new(Stats::default())), Context::new())
    }

    /// A session's address with nobody behind it; the receiver keeps it connected.
    fn session() -> (Addr<PlayerSession>, AddressReceiver<PlayerSession>) {
        let (tx, rx) = channel(16);
        (Addr::new(tx), rx)
    }

    /// `session`'s player `id`, in room "arena", reported lost by its room.
    fn lost(id: PlayerId, session: &Addr<PlayerSession>) -> Leave {
        Leave { id, room: "arena".into(), session: session.clone(), reserve: true, why: DisconnectReason::Lost }
    }

    fn join(session: &Addr<PlayerSession>, room: Option<&str>) -> Join {
        Join {
            name: "Ada".into(),
            rejoin: None,
            room: room.map(str::to_owned),
            private: false,
            spectate: false,
            client: Some(IpAddr::from([127, 0, 0, 2])),
            session: session.clone(),
            outbox: Arc::new(Outbox::new()),
            inbox: Arc::new(Inbox::new()),
        }
    }

    fn token_of(lobby: &Lobby, id: PlayerId) -> String {
        lobby.seats.iter().find(|(_, (_, seat))| *seat == id).map(|(t, _)| t.clone()).expect("a player has a token")
    }

    fn stop(lobby: &Lobby) {
        for arbiter in &lobby.arbiters {
            arbiter.stop();
        }
    }

    #[actix_web::test]
    async fn a_refused_join_opens_no_room() {
        // Found by an outside attack: with no spectators allowed, each refused spectator left
        // an empty room behind that nothing would ever remove, until `--max-rooms` was full.
        let (mut lobby, mut ctx) = new_lobby(2, 0);
        let (a, _a) = session();
        let watch = Join { spectate: true, ..join(&a, Some("ghost")) };
        assert_eq!(lobby.handle(watch, &mut ctx).err(), Some(JoinError::NoSpectatorPlace));
        assert!(lobby.rooms.is_empty() && lobby.opened_per_ip.is_empty(), "no room, none counted");
        stop(&lobby);
        // Nor does a player's join when a room may hold neither players nor spectators.
        let (mut lobby, mut ctx) = new_lobby(0, 0);
        assert_eq!(lobby.handle(join(&a, Some("ghost")), &mut ctx).err(), Some(JoinError::RoomFull));
        assert!(lobby.rooms.is_empty());
        stop(&lobby);
    }

    #[actix_web::test]
    async fn quick_play_opens_public_rooms_even_when_asked_for_a_private_one() {
        let (mut lobby, mut ctx) = new_lobby(10, 10);
        let (a, _a) = session();
        let quick = lobby.handle(Join { private: true, ..join(&a, None) }, &mut ctx).expect("joins");
        assert!(!lobby.rooms[&quick.room_name].private, "quick play fills {} later", quick.room_name);
        let (b, _b) = session();
        let named = lobby.handle(Join { private: true, ..join(&b, Some("den")) }, &mut ctx).expect("joins");
        assert!(lobby.rooms[&named.room_name].private);
        stop(&lobby);
    }

    #[actix_web::test]
    async fn a_kick_revokes_the_token_before_the_kicked_session_leaves() {
        // Found by an outside attack: a rejoin that reached the lobby between the kick and the
        // kicked session's goodbye took the seat over, and the player stayed with its token.
        let (mut lobby, mut ctx) = new_lobby(10, 10);
        let (a, _a) = session();
        let first = lobby.handle(join(&a, Some("arena")), &mut ctx).expect("joins");
        let token = token_of(&lobby, first.id);
        let kick =
            AdminKick { room: "arena".into(), id: first.id, reason: "kicked by the host", all_from_address: false };
        assert_eq!(lobby.handle(kick, &mut ctx), 1);

        let (b, _b) = session();
        let from_elsewhere =
            Join { rejoin: Some(token), client: Some(IpAddr::from([127, 0, 0, 3])), ..join(&b, Some("arena")) };
        let again = lobby.handle(from_elsewhere, &mut ctx).expect("joins");
        assert_ne!(again.id, first.id, "a newcomer, not the kicked player");
        // The kicked player's address may not come back to that room for a while, to another
        // room yes.
        let (c, _c) = session();
        let refused = lobby.handle(join(&c, Some("arena")), &mut ctx).err();
        assert!(matches!(refused, Some(JoinError::Banned(left)) if left <= KICK_BAN), "{refused:?}");
        assert!(lobby.handle(join(&c, Some("elsewhere")), &mut ctx).is_ok());
        // The kicked connection, lost as the kick went out, keeps no seat either: no token leads
        // to it.
        lobby.handle(lost(first.id, &a), &mut ctx);
        let entry = &lobby.rooms["arena"];
        assert_eq!((entry.players, entry.kept), (1, 0));
        stop(&lobby);
    }

    #[actix_web::test]
    async fn quick_play_skips_a_room_the_host_is_closing() {
        // Found by an outside attack: quick play picked the fullest room even while the host
        // was closing it, and the join was closed with "room closed by the host". Tested here:
        // a room's sessions leave as soon as they are told, so no join over a socket comes in
        // between.
        let (mut lobby, mut ctx) = new_lobby(10, 10);
        let sessions: Vec<_> = (0..3).map(|_| session()).collect();
        for (addr, _) in &sessions[..2] {
            lobby.handle(join(addr, Some("big")), &mut ctx).expect("joins");
        }
        lobby.handle(join(&sessions[2].0, Some("small")), &mut ctx).expect("joins");
        let close = AdminCloseRoom { room: "big".into(), reason: "room closed by the host" };
        assert!(lobby.handle(close, &mut ctx));
        // Its sessions are told, and have not left yet.
        assert_eq!(lobby.rooms["big"].players, 2);
        let (quick, _quick) = session();
        let joined = lobby.handle(join(&quick, None), &mut ctx).expect("joins");
        assert_eq!(joined.room_name, "small");
        stop(&lobby);
    }

    #[actix_web::test]
    async fn a_session_that_ends_before_its_join_is_answered_is_undone() {
        // Found by an outside attack: a client that sent its Close right behind its Hello
        // sometimes left a seat kept for 20 s, as the room took the vanished session for a lost
        // connection.
        let (mut lobby, mut ctx) = new_lobby(10, 10);
        let (a, _a) = session();
        let first = lobby.handle(join(&a, Some("arena")), &mut ctx).expect("joins");
        lobby.handle(Abandon { session: a.clone(), reserve: false, why: DisconnectReason::Normal }, &mut ctx);
        assert!(lobby.rooms["arena"].is_empty() && lobby.seats.is_empty(), "no member, no token");
        // The room's report of the vanished session comes later, and is stale.
        lobby.handle(lost(first.id, &a), &mut ctx);
        assert_eq!(lobby.rooms["arena"].kept, 0);

        // A rejoin lost before its answer keeps the seat again: its client holds the token.
        let (b, _b) = session();
        let second = lobby.handle(join(&b, Some("arena")), &mut ctx).expect("joins");
        let token = token_of(&lobby, second.id);
        let (c, _c) = session();
        let rejoin = Join { rejoin: Some(token.clone()), ..join(&c, Some("arena")) };
        assert_eq!(lobby.handle(rejoin, &mut ctx).expect("joins").id, second.id, "a takeover");
        lobby.handle(Abandon { session: c.clone(), reserve: true, why: DisconnectReason::Lost }, &mut ctx);
        let entry = &lobby.rooms["arena"];
        assert_eq!((entry.players, entry.kept), (0, 1));
        assert_eq!(lobby.seats.get(&token).map(|(_, id)| *id), Some(second.id), "the token still leads to it");
        // An abandon from a session the lobby never placed changes nothing.
        let (d, _d) = session();
        lobby.handle(Abandon { session: d, reserve: false, why: DisconnectReason::Normal }, &mut ctx);
        assert_eq!(lobby.rooms["arena"].kept, 1);
        stop(&lobby);
    }
}
