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
    let mut ws = raw(url).await;
    let mut core = Client::new(name, Some(room.to_owned())).private(true);
    ws.send(Message::binary(core.on_open())).await.expect("send Hello");
    let mut client = TestClient::from_parts(ws, core);
    client.wait_for(|c| c.core.state() == &ConnState::Playing).await;
    client
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
    let q4 = TestClient::join(&url, "Quick4", Some("")).await;
    assert_eq!(q4.core.room_name(), "play-1", "every public room full: a new one");
    assert!(!q4.core.is_spectator());
    assert_eq!(
        heads(srv.addr).await,
        [("alpha".to_owned(), 3), ("bravo".to_owned(), 3), ("play-1".to_owned(), 1)],
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
        json!([{"name": "lonely", "players": 1, "spectators": 0, "capacity": 8, "map": "maze", "phase": "waiting"}])
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
    let refused = common::http_get_raw(srv.addr, "/r/no%20spaces").await;
    assert!(refused.contains(" 404 "), "{refused}");
}
