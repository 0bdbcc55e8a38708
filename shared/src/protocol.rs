//! The wire protocol: every message a client or the server may send, and nothing else.
//!
//! Frames are binary WebSocket messages holding one MessagePack value each (see [`crate::codec`]).
//! Structs are encoded as arrays in field order and enum variants as one-entry maps keyed by the
//! short name in `#[serde(rename)]`, so `ClientMsg::Ping(Ping { id: 7 })` is `{"p": [7]}`.
//! `PROTOCOL.md` at the repository root describes the same thing for authors of other clients.
//! Adding a field changes the shape: bump [`crate::consts::PROTOCOL_VERSION`].

use glam::Vec2;
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
    /// The player's controls, sent once per client frame or tick (nominally 30 Hz) after
    /// `Welcome`. Each tick applies the newest input received since the last tick and
    /// acknowledges its `seq` in snapshots. A lost or late input just means the previous one
    /// stays in force.
    #[serde(rename = "i")]
    Input(Input),
    /// Round-trip probe, sent every second or two; the server answers `Pong` with the same id
    /// at once. Losing one only delays the ping display.
    #[serde(rename = "p")]
    Ping(Ping),
}

/// See [`ClientMsg::Hello`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Must equal [`crate::consts::PROTOCOL_VERSION`]. It stays the first field forever.
    pub version: u16,
    /// Display name: 1 to `MAX_NAME_CHARS` characters, no control, bidi or zero-width ones.
    pub name: String,
    /// Room to join; `None` joins [`crate::consts::DEFAULT_ROOM`]. ASCII letters, digits,
    /// `-` and `_`, at most `MAX_ROOM_CHARS`.
    pub room: Option<String>,
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
}

impl Input {
    /// Button bit: fire (reserved: the foundation has no weapons yet).
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
    /// The world at one tick, 30 times a second. Latest-wins: a slow connection gets the newest
    /// snapshot and skips older ones, so a lost or late snapshot is simply superseded. The same
    /// bytes go to every player in the room.
    #[serde(rename = "s")]
    Snapshot(Snapshot),
    /// Someone joined the room after your `Welcome`. Reliable, in order with `Left`.
    #[serde(rename = "j")]
    Joined(PlayerInfo),
    /// Someone left the room (closed, timed out or was kicked). Reliable.
    #[serde(rename = "l")]
    Left(Left),
    /// Answer to `Ping`, sent at once. Reliable.
    #[serde(rename = "o")]
    Pong(Ping),
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
    /// Everyone already in the room, you included. Later changes come as `Joined` / `Left`.
    pub players: Vec<PlayerInfo>,
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
    /// Tick number of the room (starts at 0 when the room is created, +1 per simulated tick;
    /// jumps forward after a server stall).
    pub tick: u64,
    /// Every player in the room.
    pub players: Vec<PlayerState>,
}

/// One player in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PlayerState {
    /// The player's id.
    pub id: PlayerId,
    /// Centre position in world units.
    pub pos: Vec2,
    /// Velocity in world units per second (for extrapolation and prediction).
    pub vel: Vec2,
    /// Aim angle in radians.
    pub aim: f32,
    /// The last input `seq` from this player that a tick consumed (0 before the first).
    /// Each player reads its own entry for reconciliation and latency.
    pub ack: u32,
}
