//! Server configuration: one documented struct, from flags, `SKIRMISH_*` environment variables
//! or a TOML file (`--config`, read by [`crate::config_file`]).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clap::builder::BoolishValueParser;
use skirmish_shared::consts::{MAX_FRAME_BYTES, TICK_RATE_HZ};

use crate::admission::Limits;
use crate::client_addr::TrustedProxy;
use crate::match_flow::MatchSettings;
use crate::origin::AllowedOrigin;

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

    /// Largest inbound WebSocket frame in bytes, 1024 to 1 MiB; bigger frames are closed with
    /// 1009.
    #[arg(long, env = "SKIRMISH_MAX_FRAME_BYTES", default_value_t = MAX_FRAME_BYTES, value_parser = frame_bytes)]
    pub max_frame_bytes: usize,

    /// Players (with a ship) allowed in one room, at least 1; later joiners become spectators.
    #[arg(long, env = "SKIRMISH_MAX_PLAYERS_PER_ROOM", default_value_t = 100, value_parser = players_per_room)]
    pub max_players_per_room: usize,

    /// Spectators allowed in one room; beyond that, joiners are refused with 1008.
    #[arg(long, env = "SKIRMISH_MAX_SPECTATORS_PER_ROOM", default_value_t = 100)]
    pub max_spectators_per_room: usize,

    /// Most rooms at once; a join that would open one more is closed with 1013 (try later), but
    /// never one that opens the default room (it is opened by the first to join it, not at
    /// start).
    #[arg(long, env = "SKIRMISH_MAX_ROOMS", default_value_t = 100)]
    pub max_rooms: usize,

    /// Rooms one client address (IPv6: its /64) may have opened and still alive, and twice that
    /// many opened in any 10 minutes, gone ones included; a join that would open one more is
    /// closed with 1008, so one address cannot hold every room, not even by opening rooms and
    /// leaving them. 0: no cap.
    #[arg(long, env = "SKIRMISH_MAX_ROOMS_PER_IP", default_value_t = 8)]
    pub max_rooms_per_ip: usize,

    /// How long a room that everyone left is kept (its match, scores and map) before it is
    /// removed; 0 removes it at once.
    #[arg(long, env = "SKIRMISH_EMPTY_ROOM_GRACE", default_value = "30s", value_parser = duration)]
    pub empty_room_grace: Duration,

    /// How long the seat of a player whose connection was lost (not closed on purpose) waits
    /// for it: a `Hello` with its rejoin token within this time gives back its id, name, colour,
    /// score and ship. The ship stays in the world meanwhile, with no input, and can be killed:
    /// dropping the connection is no way out of a fight. 0 keeps no seats.
    #[arg(long, env = "SKIRMISH_SEAT_RESERVATION", default_value = "20s", value_parser = duration)]
    pub seat_reservation: Duration,

    /// Above this many players in a room, joins, leaves and kills no longer make system chat
    /// lines and the kill feed only carries kills that involve you or happen in your view: in a
    /// room of thousands, everyone hearing about everything would cost more than the game.
    #[arg(long, env = "SKIRMISH_BIG_ROOM_PLAYERS", default_value_t = 50)]
    pub big_room_players: usize,

    /// Seed for every random choice of the game (spawn points, pickups): each room mixes in its
    /// name, so a given seed and room replay the same. Default: a random seed, logged at start.
    #[arg(long, env = "SKIRMISH_SEED")]
    pub seed: Option<u64>,

    /// The map the rotation starts with (default: the first by name). A map out of the default
    /// rotation (such as `expanse`) is then the only map played.
    #[arg(long, env = "SKIRMISH_MAP", value_parser = map_name)]
    pub map: Option<String>,

    /// A directory of extra maps (`*.json`, format in the README's *Maps* section); a map with
    /// the name of a built-in one replaces it. A bad file stops the server at start-up.
    #[arg(long, env = "SKIRMISH_MAPS")]
    pub maps: Option<PathBuf>,

    /// The maps to play, in order, comma-separated (`arena,maze,expanse`): a rotation of your
    /// own, including maps out of the default one. Without it, every map in the default
    /// rotation, by name.
    #[arg(long, env = "SKIRMISH_ROTATION", value_name = "MAPS", value_delimiter = ',', value_parser = map_name)]
    pub rotation: Vec<String>,

    /// Countdown before a match, ships frozen at their spawn points (0 starts at once).
    #[arg(long, env = "SKIRMISH_COUNTDOWN", default_value = "5s", value_parser = duration)]
    pub countdown: Duration,

    /// Length of a match.
    #[arg(long, env = "SKIRMISH_MATCH_DURATION", default_value = "5m", value_parser = positive_duration)]
    pub match_duration: Duration,

    /// How long the results are shown before the next match.
    #[arg(long, env = "SKIRMISH_RESULTS_DURATION", default_value = "10s", value_parser = duration)]
    pub results_duration: Duration,

    /// Kills that win a match (0: no limit, the clock alone ends it).
    #[arg(long, env = "SKIRMISH_SCORE_LIMIT", default_value_t = 20)]
    pub score_limit: u16,

    /// Players needed to start a match; with fewer, the room waits (ships fly, nothing scores).
    #[arg(long, env = "SKIRMISH_MIN_PLAYERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub min_players: u16,

    /// Output waiting this long (the client's socket backed up, or a write stuck) means the
    /// client stopped reading: disconnect it. So does this long's worth of snapshots while the
    /// client's acknowledgements (in its inputs) name none newer.
    #[arg(long, env = "SKIRMISH_SEND_STALL_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub send_stall_timeout: Duration,

    /// How often the server pings each WebSocket.
    #[arg(long, env = "SKIRMISH_HEARTBEAT_INTERVAL", default_value = "5s", value_parser = positive_duration)]
    pub heartbeat_interval: Duration,

    /// A client silent (no frame, not even a pong) this long is dropped.
    #[arg(long, env = "SKIRMISH_CLIENT_TIMEOUT", default_value = "15s", value_parser = positive_duration)]
    pub client_timeout: Duration,

    /// Simulate this much network round trip on every connection, for trying the netcode at
    /// internet latencies on one machine: each direction is delayed by half of it, in order.
    /// Development only (logged loudly when on); 0 = off.
    #[arg(long, env = "SKIRMISH_SIM_LATENCY", default_value = "0s", value_parser = duration)]
    pub sim_latency: Duration,

    /// With `--sim-latency`: vary each message's delay by up to half this either way (the
    /// round trip by up to this), never reordering.
    #[arg(long, env = "SKIRMISH_SIM_JITTER", default_value = "0s", value_parser = duration)]
    pub sim_jitter: Duration,

    /// Kernel send buffer per connection in bytes (0 = the OS default, which autotunes up to
    /// megabytes). Snapshots are latest-wins; a big kernel buffer would hide a backlog of stale
    /// ones from that logic, adding seconds of delay for a slow client.
    #[arg(long, env = "SKIRMISH_SOCKET_SEND_BUFFER", default_value_t = 64 * 1024)]
    pub socket_send_buffer: usize,

    /// Listen backlog: connections the kernel queues before the server accepts them. A load
    /// test ramping thousands of bots at once overflows the usual 128.
    #[arg(long, env = "SKIRMISH_BACKLOG", default_value_t = 4096)]
    pub backlog: u32,

    /// HTTP worker threads, 1 to 512 (default: one per core).
    #[arg(long, env = "SKIRMISH_WORKERS", value_parser = workers)]
    pub workers: Option<usize>,

    /// Nice value of the room threads, −20 to 19: lower runs sooner when the machine is busy, so
    /// ticks start on time (see `crate::priority`). Below 0 needs CAP_SYS_NICE; without it the
    /// threads keep their priority and a line says so. 0 leaves them alone.
    #[arg(long, env = "SKIRMISH_ROOM_NICE", default_value_t = -10, allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-20..=19))]
    pub room_nice: i32,

    /// Real-time priority of the room threads (`SCHED_FIFO`, 1–99; 0 = off): a tick then starts
    /// the moment it is due, however busy the machine. A room thread busy for over half of a
    /// second leaves real-time scheduling until ten calm seconds pass, so an overloaded room
    /// cannot starve the connections (see `crate::priority`). Needs CAP_SYS_NICE; without it the
    /// threads keep the normal scheduler and a line says so.
    #[arg(long, env = "SKIRMISH_ROOM_REALTIME", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(0..=99))]
    pub room_realtime: u8,

    /// Open WebSockets allowed per client address (IPv6: per /64); past it the upgrade gets 429
    /// (0 = no cap). A household or LAN party never comes close; one address cannot hold the
    /// server's sockets.
    #[arg(long, env = "SKIRMISH_MAX_CONNECTIONS_PER_IP", default_value_t = 32)]
    pub max_connections_per_ip: u32,

    /// Open WebSockets allowed in all; past it the upgrade gets 503 (0 = no cap).
    #[arg(long, env = "SKIRMISH_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: u32,

    /// New WebSockets per second per client address, in bursts of twice that; faster ones get
    /// 429 (0 = no limit). A reconnecting page needs one.
    #[arg(long, env = "SKIRMISH_CONNECTIONS_PER_IP_PER_SEC", default_value_t = 20)]
    pub connections_per_ip_per_sec: u32,

    /// Players' worth of chat per client address (IPv6: per /64), over all its connections: N
    /// times a player's 5 lines at once and one line every 2 s; lines over it are dropped as a
    /// player's are (0 = no cap). Joining as more players, or again and again, then gets an
    /// address no more of a room's chat.
    #[arg(long, env = "SKIRMISH_CHAT_PER_IP", default_value_t = 4)]
    pub chat_per_ip: u32,

    /// Open TCP connections allowed per client address (IPv6: per /64) besides its WebSockets:
    /// page loads, API calls, upgrades not yet done. Past it a new connection is closed at once,
    /// unanswered (0 = no cap). A browser opens at most six at a time; a `--trusted-proxy` is
    /// not counted (it carries everyone's).
    #[arg(long, env = "SKIRMISH_MAX_HTTP_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_http_connections_per_ip: u32,

    /// Plain HTTP connections open at once in all (page loads, API calls, upgrades under way;
    /// WebSockets count under `--max-connections` instead), split between the HTTP workers and
    /// rounded up to a multiple of them. At the cap the server stops accepting: new connections
    /// wait in the kernel's listen queue (`--backlog`) until one ends, so many addresses
    /// together, each within its own share, still cannot take every descriptor or the memory
    /// of downloads nobody reads. 0: actix-server's own limit, 25 000 per worker.
    #[arg(long, env = "SKIRMISH_MAX_HTTP_CONNECTIONS", default_value_t = 2048)]
    pub max_http_connections: u32,

    /// The longest a connection may stay plain HTTP: then it is closed, wherever it is (a
    /// browser opens another). It ends what the per-request limits cannot, such as a chunked
    /// body that never ends, which actix-http reads with no timer after its answer. WebSockets
    /// are not affected. 0: no limit.
    #[arg(long, env = "SKIRMISH_HTTP_CONNECTION_LIFETIME", default_value = "60s", value_parser = duration)]
    pub http_connection_lifetime: Duration,

    /// Reverse proxies (addresses or blocks such as `10.0.0.0/8`; repeat the flag or separate
    /// with commas) whose `X-Forwarded-For` names the client. From any other peer the header is
    /// ignored.
    #[arg(long = "trusted-proxy", env = "SKIRMISH_TRUSTED_PROXY", value_name = "ADDR", value_delimiter = ',')]
    pub trusted_proxies: Vec<TrustedProxy>,

    /// Web origins (`https://host[:port]`, comma-separated; `*` for any) whose pages may open a
    /// WebSocket besides the game's own page (an `Origin` equal to the request's `Host`).
    /// Clients that send no `Origin` (bots) are always allowed; other origins get 403.
    #[arg(long, env = "SKIRMISH_ALLOWED_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<AllowedOrigin>,

    /// Serve the page, style, sounds and other assets from this directory instead of the
    /// copies built into the binary (files it lacks still come from the binary; the wasm client
    /// always does). Edits show on reload.
    #[arg(long, env = "SKIRMISH_ASSETS", value_name = "DIR")]
    pub assets: Option<PathBuf>,

    /// The URL to invite players to (start-up banner, its QR code and `/invite.svg`), when the
    /// address of the interface holding the default route is not it: behind a reverse proxy, a
    /// hostname, a port forward.
    #[arg(long, env = "SKIRMISH_PUBLIC_URL", value_name = "URL", value_parser = public_url)]
    pub public_url: Option<String>,

    /// No QR code in the start-up banner (it is left out anyway when stdout is not a terminal).
    /// From the environment: `1`, `true`, `yes`, `on` (or `0`, `false`, `no`, `off`).
    #[arg(long, env = "SKIRMISH_NO_QR", value_parser = BoolishValueParser::new())]
    pub no_qr: bool,

    /// Run under Agones: call the SDK sidecar's REST API (ready, health, labels, shutdown) on
    /// its default port. Implied when `AGONES_SDK_HTTP_PORT` is set, as Agones does in its pods.
    /// From the environment: `1`, `true`, `yes`, `on` (or `0`, `false`, `no`, `off`).
    #[arg(long, env = "SKIRMISH_AGONES", value_parser = BoolishValueParser::new())]
    pub agones: bool,

    /// The Agones SDK sidecar's REST port (Agones sets `AGONES_SDK_HTTP_PORT` in the pod).
    #[arg(long, env = "AGONES_SDK_HTTP_PORT", value_name = "PORT")]
    pub agones_sdk_port: Option<u16>,

    /// The admin page's token (`/admin`). Without it, a random one is generated and printed
    /// at start. Never shown by `--print-config`.
    #[arg(long, env = "SKIRMISH_ADMIN_TOKEN", value_name = "TOKEN")]
    pub admin_token: Option<String>,

    /// A TOML file of options (keys are these long option names; see the README). Flags and
    /// environment variables override it; it overrides the defaults. A missing file is an error.
    #[arg(long, env = "SKIRMISH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the configuration in force (flags, environment, file, defaults) as TOML that
    /// `--config` reads back, and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Where each option in force was set, for the messages about values checked only after
    /// parsing (a map the maps lack, a directory that is not there).
    #[arg(skip)]
    pub origins: Origins,
}

/// Where each option in force was set (`config_file::load` fills it in): for messages that
/// must point a host at the right place, the flag, the environment variable or the config
/// file's line.
#[derive(Debug, Clone, Default)]
pub struct Origins(std::collections::BTreeMap<String, String>);

impl Origins {
    /// Records that the option `long` was set by `label`.
    pub fn set(&mut self, long: &str, label: String) {
        self.0.insert(long.to_owned(), label);
    }

    /// How to name the option `long` to whoever set it: `--map`, `SKIRMISH_MAP`, or the file's
    /// line and key as its other messages write them (the flag's name when nothing is recorded).
    pub fn of(&self, long: &str) -> String {
        self.0.get(long).cloned().unwrap_or_else(|| format!("--{long}"))
    }

    /// True when `long` was set by a flag, a variable or the file, not left to its default.
    pub fn is_set(&self, long: &str) -> bool {
        self.0.contains_key(long)
    }
}

impl Config {
    /// Defaults, bound to 127.0.0.1 on a free port: what integration tests want. No countdown
    /// (ships move as soon as they join), a fixed seed (reproducible spawns), no connection
    /// caps (tests open many connections and rooms from 127.0.0.1; tests of the caps set them), empty
    /// rooms removed at once and no seats kept for lost players (tests compare the room list
    /// with its baseline; tests of rejoining set a reservation).
    pub fn for_tests() -> Self {
        let mut config = Self::parse_from(["skirmish"]);
        config.bind = IpAddr::from([127, 0, 0, 1]);
        config.port = 0;
        config.workers = Some(2);
        config.countdown = Duration::ZERO;
        config.empty_room_grace = Duration::ZERO;
        config.seat_reservation = Duration::ZERO;
        config.seed = Some(1);
        config.max_connections_per_ip = 0;
        config.max_connections = 0;
        config.connections_per_ip_per_sec = 0;
        config.chat_per_ip = 0;
        config.max_http_connections_per_ip = 0;
        config.max_http_connections = 0;
        config.max_rooms_per_ip = 0;
        config
    }

    /// The Agones SDK sidecar's port, when running under Agones.
    pub fn agones_port(&self) -> Option<u16> {
        self.agones_sdk_port.or(self.agones.then_some(crate::agones::DEFAULT_SDK_PORT))
    }

    /// What the options' parsers cannot see: paths that must exist, a simulated latency that
    /// fits the snapshot history.
    pub fn check(&self) -> Result<(), String> {
        if let Some(dir) = &self.assets
            && !dir.is_dir()
        {
            return Err(format!("{}: {}: not a directory", self.origins.of("assets"), dir.display()));
        }
        crate::sim_latency::check(self.sim_latency, self.sim_jitter)
            .map_err(|why| format!("{why} (set by {})", self.set_by(&["sim-latency", "sim-jitter"])))
    }

    /// Where those of `longs` that are set were set, for a message about them together (or
    /// "default").
    pub fn set_by(&self, longs: &[&str]) -> String {
        let set: Vec<String> =
            longs.iter().filter(|long| self.origins.is_set(long)).map(|long| self.origins.of(long)).collect();
        if set.is_empty() { "default".to_owned() } else { set.join(", ") }
    }

    /// True when `--sim-latency` or `--sim-jitter` delays every connection.
    pub fn simulates_latency(&self) -> bool {
        crate::sim_latency::is_on(self.sim_latency, self.sim_jitter)
    }

    /// The connection caps.
    pub fn connection_limits(&self) -> Limits {
        Limits {
            per_ip: self.max_connections_per_ip,
            global: self.max_connections,
            per_ip_per_sec: self.connections_per_ip_per_sec,
            chat_per_ip: self.chat_per_ip,
        }
    }

    /// Snapshots a client may be sent while it acknowledges none newer before it is cut as
    /// not reading: the send-stall timeout's worth at the tick rate (at least one second's).
    pub fn unacknowledged_limit(&self) -> u32 {
        let ticks = self.send_stall_timeout.as_secs_f64() * f64::from(TICK_RATE_HZ);
        // A float to int `as` saturates: an absurd timeout gives `u32::MAX`, never a wrap.
        (ticks.ceil() as u32).max(TICK_RATE_HZ)
    }

    /// The match timings and limits, in ticks.
    pub fn match_settings(&self) -> MatchSettings {
        MatchSettings::new(
            self.countdown,
            self.match_duration,
            self.results_duration,
            self.score_limit,
            usize::from(self.min_players),
        )
    }
}

/// The longest `--public-url`: a room's link under it (`/r/` and 32 characters more) always
/// fits in the invite's QR code, and stays easy to scan.
const MAX_PUBLIC_URL: usize = 200;

/// `--public-url`: an `http://` or `https://` URL with a host and no query or fragment (a
/// room's link is made by adding `/r/NAME` to its path), since a phone reads anything else in
/// the QR code as text, not a link. Kept as `url` writes it (`http://party.lan:8080/`). Empty
/// means none (`invite::url`), as a compose file's `SKIRMISH_PUBLIC_URL=${UNSET}` gives.
fn public_url(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    let bad = || {
        format!(
            "must be the http:// or https:// URL players open, such as http://192.168.1.20:8080/ (at most {MAX_PUBLIC_URL} characters, no ? or #)"
        )
    };
    let url = url::Url::parse(s).map_err(|_| bad())?;
    let fits = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.as_str().len() <= MAX_PUBLIC_URL;
    if fits { Ok(url.into()) } else { Err(bad()) }
}

/// The longest any duration option may be. Far more than any sensible setting, and small enough
/// that the server's arithmetic on it (a deadline from now, twice a timeout, ticks in a `u32`)
/// cannot overflow: an absurd value is refused at start with the rest of the bad values, rather
/// than panicking then or when the first player connects.
/// A year as humantime counts it (365.25 days), so `1y` is taken.
const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

/// A map's name as `--map` and each of `--rotation` give it: trimmed (`arena, maze` is two
/// names) and of the form a map file's name takes, so an empty or mistyped one is refused here
/// with its option. Whether such a map exists is known once the maps are read.
fn map_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("a map name cannot be empty".to_owned());
    }
    if name.len() > 32 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("{name:?} is not a map name (1 to 32 of A-Z a-z 0-9 - _)"));
    }
    Ok(name.to_owned())
}

/// A duration such as `90s`, `5m` or `1m 30s`; a bare number (`30`, `2.5`) means seconds; at
/// most a year.
fn duration(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=MAX_DURATION.as_secs_f64()).contains(&secs) => {
            Duration::from_secs_f64(secs)
        }
        Ok(_) => return Err("must be from 0 seconds to a year".into()),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string())?,
    };
    if d > MAX_DURATION { Err("must be at most a year".into()) } else { Ok(d) }
}

/// HTTP workers: actix-server takes 1 to 512, and panics outside that.
fn workers(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n @ 1..=512) => Ok(n),
        _ => Err("must be a whole number from 1 to 512".into()),
    }
}

/// `--max-players-per-room`: at least 1. Zero made a server nobody could play on, every joiner
/// a spectator told the room was full, with nothing said at start-up (an outside test).
fn players_per_room(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number, at least 1 (later joiners watch as spectators)".into()),
    }
}

/// `--max-frame-bytes`: room for the longest message a client may send (a chat line of 200
/// four-byte characters, about 810 bytes), and at most 1 MiB, as every connection may make the
/// server hold a frame that big. 0 closed every client's first message.
fn frame_bytes(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n @ MIN_FRAME_BYTES..=MAX_FRAME_BYTES_CAP) => Ok(n),
        _ => Err(format!("must be a whole number of bytes from {MIN_FRAME_BYTES} to {MAX_FRAME_BYTES_CAP}")),
    }
}

/// The smallest `--max-frame-bytes`.
const MIN_FRAME_BYTES: usize = 1024;
/// The largest `--max-frame-bytes`.
const MAX_FRAME_BYTES_CAP: usize = 1 << 20;

/// A [`duration`] that is not zero.
fn positive_duration(s: &str) -> Result<Duration, String> {
    duration(s).and_then(|d| if d.is_zero() { Err("must be longer than zero".into()) } else { Ok(d) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skirmish_shared::protocol::{Chat, ClientMsg};

    #[test]
    fn a_public_url_must_be_a_link() {
        let parse = |url: &str| Config::try_parse_from(["skirmish", "--public-url", url]).map(|c| c.public_url);
        assert_eq!(parse("http://party.lan:8080/").unwrap().as_deref(), Some("http://party.lan:8080/"));
        assert_eq!(parse("https://play.example.org").unwrap().as_deref(), Some("https://play.example.org/"));
        assert_eq!(parse("").unwrap().as_deref(), Some(""), "none, as the invite takes it");
        assert_eq!(
            parse("http://Party.LAN:8080").unwrap().as_deref(),
            Some("http://party.lan:8080/"),
            "as url writes it"
        );
        let long = format!("http://party.lan/{}", "x".repeat(200));
        for bad in [
            "party.lan:8080",
            " ",
            "http://?",
            "http://#",
            "http://host:99999/",
            "http://[::1",
            "http://party.lan/?x=1",
            "http://party.lan/#top",
            &long,
            "http://",
            "ftp://x",
            "http://a b/",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("must be the http:// or https:// URL players open"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn game_options_parse_with_defaults_and_units() {
        let c = Config::parse_from(["skirmish"]);
        assert_eq!(
            (c.countdown, c.match_duration, c.results_duration),
            (Duration::from_secs(5), Duration::from_secs(300), Duration::from_secs(10))
        );
        assert_eq!((c.score_limit, c.min_players, c.seed, c.map.as_deref()), (20, 2, None, None));
        let c = Config::parse_from([
            "skirmish",
            "--countdown",
            "0",
            "--match-duration",
            "2m 30s",
            "--results-duration",
            "3",
            "--score-limit",
            "5",
            "--min-players",
            "1",
            "--seed",
            "42",
            "--map",
            "maze",
            "--maps",
            "/tmp/maps",
        ]);
        assert_eq!(c.countdown, Duration::ZERO);
        assert_eq!(c.match_duration, Duration::from_secs(150));
        assert_eq!(c.results_duration, Duration::from_secs(3));
        assert_eq!((c.score_limit, c.min_players, c.seed), (5, 1, Some(42)));
        assert_eq!(c.map.as_deref(), Some("maze"));
        assert_eq!(c.maps, Some(PathBuf::from("/tmp/maps")));
        let s = c.match_settings();
        assert_eq!((s.countdown_ticks, s.match_ticks, s.results_ticks, s.min_players), (0, 4500, 90, 1));
    }

    #[test]
    fn the_unacknowledged_limit_is_the_stall_timeouts_worth_of_snapshots() {
        let limit =
            |timeout: &str| Config::parse_from(["skirmish", "--send-stall-timeout", timeout]).unacknowledged_limit();
        assert_eq!(Config::parse_from(["skirmish"]).unacknowledged_limit(), 150, "5 s by default");
        assert_eq!(limit("2500ms"), 75);
        assert_eq!(limit("100ms"), 30, "never under a second's worth: a hitch is not a stall");
        assert_eq!(limit("365days"), 365 * 24 * 3600 * 30, "the longest timeout taken fits");
    }

    #[test]
    fn absurd_durations_and_worker_counts_are_refused_at_start() {
        // Found by an outside attack: each of these panicked, at start or when the first player
        // connected, instead of stopping the server with one clear line.
        for (option, value) in [
            ("--client-timeout", "300000000000y"),
            ("--client-timeout", "9223372036854775000"),
            ("--send-stall-timeout", "18446744073709551615"),
            ("--match-duration", "366days"),
            ("--workers", "0"),
            ("--workers", "513"),
            // These started, then dropped every client: at once, at its first frame, or at the
            // first moment its output waited.
            ("--client-timeout", "0"),
            ("--send-stall-timeout", "0s"),
            ("--heartbeat-interval", "0"),
            ("--max-frame-bytes", "0"),
            ("--max-frame-bytes", "1023"),
            ("--max-frame-bytes", "1048577"),
            // A server nobody could play on (an outside test of a LAN host).
            ("--max-players-per-room", "0"),
        ] {
            assert!(Config::try_parse_from(["skirmish", option, value]).is_err(), "{option} {value}");
        }
        let c = Config::parse_from(["skirmish", "--client-timeout", "1y", "--workers", "512"]);
        assert_eq!((c.client_timeout, c.workers), (MAX_DURATION, Some(512)));
        // A bare number is seconds, whole or not (the README says so; 2.5 was refused).
        let c = Config::parse_from(["skirmish", "--client-timeout", "2.5", "--countdown", "0"]);
        assert_eq!((c.client_timeout, c.countdown), (Duration::from_millis(2500), Duration::ZERO));
        for bad in ["-1", "NaN", "inf", "31557601", "1e300"] {
            assert!(Config::try_parse_from(["skirmish", "--countdown", bad]).is_err(), "{bad}");
        }
        let frame = |n: &str| Config::parse_from(["skirmish", "--max-frame-bytes", n]).max_frame_bytes;
        assert_eq!((frame("1024"), frame("1048576")), (1024, 1 << 20));
        // The smallest frame cap takes the longest message a client may send.
        let longest = ClientMsg::Chat(Chat { text: "😀".repeat(skirmish_shared::tuning::MAX_CHAT_CHARS) });
        let bytes = skirmish_shared::codec::encode_client(&longest);
        assert!(bytes.len() <= MIN_FRAME_BYTES, "{} bytes", bytes.len());
        assert!(skirmish_shared::codec::decode_client(&bytes, MIN_FRAME_BYTES).is_ok());
    }

    #[test]
    fn connection_caps_default_on_and_zero_turns_them_off() {
        let c = Config::parse_from(["skirmish"]);
        assert_eq!(c.connection_limits(), Limits { per_ip: 32, global: 10_000, per_ip_per_sec: 20, chat_per_ip: 4 });
        assert!(c.trusted_proxies.is_empty() && c.allowed_origins.is_empty());
        let off = Limits { per_ip: 0, global: 0, per_ip_per_sec: 0, chat_per_ip: 0 };
        assert_eq!(Config::for_tests().connection_limits(), off);
        let c = Config::parse_from([
            "skirmish",
            "--max-connections-per-ip",
            "0",
            "--max-connections",
            "0",
            "--connections-per-ip-per-sec",
            "0",
            "--chat-per-ip",
            "0",
            "--trusted-proxy",
            "10.0.0.1,10.1.0.0/16",
            "--trusted-proxy",
            "::1",
            "--allowed-origins",
            "https://a.example,*",
        ]);
        assert_eq!(c.connection_limits(), off);
        assert_eq!(c.trusted_proxies.len(), 3);
        assert_eq!(c.allowed_origins.len(), 2);
        assert!(Config::try_parse_from(["skirmish", "--trusted-proxy", "proxy.local"]).is_err());
        assert!(Config::try_parse_from(["skirmish", "--allowed-origins", "example.com"]).is_err());
    }

    #[test]
    fn nonsense_game_options_are_refused() {
        assert!(Config::try_parse_from(["skirmish", "--match-duration", "0s"]).is_err());
        assert!(Config::try_parse_from(["skirmish", "--min-players", "0"]).is_err());
        assert!(Config::try_parse_from(["skirmish", "--countdown", "soon"]).is_err());
        assert_eq!(Config::for_tests().countdown, Duration::ZERO);
    }
}
