//! The `Lobby` actor: one `Room` actor per room name, created on the first join and stopped when
//! its last player leaves. Every join and leave passes through here, so the player count per
//! room is exact and a room is never stopped while a join is on its way to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use skirmish_shared::PlayerId;

use crate::messages::{AddPlayer, Join, JoinError, Joined, Leave, RemovePlayer, StopRoom};
use crate::room::Room;
use crate::stats::Stats;

/// A live room as the lobby sees it.
struct RoomEntry {
    addr: Addr<Room>,
    /// Players joined and not yet left; the room stops when none is left. A set, not a count,
    /// because both a session and its room may report the same departure.
    players: HashSet<PlayerId>,
}

/// See the module docs.
pub struct Lobby {
    rooms: HashMap<String, RoomEntry>,
    /// Ids are unique for the life of the process, so a late message about a player who left
    /// can never be mistaken for a newcomer.
    next_id: PlayerId,
    max_players_per_room: usize,
    /// Rooms are spread over these threads so independent rooms tick on different cores.
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    stats: Arc<Stats>,
    shutting_down: bool,
}

impl Lobby {
    /// A lobby whose rooms run on `threads` arbiter threads.
    pub fn new(max_players_per_room: usize, threads: usize, stats: Arc<Stats>) -> Self {
        let arbiters = (0..threads.max(1)).map(|_| Arbiter::new().handle()).collect();
        Self {
            rooms: HashMap::new(),
            next_id: 1,
            max_players_per_room,
            arbiters,
            next_arbiter: 0,
            stats,
            shutting_down: false,
        }
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
                let addr = Room::start_in_arbiter(arbiter, move |_| Room::new(name, lobby, stats));
                Stats::inc(&self.stats.rooms);
                tracing::info!(room = %msg.room, "room created");
                self.rooms.entry(msg.room.clone()).or_insert(RoomEntry { addr, players: HashSet::new() })
            }
        };
        if entry.players.len() >= self.max_players_per_room {
            return Err(JoinError::RoomFull);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        entry.players.insert(id);
        entry.addr.do_send(AddPlayer { id, name: msg.name, session: msg.session });
        Ok(Joined { id, room: entry.addr.clone() })
    }
}

impl Handler<Leave> for Lobby {
    type Result = ();

    fn handle(&mut self, msg: Leave, _ctx: &mut Self::Context) {
        let Some(entry) = self.rooms.get_mut(&msg.room) else { return };
        if !entry.players.remove(&msg.id) {
            return;
        }
        entry.addr.do_send(RemovePlayer { id: msg.id });
        if entry.players.is_empty()
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

/// Anyone → Lobby: the rooms and their player counts (for `/api/rooms` and tests).
#[derive(Message)]
#[rtype(result = "Vec<(String, usize)>")]
pub struct ListRooms;

impl Handler<ListRooms> for Lobby {
    type Result = MessageResult<ListRooms>;

    fn handle(&mut self, _msg: ListRooms, _ctx: &mut Self::Context) -> Self::Result {
        let mut rooms: Vec<_> = self.rooms.iter().map(|(name, e)| (name.clone(), e.players.len())).collect();
        rooms.sort();
        MessageResult(rooms)
    }
}
