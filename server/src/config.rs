//! Server configuration: one documented struct, from flags or `SKIRMISH_*` environment variables.

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use skirmish_shared::consts::MAX_FRAME_BYTES;

/// Everything an operator can set. Every flag also reads an environment variable, so container
/// hosts can configure it without a command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "skirmish", version, about = "Skirmish: a real-time multiplayer arena game server")]
pub struct Config {
    /// Address to listen on; the default serves the whole LAN.
    #[arg(long, env = "SKIRMISH_BIND", default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// TCP port for HTTP and WebSocket; 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Largest inbound WebSocket frame in bytes; bigger frames are closed with 1009.
    #[arg(long, env = "SKIRMISH_MAX_FRAME_BYTES", default_value_t = MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,

    /// Players allowed in one room; later joiners are refused with 1008.
    #[arg(long, env = "SKIRMISH_MAX_PLAYERS_PER_ROOM", default_value_t = 100)]
    pub max_players_per_room: usize,

    /// A snapshot send stuck this long means the client stopped reading: disconnect it.
    #[arg(long, env = "SKIRMISH_SEND_STALL_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub send_stall_timeout: Duration,

    /// How often the server pings each WebSocket.
    #[arg(long, env = "SKIRMISH_HEARTBEAT_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,

    /// A client silent (no frame, not even a pong) this long is dropped.
    #[arg(long, env = "SKIRMISH_CLIENT_TIMEOUT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub client_timeout: Duration,

    /// Kernel send buffer per connection in bytes (0 = the OS default, which autotunes up to
    /// megabytes). Snapshots are latest-wins; a big kernel buffer would hide a backlog of stale
    /// ones from that logic, adding seconds of delay for a slow client.
    #[arg(long, env = "SKIRMISH_SOCKET_SEND_BUFFER", default_value_t = 64 * 1024)]
    pub socket_send_buffer: usize,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SKIRMISH_WORKERS")]
    pub workers: Option<usize>,
}

impl Config {
    /// Defaults, bound to 127.0.0.1 on a free port: what integration tests want.
    pub fn for_tests() -> Self {
        let mut config = Self::parse_from(["skirmish"]);
        config.bind = IpAddr::from([127, 0, 0, 1]);
        config.port = 0;
        config.workers = Some(2);
        config
    }
}
