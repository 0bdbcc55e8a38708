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
