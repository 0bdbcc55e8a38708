//! The floor under the bots' CPU: the same traffic as a room of bots on loopback, with nothing
//! of Skirmish in it. `serve` plays the server (every connection gets `--down` bytes in one write
//! each tick, all connections in one burst, as the room's fan-out does, and whatever arrives is
//! read and dropped); `play` plays the bots (one tokio task per connection on a single-threaded
//! runtime per core, as `skirmish-bots` runs them, each writing `--up` bytes once a tick at its
//! own phase within the tick and reading what comes). No WebSocket framing, no MessagePack, no
//! game: what `play` costs per connection-second is what a bot costs at the least on this
//! machine and kernel, with tokio as its event loop (the bots' own shards, `src/shards.rs`).
//! `--websocket` puts the bots' WebSocket library (tokio-tungstenite, configured as the bots
//! configure it) on both sides, the same bytes on the wire, to tell its share apart.
//! `scripts/loopback_floor.sh` runs both and measures them as `scripts/bots_cpu.sh` measures the
//! real ones.
//!
//! Defaults are the real bots' traffic at 1000 bots on `expanse` (`scripts/syscalls.sh`: about
//! 31 reads and 31 sends a second per bot; 4.0 KiB a second down and 871 B up of payload).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

// The bots' event loops, shared with `skirmish-bots` (a binary crate, so included by path).
#[path = "../src/shards.rs"]
mod shards;
use shards::Shards;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    role: Role,
    /// Messages a second each way per connection (the server's tick rate).
    #[arg(long, default_value_t = 30, global = true)]
    rate: u32,
    /// Speak WebSocket over the connections (binary messages, the same bytes on the wire).
    #[arg(long, global = true)]
    websocket: bool,
}

#[derive(Subcommand)]
enum Role {
    /// Listen on ADDR (port 0 picks one; the address is printed on stdout) and send to
    /// every connection each tick until killed.
    Serve {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// Bytes sent to each connection each tick, frame header included (a snapshot, with the
        /// radar once a second averaged in).
        #[arg(long, default_value_t = 136)]
        down: usize,
    },
    /// Open COUNT connections to ADDR and play for DURATION seconds.
    Play {
        /// The `serve` side's address, as it printed it.
        #[arg(long)]
        addr: SocketAddr,
        /// Connections to open.
        #[arg(short = 'c', long, default_value_t = 1000)]
        count: u32,
        /// Bytes sent each tick (an input: 29 bytes of MessagePack and a masked frame's 6-byte
        /// header).
        #[arg(long, default_value_t = 35)]
        up: usize,
        /// Seconds from the start until every connection stops sending and reading.
        #[arg(long, default_value_t = 40)]
        duration: u64,
    },
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    // A socket per connection on each side: thousands, past the usual soft limit of 1024.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let period = Duration::from_secs(1) / cli.rate.max(1);
    match cli.role {
        Role::Serve { addr, down } => {
            // A worker per core, as the server's actix workers run.
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(serve(addr, down, period, cli.websocket))
        }
        Role::Play { addr, count, up, duration } => {
            // On the bots' own event loops (client/bots/src/shards.rs): a single-threaded runtime
            // per core on a thread of its own, the connections dealt out among them.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count.max(1) as usize);
            let shards = Shards::start(NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN))?;
            let end = Instant::now() + Duration::from_secs(duration);
            let websocket = cli.websocket;
            // Each shard opens its own connections one after another, as a shard of bots ramps up.
            let plays: Vec<_> = (0..threads as u32)
                .map(|shard| {
                    let indices = (shard..count).step_by(threads);
                    shards.spawn(shard, play(addr, indices, up, period, end, websocket))
                })
                .collect();
            let waiter = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let mut received = 0;
            for result in waiter.block_on(futures_util::future::join_all(plays)) {
                received += result.map_err(|_| std::io::Error::other("a shard panicked"))??;
            }
            println!("{count} connections received {received} bytes in {duration} s");
            Ok(())
        }
    }
}

/// The bots' WebSocket settings (client/bots/src/bot.rs): a 512-byte read buffer, writes flushed
/// at once.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(512).write_buffer_size(0)
}

/// One end of a connection: bare TCP, or WebSocket over it.
enum Link {
    Tcp(OwnedReadHalf, OwnedWriteHalf),
    Ws(Box<WebSocketStream<TcpStream>>),
}

impl Link {
    /// Sends `message`: as it is, or as one binary WebSocket message (see [`payload`]).
    async fn send(&mut self, message: &Bytes) -> bool {
        match self {
            Self::Tcp(_, writer) => writer.write_all(message).await.is_ok(),
            Self::Ws(ws) => ws.send(Message::Binary(message.clone())).await.is_ok(),
        }
    }

    /// Waits for what comes next and returns its size, or `None` once the connection is over.
    /// Cancel-safe, as the `select!` in the loops needs: a read, or a stream's `next`.
    async fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        match self {
            Self::Tcp(reader, _) => reader.read(buf).await.ok().filter(|&n| n > 0),
            Self::Ws(ws) => loop {
                match ws.next().await? {
                    Ok(Message::Binary(bytes)) => return Some(bytes.len()),
                    Ok(Message::Close(_)) | Err(_) => return None,
                    Ok(_) => {}
                }
            },
        }
    }
}

/// The payload that puts `wire` bytes on the wire with a frame header of `header` bytes.
fn payload(wire: usize, header: usize, websocket: bool, fill: u8) -> Bytes {
    let len = if websocket { wire.saturating_sub(header) } else { wire };
    Bytes::from(vec![fill; len])
}

async fn serve(addr: SocketAddr, down: usize, period: Duration, websocket: bool) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("{}", listener.local_addr()?);
    // Every connection's timer on the same grid: one burst of writes a tick, like the fan-out.
    let epoch = Instant::now();
    // A server's frame header for a message of under 126 bytes is 2 bytes, 4 up to 64 KiB.
    let message = payload(down, if down < 128 { 2 } else { 4 }, websocket, 0x5a);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let message = message.clone();
        tokio::spawn(async move {
            let mut link = if websocket {
                match tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await {
                    Ok(ws) => Link::Ws(Box::new(ws)),
                    Err(_) => return,
                }
            } else {
                let (reader, writer) = stream.into_split();
                Link::Tcp(reader, writer)
            };
            let mut buf = [0_u8; 512];
            let elapsed = epoch.elapsed().as_nanos() / period.as_nanos() + 1;
            let mut tick = interval_at(epoch + period * u32::try_from(elapsed).unwrap_or(0), period);
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => if !link.send(&message).await { return },
                    read = link.recv(&mut buf) => if read.is_none() { return },
                }
            }
        });
    }
}

/// Plays connections `indices` until `end`; returns the bytes they received (payload bytes with
/// `--websocket`).
async fn play(
    addr: SocketAddr,
    indices: impl Iterator<Item = u32>,
    up: usize,
    period: Duration,
    end: Instant,
    websocket: bool,
) -> std::io::Result<u64> {
    // A client's frame header for a message of under 126 bytes: 2 bytes and a 4-byte mask.
    let message = payload(up, 6, websocket, 0xa5);
    let mut tasks = Vec::new();
    for index in indices {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut link = if websocket {
            let url = format!("ws://{addr}/");
            let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
                .await
                .map_err(std::io::Error::other)?;
            Link::Ws(Box::new(ws))
        } else {
            let (reader, writer) = stream.into_split();
            Link::Tcp(reader, writer)
        };
        let message = message.clone();
        tasks.push(tokio::spawn(async move {
            // The same 512-byte read buffer as the bots (`READ_BUFFER_BYTES`).
            let mut buf = [0_u8; 512];
            // Golden-ratio phases within the tick, as the bots spread their sends.
            let phase = period.mul_f64((f64::from(index) * 0.618_033_988_749_895).fract());
            let mut tick = interval_at(Instant::now() + phase, period);
            tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let mut received = 0_u64;
            // One timer, as a bot has: the end of the run is read when it fires.
            loop {
                tokio::select! {
                    at = tick.tick() => if at >= end || !link.send(&message).await {
                        return received;
                    },
                    read = link.recv(&mut buf) => match read {
                        Some(n) => received += n as u64,
                        None => return received,
                    },
                }
            }
        }));
    }
    let mut received = 0;
    for task in tasks {
        received += task.await.unwrap_or(0);
    }
    Ok(received)
}
