//! Bad input closes only the offending connection, with the right code and a reason, while
//! another player in the same room keeps receiving snapshots.

mod common;

use common::{TestClient, expect_close, raw, server};
use futures_util::SinkExt;
use skirmish_server::close::Close;
use skirmish_shared::consts::PROTOCOL_VERSION;
use skirmish_shared::{ClientMsg, Hello, encode_client};
use tokio_tungstenite::tungstenite::Message;

fn hello(version: u16) -> Vec<u8> {
    encode_client(&ClientMsg::Hello(Hello {
        version,
        name: "Bad".into(),
        room: None,
        spectate: false,
        private: false,
        rejoin: None,
    }))
}

/// Sends `frames` on a fresh socket (after a valid Hello when `join` is set), expects a close
/// with `code`, and checks the bystander is still in the room and still receiving.
async fn closes_only_that_client(frames: Vec<Message>, join: bool, code: u16) -> String {
    closes_only_that_client_after(Sent::Frames(frames), join, code).await
}

/// What the bad client sends.
enum Sent {
    /// WebSocket messages, framed by tungstenite.
    Frames(Vec<Message>),
    /// Bytes written straight to the socket: frames no WebSocket library would make.
    Raw(Vec<u8>),
}

async fn closes_only_that_client_after(sent: Sent, join: bool, code: u16) -> String {
    let srv = server();
    let mut bystander = TestClient::join(&srv.ws_url(), "Bystander", None).await;
    let mut bad = raw(&srv.ws_url()).await;
    if join {
        bad.send(Message::binary(hello(PROTOCOL_VERSION))).await.unwrap();
        bystander.wait_for(|c| c.core.roster().len() == 2).await;
    }
    match sent {
        Sent::Frames(frames) => {
            for frame in frames {
                // The server may already have closed; later sends failing is fine.
                let _ = bad.send(frame).await;
            }
        }
        // The server may already have closed; a failed write is fine.
        Sent::Raw(bytes) => {
            let _ = common::write_raw(&mut bad, &bytes).await;
        }
    }
    let (got, reason) = expect_close(&mut bad).await;
    assert_eq!(got, code, "close code (reason: {reason:?})");
    assert!(!reason.is_empty(), "a close reason is given");
    assert!(reason.len() <= 123);
    // The room keeps ticking for the bystander, who ends up alone.
    let me = bystander.id();
    bystander.wait_for(|c| c.ids() == vec![me]).await;
    let before = bystander.core.stats().snapshots;
    bystander.wait_for(|c| c.core.stats().snapshots >= before + 10).await;
    reason
}

#[tokio::test]
async fn wrong_protocol_version_gets_1008_with_reason() {
    let reason = closes_only_that_client(vec![Message::binary(hello(PROTOCOL_VERSION + 41))], false, 1008).await;
    assert!(reason.contains("version"), "{reason}");
}

#[tokio::test]
async fn text_frame_gets_1003() {
    let reason = closes_only_that_client(vec![Message::text("hello?")], true, 1003).await;
    assert!(reason.contains("binary"), "{reason}");
}

#[tokio::test]
async fn oversized_frame_gets_1009() {
    closes_only_that_client(vec![Message::binary(vec![0x90u8; 5000])], true, 1009).await;
}

/// A header declaring a huge payload is refused from the header: the close comes while the
/// payload is still arriving, not once it is all in (or at a timeout), and the server never
/// buffers it.
#[tokio::test]
async fn a_frame_header_declaring_a_terabyte_gets_1009_at_once() {
    // Binary, masked, a 64-bit length of 2^40, the mask, then 64 KiB of the promised payload.
    let mut bytes = vec![0x82u8, 0x80 | 127];
    bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
    bytes.extend_from_slice(&[1, 2, 3, 4]);
    bytes.resize(bytes.len() + 65_536, 0x5a);
    let reason = closes_only_that_client_after(Sent::Raw(bytes), true, 1009).await;
    assert!(reason.contains("4096"), "{reason}");
}

/// Reserved bits set without a negotiated extension break RFC 6455: 1002 with a reason, not a
/// connection cut without a Close (actix's codec reports them as an I/O error).
#[tokio::test]
async fn reserved_bits_get_1002() {
    // FIN + RSV1 + binary, masked, an empty payload.
    let reason = closes_only_that_client_after(Sent::Raw(vec![0xC2, 0x80, 1, 2, 3, 4]), true, 1002).await;
    assert!(reason.contains("reserved bits"), "{reason}");
}

/// A Close whose code RFC 6455 reserves is a protocol error, and the reason says so rather than
/// actix's "Bad opcode".
#[tokio::test]
async fn a_close_with_a_reserved_code_gets_1002_naming_it() {
    // Close, masked with a zero mask, code 999.
    let reason = closes_only_that_client_after(Sent::Raw(vec![0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE7]), true, 1002).await;
    assert!(reason.contains("invalid close code"), "{reason}");
}

#[tokio::test]
async fn garbage_gets_1007() {
    closes_only_that_client(vec![Message::binary(vec![0xc1, 0xff, 0x00, 0x13])], true, 1007).await;
}

#[tokio::test]
async fn nan_input_gets_1007() {
    // {"i": [1, [NaN, 0.0], 0.0, 0, 0, 0]} with float32 NaN.
    let mut bytes = vec![0x81, 0xa1, b'i', 0x96, 0x01, 0x92, 0xca];
    bytes.extend(f32::NAN.to_be_bytes());
    bytes.extend([0xca, 0, 0, 0, 0, 0xca, 0, 0, 0, 0, 0x00, 0x00, 0x00]);
    let reason = closes_only_that_client(vec![Message::binary(bytes)], true, 1007).await;
    assert!(reason.contains("non-finite"), "{reason}");
}

#[tokio::test]
async fn deep_nesting_gets_1007() {
    closes_only_that_client(vec![Message::binary(vec![0x91u8; 4000])], true, 1007).await;
}

#[tokio::test]
async fn input_before_hello_gets_1008() {
    let input = encode_client(&ClientMsg::Input(skirmish_shared::Input::default()));
    closes_only_that_client(vec![Message::binary(input)], false, 1008).await;
}

/// Control frames count against the message limit: a flood of pongs (or pings) is a flood.
#[tokio::test]
async fn a_flood_of_pongs_gets_1008() {
    let frames = (0..3000).map(|_| Message::Pong(Vec::new().into())).collect();
    let reason = closes_only_that_client(frames, true, 1008).await;
    assert_eq!(reason, Close::Flood.reason());
}

#[tokio::test]
async fn flooding_gets_1008() {
    let input = encode_client(&ClientMsg::Input(skirmish_shared::Input::default()));
    let frames = (0..3000).map(|_| Message::binary(input.clone())).collect();
    let reason = closes_only_that_client(frames, true, 1008).await;
    assert_eq!(reason, Close::Flood.reason(), "the reason states the documented limit");
}

/// A stall between a player and the server (a wifi blip) holds what the player sent meanwhile,
/// 30 inputs a second, and delivers it at once: no flood. Found by an outside test of the page
/// on a bad network: a stall of 6 to 12 s closed the player with 1008 "flooding", and the page,
/// which does not retry a close for cause, lost its seat and score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_links_backlog_is_no_flood() {
    use futures_util::StreamExt;
    use skirmish_shared::consts::TICK_DURATION;
    use std::time::{Duration, Instant};
    let srv = server();
    let mut player = TestClient::join(&srv.ws_url(), "Blip", None).await;
    // 8 s with nothing from the player (its inputs held in the stalled link), then all of them.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let backlog = 8 * 30;
    for seq in 1..=backlog {
        let input = skirmish_shared::Input { seq, ..Default::default() };
        player.ws.feed(Message::binary(encode_client(&ClientMsg::Input(input)))).await.expect("queue an input");
    }
    player.ws.flush().await.expect("send the backlog");
    // It plays on, its inputs (30 a second) acknowledging what arrives again, as a page's
    // would: fresh snapshots, and no close, which `next_event` would fail on. For 3 s, past
    // the 2 s in which the backlog is excused.
    let (mut seq, resumed, mut sent) = (backlog, Instant::now(), Instant::now());
    while resumed.elapsed() < Duration::from_secs(3) {
        player.next_event().await;
        if sent.elapsed() >= TICK_DURATION {
            (seq, sent) = (seq + 1, Instant::now());
            let ack = player.core.latest().expect("a snapshot").tick;
            let input = skirmish_shared::Input { seq, ack, ..Default::default() };
            player.ws.send(Message::binary(encode_client(&ClientMsg::Input(input)))).await.expect("send an input");
        }
    }
    assert_eq!(srv.stats.protocol_disconnects(), 0);
    // The same burst without a silence before it is a flood.
    let ack = player.core.latest().expect("a snapshot").tick;
    for seq in seq + 1..=seq + backlog {
        let input = skirmish_shared::Input { seq, ack, ..Default::default() };
        player.ws.feed(Message::binary(encode_client(&ClientMsg::Input(input)))).await.expect("queue an input");
    }
    player.ws.flush().await.expect("send the burst");
    loop {
        let next = tokio::time::timeout(common::WAIT, player.ws.next()).await.expect("the flood close in time");
        match next {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!((u16::from(frame.code), frame.reason.as_str()), (1008, Close::Flood.reason().as_str()));
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("expected the flood close, got {other:?}"),
        }
    }
}
