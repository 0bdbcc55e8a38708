//! Rooms people can find and share: quick play fills the fullest public room with space (and
//! opens a new one when all are full), private rooms are joined by name but never listed or
//! picked, `/api/rooms` says capacity, map and phase, the number of rooms is capped, and an empty
//! room waits out its grace period before it goes.

mod common;

use std::time::{Duration, Instant};

use common::{TestClient, WAIT, expect_close, http_get, raw, server_with};
use futures_util::SinkExt;
use serde_json::{Value, json};
use skirmish_client::{Client, ConnState};
use tokio_tungstenite::tungstenite::Message;

fn config(players_per_room: usize) -> skirmish_server::Config {
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = players_per_room;
    config
}

async fn rooms(addr: std::net::SocketAddr) -> Value {
    serde_json::from_str(&http_get(addr, "/api/rooms").await).expect("/api/rooms is JSON")
}

/// Players per listed room, by name.
async fn heads(addr: std::net::SocketAddr) -> Vec<(String, u64)> {
    let list = rooms(addr).await;
    let list = list.as_array().expect("a list").iter();
    list.map(|r| (r["name"].as_str().unwrap().to_owned(), r["players"].as_u64().unwrap())).collect()
}

/// Joins through the client core as a player would, with `private` set as asked.
async fn join_private(url: &str, name: &str, room: &str) -> TestClient {
    TestClient::join_with(url, Client::new(name, Some(room.to_owned())).private(true)).await
}

#[tokio::test]
async fn quick_play_fills_the_fullest_public_room_then_opens_a_new_one() {
    let srv = server_with(config(3));
    let url = srv.ws_url();
    let _a1 = TestClient::join(&url, "A1", Some("alpha")).await;
    let _a2 = TestClient::join(&url, "A2", Some("alpha")).await;
    let _b1 = TestClient::join(&url, "B1", Some("bravo")).await;
    // A private room fuller than any public one is never picked.
    let _p: Vec<TestClient> = vec![
        join_private(&url, "P1", "secret").await,
        TestClient::join(&url, "P2", Some("secret")).await,
        TestClient::join(&url, "P3", Some("secret")).await,
    ];
    let q1 = TestClient::join(&url, "Quick1", Some("")).await;
    assert_eq!(q1.core.room_name(), "alpha", "the fullest public room with space");
    let q2 = TestClient::join(&url, "Quick2", Some("")).await;
    assert_eq!(q2.core.room_name(), "bravo", "alpha is full now");
    let q3 = TestClient::join(&url, "Quick3", Some("")).await;
    assert_eq!(q3.core.room_name(), "bravo");
    // Every public room full: the default room, where the clients that name no room (the
    // bots) go, while it is not open; then new ones.
    let q4 = TestClient::join(&url, "Quick4", Some("")).await;
    assert_eq!(q4.core.room_name(), "main", "every public room full and main not open");
    let _m2 = TestClient::join(&url, "M2", None).await;
    let m3 = TestClient::join(&url, "M3", Some("")).await;
    assert_eq!(m3.core.room_name(), "main");
    let q5 = TestClient::join(&url, "Quick5", Some("")).await;
    assert_eq!(q5.core.room_name(), "play-1", "every public room full, main too: a new one");
    assert!(!q5.core.is_spectator());
    assert_eq!(
        heads(srv.addr).await,
        [("alpha".to_owned(), 3), ("bravo".to_owned(), 3), ("main".to_owned(), 3), ("play-1".to_owned(), 1)],
        "the private room is not listed"
    );
}

#[tokio::test]
async fn api_rooms_reports_capacity_map_and_phase() {
    let mut config = config(8);
    config.map = Some("maze".to_owned());
    config.min_players = 2;
    let srv = server_with(config);
    let _one = TestClient::join(&srv.ws_url(), "Solo", Some("lonely")).await;
    let list = rooms(srv.addr).await;
    assert_eq!(
        list,
        json!([{"name": "lonely", "players": 1, "kept": 0, "spectators": 0, "capacity": 8, "map": "maze", "phase": "waiting"}])
    );
    // A second player starts the match (no countdown in tests): the phase follows.
    let _two = TestClient::join(&srv.ws_url(), "Duo", Some("lonely")).await;
    let deadline = Instant::now() + WAIT;
    while rooms(srv.addr).await[0]["phase"] != "playing" {
        assert!(Instant::now() < deadline, "the phase never became playing: {}", rooms(srv.addr).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_room_too_many_is_refused_with_1013() {
    let mut config = config(8);
    config.max_rooms = 1;
    let srv = server_with(config);
    let _first = TestClient::join(&srv.ws_url(), "First", Some("one")).await;
    let _same = TestClient::join(&srv.ws_url(), "Same", Some("one")).await;
    let mut ws = raw(&srv.ws_url()).await;
    let mut core = Client::new("Second", Some("two".to_owned()));
    ws.send(Message::binary(core.on_open())).await.expect("send Hello");
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("try later"), "{reason}");
}

/// The default room is where the plain URL leads: a server holding all its rooms still opens it.
#[tokio::test]
async fn the_default_room_opens_even_when_the_server_holds_all_its_rooms() {
    let mut config = config(8);
    config.max_rooms = 1;
    let srv = server_with(config);
    let _first = TestClient::join(&srv.ws_url(), "First", Some("one")).await;
    let main = TestClient::join(&srv.ws_url(), "Plain", None).await;
    assert!(!main.core.is_spectator());
    assert_eq!(heads(srv.addr).await, [("main".to_owned(), 1), ("one".to_owned(), 1)]);
}

/// The default room is everyone's: a `Hello` asking to open it private opens it public.
#[tokio::test]
async fn the_default_room_cannot_be_made_private() {
    let srv = server_with(config(8));
    let _hider = TestClient::join_with(&srv.ws_url(), Client::new("Hider", None).private(true)).await;
    assert_eq!(heads(srv.addr).await, [("main".to_owned(), 1)], "listed");
}

/// Joins room `name` from the local address `source`; the close code and reason if refused.
async fn join_from(
    srv: &skirmish_server::ServerHandle,
    source: [u8; 4],
    name: &str,
) -> Result<TestClient, (u16, String)> {
    let mut ws = common::upgrade_from(srv, source.into(), &[]).await.expect("upgraded");
    let mut core = Client::new("Opener", Some(name.to_owned()));
    ws.send(Message::binary(core.on_open())).await.expect("send Hello");
    let mut client = TestClient::from_parts(ws, core);
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "neither joined nor closed");
        if client.core.state() == &ConnState::Playing {
            return Ok(client);
        }
        match tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut client.ws)).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return Err((frame.code.into(), frame.reason.to_string())),
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                let now = client.now_ms();
                let _ = client.core.on_message(&bytes, now, &mut Vec::new());
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("the connection ended without a close: {other:?}"),
        }
    }
}

/// One address may keep only `--max-rooms-per-ip` rooms open, so it cannot hold every room of
/// the server: the next one it opens is refused (1008), while it may still join rooms that exist,
/// another address may still open rooms, and a room of its that closes gives its place back.
#[tokio::test]
async fn one_address_may_open_only_its_share_of_rooms() {
    let mut config = config(8);
    config.max_rooms_per_ip = 2;
    let srv = server_with(config);
    // The default room is nobody's: opening it takes none of the address's share.
    let _main = join_from(&srv, [127, 0, 0, 5], "main").await.expect("the default room");
    let a = join_from(&srv, [127, 0, 0, 5], "a").await.expect("a first room");
    let _b = join_from(&srv, [127, 0, 0, 5], "b").await.expect("a second room");
    let (code, reason) = join_from(&srv, [127, 0, 0, 5], "c").await.err().expect("a third refused");
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("your address has opened all the rooms it may"), "{reason}");
    let _in_a = join_from(&srv, [127, 0, 0, 5], "a").await.expect("joining a room that exists");
    let _other = join_from(&srv, [127, 0, 0, 6], "c").await.expect("another address opens one");

    // Room a empties (the tests' grace is zero): the address may open another.
    drop((a, _in_a));
    let deadline = Instant::now() + WAIT;
    while heads(srv.addr).await.iter().any(|(name, _)| name == "a") {
        assert!(Instant::now() < deadline, "room a never went");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    join_from(&srv, [127, 0, 0, 5], "d").await.expect("a place freed by the room that went");
    // Counted when the refused session ends, which may be just after its close went out.
    let series = "skirmish_disconnects_total{reason=\"too_many_rooms_per_ip\"}";
    while common::metrics(srv.addr).await[series] < 1.0 {
        assert!(Instant::now() < deadline, "the refusal was never counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(common::metrics(srv.addr).await[series], 1.0);
}

/// From an outside test of a griefer: thirteen addresses each opened their 8 private rooms and
/// left, again as the rooms went at the end of their grace, and held 98 of the server's 100
/// rooms, empty, for as long as they liked: no new or private room could open. Openings are
/// counted over 10 minutes too, gone rooms included: twice the share of rooms alive.
#[tokio::test]
async fn an_address_that_opens_rooms_and_leaves_runs_out_of_openings() {
    let mut config = config(8);
    config.max_rooms_per_ip = 2;
    let srv = server_with(config);
    for (i, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
        let opened = join_from(&srv, [127, 0, 0, 5], name).await.unwrap_or_else(|e| panic!("opening {i}: {e:?}"));
        drop(opened);
        let deadline = Instant::now() + WAIT;
        while heads(srv.addr).await.iter().any(|(listed, _)| listed == name) {
            assert!(Instant::now() < deadline, "room {name} never went");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // No room of its is alive, yet a fifth opening within the window is refused, as is the same
    // room again; rooms that exist, and other addresses, are not limited.
    // Told which limit and when it clears (from an outside test of a LAN host: the words of the
    // cap on rooms alive, "join one of them", with none alive).
    for name in ["e", "a"] {
        let (code, reason) = join_from(&srv, [127, 0, 0, 5], name).await.err().expect("refused");
        assert_eq!(code, 1008, "{reason}");
        let why =
            "your address has opened all the rooms it may in 10 minutes: try again in 10 min, or join a listed room";
        assert_eq!(reason, why);
    }
    let _other = join_from(&srv, [127, 0, 0, 6], "e").await.expect("another address opens one");
    let _in_e = join_from(&srv, [127, 0, 0, 5], "e").await.expect("joining a room that exists");
    let _main = join_from(&srv, [127, 0, 0, 5], "main").await.expect("the default room always opens");
}

#[tokio::test]
async fn an_empty_room_waits_out_its_grace_period() {
    let mut config = config(8);
    config.empty_room_grace = Duration::from_secs(2);
    let srv = server_with(config);
    let mut player = TestClient::join(&srv.ws_url(), "Leaver", Some("lingering")).await;
    player.ws.close(None).await.expect("close");
    drop(player);
    let deadline = Instant::now() + WAIT;
    let mut emptied = None;
    loop {
        let list = heads(srv.addr).await;
        if list.is_empty() {
            break;
        }
        // The leave may take a moment to reach the lobby; then the room stays, empty.
        if list == [("lingering".to_owned(), 0)] {
            emptied.get_or_insert_with(Instant::now);
        } else {
            assert_eq!(list, [("lingering".to_owned(), 1)], "the room, with or without the leaver");
        }
        assert!(Instant::now() < deadline, "the empty room never went");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = emptied.expect("the room was listed empty before it went").elapsed();
    assert!(kept >= Duration::from_millis(1500), "an empty room kept only {kept:?}");
}

#[tokio::test]
async fn a_room_link_opens_the_page_in_that_room() {
    let srv = server_with(config(8));
    let answer = common::http_get_raw(srv.addr, "/r/friday-night").await;
    assert!(answer.starts_with("HTTP/1.0 303") || answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nlocation: /?room=friday-night\r\n"), "{answer}");
    // A name that is not valid gets the page too, which says why (`client/web/src/room.rs`),
    // the name encoded as a query value whatever it holds.
    for (link, location) in [
        ("/r/no%20spaces", "/?room=no+spaces"),
        ("/r/bad.name", "/?room=bad.name"),
        ("/r/a%26room%3Dmain%0D%0Ax", "/?room=a%26room%3Dmain%0D%0Ax"),
        // A caster's link watches (`?spectate`, any value but 0); nothing else is passed on.
        ("/r/cup-final?spectate", "/?room=cup-final&spectate=1"),
        ("/r/cup-final?spectate=yes&x=1", "/?room=cup-final&spectate=1"),
        ("/r/cup-final?spectate=0", "/?room=cup-final"),
        ("/r/cup-final?room=other", "/?room=cup-final"),
    ] {
        let answer = common::http_get_raw(srv.addr, link).await;
        assert!(answer.starts_with("HTTP/1.0 303") || answer.starts_with("HTTP/1.1 303"), "{link}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains(&format!("\r\nlocation: {}\r\n", location.to_ascii_lowercase())),
            "{link}: {answer}"
        );
    }
}
