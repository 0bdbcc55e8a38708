//! `--sim-latency` and `--sim-jitter` delay every connection's traffic both ways, and never
//! reorder it: the real server on a real socket, measured with the client core's own ping.

mod common;

use std::time::{Duration, Instant};

use common::{TestClient, WAIT};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_client::Event;
use skirmish_server::{Config, Stats};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_latency_delays_both_ways_and_keeps_the_order() {
    let mut config = Config::for_tests();
    config.sim_latency = Duration::from_millis(200);
    config.sim_jitter = Duration::from_millis(100);
    let srv = common::server_with(config);
    let mut c = TestClient::join(&srv.ws_url(), "Faraway", Some("lag")).await;

    // Each way is delayed 100 ± 50 ms, so a ping comes back after at least 100 ms (on loopback
    // it otherwise takes well under one).
    let ping = c.core.ping(c.now_ms()).expect("playing");
    c.ws.send(Message::binary(ping)).await.unwrap();
    let rtt = loop {
        if let Event::Pong { rtt_ms } = c.next_event().await {
            break rtt_ms;
        }
    };
    assert!(rtt >= 100.0, "the ping came back after {rtt:.1} ms");

    // Forty inputs 2 ms apart, far closer than the jitter: a link that reordered them would
    // make the server drop every input that arrives after a newer one. None may be dropped.
    for i in 0..40 {
        c.send_input(Vec2::new(if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0)).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Every input is acknowledged (snapshots carry the newest input seq the server applied)
    // once it went through the link both ways.
    let (started, mut acknowledged) = (Instant::now(), 0);
    while acknowledged < 40 {
        assert!(started.elapsed() < WAIT, "only {acknowledged} of 40 inputs were acknowledged");
        if let Event::Snapshot { acked_latency_ms, .. } = c.next_event().await {
            acknowledged += acked_latency_ms.len();
        }
    }
    assert_eq!(Stats::get(&srv.stats.inputs_dropped), 0, "the link reordered inputs and the server dropped some");
}

/// A Close the server sends goes through the simulated link like every frame, and the end of
/// our stream (the FIN) follows it rather than overtaking it: the client reads why it was closed.
/// (Until the session's reader, which ends at the bad frame, stopped ending our side of the
/// stream when it was dropped, the FIN went out at once, 100 ms ahead of the Close, and the
/// client saw the stream end without one. Without the simulated link the same race was lost
/// only when the writer ran late, 3 times in 1752 oversized-frame bots of a busy room's soak.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_the_server_sends_arrives_through_the_simulated_link() {
    let mut config = Config::for_tests();
    config.sim_latency = Duration::from_millis(200);
    let max_frame = config.max_frame_bytes;
    let srv = common::server_with(config);
    let mut c = TestClient::join(&srv.ws_url(), "Faraway", Some("lag")).await;
    c.ws.send(Message::binary(vec![0u8; max_frame + 1])).await.unwrap();
    let (code, reason) = common::expect_close(&mut c.ws).await;
    assert_eq!(code, 1009, "closed with {code} {reason}");
}
