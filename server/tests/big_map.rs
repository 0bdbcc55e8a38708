//! A big map reaches clients a chunk at a time, against the real server on `expanse`: `Match`
//! carries the first `MAP_CHUNK_OBSTACLES` obstacles, `Obstacles` messages the rest in order,
//! again after every `Match`, and no frame grows with the map (the HTTP layer would keep a
//! connection's write buffer that large for as long as it lives).

mod common;

use common::{TestClient, WAIT, raw, server_with};
use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use skirmish_client::{Client, Event};
use skirmish_shared::Rect;
use skirmish_shared::consts::MAP_CHUNK_OBSTACLES;
use tokio_tungstenite::tungstenite::Message;

/// actix-http's initial per-connection write buffer: a frame larger than this makes it grow,
/// and it keeps what it grew to.
const HTTP_WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// The obstacles of the built-in `expanse` map, as the server turns its `[x, y, w, h]` into
/// rectangles.
fn expanse_obstacles() -> Vec<Rect> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/maps/expanse.json");
    let map: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read expanse")).expect("expanse is JSON");
    let rects = map["obstacles"].as_array().expect("obstacles").iter().map(|o| {
        let n = |i: usize| o[i].as_f64().expect("a number") as f32;
        let (min, dim) = (Vec2::new(n(0), n(1)), Vec2::new(n(2), n(3)));
        Rect { min, max: min + dim }
    });
    rects.collect()
}

/// Reads frames into `core` until `done`; returns the largest frame and the events seen.
async fn read_until(ws: &mut common::Ws, core: &mut Client, done: impl Fn(&Client) -> bool) -> (usize, Vec<Event>) {
    let (mut largest, mut seen) = (0, Vec::new());
    let deadline = std::time::Instant::now() + WAIT;
    while !done(core) {
        assert!(std::time::Instant::now() < deadline, "not done within {WAIT:?}");
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time");
        let Some(Ok(Message::Binary(bytes))) = msg else { continue };
        largest = largest.max(bytes.len());
        core.on_message(&bytes, 0.0, &mut seen).expect("valid server message");
    }
    (largest, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_map_arrives_in_bounded_chunks_after_every_match() {
    let mut config = skirmish_server::Config::for_tests();
    config.map = Some("expanse".into());
    let srv = server_with(config);
    let whole = expanse_obstacles();
    assert!(whole.len() > 2 * MAP_CHUNK_OBSTACLES, "expanse is a big map: {} obstacles", whole.len());
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md")).expect("read PROTOCOL.md");
    let quoted = format!("the {} obstacles of the `expanse` map", whole.len());
    assert!(
        doc.split_whitespace().collect::<Vec<_>>().join(" ").contains(&quoted),
        "PROTOCOL.md should say {quoted:?}"
    );
    let chunks = (whole.len() - MAP_CHUNK_OBSTACLES).div_ceil(MAP_CHUNK_OBSTACLES);

    let mut ws = raw(&srv.ws_url()).await;
    let mut core = Client::new("First", None);
    ws.send(Message::binary(core.on_open())).await.expect("send Hello");
    let has_map = |c: &Client| c.match_info().is_some_and(|m| m.map.obstacles.len() == whole.len());
    let (largest, seen) = read_until(&mut ws, &mut core, has_map).await;
    let first_match = seen.iter().find_map(|e| match e {
        Event::Match(m) => Some(m.map.obstacles.len()),
        _ => None,
    });
    assert_eq!(first_match, Some(MAP_CHUNK_OBSTACLES), "Match carries the first chunk");
    assert_eq!(seen.iter().filter(|e| matches!(e, Event::Obstacles(_))).count(), chunks, "Obstacles messages");
    assert_eq!(core.match_info().unwrap().map.obstacles, whole, "the whole map, in order");
    assert!(largest < HTTP_WRITE_BUFFER_BYTES, "largest frame {largest} B");

    // A second player starts the match: a new `Match` cuts the map to its first chunk, and the
    // rest follows again.
    let _second = TestClient::join(&srv.ws_url(), "Second", None).await;
    let playing = |c: &Client| c.phase().0 == skirmish_shared::Phase::Playing;
    let (_, seen) = read_until(&mut ws, &mut core, playing).await;
    assert!(seen.iter().any(|e| matches!(e, Event::Match(m) if m.map.obstacles.len() == MAP_CHUNK_OBSTACLES)));
    let (largest, _) = read_until(&mut ws, &mut core, has_map).await;
    assert_eq!(core.match_info().unwrap().map.obstacles, whole, "the whole map again");
    assert!(largest < HTTP_WRITE_BUFFER_BYTES, "largest frame {largest} B");
}
