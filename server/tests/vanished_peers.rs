//! Peers that vanish without a FIN (a pulled cable, a laptop lid closed on Wi-Fi): a relay in
//! the test forwards the players' connections, then stops forwarding and never closes, so the
//! server hears nothing and gets no end of stream. Their sessions must go within the client
//! timeout plus 2 s, and the server must be back to its baseline: `/metrics`, `/api/rooms` and
//! the descriptors it holds.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fds::sockets_on_port;
use common::{TestClient, WAIT, http_get, metrics, server_with};
use futures_util::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const PLAYERS: usize = 20;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
const HEARTBEAT: Duration = Duration::from_millis(500);

/// A TCP relay between the players and the server that can freeze: stop forwarding both ways
/// while keeping every socket open.
struct Relay {
    addr: SocketAddr,
    freeze: watch::Sender<bool>,
    /// Frozen connections' sockets, held open until the relay is dropped.
    held: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
}

impl Relay {
    async fn start(server: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let (freeze, _) = watch::channel(false);
        let held = Arc::new(Mutex::new(Vec::new()));
        let (frozen, kept) = (freeze.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut upstream = TcpStream::connect(server).await.expect("the relay reaches the server");
                let (mut frozen, kept) = (frozen.subscribe(), kept.clone());
                tokio::spawn(async move {
                    let froze = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => false,
                        _ = frozen.wait_for(|f| *f) => true,
                    };
                    if froze {
                        kept.lock().expect("not poisoned").push((client, upstream));
                    }
                });
            }
        });
        Self { addr, freeze, held }
    }

    fn freeze(&self) {
        self.freeze.send_replace(true);
    }
}

/// Connections, players and rooms as `/metrics` and `/api/rooms` report them.
async fn load(addr: SocketAddr) -> (f64, f64, String) {
    let m = metrics(addr).await;
    (m["skirmish_connections"], m["skirmish_players"], http_get(addr, "/api/rooms").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_vanish_without_a_fin_are_removed_within_the_client_timeout_plus_2_s() {
    let mut config = skirmish_server::Config::for_tests();
    config.client_timeout = CLIENT_TIMEOUT;
    config.heartbeat_interval = HEARTBEAT;
    let srv = server_with(config);
    let baseline = (load(srv.addr).await, sockets_on_port(srv.addr.port()));
    let relay = Relay::start(srv.addr).await;

    // Players through the relay, reading all the while (the WebSocket library answers the
    // server's pings, which is all the heartbeat needs).
    let url = format!("ws://{}/ws", relay.addr);
    for i in 0..PLAYERS {
        let client = TestClient::join(&url, &format!("Cable{i}"), None).await;
        let mut ws = client.ws;
        tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    }
    let joined = load(srv.addr).await;
    assert_eq!((joined.0, joined.1), (PLAYERS as f64, PLAYERS as f64));
    // Past one client timeout the relayed players are all still there: the heartbeat works
    // through the relay, so what removes them later is their silence.
    tokio::time::sleep(CLIENT_TIMEOUT + Duration::from_secs(1)).await;
    let still = load(srv.addr).await;
    assert_eq!((still.0, still.1), (PLAYERS as f64, PLAYERS as f64), "alive while the relay forwards");

    relay.freeze();
    let frozen_at = Instant::now();
    let deadline = frozen_at + WAIT;
    let gone_at = loop {
        let (connections, players, _) = load(srv.addr).await;
        if connections == 0.0 && players == 0.0 {
            break Instant::now();
        }
        assert!(Instant::now() < deadline, "{connections} connections and {players} players left after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = gone_at.duration_since(frozen_at);
    eprintln!("vanished sessions removed {took:?} after the relay froze (client timeout {CLIENT_TIMEOUT:?})");
    assert!(took <= CLIENT_TIMEOUT + Duration::from_secs(2), "the vanished sessions took {took:?} to go");
    // Not removed before they could have timed out: the last thing heard is at most one
    // heartbeat before the freeze.
    assert!(took + HEARTBEAT >= CLIENT_TIMEOUT, "removed after only {took:?}, before the client timeout");

    // Everything back to the baseline, while the relay still holds its side of every socket.
    let deadline = Instant::now() + WAIT;
    loop {
        let now = (load(srv.addr).await, sockets_on_port(srv.addr.port()));
        if now == baseline {
            break;
        }
        assert!(Instant::now() < deadline, "back to the baseline {baseline:?}, but {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(relay.held.lock().expect("not poisoned").len(), PLAYERS, "the relay never closed a socket");
}
