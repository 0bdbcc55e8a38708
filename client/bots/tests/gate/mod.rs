//! A TCP gate between the bots and the real server, for tests of a server that is slow to let
//! bots in, freezes, or never answers: it holds every connection it accepts until the test opens
//! it, then carries its bytes both ways, except while the test has it frozen.
#![allow(dead_code, reason = "each test file uses part of the gate")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bounds a hung run or wait.
pub const WALL_CLOCK_GUARD: Duration = Duration::from_secs(60);

/// See the module doc.
pub struct Gate {
    addr: SocketAddr,
    /// Connections accepted so far.
    arrived: Arc<AtomicUsize>,
    /// Set: held connections go through to the server.
    pub open: watch::Sender<bool>,
    /// Set: no byte moves either way (a frozen server, as SIGSTOP makes one), until cleared.
    pub frozen: watch::Sender<bool>,
}

impl Gate {
    /// A gate in front of `server`; `None`: nothing behind it, so it never answers.
    pub async fn start(server: Option<SocketAddr>) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the gate");
        let addr = listener.local_addr().expect("the gate's address");
        let arrived = Arc::new(AtomicUsize::new(0));
        let (open, opened) = watch::channel(false);
        let (frozen, freeze) = watch::channel(false);
        let count = arrived.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut opened = opened.clone();
                let freeze = freeze.clone();
                tokio::spawn(async move {
                    let Some(server) = server else {
                        // Hold the connection, unanswered, until the test ends.
                        let _ = opened.wait_for(|_| false).await;
                        drop(client);
                        return;
                    };
                    if opened.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    let Ok(upstream) = TcpStream::connect(server).await else { return };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = upstream.into_split();
                    tokio::join!(
                        carry(client_read, server_write, freeze.clone()),
                        carry(server_read, client_write, freeze)
                    );
                });
            }
        });
        Gate { addr, arrived, open, frozen }
    }

    /// The bots' `--url` through the gate.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Waits until `n` connections have arrived.
    pub async fn arrivals(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + WALL_CLOCK_GUARD;
        while self.arrived.load(Ordering::SeqCst) < n {
            assert!(tokio::time::Instant::now() < deadline, "the bots never reached the gate");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Connections accepted so far.
    pub fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to`, holding what it read while `freeze` is set.
async fn carry(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut freeze: watch::Receiver<bool>,
) {
    let mut buffer = [0u8; 4096];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if freeze.wait_for(|frozen| !*frozen).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
