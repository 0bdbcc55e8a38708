//! The wire protocol: every message a client or the server may send, and nothing else.
//!
//! Frames are binary WebSocket messages holding one MessagePack value each (see [`crate::codec`]).
//! Structs are encoded as arrays in field order and enum variants as one-entry maps keyed by the
//! short name in `#[serde(rename)]`, so `ClientMsg::Ping(Ping { id: 7 })` is `{"p": [7]}`.
//! `PROTOCOL.md` at the repository root describes the same thing for authors of other clients.
//! Adding a field changes the shape: bump [`crate::consts::PROTOCOL_VERSION`].

use glam::{IVec2, Vec2};
use serde::{Deserialize, Serialize};

/// Player ids are unique per server process and never reused while it runs.
pub type PlayerId = u32;

/// A colour as `0xRRGGBB`.
pub type Rgb = u32;

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on every connection, exactly once. The server answers `Welcome`, or
    /// closes with 1008 on a wrong version and 1007 on a bad name. Anything else sent first
    /// is a protocol error (1008). If it is lost the connection never starts: the client
    /// gives up after its connect timeout.
    #[serde(rename = "h")]
    Hello(Hello),
    /// The player's controls, one per server tick (30 Hz) after `Welcome`, paced by the ticks
    /// the snapshots show. Each tick applies one input from a small per-player buffer, in
    /// `seq` order, and acknowledges its `seq` in snapshots; with the buffer empty the last
    /// input stays in force, and when it is full the oldest is dropped. It also acknowledges
    /// the newest snapshot received (`ack`), which the server uses as the delta baseline at
    /// once, whatever the buffer holds.
    #[serde(rename = "i")]
    Input(Input),
    /// Round-trip probe, sent every second or two; the server answers `Pong` with the same id
    /// at once. Losing one only delays the ping display.
    #[serde(rename = "p")]
    Ping(Ping),
    /// A chat line, whenever the player sends one. Delivered to everyone in the room (the sender
    /// included) as `ServerMsg::Chat`. Over the rate limit, lines are dropped and the sender gets
    /// a system line saying so; too long or with control characters: close 1007.
    #[serde(rename = "c")]
    Chat(Chat),
    /// The newest snapshot tick received, from a client that sends no inputs (a spectator),
    /// about once per snapshot. Players acknowledge in `Input` instead (an `Ack` from them is
    /// accepted too). A lost one only means a slightly older baseline.
    #[serde(rename = "a")]
    Ack(Ack),
    /// A spectator chooses whose view to receive; sent when the choice changes. `None` lets the
    /// server pick (the first player by id). Players may not send it (close 1008). Reliable as
    /// the stream is; the next snapshot after it shows the new view.
    #[serde(rename = "f")]
    Follow(Follow),
}

/// See [`ClientMsg::Ack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The newest `Snapshot::tick` received (0: none yet, send full snapshots).
    pub tick: u64,
}

/// See [`ClientMsg::Follow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {
    /// The player to watch, or `None` for the server's choice.
    pub id: Option<PlayerId>,
}

/// See [`ClientMsg::Chat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// 1 to `MAX_CHAT_CHARS` characters, no control, bidi or zero-width characters. Always shown
    /// as text, never interpreted as markup.
    pub text: String,
}

/// See [`ClientMsg::Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`crate::consts::PROTOCOL_VERSION`]. It stays the first field forever.
    pub version: u16,
    /// Display name: 1 to `MAX_NAME_CHARS` characters, no control, bidi or zero-width ones.
    pub name: String,
    /// Room to join; `None` joins [`crate::consts::DEFAULT_ROOM`]. ASCII letters, digits,
    /// `-` and `_`, at most `MAX_ROOM_CHARS`. The empty string means quick play: the server
    /// picks a public room with a free ship, or opens one.
    pub room: Option<String>,
    /// Join as a spectator: no ship, no inputs, not on the scoreboard. Players also become
    /// spectators when the room is full of players.
    pub spectate: bool,
    /// Create the room as private (never listed, never picked by quick play) if it does not
    /// exist yet; ignored for a room that exists and for the default room.
    pub private: bool,
    /// The `Welcome::rejoin` token of a lost connection, to take back its seat within the
    /// seat reservation. At most 64 of `A-Z a-z 0-9 - _`. When it leads to a seat, `room`,
    /// `name`, `spectate` and `private` are ignored.
    pub rejoin: Option<String>,
}

/// See [`ClientMsg::Input`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Input {
    /// Increases by one per input sent; echoed back as `PlayerState::ack` once consumed.
    pub seq: u32,
    /// Desired movement, each component in `[-1, 1]`; longer than 1 is scaled down to 1.
    pub mv: Vec2,
    /// Aim angle in radians (0 = +x, increasing clockwise since +y points down the screen).
    pub aim: f32,
    /// Button bits; [`Input::FIRE`] is the only one defined so far.
    pub buttons: u8,
    /// The newest `Snapshot::tick` received (0: none yet): the delta baseline the client can
    /// decode against.
    pub ack: u64,
    /// Lag compensation: the (whole) server tick the client was showing when this input was
    /// made, 0 = unknown. A shot this input fires starts at that tick (no further back than
    /// [`crate::consts::LAG_COMP_MAX_TICKS`]) and is swept against the ships as they were
    /// then, so what the shooter saw hit is hit. 0, the present or the future: no rewind.
    pub view_tick: u64,
}

impl Input {
    /// Button bit: fire (held: the ship fires whenever its cooldown allows).
    pub const FIRE: u8 = 1;
}

/// See [`ClientMsg::Ping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Any value; echoed in `Pong` so the client can match replies to requests.
    pub id: u32,
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Once, in reply to `Hello`, before anything else. Reliable (never dropped).
    #[serde(rename = "w")]
    Welcome(Welcome),
    /// What this player can see at one tick, 30 times a second, as a delta against a snapshot
    /// it acknowledged. Latest-wins: a slow connection gets the newest snapshot and skips older
    /// ones; since every delta is against an acknowledged state, nothing is lost by skipping.
    #[serde(rename = "s")]
    Snapshot(Snapshot),
    /// Someone joined the room after your `Welcome`. Reliable, in order with `Left`.
    #[serde(rename = "j")]
    Joined(PlayerInfo),
    /// More of the players who were in the room when you joined: the ones `Welcome::players`
    /// had no room for, at most [`crate::consts::ROSTER_CHUNK_PLAYERS`] per message, one message
    /// per tick (inside that tick's batch) until all are sent. A player who leaves before its
    /// turn is skipped (its `Left` still comes). Reliable. Why not all in `Welcome`: in a room
    /// of thousands that one frame would be tens of KB, and the server's HTTP layer keeps a
    /// connection's write buffer as large as the largest frame it ever sent.
    #[serde(rename = "n")]
    Roster(Vec<PlayerInfo>),
    /// Someone left the room (closed, timed out or was kicked). Reliable.
    #[serde(rename = "l")]
    Left(Left),
    /// Answer to `Ping`, sent at once. Reliable.
    #[serde(rename = "o")]
    Pong(Ping),
    /// A chat line from a player, or a system line (joins, leaves, kills, warnings) when `from` is
    /// `None`. Reliable, in order.
    #[serde(rename = "c")]
    Chat(ChatLine),
    /// Someone was killed: for the kill feed and sounds. Reliable.
    #[serde(rename = "k")]
    Kill(Kill),
    /// The match phase or map changed; also sent right after `Welcome`. Its map holds at most
    /// [`crate::consts::MAP_CHUNK_OBSTACLES`] obstacles; `Obstacles` messages bring the rest.
    /// Reliable.
    #[serde(rename = "m")]
    Match(MatchInfo),
    /// A match ended: final scores, best first. Sent once when the results phase starts. Reliable.
    #[serde(rename = "r")]
    Results(Results),
    /// Score lines that changed (kills, deaths), at most [`crate::consts::SCORES_CHUNK_LINES`]
    /// per tick (when a match starts every line changes; they go out over a few ticks); after
    /// `Welcome` and each `Roster`, the lines of the players they list. Reliable: the client
    /// keeps the table and applies these.
    #[serde(rename = "t")]
    Scores(Vec<ScoreLine>),
    /// Where every living ship is, coarsely, for the minimap: the same for everyone in the
    /// room, once a second. Latest-wins in spirit (each replaces the last) but sent with the
    /// reliable messages, so it is never dropped.
    #[serde(rename = "d")]
    Radar(Radar),
    /// More obstacles of the map in the last `Match`: after every `Match` whose map has more
    /// than [`crate::consts::MAP_CHUNK_OBSTACLES`], one message per tick from the next tick on,
    /// each with at most that many, in the map's order, until all are sent. Reliable. Why not
    /// all in `Match`: a big map's obstacles are about 11 KB, and the server's HTTP layer keeps
    /// a connection's write buffer as large as the largest frame it ever sent.
    #[serde(rename = "x")]
    Obstacles(Vec<Rect>),
    /// Several reliable messages in one frame: everything one tick has for a player (joins,
    /// leaves, chat, kills, scores, radar) goes out together. Never nested.
    #[serde(rename = "b")]
    Batch(Vec<ServerMsg>),
}

/// See [`ServerMsg::Scores`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreLine {
    /// The player.
    pub id: PlayerId,
    /// Kills this match.
    pub kills: u16,
    /// Deaths this match.
    pub deaths: u16,
}

impl ScoreLine {
    /// The line's place on the scoreboard as one number, smaller first: most kills, then fewest
    /// deaths, then the smaller id (who joined first). The server's choice of the lines a big
    /// room keeps current ([`crate::consts::SCOREBOARD_TOP`]) and the client's board rank alike,
    /// so the top the server keeps current is the top every client draws.
    pub fn rank_key(&self) -> u64 {
        (u64::from(u16::MAX - self.kills) << 48) | (u64::from(self.deaths) << 32) | u64::from(self.id)
    }
}

/// See [`ServerMsg::Radar`]. On the wire the cells are packed ([`crate::radar`]); here they
/// are one byte each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RadarWire", try_from = "RadarWire")]
pub struct Radar {
    /// Cells across (at most `RADAR_MAX_WIDTH`); each covers `arena.x / width` world units.
    pub width: u8,
    /// Cells down (at most `RADAR_MAX_HEIGHT`).
    pub height: u8,
    /// `width × height` bytes, row by row from the top-left: living ships in each cell, capped
    /// at 255.
    pub cells: Vec<u8>,
}

/// A [`Radar`] as it is sent: the cells packed by [`crate::radar::pack`].
#[derive(Serialize, Deserialize)]
struct RadarWire {
    width: u8,
    height: u8,
    #[serde(with = "serde_bytes")]
    cells: Vec<u8>,
}

impl From<Radar> for RadarWire {
    fn from(r: Radar) -> Self {
        let mut w = crate::bits::BitWriter::new();
        crate::radar::pack(&r.cells, &mut w);
        Self { width: r.width, height: r.height, cells: w.as_bytes().to_vec() }
    }
}

impl TryFrom<RadarWire> for Radar {
    type Error = &'static str;

    fn try_from(r: RadarWire) -> Result<Self, Self::Error> {
        // A grid over the limits is refused after decoding (`codec::radar_ok`: out of range,
        // not malformed); the most it can cost is 255 × 255 bytes.
        let mut cells = Vec::new();
        crate::radar::unpack(&r.cells, usize::from(r.width) * usize::from(r.height), &mut cells)?;
        Ok(Self { width: r.width, height: r.height, cells })
    }
}

/// See [`ServerMsg::Chat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    /// The sender, or `None` for a system line.
    pub from: Option<PlayerId>,
    /// The text: show it as text, never as markup.
    pub text: String,
}

/// See [`ServerMsg::Kill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    /// Who fired the killing shot (credited one point).
    pub killer: PlayerId,
    /// Who died.
    pub victim: PlayerId,
}

/// Where a room is in its match cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Phase {
    /// Fewer players than needed to start; ships fly and shoot but nothing is scored.
    #[default]
    #[serde(rename = "w")]
    Waiting,
    /// The match starts when the countdown ends; ships are frozen at their spawn points.
    #[serde(rename = "c")]
    Countdown,
    /// Playing: kills score until the clock runs out or someone reaches the score limit.
    #[serde(rename = "p")]
    Playing,
    /// Showing the results; then the next match starts on the next map.
    #[serde(rename = "r")]
    Results,
}

/// An axis-aligned rectangle in world units.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rect {
    /// Top-left corner.
    pub min: Vec2,
    /// Bottom-right corner.
    pub max: Vec2,
}

/// What a client needs to know about the map: to draw it and to predict collisions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MapInfo {
    /// The map's name.
    pub name: String,
    /// Arena size in world units.
    pub size: Vec2,
    /// Solid obstacles: ships and bullets cannot pass them. On the wire, `Match` carries the
    /// first [`crate::consts::MAP_CHUNK_OBSTACLES`] and `Obstacles` messages the rest.
    pub obstacles: Vec<Rect>,
}

/// See [`ServerMsg::Match`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchInfo {
    /// The phase now.
    pub phase: Phase,
    /// The map being played (or about to be).
    pub map: MapInfo,
    /// Kills that win the match.
    pub score_limit: u16,
    /// Length of the playing phase in seconds.
    pub match_secs: u32,
}

/// One line of the final scoreboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// The player.
    pub id: PlayerId,
    /// Name at the end of the match (the player may have left since).
    pub name: String,
    /// Kills this match.
    pub kills: u16,
    /// Deaths this match.
    pub deaths: u16,
}

/// See [`ServerMsg::Results`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// The winner (most kills; ties go to fewer deaths, then to who joined first), if anyone
    /// killed.
    pub winner: Option<PlayerId>,
    /// The best [`crate::consts::RESULTS_MAX_LINES`] who played, best first.
    pub scores: Vec<Score>,
    /// The map of the next match.
    pub next_map: String,
}

/// See [`ServerMsg::Welcome`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    /// Your player id: find yourself in snapshots by it.
    pub id: PlayerId,
    /// Arena size in world units; (0, 0) is the top-left corner.
    pub arena: Vec2,
    /// Snapshots per second (and simulation ticks per second).
    pub tick_rate: u32,
    /// Your colour.
    pub colour: Rgb,
    /// The room's name, as joined.
    pub room: String,
    /// You first, then the others already in the room, by id, at most
    /// [`crate::consts::ROSTER_CHUNK_PLAYERS`] in all; the rest follow in `Roster` messages.
    /// Later changes come as `Joined` / `Left`.
    pub players: Vec<PlayerInfo>,
    /// True if you joined as a spectator (by choice or because the room was full).
    pub spectator: bool,
    /// The token to take this seat back after a lost connection (`Hello::rejoin`); empty for a
    /// spectator, who holds no seat.
    pub rejoin: String,
}

/// Who a player is; it changes rarely, so it is not repeated in every snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// The player's id.
    pub id: PlayerId,
    /// Display name, already validated by the server.
    pub name: String,
    /// Colour as `0xRRGGBB`.
    pub colour: Rgb,
    /// Spectators have no ship and are not on the scoreboard.
    pub spectator: bool,
}

/// See [`ServerMsg::Left`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Left {
    /// The player who left.
    pub id: PlayerId,
}

/// See [`ServerMsg::Snapshot`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tick number of the room (1 for the first tick after the room was created, +1 per
    /// simulated tick; jumps forward after a server stall).
    pub tick: u64,
    /// The baseline tick the entity records are relative to: a snapshot the client
    /// acknowledged. 0 = none: the records are complete (a full snapshot).
    pub base: u64,
    /// The match phase.
    pub phase: Phase,
    /// Milliseconds left in the phase (0 when it has no end, as while waiting).
    pub time_left_ms: u32,
    /// The ship whose view this is: yours, or, for a spectator, the player it follows; `None`
    /// for a spectator with nobody to follow. Always whole, never a delta.
    pub me: Option<OwnState>,
    /// The packed entity records (ships other than `me`, bullets, pickups in view): see
    /// [`crate::delta`] and `PROTOCOL.md`.
    #[serde(with = "serde_bytes")]
    pub ents: Vec<u8>,
}

/// The full state of the ship a snapshot is for, in the simulation's own fixed point, so a
/// client can predict from it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OwnState {
    /// The player.
    pub id: PlayerId,
    /// Centre in ⅛ world units (`sim::ShipMotion::pos`).
    pub pos: IVec2,
    /// Velocity in 1/16 world units per second (`sim::ShipMotion::vel`).
    pub vel: IVec2,
    /// Aim as 1/256 turns (what other players see).
    pub aim: u8,
    /// The last input `seq` from this player that a tick consumed (0 before the first).
    pub ack: u32,
    /// Health, 0 to `SHIP_MAX_HEALTH`; 0 while dead.
    pub health: u8,
    /// Bits: [`PlayerState::ALIVE`], [`PlayerState::RAPID_FIRE`], [`PlayerState::INPUT_WAITING`].
    pub flags: u8,
    /// Ticks until the gun may fire again (the client predicts its own shots from it).
    pub cooldown: u8,
    /// Ticks of rapid fire left (the client predicts its own shots from it).
    pub rapid_ticks: u16,
}

/// One ship as a client draws it: decoded from the entity records (or `me`) and the score
/// table. Not on the wire in v3.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PlayerState {
    /// The player's id.
    pub id: PlayerId,
    /// Centre position in world units.
    pub pos: Vec2,
    /// Velocity in world units per second (exact for `me`; estimated for others).
    pub vel: Vec2,
    /// Aim angle in radians.
    pub aim: f32,
    /// The last input `seq` consumed (only known for `me`; 0 for others).
    pub ack: u32,
    /// Health, 0 to `SHIP_MAX_HEALTH`; 0 while dead.
    pub health: u8,
    /// Bits: [`PlayerState::ALIVE`], [`PlayerState::RAPID_FIRE`].
    pub flags: u8,
    /// Kills this match.
    pub kills: u16,
    /// Deaths this match.
    pub deaths: u16,
}

impl PlayerState {
    /// Flag: the ship is alive (dead ships wait to respawn and are not drawn).
    pub const ALIVE: u8 = 1;
    /// Flag: the rapid-fire power-up is active.
    pub const RAPID_FIRE: u8 = 2;
    /// Flag, in a player's own state only (`OwnState::flags`, never in entity records): after
    /// this tick an input of the player's is still waiting in the server's buffer for a later
    /// tick, so inputs are arriving faster than they are applied (see `inbox` in the server).
    /// A client pacing its inputs leaves one slot out to let it drain.
    pub const INPUT_WAITING: u8 = 4;

    /// True if the ship is alive.
    pub fn alive(&self) -> bool {
        self.flags & Self::ALIVE != 0
    }
}

/// One bullet as a client draws it. Not on the wire in v3.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BulletState {
    /// Unique within the room while the bullet flies.
    pub id: u32,
    /// Who fired it (for its colour).
    pub owner: PlayerId,
    /// Centre in world units.
    pub pos: Vec2,
    /// Velocity in world units per second (bullets fly straight: extrapolate freely).
    pub vel: Vec2,
}

/// Kinds of pickup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PickupKind {
    /// Restores `PICKUP_HEALTH_AMOUNT` health.
    #[serde(rename = "h")]
    Health,
    /// Rapid fire for `RAPID_FIRE_TICKS`.
    #[serde(rename = "r")]
    RapidFire,
}

/// One pickup as a client draws it. Not on the wire in v3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PickupState {
    /// Unique within the room while the pickup waits.
    pub id: u32,
    /// What it gives.
    pub kind: PickupKind,
    /// Centre in world units.
    pub pos: Vec2,
}
