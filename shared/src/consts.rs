//! Constants both sides depend on. Units are in the names; change them here and only here.

use std::time::Duration;

/// Bumped whenever a message changes shape; checked in `Hello`.
pub const PROTOCOL_VERSION: u16 = 2;

/// Simulation and snapshot rate.
pub const TICK_RATE_HZ: u32 = 30;

/// Length of one tick in nanoseconds, rounded down; the scheduler uses exact integer
/// arithmetic from a start instant instead, so this is only for display and timeouts.
pub const TICK_NANOS: u64 = 1_000_000_000 / TICK_RATE_HZ as u64;

/// Fixed simulation step in seconds. A literal, not `1.0 / 30.0` computed at run time, so every
/// platform uses the exact same bits.
pub const TICK_DT: f32 = 1.0 / 30.0;

/// Default arena width in world units, for worlds built without a map (tests, benches); maps
/// set their own size. (0, 0) is the top-left corner.
pub const ARENA_WIDTH: f32 = 1600.0;
/// See [`ARENA_WIDTH`].
pub const ARENA_HEIGHT: f32 = 1000.0;

/// Default cap on an inbound WebSocket frame; anything bigger is closed with 1009.
pub const MAX_FRAME_BYTES: usize = 4 * 1024;

/// Longest player name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 16;

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 32;

/// Room used when `Hello` names none.
pub const DEFAULT_ROOM: &str = "main";

/// MessagePack nesting allowed when decoding; our messages need 4.
pub const MAX_DECODE_DEPTH: usize = 16;

/// Aim angles are radians in `[-AIM_LIMIT_RAD, AIM_LIMIT_RAD]`.
pub const AIM_LIMIT_RAD: f32 = 7.0;

/// How long a tick lasts as a `Duration` (for display and timeouts, not for scheduling).
pub const TICK_DURATION: Duration = Duration::from_nanos(TICK_NANOS);
