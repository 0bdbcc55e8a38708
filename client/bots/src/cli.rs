//! Command-line options of `skirmish-bots` (clap derive) and the run parameters they resolve to.
//!
//! Durations take humantime (`10s`, `1m30s`) or a bare number of seconds (`30`, `2.5`), the
//! form shared with the server's options, and at most a year, as the server's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Serialize;
use skirmish_shared::codec::{DecodeError, check_room};
use skirmish_shared::consts::DEFAULT_ROOM;
use tokio_tungstenite::tungstenite::stream::Mode;
use tokio_tungstenite::tungstenite::{
    self,
    client::{IntoClientRequest as _, uri_mode},
};

use crate::misbehave::{Misbehave, Misbehaviour};
use crate::mix::Mix;

/// Headless Skirmish bots for load testing: each bot joins over WebSocket through the same
/// client core as the browser, plays at 30 Hz (wandering, fighting, chatting or idling, per
/// `--mix`) and measures what it receives.
///
/// Exit status: 0 when the run passed, 1 when no bot connected or the run could not start
/// (bad options included), 2 when a threshold (`--max-p99-latency`, `--min-delivery`) failed.
#[derive(Debug, Clone, Parser)]
#[command(name = "skirmish-bots", version, about)]
pub struct Cli {
    /// WebSocket URL of the server's game endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,

    /// Number of bots.
    #[arg(short = 'c', long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,

    /// Also run N spectator bots, besides the -c players: each joins with Hello.spectate, in
    /// the same rooms as the players (round-robin over --rooms) and over the same ramp-up,
    /// acknowledges every snapshot (Ack) and switches whom it follows every 1–5 s (Follow: a
    /// random player of its room, or one time in five the server's choice), as a caster does.
    /// Reported apart (`spectator_bots` in the JSON: delivery, gaps, Follow → view latency,
    /// bytes per snapshot); the players' figures and thresholds leave them out, and
    /// --max-failed judges them on their own. A spectator whose address has a player in the
    /// room may follow only that address's players (PROTOCOL.md, Follow): from one address every
    /// player is its own; with --source-ips, switches to others count as overruled.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub spectators: u32,

    /// How long every bot plays once the ramp-up is over (`30`, `10s`, `1m`; a bare number is
    /// seconds; at most a year).
    #[arg(long, default_value = "30", value_parser = parse_run_duration, allow_hyphen_values = true)]
    pub duration: Duration,

    /// Spread the bots' connection starts evenly over this long (`0` starts them all at once; at
    /// most a year).
    #[arg(long, default_value = "0", value_parser = parse_duration, allow_hyphen_values = true)]
    pub ramp_up: Duration,

    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write the well-behaved bots' figures over time to this file: one JSON line every
    /// --stats-every (snapshots received and due, delivery ratio, latency p99 of the interval).
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,

    /// Interval of the --stats lines (`10s`, `1m`; at least 1 s).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_stats_every, requires = "stats")]
    pub stats_every: Duration,

    /// Room every bot joins (the server's default room when neither this nor --rooms is given).
    /// `--room ""` is quick play: each bot's Hello names the empty room and the server picks
    /// one, the public room with the most players that has a ship free, else a new one.
    #[arg(long, value_name = "NAME", conflicts_with = "rooms")]
    pub room: Option<String>,

    /// Spread the bots round-robin over N rooms named bots-0 … bots-<N-1>.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rooms: Option<u32>,

    /// Share of bots per behaviour in whole percent, summing to 100: wander (roam), fight (chase
    /// the nearest enemy and fire), chat (roam and talk every 5–15 s), idle (stand still).
    #[arg(long, value_name = "NAME=PCT,...", default_value = "wander=100", value_parser = Mix::parse)]
    pub mix: Mix,

    /// Share of bots that misbehave on purpose instead of playing, in whole percent (at most 100
    /// together): flood (inputs at ~1000/s), garbage (a frame of random bytes), never-read
    /// (stops reading its socket), slow-handshake (the upgrade request one byte a second),
    /// oversized (a frame over 4 KiB), reconnect (plays, reconnecting every few seconds). They
    /// report what the server did apart; every other figure and threshold is the rest's.
    #[arg(long, value_name = "KIND=PCT,...", value_parser = Misbehave::parse)]
    pub misbehave: Option<Misbehave>,

    /// Predict each bot's own ship as the browser does, and count the corrections (off by
    /// default: the replay on every snapshot costs the bots CPU a load test wants elsewhere).
    #[arg(long)]
    pub predict: bool,

    /// Seed for the bots' random choices; random (and printed) when absent, so any run can be
    /// repeated.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Fail the run (exit 2) when the input → acknowledgement latency p99 exceeds this many ms.
    #[arg(long, value_name = "MS", value_parser = parse_limit)]
    pub max_p99_latency: Option<f64>,

    /// Fail the run (exit 2) when fewer than this fraction of due snapshots arrive (e.g. 0.999;
    /// a fraction from 0 to 1, not a percentage).
    #[arg(long, value_name = "RATIO", value_parser = parse_fraction)]
    pub min_delivery: Option<f64>,

    /// Fail the run (exit 2) when more than this share of the bots that started failed to join
    /// (refused by a cap, a full server, an error) or were dropped before the end (0: any such
    /// bot fails the run; 1 never fails it). The `--misbehave` bots are not counted.
    #[arg(long, value_name = "RATIO", default_value_t = 0.0, value_parser = parse_ratio)]
    pub max_failed: f64,

    /// Most connection attempts in flight at once (TCP, WebSocket handshake, join). Kept under
    /// a listen backlog of 128 (the usual default), whose overflow costs second-long SYN retries;
    /// on loopback 64 still connects thousands of bots a second.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connecting: u32,

    /// Local addresses to connect from, round-robin over the bots: a range
    /// (`127.0.0.2-127.0.0.40`) or a comma list of addresses and ranges. A server caps the
    /// connections of one address; on Linux every 127.x.y.z is loopback, so a load test on one
    /// machine can spread its bots over many addresses instead of turning the caps off.
    #[arg(long, value_name = "ADDRS", value_parser = parse_source_ips)]
    pub source_ips: Option<SourceIps>,

    /// Threads the bots play on, each an event loop of its own with its share of the bots
    /// (default: one per core this process may run on; `taskset` narrows that; at most 1024 and
    /// one per bot). Fewer threads than cores leave the rest to a server on the same machine, at
    /// the price of the bots' latency once a thread is busy.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_THREADS)))]
    pub threads: Option<u32>,
}

/// Position of `kind` in [`Misbehaviour::ALL`], the order of [`Misbehave::counts`].
fn kind_index(kind: Misbehaviour) -> usize {
    Misbehaviour::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// Longest `--duration` or `--ramp-up`: a year, the server's bound on its own durations. Well
/// beyond any run, and the run's end (its start plus both) stays far inside what an `Instant`
/// can hold, where a few hundred billion years made adding them panic.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Most `--threads`: each is an OS thread with a runtime of its own, and past the cores more only
/// add switches.
pub const MAX_THREADS: u32 = 1024;

/// Most addresses `--source-ips` may name (an IPv4 /16): a mistyped range stays small.
pub const MAX_SOURCE_IPS: usize = 65_536;

/// The addresses of `--source-ips`, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SourceIps(pub Vec<IpAddr>);

/// Which rooms the bots join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rooms {
    /// Neither `--room` nor `--rooms`: `Hello` names no room and the server picks its default.
    Default,
    /// `--room NAME`: everyone joins it.
    Named(String),
    /// `--room ""`: every `Hello` names the empty room, quick play: the server picks a room for
    /// each bot (PROTOCOL.md), so they may land in several.
    QuickPlay,
    /// `--rooms N`: bot `i` joins `bots-{i mod N}`.
    Spread(u32),
}

impl Rooms {
    /// The room bot `index` names in `Hello` (`None`: the server's default room).
    pub fn for_bot(&self, index: u32) -> Option<String> {
        match self {
            Rooms::Default => None,
            Rooms::Named(name) => Some(name.clone()),
            Rooms::QuickPlay => Some(String::new()),
            Rooms::Spread(n) => Some(spread_room(index % n)),
        }
    }
}

/// Name of the `i`-th room of `--rooms`.
pub fn spread_room(i: u32) -> String {
    format!("bots-{i}")
}

/// Limits that decide the exit status; echoed in the JSON under `params.thresholds`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Limits {
    /// `--max-p99-latency`, in ms.
    pub max_p99_latency_ms: Option<f64>,
    /// `--min-delivery`, a ratio.
    pub min_delivery: Option<f64>,
    /// `--max-failed`, a ratio; always judged.
    pub max_failed: f64,
}

/// What one run does, resolved from the command line; also echoed in the JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Params {
    /// Server WebSocket URL, checked to be a valid `ws://` URL.
    pub url: String,
    /// Number of bots that play (`-c`).
    pub count: u32,
    /// `--spectators`: spectator bots besides them, reported apart.
    pub spectators: u32,
    /// Playing time after the ramp-up, in seconds.
    #[serde(rename = "duration_s")]
    pub duration: f64,
    /// Ramp-up time in seconds.
    #[serde(rename = "ramp_up_s")]
    pub ramp_up: f64,
    /// The one room joined: `--room`, or the default room's name when neither `--room` nor
    /// `--rooms` was given; `null` with `--rooms`.
    pub room: Option<String>,
    /// `--rooms N`, or `null`.
    pub rooms: Option<u32>,
    /// Where the bots go, as the bots use it.
    #[serde(skip)]
    pub placement: Rooms,
    /// Behaviour shares.
    pub mix: Mix,
    /// Misbehaviour shares (`{}` when none).
    pub misbehave: Misbehave,
    /// Seed of this run, generated when not given.
    pub seed: u64,
    /// `--predict`: the bots predict their own ships.
    pub predict: bool,
    /// Pass/fail limits.
    pub thresholds: Limits,
    /// Connection attempts allowed in flight at once.
    pub max_connecting: u32,
    /// Local addresses the bots connect from, round-robin (empty: the system's choice).
    pub source_ips: Vec<IpAddr>,
    /// Threads the bots play on: `--threads`, or one per core this process may run on; never more
    /// than the bots.
    pub threads: NonZeroU32,
    /// `--stats` file and interval, if given.
    #[serde(skip)]
    pub stats: Option<(PathBuf, Duration)>,
}

impl Params {
    /// Playing time as a `Duration`.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }

    /// Ramp-up time as a `Duration`.
    pub fn ramp_up(&self) -> Duration {
        Duration::from_secs_f64(self.ramp_up)
    }

    /// Bots that play (the rest misbehave on purpose, `--misbehave`).
    pub fn playing(&self) -> u32 {
        self.count - self.misbehave.counts(self.count).iter().sum::<u32>()
    }

    /// What the bots do, in words: the `--mix` when some play, then the `--misbehave` shares if
    /// any; `every bot misbehaving flood=100` when none plays (the mix then means nothing).
    /// A `--misbehave` kind whose share of the bots rounds to none is named (`flood=5` of 10 bots
    /// gets no bot), rather than dropped without a word.
    pub fn behaviour_text(&self) -> String {
        let text = match (self.playing(), self.misbehave.is_empty()) {
            (_, true) => format!("mix {}", self.mix),
            (0, false) => format!("every bot misbehaving {}", self.misbehave),
            (_, false) => format!("mix {}, misbehaving {}", self.mix, self.misbehave),
        };
        let counts = self.misbehave.counts(self.count);
        let none: Vec<String> = self
            .misbehave
            .given()
            .filter(|(kind, _)| counts[kind_index(*kind)] == 0)
            .map(|(kind, pct)| format!("{kind}={pct}"))
            .collect();
        if none.is_empty() { text } else { format!("{text} ({} of {} bots: no bot)", none.join(", "), self.count) }
    }

    /// Bots of every role: the players, the misbehaving ones and the spectators.
    pub fn all_bots(&self) -> u32 {
        self.count.saturating_add(self.spectators)
    }

    /// The local address bot `index` connects from, if `--source-ips` was given.
    pub fn source_for_bot(&self, index: u32) -> Option<IpAddr> {
        match self.source_ips.len() {
            0 => None,
            n => Some(self.source_ips[index as usize % n]),
        }
    }

    /// Where the bots go, in words: `room main`, `3 rooms bots-0..bots-2`.
    pub fn rooms_text(&self) -> String {
        match &self.placement {
            Rooms::Default => format!("room {DEFAULT_ROOM}"),
            Rooms::Named(name) => format!("room {name}"),
            Rooms::QuickPlay => "quick play".to_owned(),
            Rooms::Spread(1) => format!("room {}", spread_room(0)),
            Rooms::Spread(n) => format!("{n} rooms {}..{}", spread_room(0), spread_room(n - 1)),
        }
    }
}

impl Cli {
    /// Checks the URL and room up front (one clear error instead of `count` identical failures)
    /// and draws a seed if none was given.
    pub fn params(&self) -> Result<Params, String> {
        // The server prints its page's http:// address; its game socket is ws://…/ws.
        let bad_url = |e: tungstenite::Error| format!("invalid --url {:?}: {e} (expected ws://HOST:PORT/ws)", self.url);
        if let Some(rest) = self.url.strip_prefix("http://") {
            let ws = format!("ws://{}/ws", rest.split('/').next().unwrap_or(rest));
            return Err(format!("invalid --url {:?}: that is the page's address; the game socket is {ws}", self.url));
        }
        let request = self.url.as_str().into_client_request().map_err(bad_url)?;
        // The URI parser takes any digits as a port, and one that does not fit 16 bits reads
        // as none: the bots would have connected to port 80 instead.
        if let Some(port) = request.uri().authority().and_then(|a| port_text(a.as_str()))
            && !port.parse::<u16>().is_ok_and(|p| p != 0)
        {
            return Err(format!("invalid --url {:?}: port {port} is not 1 to 65535", self.url));
        }
        // No TLS stack is compiled in (load tests run next to the server or behind its proxy).
        match uri_mode(request.uri()).map_err(bad_url)? {
            Mode::Plain => {}
            Mode::Tls => return Err(format!("invalid --url {:?}: wss:// is not supported, use ws://", self.url)),
        }
        let placement = match (&self.room, self.rooms) {
            (Some(room), None) if room.is_empty() => Rooms::QuickPlay,
            (Some(room), None) => {
                check_room(room).map_err(|e| match e {
                    DecodeError::Invalid(rule) => format!("invalid --room {room:?}: {rule}"),
                    other => format!("invalid --room {room:?}: {other}"),
                })?;
                Rooms::Named(room.clone())
            }
            (None, Some(n)) => Rooms::Spread(n),
            (None, None) => Rooms::Default,
            // clap refuses both together already; kept as an error rather than a panic.
            (Some(_), Some(_)) => return Err("--room and --rooms exclude each other".to_owned()),
        };
        let room = match &placement {
            Rooms::Default => Some(DEFAULT_ROOM.to_owned()),
            Rooms::Named(name) => Some(name.clone()),
            // What the bots asked for: the empty name, quick play (`rooms` lists where they went).
            Rooms::QuickPlay => Some(String::new()),
            Rooms::Spread(_) => None,
        };
        if let Some(stats) = &self.stats {
            // `--json -` means stdout; a file named `-` for the stats would be a trap.
            if stats.as_os_str() == "-" {
                return Err("--stats - is not supported: name a file (only --json - writes to stdout)".to_owned());
            }
            if let Some(json) = &self.json
                && std::path::absolute(json).ok() == std::path::absolute(stats).ok()
            {
                return Err(format!("--json and --stats both name {}: one would overwrite the other", json.display()));
            }
        }
        // `count` is at least 1 (its parser says so); 1 if a caller built `Cli` by hand with 0.
        let count = NonZeroU32::new(self.count.saturating_add(self.spectators)).unwrap_or(NonZeroU32::MIN);
        Ok(Params {
            url: self.url.clone(),
            count: self.count,
            spectators: self.spectators,
            duration: self.duration.as_secs_f64(),
            ramp_up: self.ramp_up.as_secs_f64(),
            room,
            rooms: self.rooms,
            placement,
            mix: self.mix,
            misbehave: self.misbehave.unwrap_or_default(),
            // Drawn below 2^53, so that JSON tools that read numbers as doubles (jq, JavaScript)
            // give back the exact seed to repeat the run with.
            seed: self.seed.unwrap_or_else(|| rand::random::<u64>() >> 11),
            predict: self.predict,
            thresholds: Limits {
                max_p99_latency_ms: self.max_p99_latency,
                min_delivery: self.min_delivery,
                max_failed: self.max_failed,
            },
            max_connecting: self.max_connecting,
            source_ips: self.source_ips.clone().map(|s| s.0).unwrap_or_default(),
            // No thread without a bot to run.
            threads: self.threads.and_then(NonZeroU32::new).unwrap_or_else(usable_cores).min(count),
            stats: self.stats.clone().map(|path| (path, self.stats_every)),
        })
    }
}

/// The port as written in a URL's authority (`user@host:port`, `[::1]:port`), if one is;
/// an empty one (`host:`) means the scheme's default, as none.
fn port_text(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let after_host = host_port.rfind(']').map_or(0, |i| i + 1);
    let colon = host_port[after_host..].rfind(':')? + after_host;
    Some(&host_port[colon + 1..]).filter(|port| !port.is_empty())
}

/// Cores this process may run on (its CPU affinity), at least one.
fn usable_cores() -> NonZeroU32 {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    NonZeroU32::new(u32::try_from(cores).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

/// Parses `--source-ips`: comma-separated addresses and ranges `FIRST-LAST` (both ends
/// included, one address family).
pub fn parse_source_ips(text: &str) -> Result<SourceIps, String> {
    let ip = |s: &str| s.trim().parse::<IpAddr>().map_err(|e| format!("{:?} is not an IP address: {e}", s.trim()));
    let mut ips = Vec::new();
    for item in text.split(',') {
        match item.split_once('-') {
            None => ips.push(ip(item)?),
            Some((first, last)) => {
                let (first, last) = (ip(first)?, ip(last)?);
                let (start, end) = match (first, last) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
                    (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
                    _ => return Err(format!("{:?} mixes IPv4 and IPv6", item.trim())),
                };
                if end < start {
                    return Err(format!("{:?}: the range ends before it starts", item.trim()));
                }
                if end - start >= MAX_SOURCE_IPS as u128 {
                    return Err(format!("{:?}: more than {MAX_SOURCE_IPS} addresses", item.trim()));
                }
                let v4 = first.is_ipv4();
                // Both ends are of one family, so every value in between converts back to it.
                ips.extend((start..=end).map(|n| match u32::try_from(n) {
                    Ok(n) if v4 => IpAddr::V4(Ipv4Addr::from(n)),
                    _ => IpAddr::V6(Ipv6Addr::from(n)),
                }));
            }
        }
        if ips.len() > MAX_SOURCE_IPS {
            return Err(format!("more than {MAX_SOURCE_IPS} addresses"));
        }
    }
    Ok(SourceIps(ips))
}

/// Parses a threshold: a finite, non-negative number.
fn parse_limit(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{text:?} is not a non-negative number")),
    }
}

/// Parses a share from 0 to 1.
fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a share from 0 to 1 (e.g. 0.01 for 1 %)")),
    }
}

/// Parses `--min-delivery`: a fraction from 0 to 1 (99 meant as a percentage would fail every
/// run).
fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{text:?} is not a fraction from 0 to 1 (0.99 for 99 %)")),
    }
}

/// Parses `--duration`: at least a second; over less, delivery and rates per second are noise
/// (a run of 0.05 s showed 187 %).
fn parse_run_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text:?}: a run lasts at least 1 s"));
    }
    Ok(duration)
}

/// Parses `--stats-every`: a duration of at least a second (the bots due are counted once a
/// second).
fn parse_stats_every(text: &str) -> Result<Duration, String> {
    let every = parse_duration(text)?;
    if every < Duration::from_secs(1) {
        return Err(format!("{text:?}: at least 1 s"));
    }
    Ok(every)
}

/// Parses `30` / `2.5` (seconds) or a humantime duration such as `10s`, `1m`, `1m30s`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("{text:?}: a duration cannot be negative"));
    }
    let bare_number = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let duration = if bare_number {
        let secs: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
        Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"))?
    } else {
        humantime::parse_duration(text).map_err(|e| format!("{e} (expected e.g. 30, 10s, 1m)"))?
    };
    if duration > MAX_DURATION {
        return Err(format!("{text:?}: at most a year (365 days)"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration(" 7 "), Ok(Duration::from_secs(7)));
    }

    #[test]
    fn humantime_forms_parse() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn nonsense_is_rejected_with_a_hint() {
        for bad in ["", "abc", "1.2.3", "-5", "10 parsecs", "1e3"] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(parse_duration("abc").unwrap_err().contains("e.g."));
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("skirmish-bots").chain(args.iter().copied()))
    }

    #[test]
    fn options_parse_with_defaults() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.url, "ws://127.0.0.1:8080/ws");
        assert_eq!(cli.count, 10);
        assert_eq!(cli.ramp_up, Duration::ZERO);
        let params = cli.params().unwrap();
        assert_eq!(params.room.as_deref(), Some(DEFAULT_ROOM));
        assert_eq!(params.rooms, None);
        assert_eq!(params.placement.for_bot(3), None, "Hello names no room: the server picks");
        assert_eq!(params.mix, Mix::default());
        assert_eq!(params.thresholds, Limits::default());
        assert_eq!(params.max_connecting, 64);
        assert_eq!(params.threads, usable_cores().min(NonZeroU32::new(10).unwrap()), "one thread per core");

        let cli = parse(&[
            "-c",
            "20",
            "--duration",
            "3",
            "--ramp-up",
            "1s",
            "--room",
            "arena-2",
            "--seed",
            "42",
            "--mix",
            "wander=50,fight=50",
            "--max-p99-latency",
            "40",
            "--min-delivery",
            "0.999",
        ])
        .unwrap();
        let params = cli.params().unwrap();
        assert_eq!((params.count, params.duration, params.ramp_up, params.seed), (20, 3.0, 1.0, 42));
        assert_eq!(params.placement.for_bot(7).as_deref(), Some("arena-2"));
        assert_eq!(params.rooms_text(), "room arena-2");
        assert_eq!(params.mix, Mix { wander: 50, fight: 50, chat: 0, idle: 0 });
        assert_eq!(
            params.thresholds,
            Limits { max_p99_latency_ms: Some(40.0), min_delivery: Some(0.999), max_failed: 0.0 }
        );
    }

    #[test]
    fn rooms_spread_the_bots_round_robin() {
        let params = parse(&["--rooms", "3"]).unwrap().params().unwrap();
        assert_eq!((params.room.as_deref(), params.rooms), (None, Some(3)));
        let rooms: Vec<_> = (0..7).map(|i| params.placement.for_bot(i).unwrap()).collect();
        assert_eq!(rooms, ["bots-0", "bots-1", "bots-2", "bots-0", "bots-1", "bots-2", "bots-0"]);
        assert_eq!(params.rooms_text(), "3 rooms bots-0..bots-2");
        // The largest room name still fits the protocol's limit.
        assert!(check_room(&spread_room(u32::MAX)).is_ok());
        assert!(parse(&["--rooms", "0"]).is_err(), "at least one room");
    }

    #[test]
    fn an_empty_room_is_quick_play() {
        let params = parse(&["--room", ""]).unwrap().params().unwrap();
        assert_eq!(params.placement, Rooms::QuickPlay);
        assert_eq!(params.placement.for_bot(5).as_deref(), Some(""), "Hello names the empty room");
        assert_eq!(params.rooms_text(), "quick play");
        assert_eq!(params.room.as_deref(), Some(""));
    }

    #[test]
    fn room_and_rooms_exclude_each_other() {
        let err = parse(&["--room", "arena", "--rooms", "3"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let text = err.to_string();
        assert!(text.contains("--room") && text.contains("--rooms"), "{text}");
    }

    #[test]
    fn a_bad_mix_or_threshold_is_refused_by_the_parser() {
        let err = parse(&["--mix", "wander=60,fight=30"]).unwrap_err().to_string();
        assert!(err.contains("--mix") && err.contains("add up to 90"), "{err}");
        let err = parse(&["--mix", "wander=50,jump=50"]).unwrap_err().to_string();
        assert!(err.contains("unknown behaviour"), "{err}");
        for bad in [["--max-p99-latency", "-1"], ["--min-delivery", "NaN"], ["--min-delivery", "lots"]] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        // Impossible but well-formed limits are accepted: failing them is the run's job.
        assert!(parse(&["--max-p99-latency", "0.001", "--min-delivery", "1"]).is_ok());
        // A delivery given as a percentage would fail every run.
        for bad in ["99", "1.5"] {
            let err = parse(&["--min-delivery", bad]).unwrap_err().to_string();
            assert!(err.contains("--min-delivery") && err.contains("fraction from 0 to 1"), "{err}");
        }
    }

    #[test]
    fn runs_under_a_second_are_refused() {
        for bad in ["0", "0.05", "999ms"] {
            let err = parse(&["--duration", bad]).unwrap_err().to_string();
            assert!(err.contains("--duration") && err.contains("at least 1 s"), "{err}");
        }
        assert_eq!(parse(&["--duration", "1"]).unwrap().duration, Duration::from_secs(1));
        assert!(parse(&["--ramp-up", "0"]).is_ok(), "no ramp-up is fine");
    }

    #[test]
    fn stats_to_stdout_or_to_the_json_file_are_refused() {
        let err = parse(&["--stats", "-"]).unwrap().params().unwrap_err();
        assert!(err.contains("--stats -"), "{err}");
        let err = parse(&["--json", "run.json", "--stats", "./run.json"]).unwrap().params().unwrap_err();
        assert!(err.contains("--json and --stats both name"), "{err}");
        assert!(parse(&["--json", "-", "--stats", "s.jsonl"]).unwrap().params().is_ok());
    }

    #[test]
    fn misbehaving_kinds_that_round_to_no_bot_are_named() {
        let params = parse(&["-c", "10", "--misbehave", "flood=5,garbage=20"]).unwrap().params().unwrap();
        assert_eq!(params.misbehave.counts(10)[kind_index(Misbehaviour::Garbage)], 2);
        let text = params.behaviour_text();
        assert!(text.ends_with("misbehaving flood=5,garbage=20 (flood=5 of 10 bots: no bot)"), "{text}");
        let params = parse(&["-c", "20", "--misbehave", "flood=5"]).unwrap().params().unwrap();
        assert!(!params.behaviour_text().contains("no bot"), "{}", params.behaviour_text());
    }

    #[test]
    fn misbehave_is_optional_and_checked_by_the_parser() {
        assert!(parse(&[]).unwrap().params().unwrap().misbehave.is_empty());
        let params = parse(&["--misbehave", "flood=5,reconnect=10"]).unwrap().params().unwrap();
        assert_eq!(params.misbehave.to_string(), "flood=5,reconnect=10");
        let err = parse(&["--misbehave", "flood=60,garbage=60"]).unwrap_err().to_string();
        assert!(err.contains("--misbehave") && err.contains("add up to 120"), "{err}");
    }

    #[test]
    fn source_ips_take_ranges_and_lists_and_go_round_robin() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let range = parse_source_ips("127.0.0.2-127.0.0.40").unwrap();
        assert_eq!(range.0.len(), 39);
        assert_eq!((range.0[0], range.0[38]), (ip("127.0.0.2"), ip("127.0.0.40")));
        let list = parse_source_ips("10.0.0.1, 10.0.0.255-10.0.1.1,::1").unwrap();
        assert_eq!(list.0, ["10.0.0.1", "10.0.0.255", "10.0.1.0", "10.0.1.1", "::1"].map(ip));
        assert_eq!(parse_source_ips("fd00::1-fd00::3").unwrap().0, ["fd00::1", "fd00::2", "fd00::3"].map(ip));
        for bad in ["", "127.0.0.1,", "localhost", "127.0.0.9-127.0.0.1", "127.0.0.1-::1", "10.0.0.0-10.1.0.0"] {
            assert!(parse_source_ips(bad).is_err(), "{bad:?}");
        }

        let params = parse(&["--source-ips", "127.0.0.2-127.0.0.4"]).unwrap().params().unwrap();
        let sources: Vec<_> = (0..5).map(|i| params.source_for_bot(i).unwrap()).collect();
        assert_eq!(sources, ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.2", "127.0.0.3"].map(ip));
        assert_eq!(parse(&[]).unwrap().params().unwrap().source_for_bot(0), None, "the system chooses");
    }

    #[test]
    fn stats_take_a_file_and_an_interval_of_a_second_or_more() {
        assert_eq!(parse(&[]).unwrap().params().unwrap().stats, None);
        let params = parse(&["--stats", "s.jsonl"]).unwrap().params().unwrap();
        assert_eq!(params.stats, Some((PathBuf::from("s.jsonl"), Duration::from_secs(10))));
        let params = parse(&["--stats", "s.jsonl", "--stats-every", "1m"]).unwrap().params().unwrap();
        assert_eq!(params.stats.unwrap().1, Duration::from_secs(60));
        assert!(parse(&["--stats", "s.jsonl", "--stats-every", "500ms"]).is_err());
        assert!(parse(&["--stats-every", "5s"]).is_err(), "an interval without a file");
    }

    #[test]
    fn spectators_come_besides_the_players() {
        let params = parse(&[]).unwrap().params().unwrap();
        assert_eq!((params.spectators, params.all_bots()), (0, 10));
        let params = parse(&["-c", "1", "--spectators", "3", "--threads", "8"]).unwrap().params().unwrap();
        assert_eq!((params.count, params.spectators, params.all_bots()), (1, 3, 4));
        assert_eq!(params.threads.get(), 4, "a thread per bot of either kind at most");
        assert_eq!(params.playing(), 1, "the spectators are not players");
        assert!(parse(&["--spectators", "-1"]).is_err());
    }

    #[test]
    fn threads_are_counted_from_one() {
        let params = parse(&["--threads", "3"]).unwrap().params().unwrap();
        assert_eq!(params.threads.get(), 3);
        let params = parse(&["--threads", "8", "-c", "5"]).unwrap().params().unwrap();
        assert_eq!(params.threads.get(), 5, "no more threads than bots");
        assert!(parse(&["--threads", "1024"]).is_ok());
        assert!(parse(&["--threads", "1025"]).is_err(), "at most MAX_THREADS");
        assert!(parse(&["--threads", "0"]).is_err(), "at least one thread");
        assert!(parse(&["--threads", "many"]).is_err());
    }

    #[test]
    fn bad_values_are_refused_up_front() {
        assert!(parse(&["-c", "0"]).is_err());
        let page = parse(&["--url", "http://127.0.0.1:8080/"]).unwrap().params().unwrap_err();
        assert!(page.contains("--url") && page.contains("the game socket is ws://127.0.0.1:8080/ws"), "{page}");
        let bare = parse(&["--url", "127.0.0.1:8080"]).unwrap().params().unwrap_err();
        assert!(bare.contains("expected ws://HOST:PORT/ws"), "{bare}");
        let tls_url = parse(&["--url", "wss://x/ws"]).unwrap();
        assert!(tls_url.params().unwrap_err().contains("ws://"));
        let bad_room = parse(&["--room", "no spaces"]).unwrap().params().unwrap_err();
        assert_eq!(bad_room, "invalid --room \"no spaces\": room name may hold only A-Z a-z 0-9 - _");
        for option in ["--duration", "--ramp-up"] {
            let negative = parse(&[option, "-5"]).unwrap_err().to_string();
            assert!(negative.contains(option) && negative.contains("cannot be negative"), "{negative}");
        }
        for bad in ["1.5", "-0.1", "5%"] {
            assert!(parse(&["--max-failed", bad]).is_err(), "{bad}");
        }
        assert_eq!(parse(&["--max-failed", "0.05"]).unwrap().params().unwrap().thresholds.max_failed, 0.05);
    }

    #[test]
    fn durations_over_a_year_are_refused() {
        assert_eq!(parse_duration("365days"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("31536000"), Ok(MAX_DURATION));
        for option in ["--duration", "--ramp-up"] {
            for huge in ["10000000000000000000", "300000000000years", "366days", "31536000.5"] {
                let err = parse(&[option, huge]).unwrap_err().to_string();
                assert!(err.contains(option) && err.contains("at most a year"), "{err}");
            }
        }
    }

    #[test]
    fn a_url_port_out_of_range_is_refused() {
        for (host, port) in [("127.0.0.1", "99999"), ("127.0.0.1", "65536"), ("127.0.0.1", "0"), ("[::1]", "70000")] {
            let url = format!("ws://{host}:{port}/ws");
            let err = parse(&["--url", &url]).unwrap().params().unwrap_err();
            assert!(err.contains("--url") && err.contains(&format!("port {port} is not 1 to 65535")), "{err}");
        }
        assert!(parse(&["--url", "ws://127.0.0.1:65535/ws"]).unwrap().params().is_ok());
        assert!(parse(&["--url", "ws://[::1]:8080/ws"]).unwrap().params().is_ok());
        assert!(parse(&["--url", "ws://localhost/ws"]).unwrap().params().is_ok(), "no port: 80");
    }

    #[test]
    fn a_drawn_seed_survives_a_json_double() {
        for _ in 0..100 {
            let seed = parse(&[]).unwrap().params().unwrap().seed;
            assert!(seed < 1 << 53, "{seed}");
            assert_eq!(seed as f64 as u64, seed);
        }
    }
}
