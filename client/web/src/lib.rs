//! Skirmish in the browser: a thin wasm32 front-end that drives the sans-IO client core.
//!
//! Layout: [`name`], [`controls`], [`camera`] and [`hud`] are plain Rust (unit-tested natively);
//! `app` (the DOM, the WebSocket, the timers) and `render` (Canvas 2D) exist only on wasm32.
//! Game and network logic stay in `skirmish_client`; this crate moves bytes, keys and pixels.

pub mod camera;
pub mod controls;
pub mod hud;
pub mod name;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod render;

#[cfg(target_arch = "wasm32")]
pub use app::start;
