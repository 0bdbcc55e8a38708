//! Messages between actors. Each doc says sender → receiver.

use std::net::IpAddr;
use std::sync::Arc;

use actix::prelude::*;
use skirmish_shared::PlayerId;

use crate::inbox::Inbox;
use crate::outbox::Outbox;
use crate::player_session::PlayerSession;
use crate::room::Room;
use crate::stats::DisconnectReason;

/// PlayerSession → Lobby: put me in a room (after a valid `Hello`).
#[derive(Message)]
#[rtype(result = "Result<Joined, JoinError>")]
pub struct Join {
    /// Validated display name.
    pub name: String,
    /// `Hello.rejoin`: the token of a seat to take back, if any.
    pub rejoin: Option<String>,
    /// Validated room name; `None` is quick play (the lobby picks the room).
    pub room: Option<String>,
    /// Create the room private (unlisted, never picked by quick play) if it does not exist yet.
    pub private: bool,
    /// Asked to watch rather than play (`Hello.spectate`).
    pub spectate: bool,
    /// The client's address as the connection caps count it, for the rooms it opens.
    pub client: Option<IpAddr>,
    /// The session, for kicks.
    pub session: Addr<PlayerSession>,
    /// Where the room puts this connection's frames (written by the session's writer task).
    pub outbox: Arc<Outbox>,
    /// Where the session leaves this connection's inputs (buffered, one per tick) and newest
    /// acknowledgement.
    pub inbox: Arc<Inbox>,
}

/// Lobby → PlayerSession (reply to [`Join`]): you are in.
#[derive(Debug)]
pub struct Joined {
    /// The new player's id.
    pub id: PlayerId,
    /// The room to send inputs to.
    pub room: Addr<Room>,
    /// Its name (the one quick play picked, or the one asked for).
    pub room_name: String,
    /// Joined as a spectator (asked to, or the room was full of players): inputs are ignored.
    pub spectator: bool,
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinError {
    /// The room has `max_players_per_room` players and `max_spectators_per_room` spectators.
    RoomFull,
    /// The join asked only to watch, and the room has `max_spectators_per_room` spectators
    /// (though it may have ships free).
    NoSpectatorPlace,
    /// The server is shutting down.
    ShuttingDown,
    /// The room does not exist and the server holds `max_rooms` rooms already.
    TooManyRooms,
    /// The room does not exist and the client's address has opened `max_rooms_per_ip` rooms
    /// that are still alive.
    TooManyRoomsFromAddress,
    /// The room does not exist and the client's address has opened twice `max_rooms_per_ip`
    /// rooms in the last `lobby::ROOM_OPENINGS_WINDOW`; it may open one again after this long.
    TooManyRoomOpenings(std::time::Duration),
    /// The admin closed the room (the reason its players read); it goes once they have left.
    Closed(&'static str),
    /// A kick's ban keeps the client's address out of the room for this long yet
    /// (`lobby::banned_reason`).
    Banned(std::time::Duration),
}

/// Room → Lobby: the room at `addr` died of a panic in its own code (a bug; see
/// `Room::stopped`). The lobby closes its members with 1011 and forgets it at once, so the next
/// join opens it afresh.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomFailed {
    /// The room.
    pub room: String,
    /// Its address: a room of that name opened since is not the one that failed.
    pub addr: Addr<Room>,
}

/// Room → Lobby: the room's map or phase changed (for `/api/rooms`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomStatus {
    /// The room.
    pub room: String,
    /// The map being played (or about to be).
    pub map: String,
    /// The phase now.
    pub phase: skirmish_shared::Phase,
}

/// PlayerSession → Lobby: I am gone (closed, kicked or timed out).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The player leaving.
    pub id: PlayerId,
    /// The room it was in.
    pub room: String,
    /// The session that leaves: a player whose seat a newer connection took is not removed by
    /// its old session's goodbye.
    pub session: Addr<PlayerSession>,
    /// The connection was lost (not closed on purpose): keep the seat for a rejoin.
    pub reserve: bool,
    /// How the connection ended, for the room's log line.
    pub why: DisconnectReason,
}

/// PlayerSession → Lobby: I ended while my [`Join`] was on its way or its answer unread (a
/// session can stop before it reads the answer): undo whatever it made of me, found by my
/// session since I never learnt my id. Sent after the `Join`, so the lobby has handled that.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Abandon {
    /// The session that asked to join.
    pub session: Addr<PlayerSession>,
    /// The connection was lost while taking back a seat (a rejoin): keep the seat again. A
    /// newcomer's seat is never kept, as its client never received the token.
    pub reserve: bool,
    /// How the connection ended, for the room's log line.
    pub why: DisconnectReason,
}

/// Lobby → Room: add this player (the room sends it `Welcome`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AddPlayer {
    /// Id assigned by the lobby.
    pub id: PlayerId,
    /// Validated display name.
    pub name: String,
    /// A spectator: no ship.
    pub spectator: bool,
    /// A spectator because the room's ships were all taken (its `Hello` asked to play): it is
    /// told so in a system line.
    pub room_full: bool,
    /// The player's session, for kicks.
    pub session: Addr<PlayerSession>,
    /// Where the room puts this player's frames.
    pub outbox: Arc<Outbox>,
    /// Where the room takes this player's next input and newest acknowledgement at each tick.
    pub inbox: Arc<Inbox>,
    /// The token for `Welcome.rejoin` (empty for spectators, who hold no seat).
    pub token: String,
    /// Takes back the seat the room reserved for this id (its name, colour, ship and score).
    pub rejoin: bool,
    /// The client's address as the connection caps count it.
    pub client: Option<IpAddr>,
}

/// Lobby → Room: a rejoin while the player's old connection still lingers: the new session
/// takes over the live seat (ship and all) and the old one is closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Replace {
    /// The player.
    pub id: PlayerId,
    /// The new session.
    pub session: Addr<PlayerSession>,
    /// The new session's outbox.
    pub outbox: Arc<Outbox>,
    /// The new session's inbox.
    pub inbox: Arc<Inbox>,
    /// The player's rejoin token (unchanged).
    pub token: String,
    /// The new connection's address as the connection caps count it.
    pub client: Option<IpAddr>,
}

/// Lobby → Room: the seat reserved for this id was not taken back in time: free it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseSeat {
    /// The player whose seat expired.
    pub id: PlayerId,
}

/// Lobby → Room: remove this player.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemovePlayer {
    /// The player to remove.
    pub id: PlayerId,
    /// Keep its seat (name, colour, score) for a rejoin, until [`ReleaseSeat`].
    pub reserve: bool,
    /// How its connection ended: the host reads it in the "player left" line.
    pub why: DisconnectReason,
}

/// Lobby → Room: the room is empty and forgotten; stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRoom;

/// PlayerSession → Room: a spectator chose whose view to receive (`None`: the room picks).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FollowFrom {
    /// The spectator.
    pub id: PlayerId,
    /// The player to follow.
    pub target: Option<PlayerId>,
}

/// PlayerSession → Room: a validated chat line that passed the sender's connection's rate limit
/// (the room applies the seat's, see `chat`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatFrom {
    /// The sender.
    pub id: PlayerId,
    /// The line, already checked by the codec.
    pub text: String,
}

/// PlayerSession → Room: the sender's chat went over its rate limit (once per burst). The room
/// warns it after the lines it let through, which this message follows in the room's mailbox.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatTooFast {
    /// The sender.
    pub id: PlayerId,
}

/// Room or Lobby → PlayerSession: end this connection for this reason.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick(pub crate::close::Close);

/// Lobby → Room: what the admin page shows of this room.
#[derive(Message)]
#[rtype(result = "RoomReport")]
pub struct Report;

/// A room's players and tick times, for the admin page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RoomReport {
    /// Everyone in the room, by id.
    pub players: Vec<PlayerReport>,
    /// Median time of one wake-up (simulate and send) over the last 10 seconds, ms.
    pub tick_p50_ms: f64,
    /// Its 99th percentile, ms.
    pub tick_p99_ms: f64,
}

/// One member, for the admin page.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlayerReport {
    /// Its id.
    pub id: PlayerId,
    /// Its name.
    pub name: String,
    /// Watching, without a ship.
    pub spectator: bool,
    /// Kills this match.
    pub kills: u16,
    /// Deaths this match.
    pub deaths: u16,
    /// Its connection was lost and its seat is kept: its ship is in the world with no one at
    /// the controls until it comes back (a kick releases the seat).
    pub away: bool,
    /// Its client's address as the connection caps count it (and a kick bans), so the host
    /// can tell one machine's many players, or two players of one name, apart.
    pub address: Option<IpAddr>,
}
