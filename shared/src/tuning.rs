//! Every game tunable in one documented place. Units are in the names. Movement values are used
//! by client prediction too, so they live here in `shared` and are plain literals (the same bits
//! on every platform).

/// Thrust at full stick, in world units per second squared.
pub const SHIP_ACCEL: f32 = 2000.0;
/// Top speed, in world units per second.
pub const SHIP_MAX_SPEED: f32 = 320.0;
/// Fraction of velocity kept after one tick (drag).
pub const SHIP_DRAG_PER_TICK: f32 = 0.88;
/// Radius of a ship, for walls, obstacles and bullet hits.
pub const SHIP_RADIUS: f32 = 16.0;
/// Health of a fresh ship.
pub const SHIP_MAX_HEALTH: u8 = 100;

/// Time between two shots, in ticks (5 ticks = 6 shots per second).
pub const FIRE_COOLDOWN_TICKS: u32 = 5;
/// Time between two shots with the rapid-fire power-up.
pub const RAPID_FIRE_COOLDOWN_TICKS: u32 = 2;
/// Bullet speed in world units per second (added to nothing: bullets ignore ship velocity, so
/// aiming is predictable).
pub const BULLET_SPEED: f32 = 900.0;
/// Bullet lifetime in ticks (1 s: 900 units of range).
pub const BULLET_LIFETIME_TICKS: u32 = 30;
/// Damage per bullet hit (5 hits kill).
pub const BULLET_DAMAGE: u8 = 20;
/// Bullet radius, for hits.
pub const BULLET_RADIUS: f32 = 4.0;

/// Delay between death and respawn, in ticks (2 s).
pub const RESPAWN_DELAY_TICKS: u32 = 60;
/// A respawn point counts as free when no living ship is closer than this.
pub const SPAWN_CLEARANCE: f32 = 120.0;

/// Radius of a pickup, for collection.
pub const PICKUP_RADIUS: f32 = 14.0;
/// A new pickup appears this often (in ticks, 8 s) while fewer than the map's spots are taken.
pub const PICKUP_SPAWN_INTERVAL_TICKS: u32 = 240;
/// Health restored by a health pickup (capped at the maximum).
pub const PICKUP_HEALTH_AMOUNT: u8 = 50;
/// How long rapid fire lasts, in ticks (10 s).
pub const RAPID_FIRE_TICKS: u32 = 300;

/// Longest chat line, in characters.
pub const MAX_CHAT_CHARS: usize = 200;
/// Chat lines a player may send in a burst…
pub const CHAT_BURST: u32 = 5;
/// …and then one per this many milliseconds.
pub const CHAT_REFILL_MS: u64 = 2000;
