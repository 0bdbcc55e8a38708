//! Why a connection ends. Every close path names one [`Close`]; it alone gives the WebSocket
//! close code, the reason text the client reads (cut to the 123 bytes a Close frame can carry)
//! and the `/metrics` label, so no call site picks a code or writes a reason of its own.

use actix_ws::{CloseCode, CloseReason};
use skirmish_shared::DecodeError;
use skirmish_shared::consts::{FLOOD_KICK_DROPS, MAX_CLIENT_MSGS_PER_SEC, PROTOCOL_VERSION};

use crate::stats::DisconnectReason;

/// Longest close reason in bytes: a control frame carries 125 bytes, two of them the code.
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// Why the server ends a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Close {
    /// The client sent Close first; ours answers it (1000).
    ClientLeft,
    /// The client sent Close first with a code other than 1000 (normal) or 1001 (going away),
    /// as a page does when it gives up on a link it has heard nothing from (4000): its
    /// connection failed, so its seat is kept; ours answers it (1000).
    ClientLost,
    /// Graceful shutdown: reconnect in a few seconds (1012).
    Restart,
    /// A text frame: the protocol is binary (1003).
    TextFrame,
    /// A fragmented message: one frame per message (1003).
    Fragmented,
    /// A frame over `--max-frame-bytes`, refused by the WebSocket layer (1009).
    FrameTooBig {
        /// The cap.
        max: usize,
    },
    /// A payload that does not decode or validate (1007), or a message over the size cap
    /// (1009), or a `Hello` for another protocol version (1008).
    Decode(DecodeError),
    /// A broken WebSocket frame (1002).
    WebSocketError(String),
    /// A first message other than `Hello` (1008).
    NotHello,
    /// No `Hello` within the deadline (1008).
    NoHello,
    /// A second `Hello` (1008).
    HelloTwice,
    /// `Follow` from a player: only spectators choose whom to watch (1008).
    NotSpectator,
    /// The room has no seat left, as player or spectator (1008).
    RoomFull {
        /// The room asked for.
        room: String,
    },
    /// A join asked only to watch, and the room has no spectator place left (1008); it may
    /// have ships free, which a join as a player would get.
    NoSpectatorPlace {
        /// The room asked for.
        room: String,
    },
    /// The room does not exist and the server holds `--max-rooms` rooms: try later (1013).
    TooManyRooms,
    /// The room does not exist and the client's address has `--max-rooms-per-ip` rooms open
    /// (1008).
    TooManyRoomsFromAddress,
    /// The client's address opened its share of rooms over the last 10 minutes, twice
    /// `--max-rooms-per-ip`, gone ones included (1008); it may open one again after `wait`.
    TooManyRoomOpenings {
        /// Until it may.
        wait: std::time::Duration,
    },
    /// The player rejoined on a new connection, which took over this one's seat (1000).
    Replaced,
    /// More than `FLOOD_KICK_DROPS` messages over the rate limit within one check second (1008).
    Flood,
    /// Nothing heard, not even a pong, within the client timeout (1008).
    HeartbeatTimeout,
    /// Another actor asked for this connection to end ([`crate::messages::Kick`]).
    Kicked {
        /// The close code it chose.
        code: u16,
        /// The reason it gave.
        reason: &'static str,
        /// Why, for the metrics: a kick, a closed room, a ban (a host read 20 kicks where it
        /// had kicked one and closed a room).
        label: DisconnectReason,
    },
    /// A kick's ban keeps the client's address out of the room it asked for, `left` yet (1008).
    Banned {
        /// Until the ban ends.
        left: std::time::Duration,
    },
    /// The outgoing queue hit its bound: the client stopped reading. Cut without a Close frame,
    /// which could not get through.
    QueueFull,
    /// A write stuck past the send-stall timeout: the client stopped reading. Cut without a
    /// Close frame.
    Stalled,
    /// The client kept sending acknowledgements, but none newer for this many snapshots (the
    /// send-stall timeout's worth): it stopped reading, or its downlink broke, before its
    /// socket backed up (1008, with a Close frame, which a client that reads again can see).
    Unacknowledged {
        /// Snapshots sent to it since its acknowledgements last moved.
        snapshots: u32,
    },
    /// The client acknowledges newer snapshots, but the newest it acknowledged trails the
    /// room by this many seconds and has for the send-stall timeout's worth of ticks: it reads
    /// more slowly than snapshots come (1008, with a Close frame; the seat kept).
    Behind {
        /// How far behind, in whole seconds.
        seconds: u64,
    },
    /// Something on our side failed (logged where it happened) (1011).
    ServerError,
    /// The room panicked in its own code (a bug, logged) and is gone: joining it again opens it
    /// afresh (1011, which the page reconnects on).
    RoomFailed,
}

impl Close {
    /// The WebSocket close code.
    pub fn code(&self) -> u16 {
        match self {
            Self::ClientLeft | Self::ClientLost | Self::Replaced => 1000,
            Self::Restart => 1012,
            Self::TextFrame | Self::Fragmented => 1003,
            Self::FrameTooBig { .. } => 1009,
            Self::Decode(DecodeError::TooLarge { .. }) => 1009,
            Self::Decode(DecodeError::WrongVersion(_)) => 1008,
            Self::Decode(_) => 1007,
            Self::WebSocketError(_) => 1002,
            Self::NotHello
            | Self::NoHello
            | Self::HelloTwice
            | Self::NotSpectator
            | Self::RoomFull { .. }
            | Self::NoSpectatorPlace { .. }
            | Self::Flood
            | Self::Banned { .. }
            | Self::HeartbeatTimeout
            | Self::QueueFull
            | Self::Stalled
            | Self::Unacknowledged { .. }
            | Self::Behind { .. } => 1008,
            Self::Kicked { code, .. } => *code,
            Self::ServerError | Self::RoomFailed => 1011,
            Self::TooManyRooms => 1013,
            Self::TooManyRoomsFromAddress | Self::TooManyRoomOpenings { .. } => 1008,
        }
    }

    /// The reason text, at most [`MAX_CLOSE_REASON_BYTES`] long.
    pub fn reason(&self) -> String {
        let text = match self {
            Self::ClientLeft | Self::ClientLost => "goodbye".to_owned(),
            Self::Restart => "server restarting".to_owned(),
            Self::TextFrame => "text frames are not accepted: the protocol is binary MessagePack".to_owned(),
            Self::Fragmented => "fragmented messages are not supported".to_owned(),
            Self::FrameTooBig { max } => format!("frame exceeds {max} bytes"),
            Self::Decode(DecodeError::WrongVersion(v)) => {
                format!("protocol version {v} is not supported; this server speaks {PROTOCOL_VERSION}")
            }
            Self::Decode(e) => e.to_string(),
            Self::WebSocketError(e) => format!("websocket protocol error: {e}"),
            Self::NotHello => "the first message must be Hello".to_owned(),
            Self::NoHello => "no Hello received".to_owned(),
            Self::HelloTwice => "Hello sent twice".to_owned(),
            Self::NotSpectator => "only spectators may choose whom to follow".to_owned(),
            Self::RoomFull { room } => format!("room {room} is full"),
            Self::NoSpectatorPlace { room } => format!("room {room} has no place left for spectators"),
            Self::Replaced => "replaced by your new connection".to_owned(),
            Self::TooManyRooms => {
                "the server has all the rooms it can hold; join a listed room or try later".to_owned()
            }
            Self::TooManyRoomsFromAddress => {
                "your address has opened all the rooms it may; join one of them or a listed room".to_owned()
            }
            Self::TooManyRoomOpenings { wait } => format!(
                "your address has opened all the rooms it may in 10 minutes: try again in {} min, or join a listed room",
                wait.as_secs().div_ceil(60).max(1)
            ),
            Self::Flood => flood_reason(),
            Self::HeartbeatTimeout => "heartbeat timeout".to_owned(),
            Self::Kicked { reason, .. } => (*reason).to_owned(),
            Self::Banned { left } => crate::lobby::banned_reason(*left),
            Self::QueueFull => "not reading: outgoing queue full".to_owned(),
            Self::Stalled => "send stalled: client is not reading".to_owned(),
            Self::Unacknowledged { snapshots } => {
                format!("not reading: no newer snapshot acknowledged in the last {snapshots} snapshots")
            }
            Self::Behind { seconds } => {
                format!("not reading: reading too slowly, the newest snapshot acknowledged is {seconds} s old")
            }
            Self::ServerError => "internal error".to_owned(),
            Self::RoomFailed => "the room failed (a server error, logged): join again to start it afresh".to_owned(),
        };
        truncate(text, MAX_CLOSE_REASON_BYTES)
    }

    /// The `skirmish_disconnects_total{reason}` label.
    pub fn label(&self) -> DisconnectReason {
        match self {
            Self::ClientLeft => DisconnectReason::Normal,
            Self::ClientLost => DisconnectReason::Lost,
            Self::Restart => DisconnectReason::Restart,
            Self::TextFrame => DisconnectReason::TextFrame,
            Self::Fragmented => DisconnectReason::Fragmented,
            Self::FrameTooBig { .. } | Self::Decode(DecodeError::TooLarge { .. }) => DisconnectReason::TooBig,
            Self::Decode(DecodeError::WrongVersion(_)) => DisconnectReason::WrongVersion,
            Self::Decode(_) => DisconnectReason::BadPayload,
            Self::WebSocketError(_) => DisconnectReason::ProtocolError,
            Self::NotHello | Self::NoHello => DisconnectReason::NoHello,
            Self::HelloTwice => DisconnectReason::HelloTwice,
            Self::NotSpectator => DisconnectReason::NotSpectator,
            Self::RoomFull { .. } | Self::NoSpectatorPlace { .. } => DisconnectReason::RoomFull,
            Self::TooManyRooms => DisconnectReason::TooManyRooms,
            Self::TooManyRoomsFromAddress | Self::TooManyRoomOpenings { .. } => DisconnectReason::TooManyRoomsPerIp,
            Self::Replaced => DisconnectReason::Replaced,
            Self::Flood => DisconnectReason::Flood,
            Self::HeartbeatTimeout => DisconnectReason::Timeout,
            Self::Kicked { label, .. } => *label,
            Self::Banned { .. } => DisconnectReason::Banned,
            Self::QueueFull => DisconnectReason::QueueFull,
            Self::Stalled | Self::Unacknowledged { .. } | Self::Behind { .. } => DisconnectReason::Stalled,
            Self::ServerError | Self::RoomFailed => DisconnectReason::ServerError,
        }
    }

    /// The Close frame to send, or `None` when the client is not reading and the connection is
    /// cut instead.
    pub fn frame(&self) -> Option<CloseReason> {
        match self {
            Self::QueueFull | Self::Stalled => None,
            _ => Some(CloseReason { code: CloseCode::from(self.code()), description: Some(self.reason()) }),
        }
    }

    /// The connection failed rather than being closed on purpose or for cause: the player's
    /// seat is kept for a rejoin. A WebSocket protocol error is the client's doing (TCP delivers
    /// what was sent, or nothing), a close for cause like a malformed message.
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            Self::ClientLost
                | Self::HeartbeatTimeout
                | Self::Stalled
                | Self::QueueFull
                | Self::Unacknowledged { .. }
                | Self::Behind { .. }
        )
    }

    /// True for the ends of a normal life (a leave, a client's close for a failed connection,
    /// which it logs itself, a restart), logged quietly.
    pub fn is_routine(&self) -> bool {
        matches!(self, Self::ClientLeft | Self::ClientLost | Self::Restart)
    }
}

impl From<DecodeError> for Close {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// The flood close's reason: the numbers `PROTOCOL.md` quotes (a test holds them together).
fn flood_reason() -> String {
    format!(
        "flooding: more than {FLOOD_KICK_DROPS} messages dropped in one second (limit {MAX_CLIENT_MSGS_PER_SEC} per second)"
    )
}

/// Cuts `text` to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant (and of each decode error class).
    fn every_close() -> Vec<Close> {
        vec![
            Close::ClientLeft,
            Close::ClientLost,
            Close::Restart,
            Close::TextFrame,
            Close::Fragmented,
            Close::FrameTooBig { max: 4096 },
            Close::Decode(DecodeError::TooLarge { len: 5000, max: 4096 }),
            Close::Decode(DecodeError::WrongVersion(44)),
            Close::Decode(DecodeError::Malformed("x".repeat(500))),
            Close::Decode(DecodeError::Invalid("movement out of range [-1, 1]")),
            Close::WebSocketError("invalid opcode".into()),
            Close::NotHello,
            Close::NoHello,
            Close::HelloTwice,
            Close::NotSpectator,
            Close::RoomFull { room: "r".repeat(32) },
            Close::NoSpectatorPlace { room: "r".repeat(32) },
            Close::TooManyRooms,
            Close::TooManyRoomsFromAddress,
            Close::TooManyRoomOpenings { wait: std::time::Duration::from_secs(600) },
            Close::Replaced,
            Close::Flood,
            Close::HeartbeatTimeout,
            Close::Kicked { code: 1008, reason: "kicked by the host", label: DisconnectReason::Kicked },
            Close::Banned { left: crate::lobby::KICK_BAN },
            Close::QueueFull,
            Close::Stalled,
            Close::Unacknowledged { snapshots: u32::MAX },
            Close::Behind { seconds: u64::MAX },
            Close::ServerError,
            Close::RoomFailed,
        ]
    }

    #[test]
    fn every_close_has_a_short_reason_and_a_code_from_the_table() {
        for close in every_close() {
            let reason = close.reason();
            assert!(!reason.is_empty(), "{close:?}");
            assert!(reason.len() <= MAX_CLOSE_REASON_BYTES, "{close:?}: {} bytes", reason.len());
            assert!([1000, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013].contains(&close.code()), "{close:?}");
        }
    }

    /// PROTOCOL.md tells a client the 1008s for a failed link (whose seat is kept, and which the
    /// page retries: `client/web/src/reconnect.rs`) by their reason's start.
    #[test]
    fn the_1008s_of_a_failed_link_and_only_they_start_as_documented() {
        for close in every_close() {
            let lost = ["heartbeat", "not reading", "send stalled"].iter().any(|p| close.reason().starts_with(p));
            let failed_link = close.is_connection_lost() && close.code() == 1008;
            assert_eq!(lost, failed_link, "{close:?}");
        }
    }

    #[test]
    fn codes_and_labels_follow_the_protocol() {
        let cases = [
            (Close::ClientLeft, 1000, "normal"),
            (Close::ClientLost, 1000, "lost"),
            (Close::Restart, 1012, "restart"),
            (Close::TextFrame, 1003, "text_frame"),
            (Close::Fragmented, 1003, "fragmented"),
            (Close::Decode(DecodeError::TooLarge { len: 5000, max: 4096 }), 1009, "too_big"),
            (Close::Decode(DecodeError::WrongVersion(2)), 1008, "wrong_version"),
            (Close::Decode(DecodeError::TrailingBytes(3)), 1007, "bad_payload"),
            (Close::NoHello, 1008, "no_hello"),
            (Close::Flood, 1008, "flood"),
            (Close::HeartbeatTimeout, 1008, "timeout"),
            (Close::RoomFull { room: "main".into() }, 1008, "room_full"),
            (Close::NoSpectatorPlace { room: "main".into() }, 1008, "room_full"),
            (Close::TooManyRooms, 1013, "too_many_rooms"),
            (Close::TooManyRoomsFromAddress, 1008, "too_many_rooms_per_ip"),
            (Close::TooManyRoomOpenings { wait: std::time::Duration::from_secs(61) }, 1008, "too_many_rooms_per_ip"),
            (Close::Replaced, 1000, "replaced"),
            (Close::Kicked { code: 1008, reason: "bye", label: DisconnectReason::Kicked }, 1008, "kicked"),
            (Close::Kicked { code: 1008, reason: "shut", label: DisconnectReason::RoomClosed }, 1008, "room_closed"),
            (Close::Unacknowledged { snapshots: 150 }, 1008, "stalled"),
            (Close::Behind { seconds: 9 }, 1008, "stalled"),
            (Close::ServerError, 1011, "server_error"),
            (Close::RoomFailed, 1011, "server_error"),
        ];
        for (close, code, label) in cases {
            assert_eq!((close.code(), close.label().label()), (code, label), "{close:?}");
        }
        assert!(Close::Stalled.frame().is_none() && Close::QueueFull.frame().is_none(), "no frame to a non-reader");
        // Its socket has room yet: a client that only stopped for a while reads why.
        let frame = Close::Unacknowledged { snapshots: 150 }.frame().expect("a frame");
        assert_eq!(
            frame.description.as_deref(),
            Some("not reading: no newer snapshot acknowledged in the last 150 snapshots")
        );
        let frame = Close::Restart.frame().expect("a frame");
        assert_eq!((u16::from(frame.code), frame.description.as_deref()), (1012, Some("server restarting")));
    }

    #[test]
    fn long_reasons_are_cut_on_a_character_boundary() {
        let cut = truncate("é".repeat(100), MAX_CLOSE_REASON_BYTES);
        assert_eq!(cut.len(), 122, "61 two-byte characters");
        assert_eq!(truncate("short".into(), MAX_CLOSE_REASON_BYTES), "short");
    }

    #[test]
    fn the_flood_reason_states_the_limit_protocol_md_documents() {
        let reason = Close::Flood.reason();
        assert!(reason.contains(&format!("more than {FLOOD_KICK_DROPS} messages dropped in one second")), "{reason}");
        assert!(reason.contains(&format!("limit {MAX_CLIENT_MSGS_PER_SEC} per second")), "{reason}");
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md")).expect("PROTOCOL.md");
        let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("reason `{reason}`")), "PROTOCOL.md should quote the flood reason {reason:?}");
    }
}
