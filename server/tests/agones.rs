//! Agones: a stand-in for the SDK sidecar (a real HTTP listener that records each call, in
//! order) against the watchdog alone (health stops while a room is stalled) and against the real
//! server (ready first, health while running, the player count as a label, shutdown last).

mod common;

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skirmish_server::Stats;
use skirmish_server::agones::{Sdk, run};

use std::sync::atomic::AtomicU64;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Records `METHOD /path body` of every request, in order, and answers 200 `{}`.
struct FakeSdk {
    port: u16,
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakeSdk {
    async fn start() -> FakeSdk {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let record = calls.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, record.clone()));
            }
        });
        FakeSdk { port, calls }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

async fn serve(socket: tokio::net::TcpStream, calls: Arc<Mutex<Vec<String>>>) {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            read.read_line(&mut header).await.expect("a header");
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await.expect("the body");
        let request: Vec<&str> = line.split_whitespace().take(2).collect();
        let call = format!("{} {}", request.join(" "), String::from_utf8_lossy(&body));
        calls.lock().expect("not poisoned").push(call);
        let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

#[actix_web::test]
async fn health_pings_stop_while_a_room_is_stalled_and_resume_after() {
    let sdk = FakeSdk::start().await;
    let stats = Arc::new(Stats::default());
    let beat: Arc<AtomicU64> = stats.heartbeats.register();
    let period = Duration::from_millis(50);
    let stall = Duration::from_millis(300);
    let watchdog = actix_web::rt::spawn(run(Rc::new(Sdk::new(sdk.port)), stats.clone(), period, stall));
    let count = |what: &str| sdk.calls().iter().filter(|c| c.starts_with(what)).count();
    // Ticking: pings flow.
    for _ in 0..10 {
        stats.heartbeats.beat(&beat);
        tokio::time::sleep(period).await;
    }
    assert!(count("POST /health") >= 3, "{:?}", sdk.calls());
    assert!(sdk.calls()[0].starts_with("POST /ready"), "ready first: {:?}", sdk.calls());
    // The room stops ticking: once the stall is past, no more pings.
    tokio::time::sleep(stall + period * 10).await;
    let while_stalled = count("POST /health");
    tokio::time::sleep(period * 8).await;
    assert_eq!(count("POST /health"), while_stalled, "no ping while stalled: {:?}", sdk.calls());
    // It ticks again: pings resume.
    for _ in 0..8 {
        stats.heartbeats.beat(&beat);
        tokio::time::sleep(period).await;
    }
    assert!(count("POST /health") > while_stalled, "pings resume");
    // The player count is a label, sent when it changes.
    assert!(sdk.calls().contains(&r#"PUT /metadata/label {"key":"players","value":"0"}"#.to_owned()));
    watchdog.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_says_ready_then_health_and_players_then_shutdown() {
    let sdk = FakeSdk::start().await;
    let mut config = skirmish_server::Config::for_tests();
    config.agones_sdk_port = Some(sdk.port);
    let srv = common::server_with(config);
    let wait_for = async |what: &str, n: usize| {
        let deadline = Instant::now() + common::WAIT;
        while sdk.calls().iter().filter(|c| c.starts_with(what)).count() < n {
            assert!(Instant::now() < deadline, "no {n}× {what}: {:?}", sdk.calls());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for("POST /health", 2).await;
    let player = common::TestClient::join(&srv.ws_url(), "Pod", None).await;
    wait_for(r#"PUT /metadata/label {"key":"players","value":"1"}"#, 1).await;
    drop(player);
    // Stopping blocks until the drain is over; the stand-in must go on answering meanwhile.
    tokio::task::spawn_blocking(move || srv.stop()).await.expect("the server stops");
    let calls = sdk.calls();
    assert_eq!(calls.first().map(String::as_str), Some("POST /ready {}"), "{calls:?}");
    assert_eq!(calls.last().map(String::as_str), Some("POST /shutdown {}"), "{calls:?}");
    let labels: Vec<&String> = calls.iter().filter(|c| c.starts_with("PUT /metadata/label")).collect();
    assert_eq!(labels[0], r#"PUT /metadata/label {"key":"players","value":"0"}"#, "{calls:?}");
    assert!(calls.iter().filter(|c| *c == "POST /ready {}").count() == 1, "{calls:?}");
}
