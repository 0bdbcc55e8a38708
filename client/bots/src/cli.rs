//! Command-line options of `skirmish-bots` (clap derive) and the run parameters they resolve to.
//!
//! Durations take humantime (`10s`, `1m30s`) or a bare number of seconds (`30`, `2.5`), the
//! form shared with the server's options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use serde::Serialize;
use skirmish_shared::codec::check_room;
use skirmish_shared::consts::DEFAULT_ROOM;
use tokio_tungstenite::tungstenite::client::{IntoClientRequest as _, uri_mode};
use tokio_tungstenite::tungstenite::stream::Mode;

/// Headless Skirmish bots for load testing: each bot joins over WebSocket through the same
/// client core as the browser, wanders at 30 Hz and measures what it receives.
#[derive(Debug, Clone, Parser)]
#[command(name = "skirmish-bots", version, about)]
pub struct Cli {
    /// WebSocket URL of the server's game endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,

    /// Number of bots.
    #[arg(short = 'c', long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,

    /// How long every bot plays once the ramp-up is over (`30`, `10s`, `1m`; a bare number is seconds).
    #[arg(long, default_value = "30", value_parser = parse_duration)]
    pub duration: Duration,

    /// Spread the bots' connection starts evenly over this long (`0` starts them all at once).
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    pub ramp_up: Duration,

    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Room to join (the server's default room when absent).
    #[arg(long, value_name = "NAME")]
    pub room: Option<String>,

    /// Seed for the bots' random choices; random (and printed) when absent, so any run can be
    /// repeated.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// What one run does, resolved from the command line; also echoed in the JSON summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Params {
    /// Server WebSocket URL, checked to be a valid `ws://` URL.
    pub url: String,
    /// Number of bots.
    pub count: u32,
    /// Playing time after the ramp-up, in seconds.
    #[serde(rename = "duration_s")]
    pub duration: f64,
    /// Ramp-up time in seconds.
    #[serde(rename = "ramp_up_s")]
    pub ramp_up: f64,
    /// Room joined; the default room's name when none was given (that is the one joined).
    pub room: String,
    /// Whether `room` was asked for: only then does `Hello` name it.
    #[serde(skip)]
    pub room_explicit: bool,
    /// Seed of this run, generated when not given.
    pub seed: u64,
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

    /// The room to put in `Hello`: `None` lets the server pick its default.
    pub fn hello_room(&self) -> Option<String> {
        self.room_explicit.then(|| self.room.clone())
    }
}

impl Cli {
    /// Checks the URL and room up front (one clear error instead of `count` identical failures)
    /// and draws a seed if none was given.
    pub fn params(&self) -> anyhow::Result<Params> {
        let request =
            self.url.as_str().into_client_request().with_context(|| format!("invalid --url {:?}", self.url))?;
        // No TLS stack is compiled in (load tests run next to the server or behind its proxy).
        match uri_mode(request.uri()).with_context(|| format!("invalid --url {:?}", self.url))? {
            Mode::Plain => {}
            Mode::Tls => anyhow::bail!("invalid --url {:?}: wss:// is not supported, use ws://", self.url),
        }
        if let Some(room) = &self.room {
            check_room(room).with_context(|| format!("invalid --room {room:?}"))?;
        }
        Ok(Params {
            url: self.url.clone(),
            count: self.count,
            duration: self.duration.as_secs_f64(),
            ramp_up: self.ramp_up.as_secs_f64(),
            room: self.room.clone().unwrap_or_else(|| DEFAULT_ROOM.to_owned()),
            room_explicit: self.room.is_some(),
            seed: self.seed.unwrap_or_else(rand::random),
        })
    }
}

/// Parses `30` / `2.5` (seconds) or a humantime duration such as `10s`, `1m`, `1m30s`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bare_number = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if bare_number {
        let secs: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
        return Duration::try_from_secs_f64(secs).map_err(|e| format!("{text:?}: {e}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("{e} (expected e.g. 30, 10s, 1m)"))
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

    #[test]
    fn options_parse_with_defaults() {
        let cli = Cli::try_parse_from(["skirmish-bots"]).unwrap();
        assert_eq!(cli.url, "ws://127.0.0.1:8080/ws");
        assert_eq!(cli.count, 10);
        assert_eq!(cli.ramp_up, Duration::ZERO);
        let params = cli.params().unwrap();
        assert_eq!(params.room, DEFAULT_ROOM);
        assert_eq!(params.hello_room(), None);

        let cli = Cli::try_parse_from([
            "skirmish-bots",
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
        ])
        .unwrap();
        let params = cli.params().unwrap();
        assert_eq!((params.count, params.duration, params.ramp_up, params.seed), (20, 3.0, 1.0, 42));
        assert_eq!(params.hello_room().as_deref(), Some("arena-2"));
    }

    #[test]
    fn bad_values_are_refused_up_front() {
        assert!(Cli::try_parse_from(["skirmish-bots", "-c", "0"]).is_err());
        let bad_url = Cli::try_parse_from(["skirmish-bots", "--url", "http://x/ws"]).unwrap();
        assert!(format!("{:#}", bad_url.params().unwrap_err()).contains("--url"));
        let tls_url = Cli::try_parse_from(["skirmish-bots", "--url", "wss://x/ws"]).unwrap();
        assert!(format!("{:#}", tls_url.params().unwrap_err()).contains("ws://"));
        let bad_room = Cli::try_parse_from(["skirmish-bots", "--room", "no spaces"]).unwrap();
        assert!(format!("{:#}", bad_room.params().unwrap_err()).contains("--room"));
    }
}
