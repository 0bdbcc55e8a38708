//! The upgrade and the close handshake, seen from a raw socket as an outside client sees it:
//! frames sent in the same write as the upgrade request are read, an upgrade anywhere but `/ws`
//! gets 404, and for the close handshake a client that
//! closes first gets the server's Close and the end of the TCP stream at once, and a client
//! that is still sending when the server closes it (a flood, a fragmented message sent back to
//! back) reads the Close code and reason every time instead of a connection reset.
//!
//! The client here is hand-written on a `TcpStream` on purpose: a WebSocket library answers
//! Close frames and buffers reads on its own, which would hide exactly what is tested.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{WAIT, server};
use skirmish_server::close::Close;
use skirmish_shared::consts::{FLOOD_KICK_DROPS, PROTOCOL_VERSION};
use skirmish_shared::{ClientMsg, Hello, Input, encode_client};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const OP_CONTINUATION: u8 = 0x0;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
/// How many times each abuse is repeated, as the issue that found the lost Close asked.
const TRIES: usize = 100;
/// Connections misbehaving at once (the tries run in waves of this many).
const WAVE: usize = 25;

/// A masked client frame (RFC 6455 §5.2); the mask is fixed, which the protocol allows.
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend((n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend((n as u64).to_be_bytes());
        }
    }
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn close_frame(code: u16) -> Vec<u8> {
    frame(OP_CLOSE, true, &code.to_be_bytes())
}

fn hello() -> Vec<u8> {
    let hello = Hello {
        version: PROTOCOL_VERSION,
        name: "Raw".into(),
        room: None,
        spectate: false,
        private: false,
        rejoin: None,
    };
    frame(OP_BINARY, true, &encode_client(&ClientMsg::Hello(hello)))
}

/// Connects and upgrades by hand; returns the two halves of the socket, positioned at the first
/// WebSocket frame.
async fn open(addr: SocketAddr) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
    let (read, write, head) = request_upgrade(addr, "/ws", &[]).await;
    assert!(head.starts_with("HTTP/1.1 101"), "upgraded: {head}");
    (read, write)
}

/// Sends an upgrade request for `path` with `then` in the same write (frames a client sends
/// without waiting for the answer); returns the socket's halves after the response head, and
/// the head.
async fn request_upgrade(
    addr: SocketAddr,
    path: &str,
    then: &[u8],
) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf, String) {
    let stream = TcpStream::connect(addr).await.expect("the server accepts TCP");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(then);
    write.write_all(&request).await.expect("send the upgrade");
    let mut read = BufReader::new(read);
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(read.read_u8().await.expect("the upgrade response"));
    }
    (read, write, String::from_utf8_lossy(&head).into_owned())
}

/// The server takes the socket over at the upgrade: bytes the client sent right behind its
/// request (read by the HTTP layer along with it) must reach the session, first.
#[tokio::test]
async fn a_hello_sent_with_the_upgrade_request_is_answered() {
    let srv = server();
    let (mut read, _write, head) = request_upgrade(srv.addr, "/ws", &hello()).await;
    assert!(head.starts_with("HTTP/1.1 101"), "upgraded: {head}");
    let (opcode, payload) =
        tokio::time::timeout(WAIT, read_frame(&mut read)).await.expect("a frame in time").expect("a frame");
    assert_eq!(opcode, OP_BINARY, "the welcome batch, not a close: {payload:?}");
    use skirmish_shared::ServerMsg;
    let welcomed = match skirmish_shared::decode_server(&payload).expect("a message from the server") {
        ServerMsg::Batch(messages) => messages.iter().any(|m| matches!(m, ServerMsg::Welcome(_))),
        message => matches!(message, ServerMsg::Welcome(_)),
    };
    assert!(welcomed, "the first frame welcomes us");
}

/// WebSockets are served at `/ws` only: an upgrade elsewhere gets 404 and the connection ends.
#[tokio::test]
async fn an_upgrade_elsewhere_gets_404() {
    let srv = server();
    let (mut read, _write, head) = request_upgrade(srv.addr, "/", &[]).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, read.read_to_end(&mut rest)).await.expect("the end in time").expect("a clean end");
    assert!(String::from_utf8_lossy(&rest).contains("/ws"), "the body says where: {rest:?}");
}

/// One server frame: opcode and payload (server frames are never masked).
async fn read_frame(read: &mut BufReader<OwnedReadHalf>) -> std::io::Result<(u8, Vec<u8>)> {
    let b0 = read.read_u8().await?;
    let b1 = read.read_u8().await?;
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    let len = match b1 & 0x7f {
        126 => u64::from(read.read_u16().await?),
        127 => read.read_u64().await?,
        n => u64::from(n),
    };
    let mut payload = vec![0; usize::try_from(len).expect("a frame that fits")];
    read.read_exact(&mut payload).await?;
    Ok((b0 & 0x0f, payload))
}

/// How a connection ended, as its reader saw it.
#[derive(Debug)]
struct Ending {
    /// The Close frame's code and reason, if one was read.
    close: Option<(u16, String)>,
    /// The stream ended with a FIN (`true`), not a reset or other error.
    clean_end: bool,
    /// When the Close frame was read.
    close_at: Option<Instant>,
    /// When the stream ended.
    end_at: Instant,
}

/// Reads (discarding everything else) until the stream ends; `saw_close` is set once a Close
/// frame has been read.
async fn read_to_end(mut read: BufReader<OwnedReadHalf>, saw_close: Arc<AtomicBool>) -> Ending {
    let mut close = None;
    let mut close_at = None;
    loop {
        match tokio::time::timeout(WAIT, read_frame(&mut read)).await.expect("the connection ends within the wait") {
            Ok((OP_CLOSE, payload)) if close.is_none() => {
                let code = payload.get(..2).map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]));
                let reason = String::from_utf8_lossy(payload.get(2..).unwrap_or_default()).into_owned();
                close = Some((code, reason));
                close_at = Some(Instant::now());
                saw_close.store(true, Ordering::SeqCst);
            }
            Ok(_) => {}
            Err(e) => {
                let clean_end = e.kind() == std::io::ErrorKind::UnexpectedEof;
                return Ending { close, clean_end, close_at, end_at: Instant::now() };
            }
        }
    }
}

/// Opens a connection, says Hello, then keeps writing `abuse()` frames (about `per_ms` bursts
/// of them a millisecond apart) until it has read the server's Close; answers that Close as a
/// client library would, and returns how the connection ended.
async fn abuse_until_closed(addr: SocketAddr, first: Vec<u8>, abuse: Vec<u8>) -> Ending {
    let (read, mut write) = open(addr).await;
    write.write_all(&hello()).await.expect("send Hello");
    let saw_close = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn(read_to_end(read, saw_close.clone()));
    // What the outside client did: no pause between the first frame and the rest, then about
    // a thousand frames a second while the server is already closing.
    let mut burst = first;
    burst.extend_from_slice(&abuse);
    let deadline = Instant::now() + WAIT;
    while !saw_close.load(Ordering::SeqCst) && Instant::now() < deadline {
        if write.write_all(&burst).await.is_err() {
            break;
        }
        burst.clear();
        burst.extend_from_slice(&abuse);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    if saw_close.load(Ordering::SeqCst) {
        let _ = write.write_all(&close_frame(1000)).await;
    }
    let ending = reader.await.expect("the reader finishes");
    drop(write);
    ending
}

/// Runs `TRIES` abusive connections in waves and checks each read the expected Close.
async fn every_try_reads_the_close(first: Vec<u8>, abuse: Vec<u8>, code: u16, reason: &str) {
    let srv = server();
    let mut endings = Vec::new();
    for _ in 0..TRIES / WAVE {
        let wave: Vec<_> =
            (0..WAVE).map(|_| tokio::spawn(abuse_until_closed(srv.addr, first.clone(), abuse.clone()))).collect();
        for task in wave {
            endings.push(task.await.expect("a try finishes"));
        }
    }
    let missed: Vec<_> = endings.iter().filter(|e| e.close.is_none()).collect();
    assert!(missed.is_empty(), "{} of {TRIES} never read the Close: {:?}", missed.len(), missed.first());
    for ending in &endings {
        let (got_code, got_reason) = ending.close.as_ref().expect("checked above");
        assert_eq!((*got_code, got_reason.as_str()), (code, reason));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_reads_its_close_every_time() {
    let input = encode_client(&ClientMsg::Input(Input::default()));
    let one = frame(OP_BINARY, true, &input);
    every_try_reads_the_close(Vec::new(), one, 1008, &Close::Flood.reason()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_fragments_back_to_back_reads_its_close_every_time() {
    let input = encode_client(&ClientMsg::Input(Input::default()));
    let (head, tail) = input.split_at(input.len() / 2);
    // A message begun without FIN, then continuation frames that never finish it.
    let first = frame(OP_BINARY, false, head);
    let more: Vec<u8> = (0..4).flat_map(|_| frame(OP_CONTINUATION, false, tail)).collect();
    every_try_reads_the_close(first, more, 1003, &Close::Fragmented.reason()).await;
}

#[tokio::test]
async fn the_connection_ends_within_100_ms_of_the_clients_close() {
    let srv = server();
    let mut took = Vec::new();
    // The best of five: a loaded machine may delay one try, but the handshake itself must not
    // keep the client waiting (actix alone would linger, or wait for its 2 s backstop).
    for _ in 0..5 {
        let (mut read, mut write) = open(srv.addr).await;
        write.write_all(&hello()).await.expect("send Hello");
        // Wait until the server has placed us (the first frame is the join's reliable batch).
        let (opcode, _) = tokio::time::timeout(WAIT, read_frame(&mut read)).await.expect("a frame").expect("read");
        assert_eq!(opcode, OP_BINARY);
        write.write_all(&close_frame(1000)).await.expect("send Close");
        let sent = Instant::now();
        let ending = read_to_end(read, Arc::new(AtomicBool::new(false))).await;
        assert_eq!(ending.close.as_ref().map(|c| c.0), Some(1000), "the server answers our Close: {ending:?}");
        assert!(ending.clean_end, "the server ends the stream with a FIN, not a reset: {ending:?}");
        assert!(ending.close_at.is_some_and(|at| at <= ending.end_at));
        took.push(ending.end_at.duration_since(sent));
    }
    let best = took.iter().min().expect("five tries");
    assert!(*best <= Duration::from_millis(100), "the connection ended {took:?} after the client's Close");
    assert!(took.iter().all(|t| *t < Duration::from_secs(2)), "no try waited for the backstop: {took:?}");
}

/// A client whose Close follows its `Hello` in the same write (with the upgrade request) leaves
/// on purpose, so no seat is kept for it, and its `Hello` is answered with 1000. Found by an
/// outside attack: the session could stop before it read the lobby's answer to its join, and
/// the room, finding the session gone, took it for a lost connection and kept a seat for
/// `--seat-reservation` (3 times in 200) that no client held a token for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_right_behind_the_hello_keeps_no_seat() {
    let mut config = skirmish_server::Config::for_tests();
    config.seat_reservation = Duration::from_secs(60);
    // An empty room stays listed meanwhile.
    config.empty_room_grace = Duration::from_secs(60);
    let srv = common::server_with(config);
    let mut first = hello();
    first.extend(close_frame(1000));
    for _ in 0..TRIES / WAVE {
        let wave: Vec<_> = (0..WAVE)
            .map(|_| {
                let (addr, first) = (srv.addr, first.clone());
                tokio::spawn(async move {
                    let (read, _write, head) = request_upgrade(addr, "/ws", &first).await;
                    assert!(head.starts_with("HTTP/1.1 101"), "upgraded: {head}");
                    read_to_end(read, Arc::new(AtomicBool::new(false))).await
                })
            })
            .collect();
        for task in wave {
            let ending = task.await.expect("a try finishes");
            assert_eq!(ending.close.map(|c| c.0), Some(1000), "our Close is answered");
        }
    }
    // A room notices a session gone at its next tick (a thirtieth of a second); a kept seat
    // would then stay for a minute.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rooms: serde_json::Value = serde_json::from_str(&common::http_get(srv.addr, "/api/rooms").await).expect("JSON");
    let main = rooms.as_array().and_then(|r| r.iter().find(|r| r["name"] == "main")).expect("main is listed");
    assert_eq!((main["players"].as_u64(), main["kept"].as_u64()), (Some(0), Some(0)), "{main}");
}

/// Found by an outside attack: after a protocol error (1002) or a frame over the limit (1009)
/// the reader had stopped, so the client's answering Close went unseen, and the session held
/// the connection, and its address's place under the caps, for the whole 2 s backstop; so did a
/// client that ended its stream without a Close. Each now ends once our Close is written and
/// nothing more can come from the client.
#[tokio::test]
async fn a_session_ends_once_its_close_is_out_and_the_client_can_send_nothing_more() {
    let srv = server();
    let mut reserved = frame(OP_BINARY, true, &[1]);
    reserved[0] |= 0x40;
    let text = frame(0x1, true, b"hi");
    // (what the client sends, the code it is closed with, whether it answers with a Close or
    // only ends its stream)
    let cases = [
        (reserved, 1002, true),
        (frame(OP_BINARY, true, &[0; 5000]), 1009, true),
        (text.clone(), 1003, true),
        (text, 1003, false),
    ];
    for (bad, code, answers) in cases {
        let mut took = Vec::new();
        // The best of three: a loaded machine may delay one, but none may need the backstop.
        for _ in 0..3 {
            let (mut read, mut write) = open(srv.addr).await;
            write.write_all(&bad).await.expect("send");
            loop {
                let read = tokio::time::timeout(WAIT, read_frame(&mut read)).await.expect("a frame");
                let (opcode, payload) = read.expect("read");
                if opcode == OP_CLOSE {
                    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), code);
                    break;
                }
            }
            if answers {
                write.write_all(&close_frame(1000)).await.expect("answer the Close");
            } else {
                write.shutdown().await.expect("end our stream");
            }
            let answered = Instant::now();
            while common::metrics(srv.addr).await["skirmish_connections"] > 0.0 {
                assert!(answered.elapsed() < WAIT, "the session never ended");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            took.push(answered.elapsed());
            drop((read, write));
        }
        let best = took.iter().min().expect("three tries");
        assert!(*best < Duration::from_secs(1), "close {code}, answered {answers}: the session ended {took:?} after");
    }
}

/// Found by an outside attack: a flood was closed at the session's next once-a-second check, so
/// a client sending tiny frames as fast as its socket took them had up to a second of the
/// server's CPU first (a whole core, for a handful of such connections). It is closed at the
/// drop that passes the limit: whatever the client sends, the server handles and drops at most
/// two check windows' worth of messages (the window may turn over during the burst).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_closed_at_the_drop_that_passes_the_limit() {
    let srv = server();
    let (read, mut write) = open(srv.addr).await;
    let input = encode_client(&ClientMsg::Input(Input::default()));
    let mut burst = hello();
    burst.extend((0..20_000).flat_map(|_| frame(OP_BINARY, true, &input)));
    let ending = tokio::spawn(read_to_end(read, Arc::new(AtomicBool::new(false))));
    // The server stops reading frames once it has closed: the end of the burst may meet a
    // closed socket.
    let _ = write.write_all(&burst).await;
    let ending = ending.await.expect("the reader finishes");
    assert_eq!(ending.close.map(|(code, _)| code), Some(1008), "closed as a flood");
    let dropped = skirmish_server::Stats::get(&srv.stats.inputs_dropped);
    let most = 2 * u64::from(FLOOD_KICK_DROPS) + 1;
    assert!(dropped <= most, "{dropped} messages were dropped one by one before the close (at most {most})");
}
