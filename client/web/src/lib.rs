//! Skirmish in the browser: a thin wasm32 front-end that drives the sans-IO client core.
//!
//! Layout: [`name`], [`room`], [`controls`], [`touch`], [`camera`], [`minimap`], [`spectate`],
//! [`cues`], [`netstats`] and [`hud`] are plain Rust (unit-tested natively); `app` (the socket,
//! timers and wiring), `devices` (keyboard, mouse, touch listeners), `ui` (the DOM HUD, chat,
//! scoreboard), `render` (Canvas 2D) and `sound` exist only on wasm32. Game and network logic
//! stay in `skirmish_client`; this crate moves bytes, keys, pixels and text.

pub mod camera;
pub mod controls;
pub mod cues;
pub mod hud;
pub mod minimap;
pub mod name;
pub mod netstats;
pub mod reconnect;
pub mod resume;
pub mod room;
pub mod spectate;
pub mod touch;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod devices;
#[cfg(target_arch = "wasm32")]
mod render;
#[cfg(target_arch = "wasm32")]
mod sound;
#[cfg(target_arch = "wasm32")]
mod ui;

#[cfg(target_arch = "wasm32")]
pub use app::start;
