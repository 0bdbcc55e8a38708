//! The Skirmish game server: actix-web serves the client page and upgrades `/ws` to WebSocket
//! connections, each driven by a `PlayerSession` actor that talks to a `Room` actor per room.
//!
//! Layout:
//! - [`config`]: the command line / environment configuration.
//! - [`http`]: routes (`/`, `/ws`, `/livez`, `/readyz`, `/metrics`, `/api/rooms`) and [`run`];
//!   before a WebSocket upgrade, [`origin`] (which pages may connect), [`client_addr`] (whose
//!   connection it is, behind trusted proxies) and [`admission`] (connection caps).
//! - [`lobby`], [`room`], [`player_session`]: the actors, one file each; [`messages`] between them;
//!   [`close`]: why a connection ends (code, reason, metrics label); [`panic_watch`]: how a
//!   room or the lobby learns that it failed. Between a session and its
//!   room, without messages on the 30 Hz path: [`outbox`] (frames out) and [`inbox`] (the newest
//!   input in); [`rate_limit`] limits what a client may send.
//! - [`view`]: area of interest and delta snapshots (the history ring, per-client baselines).
//! - [`world`]: the game rules, plain Rust, with [`match_flow`] (the match cycle), [`maps`] (map
//!   files) and [`chat`] (rate limit, system lines).
//! - [`grid`]: the uniform spatial grid behind area of interest and collisions; [`palette`]:
//!   distinct player colours.
//! - [`stats`]: counters, exposed by [`metrics`].
//! - [`socket`]: the TCP sockets; after the upgrade a session reads its socket through
//!   [`ws_reader`] and writes it through [`ws_writer`], with buffers of its own.
//! - [`sim_latency`]: simulated network latency for development (`--sim-latency`).
//! - [`assets`]: the embedded client page and wasm.
//! - [`idle_memory`]: a thread whose sessions and rooms are all gone gives its allocator cache back.

pub mod admin;
pub mod admission;
pub mod agones;
pub mod assets;
pub mod chat;
pub mod client_addr;
pub mod close;
pub mod config;
pub mod config_file;
pub mod grid;
pub mod http;
pub mod idle_memory;
pub mod inbox;
pub mod invite;
pub mod lobby;
pub mod maps;
pub mod match_flow;
pub mod messages;
pub mod metrics;
pub mod origin;
pub mod outbox;
pub mod palette;
pub mod panic_watch;
pub mod player_session;
pub mod priority;
pub mod rate_limit;
pub mod room;
pub mod sim_latency;
pub mod socket;
pub mod stats;
pub mod view;
pub mod wake;
pub mod world;
pub mod ws_reader;
pub mod ws_writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use config::Config;
pub use http::run;
pub use stats::Stats;
use tokio_util::sync::CancellationToken;

/// A server running on its own thread, for tests and embedding. Dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its live counters.
    pub stats: Arc<Stats>,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl ServerHandle {
    /// `http://IP:PORT`, the page's address.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://IP:PORT/ws`, the game socket's address.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Starts the graceful shutdown (Close 1012 to everyone) and waits for it to finish.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    /// Waits until the server stops by itself, without asking it to (it does when its lobby
    /// fails), and returns how its thread ended.
    pub fn wait(mut self) -> std::io::Result<()> {
        let thread = self.thread.take().expect("the thread is taken only here and on drop");
        thread.join().unwrap_or_else(|_| Err(std::io::Error::other("the server thread panicked")))
    }

    fn stop_and_join(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take()
            && let Ok(Err(e)) = thread.join()
        {
            tracing::error!(error = %e, "server thread ended with an error");
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Loads the maps, binds `config.bind:config.port` and runs the server on a new thread with its
/// own actix system. The socket is bound before this returns, so clients may connect at once.
/// A bad map is an `InvalidInput` error naming the file and the problem.
pub fn spawn_in_thread(config: Config) -> std::io::Result<ServerHandle> {
    let maps = maps::MapList::load_rotation(config.maps.as_deref(), config.map.as_deref(), &config.rotation)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let listener = socket::listen(SocketAddr::new(config.bind, config.port), config.backlog)?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let shutdown = CancellationToken::new();
    let (thread_stats, token) = (stats.clone(), shutdown.clone());
    let thread = std::thread::Builder::new().name("skirmish-server".into()).spawn(move || {
        actix_web::rt::System::new().block_on(run(config, maps, listener, thread_stats, token.cancelled_owned()))
    })?;
    Ok(ServerHandle { addr, stats, shutdown, thread: Some(thread) })
}
