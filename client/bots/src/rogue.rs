//! A misbehaving bot (`--misbehave`): joins through the client core like a player (except
//! `slow-handshake`, which never quite gets there), then breaks the rules on purpose and records
//! what the server did about it and how long that took. Every wait ends with the run.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use glam::Vec2;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng as _};
use skirmish_shared::consts::{MAX_FRAME_BYTES, TICK_NANOS};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until, timeout, timeout_at};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::bot::{self, Bot, CLOSE_TIMEOUT, CONNECT_TIMEOUT, End, SEED_STRIDE, Socket, Spec};
use crate::misbehave::{Misbehaviour, Reaction, RogueReport};

/// Between two inputs of a flooding bot: about 1000 a second, far over the server's limit.
const FLOOD_PERIOD: Duration = Duration::from_millis(1);
/// Length of the `garbage` frame.
const GARBAGE_BYTES: usize = 64;
/// Length of the `oversized` frame: over the default cap (`MAX_FRAME_BYTES`, 4 KiB).
const OVERSIZED_BYTES: usize = MAX_FRAME_BYTES + 1024;
/// Between two bytes of the `slow-handshake` upgrade request.
const HANDSHAKE_BYTE_PERIOD: Duration = Duration::from_secs(1);
/// How long a `reconnect` bot stays on one connection, on average (each stay is jittered).
const RECONNECT_PERIOD: Duration = Duration::from_secs(2);
/// Keeps a rogue bot's random stream apart from a playing bot's of the same index.
const ROGUE_STREAM: u64 = 0x726F_6775_6532_0001;

/// Runs one misbehaving bot until the server reacts or the run ends, and reports.
pub async fn run(spec: Spec, kind: Misbehaviour) -> RogueReport {
    let mut report = RogueReport { kind, reaction: Reaction::Endured, took: None, reconnects: 0 };
    tokio::select! {
        () = sleep_until(spec.start_at) => {}
        () = spec.stop.stopped() => {
            report.reaction = Reaction::Failed("stopped before starting".into());
            return report;
        }
    }
    let mut reconnects = 0;
    // Set once the bot is in (or, for `slow-handshake`, connected) and starts to misbehave: a
    // bot the run's end or a stop cuts off before that never misbehaved, so the server did not
    // endure anything.
    let began = AtomicBool::new(false);
    let misbehave = async {
        match kind {
            Misbehaviour::Flood => flood(&spec, &began).await,
            Misbehaviour::Garbage => one_bad_frame(&spec, GARBAGE_BYTES, &began).await,
            Misbehaviour::Oversized => one_bad_frame(&spec, OVERSIZED_BYTES, &began).await,
            Misbehaviour::NeverRead => never_read(&spec, &began).await,
            Misbehaviour::SlowHandshake => slow_handshake(&spec, &began).await,
            Misbehaviour::Reconnect => (reconnect(&spec, &mut reconnects, &began).await, None),
        }
    };
    // The run's end bounds every kind (a server that put up with the bot "endured" it); a
    // `reconnect` bot is let finish its last clean close.
    let bound = if kind == Misbehaviour::Reconnect { spec.end_at + CLOSE_TIMEOUT } else { spec.end_at };
    let ended = tokio::select! {
        ended = timeout_at(bound, misbehave) => ended.ok(),
        () = spec.stop.stopped() => None,
    };
    report.reconnects = reconnects;
    if let Some((reaction, took)) = ended {
        report.took = match reaction {
            Reaction::Closed(_) | Reaction::Lost(_) => took,
            Reaction::Endured | Reaction::Failed(_) => None,
        };
        report.reaction = reaction;
    } else if !began.load(Relaxed) {
        let why = if spec.stop.is_stopped() { "stopped while joining" } else { "run over before it joined" };
        report.reaction = Reaction::Failed(why.into());
    }
    if let Reaction::Failed(why) = &report.reaction {
        tracing::debug!(bot = spec.index, misbehaviour = %kind, error = %why, "could not misbehave");
    }
    report
}

/// What a kind's run returns: the reaction and the time from the misbehaviour to it.
type Ended = (Reaction, Option<Duration>);

/// The bot's own random stream.
fn rng(spec: &Spec) -> Xoshiro256PlusPlus {
    let seed = spec.seed.wrapping_add(u64::from(spec.index).wrapping_mul(SEED_STRIDE)) ^ ROGUE_STREAM;
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Reads until the server ends the connection; what it said, or how it broke.
async fn reaction(ws: &mut Socket) -> Reaction {
    loop {
        match ws.next().await {
            // Snapshots and pings keep coming until the server decides.
            Some(Ok(Message::Close(frame))) => return Reaction::Closed(bot::close_text(frame)),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Reaction::Lost(bot::error_kind(&e)),
            None => return Reaction::Lost("closed without a close frame".into()),
        }
    }
}

/// After a failed send (`why`): the Close frame the server sent before it hung up, if it sits
/// unread in the socket, else `why`. A bot that stopped reading has the snapshots before it
/// there too, so this reads what is already in the socket's receive buffer, straight from the
/// TCP stream (tungstenite would first retry the failed write) and without waiting, and looks
/// for the Close at its end: the server sends nothing after it. Waiting for tungstenite to read
/// it never found it and only added `CLOSE_TIMEOUT` to the reaction.
fn after_send_error(ws: &mut Socket, why: String) -> Reaction {
    let MaybeTlsStream::Plain(stream) = ws.get_mut() else { return Reaction::Lost(why) };
    let mut tail = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut read = 0;
    while read < MAX_UNREAD_BYTES {
        match stream.try_read(&mut chunk) {
            Ok(n) if n > 0 => {
                read += n;
                tail.extend_from_slice(&chunk[..n]);
                // Only the end can hold the Close: keep the last frame's worth.
                if tail.len() > 2 * MAX_CLOSE_FRAME_BYTES {
                    tail.drain(..tail.len() - MAX_CLOSE_FRAME_BYTES);
                }
            }
            // The end of the stream, nothing more yet, or the connection's error.
            _ => break,
        }
    }
    trailing_close(&tail).map_or(Reaction::Lost(why), Reaction::Closed)
}

/// Longest Close frame from a server: a 2-byte header and at most 125 bytes of payload.
const MAX_CLOSE_FRAME_BYTES: usize = 127;
/// Most unread bytes `after_send_error` goes through (a receive buffer holds a few MiB at most).
const MAX_UNREAD_BYTES: usize = 64 << 20;

/// The Close frame that ends `bytes` (a server's frames: not masked), as code and reason; `None`
/// when they do not end with one. Its start is found from the end: a header `0x88` (FIN, Close)
/// and a length byte that reaches exactly to the end. Shorter lengths are tried first, and the
/// reason is text, in which the byte `0x88` cannot occur.
fn trailing_close(bytes: &[u8]) -> Option<String> {
    (0..=125usize).filter(|&len| len != 1).find_map(|len| {
        let start = bytes.len().checked_sub(len + 2)?;
        if bytes[start] != 0x88 || usize::from(bytes[start + 1]) != len {
            return None;
        }
        let payload = &bytes[start + 2..];
        if payload.is_empty() {
            return Some("1005".to_owned());
        }
        let code = u16::from_be_bytes([payload[0], payload[1]]);
        let reason = std::str::from_utf8(&payload[2..]).ok()?;
        Some(format!("{code} {reason}").trim_end().to_owned())
    })
}

/// Valid inputs as fast as the socket takes them (~1000/s), reading meanwhile.
async fn flood(spec: &Spec, began: &AtomicBool) -> Ended {
    let mut bot = Bot::new(spec);
    let mut ws = match bot.join(spec.end_at).await {
        Ok(ws) => ws,
        Err(why) => return (Reaction::Failed(why), None),
    };
    began.store(true, Relaxed);
    let started = Instant::now();
    let mut every = interval(FLOOD_PERIOD);
    every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            msg = ws.next() => {
                let reaction = match msg {
                    Some(Ok(Message::Close(frame))) => Reaction::Closed(bot::close_text(frame)),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => Reaction::Lost(bot::error_kind(&e)),
                    None => Reaction::Lost("closed without a close frame".into()),
                };
                return (reaction, Some(started.elapsed()));
            }
            _ = every.tick() => {
                let now = bot.now_ms();
                // `Welcome` was seen, so the core builds inputs.
                if let Some(frame) = bot.client.input(Vec2::ZERO, 0.0, 0, now)
                    && let Err(why) = bot::send(&mut ws, frame).await
                {
                    let took = started.elapsed();
                    return (after_send_error(&mut ws, why), Some(took));
                }
            }
        }
    }
}

/// One frame of `len` random bytes after `Welcome` (garbage, or over the size cap), then waits.
async fn one_bad_frame(spec: &Spec, len: usize, began: &AtomicBool) -> Ended {
    let mut ws = match Bot::new(spec).join(spec.end_at).await {
        Ok(ws) => ws,
        Err(why) => return (Reaction::Failed(why), None),
    };
    began.store(true, Relaxed);
    let mut rng = rng(spec);
    let frame: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
    let started = Instant::now();
    let reaction = match ws.send(Message::Binary(frame.into())).await {
        Ok(()) => reaction(&mut ws).await,
        Err(e) => after_send_error(&mut ws, bot::error_kind(&e)),
    };
    (reaction, Some(started.elapsed()))
}

/// Joins, then sends inputs at 30 Hz without ever reading again: the server's queue towards it
/// fills until the server cuts it. Without reading, the cut shows as a failed send.
async fn never_read(spec: &Spec, began: &AtomicBool) -> Ended {
    let mut bot = Bot::new(spec);
    let mut ws = match bot.join(spec.end_at).await {
        Ok(ws) => ws,
        Err(why) => return (Reaction::Failed(why), None),
    };
    began.store(true, Relaxed);
    let started = Instant::now();
    let mut every = interval(Duration::from_nanos(TICK_NANOS));
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = bot.now_ms();
        if let Some(frame) = bot.client.input(Vec2::ZERO, 0.0, 0, now)
            && let Err(why) = bot::send(&mut ws, frame).await
        {
            let took = started.elapsed();
            return (after_send_error(&mut ws, why), Some(took));
        }
    }
}

/// Opens TCP and sends the WebSocket upgrade request one byte a second, listening for the
/// server's answer (or its hanging up) meanwhile.
async fn slow_handshake(spec: &Spec, began: &AtomicBool) -> Ended {
    let (mut stream, request) = match timeout(CONNECT_TIMEOUT, raw_connect(spec)).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(why)) => return (Reaction::Failed(why), None),
        Err(_) => return (Reaction::Failed("connect timeout".into()), None),
    };
    began.store(true, Relaxed);
    let started = Instant::now();
    let (mut read, mut write) = stream.split();
    let trickle = async {
        for byte in request.bytes() {
            write.write_all(&[byte]).await?;
            tokio::time::sleep(HANDSHAKE_BYTE_PERIOD).await;
        }
        // All sent: wait for the answer (the run's end bounds this).
        std::future::pending::<std::io::Result<()>>().await
    };
    let mut answer = [0u8; 512];
    let reaction = tokio::select! {
        read = read.read(&mut answer) => match read {
            Ok(0) => Reaction::Lost("closed without an answer".into()),
            Ok(n) => {
                let text = String::from_utf8_lossy(&answer[..n]);
                Reaction::Closed(text.lines().next().unwrap_or_default().trim().to_owned())
            }
            Err(e) => Reaction::Lost(bot::error_kind(&tungstenite::Error::Io(e))),
        },
        Err(e) = trickle => Reaction::Lost(bot::error_kind(&tungstenite::Error::Io(e))),
    };
    (reaction, Some(started.elapsed()))
}

/// A plain TCP connection to the server of `spec.url` (from `spec.source` if given), and the
/// upgrade request a client would send on it.
async fn raw_connect(spec: &Spec) -> Result<(TcpStream, String), String> {
    let io = |e: std::io::Error| bot::error_kind(&tungstenite::Error::Io(e));
    let request = (*spec.url).into_client_request().map_err(|e| bot::error_kind(&e))?;
    let uri = request.uri();
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let server: SocketAddr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(io)?
        .find(|addr| spec.source.is_none_or(|source| addr.is_ipv4() == source.is_ipv4()))
        .ok_or_else(|| format!("{host} has no usable address"))?;
    let socket = if server.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }.map_err(io)?;
    if let Some(source) = spec.source {
        socket.bind(SocketAddr::new(source, 0)).map_err(io)?;
    }
    let stream = socket.connect(server).await.map_err(io)?;
    // One byte per segment, as a slow client's would arrive.
    stream.set_nodelay(true).map_err(io)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    Ok((stream, request))
}

/// Plays like a well-behaved bot, but closes cleanly and joins again on a new connection every
/// `RECONNECT_PERIOD`, for the whole run, counting the new connections in `reconnects`. Its
/// timings stay out of the run's figures (its spec's samples are not the run's).
async fn reconnect(spec: &Spec, reconnects: &mut u64, began: &AtomicBool) -> Reaction {
    let mut rng = rng(spec);
    loop {
        // Each stay lasts half to one and a half periods: a storm of real clients is not in
        // step, and bots reconnecting in step would measure waves instead.
        let stay = RECONNECT_PERIOD.mul_f64(rng.random_range(0.5..1.5));
        let cycle = Spec { end_at: spec.end_at.min(Instant::now() + stay), ..spec.clone() };
        let mut bot = Bot::new(&cycle);
        let mut ws = match bot.join(spec.end_at).await {
            Ok(ws) => ws,
            Err(why) => return Reaction::Failed(why),
        };
        began.store(true, Relaxed);
        match bot.play(&mut ws).await {
            End::RunOver => bot::close(&mut ws).await,
            End::ServerClosed(why) => return Reaction::Closed(why),
            End::Lost(why) => return Reaction::Lost(why),
        }
        if Instant::now() >= spec.end_at || spec.stop.is_stopped() {
            return Reaction::Endured;
        }
        *reconnects += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_close_at_the_end_of_unread_frames_is_found() {
        let reason = b"not reading: no newer snapshot acknowledged in the last 150 snapshots";
        let mut close = vec![0x88, (reason.len() + 2) as u8, 0x03, 0xF0];
        close.extend_from_slice(reason);
        // A snapshot's worth of binary frames first (one cut at its start, as the socket's
        // backlog may begin mid-frame), then the Close.
        let mut bytes = vec![0x17, 0x88, 0x05, 0x82, 0x03, 1, 2, 3, 0x82, 0x7E, 0x00, 0x80];
        bytes.extend(std::iter::repeat_n(0x88, 128));
        bytes.extend_from_slice(&close);
        let expected = format!("1008 {}", String::from_utf8_lossy(reason));
        assert_eq!(trailing_close(&bytes).as_deref(), Some(expected.as_str()));
        assert_eq!(trailing_close(&close).as_deref(), Some(expected.as_str()));
        assert_eq!(trailing_close(&[0x82, 0x01, 0x00, 0x88, 0x00]).as_deref(), Some("1005"));
        // No Close at the end: snapshots only, or a Close cut short.
        assert_eq!(trailing_close(&bytes[..bytes.len() - 1]), None);
        assert_eq!(trailing_close(&[0x82, 0x03, 1, 2, 3]), None);
        assert_eq!(trailing_close(&[]), None);
    }
}
