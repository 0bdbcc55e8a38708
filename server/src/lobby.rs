//! The `Lobby` actor: one `Room` actor per room name, created on the first join and stopped when
//! its last player leaves. Every join and leave passes through here, so the player count per
//! room is exact and a room is never stopped while a join is on its way to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use skirmish_shared::PlayerId;

use crate::maps::MapList;
use crate::match_flow::MatchSettings;
use crate::messages::{AddPlayer, Join, JoinError, Joined, Leave, RemovePlayer, StopRoom};
use crate::room::Room;
use crate::stats::Stats;
use crate::world::World;

/// A live room as the lobby sees it.
struct RoomEntry {
    addr: Addr<Room>,
    /// Players (with a ship) joined and not yet left. Sets, not counts, because both a session
    /// and its room may report the same departure.
    players: HashSet<PlayerId>,
    /// Spectators joined and not yet left; the room stops when neither set has anyone.
    spectators: HashSet<PlayerId>,
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
    /// Spectators per room; later joiners are refused.
    pub max_spectators_per_room: usize,
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
    /// Spectators.
    pub spectators: usize,
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
}

impl Lobby {
    /// A lobby whose rooms play `setup` on `threads` arbiter threads.
    pub fn new(setup: GameSetup, threads: usize, stats: Arc<Stats>) -> Self {
        let arbiters = (0..threads.max(1)).map(|_| Arbiter::new().handle()).collect();
        Self { rooms: HashMap::new(), next_id: 1, setup, arbiters, next_arbiter: 0, stats, shutting_down: false }
    }
}

impl Actor for Lobby {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl Handler<Join> for Lobby {
    type Result = Result<Joined, JoinError>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        if self.shutting_down {
            return Err(JoinError::ShuttingDown);
        }
        let entry = match self.rooms.get_mut(&msg.room) {
            Some(entry) => entry,
            None => {
                let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
                self.next_arbiter += 1;
                let (name, lobby, stats) = (msg.room.clone(), ctx.address(), self.stats.clone());
                let seed = self.setup.room_seed(&name);
                let world = World::new(seed, self.setup.maps.clone(), self.setup.settings);
                let big = self.setup.big_room_players;
                let addr = Room::start_in_arbiter(arbiter, move |_| Room::new(name, lobby, stats, world, big));
                Stats::inc(&self.stats.rooms);
                tracing::info!(room = %msg.room, seed, "room created");
                self.rooms.entry(msg.room.clone()).or_insert(RoomEntry {
                    addr,
                    players: HashSet::new(),
                    spectators: HashSet::new(),
                })
            }
        };
        // A player who finds the room full of players watches instead of being turned away.
        let spectator = msg.spectate || entry.players.len() >= self.setup.max_players_per_room;
        if spectator && entry.spectators.len() >= self.setup.max_spectators_per_room {
            return Err(JoinError::RoomFull);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        if spectator {
            entry.spectators.insert(id);
        } else {
            entry.players.insert(id);
        }
        let (session, outbox, inbox) = (msg.session, msg.outbox, msg.inbox);
        entry.addr.do_send(AddPlayer { id, name: msg.name, spectator, session, outbox, inbox });
        Ok(Joined { id, room: entry.addr.clone(), spectator })
    }
}

impl Handler<Leave> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: Leave, _ctx: &mut Self::Context) {
        let Some(entry) = self.rooms.get_mut(&msg.room) else { return };
        if !entry.players.remove(&msg.id) && !entry.spectators.remove(&msg.id) {
            return;
        }
        entry.addr.do_send(RemovePlayer { id: msg.id });
        if entry.players.is_empty()
            && entry.spectators.is_empty()
            && let Some(entry) = self.rooms.remove(&msg.room)
        {
            entry.addr.do_send(StopRoom);
            Stats::dec(&self.stats.rooms);
            tracing::info!(room = %msg.room, "room empty, removed");
        }
    }
}

/// Server → Lobby: refuse new joins from now on (graceful shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Drain> for Lobby {
    type Result = ();

    fn handle(&mut self, _msg: Drain, _ctx: &mut Self::Context) {
        self.shutting_down = true;
    }
}

/// Anyone → Lobby: the rooms and their head counts, by name (for `/api/rooms` and tests).
#[derive(Message)]
#[rtype(result = "Vec<RoomSummary>")]
pub struct ListRooms;

impl Handler<ListRooms> for Lobby {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _msg: ListRooms, _ctx: &mut Self::Context) -> Self::Result {
        let mut rooms: Vec<_> = self
            .rooms
            .iter()
            .map(|(name, e)| RoomSummary {
                name: name.clone(),
                players: e.players.len(),
                spectators: e.spectators.len(),
            })
            .collect();
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        MessageResult(rooms)
    }
}
