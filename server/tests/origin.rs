//! Which pages may open a WebSocket, against the real server: no `Origin` (bots) and the game's
//! own page (`Origin` host and port equal to `Host`) may; another site's page gets 403, a log
//! line naming its origin and a count in `/metrics`, unless `--allowed-origins` lists it.

mod common;

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use common::{metrics, server, server_with, upgrade_from};
use skirmish_server::Config;
use skirmish_server::origin::AllowedOrigin;

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// What the server logged at warn level and above, in this test process.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
        logs
    })
    .clone()
}

/// A `Write` into the shared log buffer.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn origin(value: &str) -> [(&str, &str); 1] {
    [("Origin", value)]
}

#[tokio::test]
async fn bots_and_the_games_own_page_may_connect() {
    let srv = server();
    assert!(upgrade_from(&srv, LOOPBACK, &[]).await.is_ok(), "no Origin: a bot");
    // The page the server itself served: `http://127.0.0.1:PORT`, the same as the Host header.
    let own = srv.http_url();
    assert!(upgrade_from(&srv, LOOPBACK, &origin(&own)).await.is_ok(), "{own}");
    let (host_only, _) = own.rsplit_once(':').expect("a port");
    assert!(host_only.starts_with("http://"));
    let elsewhere = format!("{host_only}:1");
    assert_eq!(upgrade_from(&srv, LOOPBACK, &origin(&elsewhere)).await.err(), Some(403), "same host, other port");
}

#[tokio::test]
async fn another_sites_page_gets_403_and_a_log_line_naming_it() {
    let logs = logs();
    let srv = server();
    assert_eq!(upgrade_from(&srv, LOOPBACK, &origin("http://evil.example")).await.err(), Some(403));
    assert_eq!(upgrade_from(&srv, LOOPBACK, &origin("null")).await.err(), Some(403));
    let counted = metrics(srv.addr).await;
    assert_eq!(counted["skirmish_connections_refused_total{reason=\"origin\"}"], 2.0);
    let text = String::from_utf8_lossy(&logs.lock().expect("not poisoned")).into_owned();
    assert!(text.contains("http://evil.example") && text.contains("origin not allowed"), "logged:\n{text}");
}

#[tokio::test]
async fn allowed_origins_let_listed_sites_in() {
    let config = Config { allowed_origins: vec![parse("https://friends.example")], ..Config::for_tests() };
    let srv = server_with(config);
    assert!(upgrade_from(&srv, LOOPBACK, &origin("https://friends.example")).await.is_ok());
    assert_eq!(upgrade_from(&srv, LOOPBACK, &origin("http://friends.example")).await.err(), Some(403), "scheme");
    assert_eq!(upgrade_from(&srv, LOOPBACK, &origin("https://evil.example")).await.err(), Some(403));

    let any = server_with(Config { allowed_origins: vec![parse("*")], ..Config::for_tests() });
    assert!(upgrade_from(&any, LOOPBACK, &origin("https://evil.example")).await.is_ok(), "* allows all");
}

fn parse(origin: &str) -> AllowedOrigin {
    origin.parse().expect("a valid origin")
}
