//! A client that stops reading must not hold anything up: its snapshots are dropped (latest-wins)
//! and it is cut off within the stall timeout, while everyone else keeps receiving.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{TestClient, WAIT};
use futures_util::{SinkExt, StreamExt};
use skirmish_server::stats::DisconnectReason;
use skirmish_server::{Config, Stats, spawn_in_thread};
use skirmish_shared::consts::PROTOCOL_VERSION;
use skirmish_shared::{ClientMsg, Hello, encode_client};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_others_keep_receiving() {
    let stall = Duration::from_secs(2);
    let mut config = Config::for_tests();
    config.send_stall_timeout = stall;
    config.socket_send_buffer = 16 * 1024;
    let srv = spawn_in_thread(config).unwrap();

    // Forty players who read everything make snapshots big enough (~2 KB) to fill the slow
    // client's buffers within seconds.
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for i in 0..40 {
        let mut c = TestClient::join(&srv.ws_url(), &format!("reader{i}"), Some("slow")).await;
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                c.next_event().await;
            }
            c.core.stats().snapshots
        }));
    }

    // The slow client: a 4 KiB receive buffer, one Hello, then it never reads again.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(srv.addr).await.unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(srv.ws_url(), stream).await.unwrap();
    let hello = ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "Sloth".into(),
        room: Some("slow".into()),
        spectate: false,
        private: false,
        rejoin: None,
    });
    slow.send(Message::binary(encode_client(&hello))).await.unwrap();

    // Its drop counter rises while it is stuck…
    let stats = srv.stats.clone();
    let started = Instant::now();
    while Stats::get(&stats.snapshots_dropped) == 0 {
        assert!(started.elapsed() < WAIT, "no snapshot was ever dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …and the server cuts it off once its output has waited for the stall timeout.
    while stats.disconnects_by(DisconnectReason::Stalled) == 0 {
        assert!(started.elapsed() < WAIT, "the stalled client was never disconnected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped = Stats::get(&stats.snapshots_dropped);
    // The writer held back while the client's socket was backed up, rather than piling frames
    // into actix's buffers (where each one would keep its tick's output buffer alive).
    assert!(Stats::get(&stats.writes_held) > 0, "the writer never held back for the backed-up socket");

    // The slow socket really is closed: draining it ends (close, error or EOF), it never hangs.
    let drained = tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = slow.next().await {} }).await;
    assert!(drained.is_ok(), "the slow connection was not closed");

    // Everyone else kept receiving throughout: give them a few more ticks, then count.
    let before = Stats::get(&stats.snapshots_sent);
    while Stats::get(&stats.snapshots_sent) < before + 40 * 10 {
        assert!(started.elapsed() < WAIT * 2, "snapshots stopped flowing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let got = reader.await.unwrap();
        assert!(got > 10, "a reader received only {got} snapshots");
    }
    assert_eq!(stats.disconnects_by(DisconnectReason::Stalled), 1, "only the slow client was cut off");
    eprintln!("slow reader: {dropped} snapshots dropped before the cut");
}
