//! Constants both sides depend on. Units are in the names; change them here and only here.

use std::time::Duration;

/// Bumped whenever a message changes shape; checked in `Hello`.
pub const PROTOCOL_VERSION: u16 = 3;

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

/// Longest rejoin token, in bytes.
pub const MAX_TOKEN_CHARS: usize = 64;

/// Room used when `Hello` names none.
pub const DEFAULT_ROOM: &str = "main";

/// MessagePack nesting allowed when decoding; our deepest message (a `Match` inside a `Batch`)
/// needs 8.
pub const MAX_DECODE_DEPTH: usize = 16;

/// Aim angles are radians in `[-AIM_LIMIT_RAD, AIM_LIMIT_RAD]`.
pub const AIM_LIMIT_RAD: f32 = 7.0;

/// How long a tick lasts as a `Duration` (for display and timeouts, not for scheduling).
pub const TICK_DURATION: Duration = Duration::from_nanos(TICK_NANOS);

/// One tick in whole milliseconds, rounded down (33 at 30 Hz): how often a client sends inputs
/// before its first snapshot. After it, inputs follow the server's ticks as the snapshots show
/// them (the client core's `pace`): the server applies one input per tick, and a free-running
/// 33 ms timer (30.3 a second) would overfill its buffer now and then.
pub const INPUT_PERIOD_MS: u32 = (TICK_NANOS / 1_000_000) as u32;

/// How often a client pings to measure the round trip it shows, in milliseconds. The bots ping
/// as often, so a load test sends what players send.
pub const PING_PERIOD_MS: u64 = 2_000;

/// A ping unanswered this long (milliseconds) counts as lost, and the next one may go: a client
/// keeps one ping outstanding so that each `Pong` measures one round trip.
pub const PING_LOST_AFTER_MS: u64 = 5_000;

/// [`PING_PERIOD_MS`] as a `Duration`, for timers.
pub const PING_PERIOD: Duration = Duration::from_millis(PING_PERIOD_MS);

/// World units the client's camera shows across the window's longer side (the same field of
/// view on every screen, so a bigger monitor gives no advantage). Area of interest is built
/// around it.
pub const VIEW_WORLD_UNITS: f32 = 1400.0;

/// Extra world units around the view, on every side, inside which entities are still sent: a
/// ship just off screen is already known when it comes into view, and a bullet on its way in is
/// drawn from its first frame.
pub const VIEW_MARGIN_UNITS: f32 = 150.0;

/// Half the side of the square area of interest around its centre ([`view_centre`]: a player's
/// ship, or the player a spectator follows, away from the walls): everything whose centre is
/// within this distance on both axes is sent.
pub const AOI_HALF_EXTENT: f32 = VIEW_WORLD_UNITS / 2.0 + VIEW_MARGIN_UNITS;

/// World units the camera may look past the arena's edge, so that the edge shows: near a wall
/// it stops following the ship there.
pub const VIEW_EDGE_MARGIN_UNITS: f32 = 80.0;

/// The centre of the area of interest of a ship at `pos` in an arena of `arena` world units:
/// where the camera centres along the window's longer side. Near a wall the camera stops
/// following the ship ([`VIEW_EDGE_MARGIN_UNITS`] past the edge), so a view centred on the ship
/// would miss up to 460 units of the screen on the far side. Along a shorter side the camera
/// stops nearer the wall than this centre, by less than the view's margin covers: the area of
/// interest holds the whole window on any screen. An arena narrower than the view is centred,
/// as the camera centres it.
pub fn view_centre(pos: glam::Vec2, arena: glam::Vec2) -> glam::Vec2 {
    let half = VIEW_WORLD_UNITS / 2.0;
    let axis = |p: f32, size: f32| {
        let (lo, hi) = (half - VIEW_EDGE_MARGIN_UNITS, size + VIEW_EDGE_MARGIN_UNITS - half);
        if lo <= hi { p.clamp(lo, hi) } else { size / 2.0 }
    };
    glam::Vec2::new(axis(pos.x, arena.x), axis(pos.y, arena.y))
}

/// Ticks of world state the server keeps for delta baselines (about a second). An
/// acknowledgement older than this, or for a tick the server never sent that client, gets a
/// full snapshot.
pub const HISTORY_TICKS: usize = 32;

/// How far back, in ticks, the server rewinds a shot to the tick its shooter was showing
/// (`Input::view_tick`, lag compensation): 6 ticks, 200 ms. That covers what a player on a
/// decent link is behind by: the page draws others two ticks (67 ms) in the past, plus a round
/// trip of up to about 130 ms. It is a cap because the cost falls on the target: the further
/// back a shot may start, the longer after reaching cover a player can still be hit by someone
/// who saw them before. A shooter on a worse link gets the cap and must lead the rest.
pub const LAG_COMP_MAX_TICKS: u64 = 6;

/// The radar (minimap) grid is at most this many cells across…
pub const RADAR_MAX_WIDTH: u32 = 64;
/// …and this many down; the arena's aspect ratio decides the exact size within the limits.
pub const RADAR_MAX_HEIGHT: u32 = 40;

/// How often the radar goes out, in ticks (once a second).
pub const RADAR_INTERVAL_TICKS: u64 = 30;

/// Players per roster message (`Welcome::players`, then one `Roster` per tick): at most about
/// 2.5 KB even with the longest names, so a newcomer's first frames stay small however big the
/// room (1000 players take 32 ticks, about a second). `PROTOCOL.md` quotes this number.
pub const ROSTER_CHUNK_PLAYERS: usize = 32;

/// Obstacles per map message (`Match::map`, then one `Obstacles` per tick): 64 rectangles are
/// 1.5 KB (23 B each), where a big map's 500 in one `Match` would be 11 KB. `PROTOCOL.md` quotes
/// this number.
pub const MAP_CHUNK_OBSTACLES: usize = 64;

/// Score lines per `Scores` message: when a match starts every line changes at once, and a room
/// of 1000 would get one 9 KB table; 128 lines (at most 1.2 KB) a tick spread it over a few
/// ticks instead. `PROTOCOL.md` quotes this number.
pub const SCORES_CHUNK_LINES: usize = 128;

/// Rooms with at most this many players (with a ship) keep every score line current for
/// everyone. Above it the lines of everyone but the best [`SCOREBOARD_TOP`] and yourself may be
/// out of date: each kill changes two lines that every player would otherwise receive, so the
/// score traffic to each player grew with the room (about 2 KB/s each at 1000 players, 14 % of
/// a bot's CPU) while nobody reads more than the top of a board that long. A constant, not a
/// server setting, because the client must know when its own rank can be counted.
/// `PROTOCOL.md` quotes this number.
pub const SCORES_ALL_MAX_PLAYERS: usize = 100;

/// Lines at the top of the scoreboard that every member of a room is kept current on, ranked by
/// [`crate::ScoreLine::rank_key`]: the rows the browser's board shows. `PROTOCOL.md` quotes this
/// number.
pub const SCOREBOARD_TOP: usize = 20;

/// Lines in `Results`: the best this many (at most about 2.4 KB with the longest names), not
/// everyone who played: a room of 1000 would get a 25 KB frame at every match end. The rest is
/// in the client's table from `Scores` (of a room over [`SCORES_ALL_MAX_PLAYERS`], only the top
/// and the player's own line are sure to be current). `PROTOCOL.md` quotes this number.
pub const RESULTS_MAX_LINES: usize = 32;

/// Client messages allowed per second on average: inputs at the tick rate, pings, chat and
/// spectator acknowledgements, with headroom for jitter. `PROTOCOL.md` quotes this number.
pub const MAX_CLIENT_MSGS_PER_SEC: u32 = 60;

/// More than this many messages dropped by that limit within one of the server's once-a-second
/// checks closes the connection as flooding (1008), at the drop that passes it: two seconds'
/// worth at the allowed rate.
/// `PROTOCOL.md` quotes this number, and the close reason states it.
pub const FLOOD_KICK_DROPS: u32 = 2 * MAX_CLIENT_MSGS_PER_SEC;
