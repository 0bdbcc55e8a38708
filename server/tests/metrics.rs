//! `/metrics` exposes every named series in the Prometheus text format, and the values move
//! when players play.

mod common;

use std::collections::HashMap;

use common::{TestClient, server};
use futures_util::SinkExt;
use glam::Vec2;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Scrapes `/metrics` over a real socket; returns the content type and `series → value`.
async fn scrape(addr: std::net::SocketAddr) -> (String, HashMap<String, f64>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
        .expect("content type");
    let values = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            (name.to_owned(), value.parse().expect("number"))
        })
        .collect();
    (content_type, values)
}

const SERIES: [&str; 22] = [
    "skirmish_connections",
    "skirmish_players",
    "skirmish_rooms",
    "skirmish_kept_seats",
    "skirmish_disconnects_total{reason=\"room_closed\"}",
    "skirmish_disconnects_total{reason=\"banned\"}",
    "skirmish_ticks_total",
    "skirmish_ticks_skipped_total",
    "skirmish_tick_overruns_total",
    "skirmish_tick_duration_seconds_count",
    "skirmish_tick_duration_seconds_bucket{le=\"+Inf\"}",
    "skirmish_tick_cpu_seconds_count",
    "skirmish_snapshots_sent_total",
    "skirmish_snapshot_bytes_total",
    "skirmish_snapshots_dropped_total",
    "skirmish_snapshots_thinned_total",
    "skirmish_inputs_dropped_total",
    "skirmish_inputs_repeated_total",
    "skirmish_inputs_overflowed_total",
    "skirmish_inputs_waiting_total",
    "skirmish_disconnects_total{reason=\"normal\"}",
    "skirmish_disconnects_total{reason=\"stalled\"}",
];

#[tokio::test]
async fn metrics_expose_the_series_and_move_with_play() {
    let srv = server();
    let (content_type, before) = scrape(srv.addr).await;
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    for series in SERIES {
        assert!(before.contains_key(series), "missing {series}");
    }
    assert_eq!(before["skirmish_players"], 0.0);
    assert_eq!(before["skirmish_snapshots_sent_total"], 0.0);

    let mut a = TestClient::join(&srv.ws_url(), "Ada", Some("m")).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", Some("m")).await;
    for _ in 0..20 {
        a.send_input(Vec2::X).await;
        a.next_event().await;
        b.next_event().await;
    }
    let (_, during) = scrape(srv.addr).await;
    assert_eq!(during["skirmish_players"], 2.0);
    assert_eq!(during["skirmish_rooms"], 1.0);
    assert_eq!(during["skirmish_connections"], 2.0);
    assert!(during["skirmish_ticks_total"] > 0.0);
    assert!(during["skirmish_tick_duration_seconds_count"] > 0.0);
    // One CPU time per wake-up (a scrape may fall between the two observations of one).
    let (cpu, wall) = (during["skirmish_tick_cpu_seconds_count"], during["skirmish_tick_duration_seconds_count"]);
    assert!((wall - cpu).abs() <= 1.0, "{cpu} CPU times for {wall} wake-ups");
    assert!(during["skirmish_snapshots_sent_total"] >= 20.0);
    assert!(during["skirmish_snapshot_bytes_total"] > during["skirmish_snapshots_sent_total"]);

    // A clean leave: close, then read until the server's close reply, so no unread data turns
    // the socket's end into a reset.
    b.ws.close(None).await.unwrap();
    while let Some(Ok(_)) = futures_util::StreamExt::next(&mut b.ws).await {}
    drop(b);
    a.wait_for(|c| c.core.roster().len() == 1).await;
    a.ws.send(tokio_tungstenite::tungstenite::Message::text("not binary")).await.unwrap();
    common::expect_close(&mut a.ws).await;
    // Both sessions end asynchronously, and the room and the players go after the connections
    // (through the lobby): poll until all three are back at 0.
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let (_, after) = scrape(srv.addr).await;
        let gauges = ["skirmish_connections", "skirmish_players", "skirmish_rooms"].map(|g| after[g]);
        if gauges == [0.0; 3] {
            assert_eq!(after["skirmish_disconnects_total{reason=\"normal\"}"], 1.0);
            assert_eq!(after["skirmish_disconnects_total{reason=\"text_frame\"}"], 1.0);
            assert!(after["skirmish_snapshots_sent_total"] >= during["skirmish_snapshots_sent_total"]);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "connections, players, rooms never all reached 0: {gauges:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Kills the server binary when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary runs on jemalloc and says what its heap holds beside its RSS: live allocations
/// (which a join must have made) within what the allocator holds. A server embedded in another
/// process (the tests' own, on the system's allocator) must not claim jemalloc's figures.
#[cfg(jemalloc)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reports_its_heap_beside_its_rss() {
    let (child, port) = common::start_binary();
    let _child = Killed(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut player = TestClient::join(&format!("ws://{addr}/ws"), "Alpha", None).await;
    player.wait_for(|c| c.core.latest().is_some()).await;
    let (_, m) = scrape(addr).await;
    let allocated = m["skirmish_heap_allocated_bytes"];
    let resident = m["skirmish_heap_resident_bytes"];
    assert!(allocated > 0.0, "a running room holds heap memory: {allocated}");
    assert!(allocated <= resident, "live allocations {allocated} within what jemalloc holds {resident}");
    assert!(m["process_resident_memory_bytes"] > 0.0);

    let embedded = server();
    let (_, m) = scrape(embedded.addr).await;
    assert!(!m.contains_key("skirmish_heap_allocated_bytes"), "the library does not assume its allocator");
    assert!(m.contains_key("process_resident_memory_bytes"));
}
