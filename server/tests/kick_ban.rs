//! A host's kick keeps the kicked player's address out of that room for a while, whatever way
//! back it tries (a join, the rejoin token of another of its seats, which the kick frees), while
//! the address's players still in the room keep their seats; and quick play never sends
//! that address, nor anyone, to a room it would be turned away from (a ban, a room the host is
//! closing): it picks or opens another.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestClient, expect_close, http_request as request, room_seats, server_with, upgrade_from};
use futures_util::SinkExt;
use skirmish_client::Client;
use skirmish_server::lobby::{KICK_BAN, banned_reason};
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "correct-horse-battery-staple";

fn config() -> skirmish_server::Config {
    let mut config = skirmish_server::Config::for_tests();
    config.admin_token = Some(TOKEN.into());
    config.seat_reservation = Duration::from_secs(30);
    config
}

/// The headers of an admin write: the session cookie of a login, JSON, and our own origin.
async fn admin(addr: SocketAddr) -> Vec<(&'static str, String)> {
    let origin = format!("http://{addr}");
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = request(addr, "POST", "/admin/login", &form, &format!("token={TOKEN}")).await;
    assert_eq!(status, 303, "{head}");
    let set_cookie = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie");
    let cookie = set_cookie.split_once(':').and_then(|(_, v)| v.trim().split(';').next()).expect("a value");
    vec![("Cookie", cookie.to_owned()), ("Content-Type", "application/json".into()), ("Origin", origin)]
}

/// Posts `body` to the admin API's `path`, which must answer 200.
async fn admin_post(addr: SocketAddr, headers: &[(&'static str, String)], path: &str, body: &str) {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, answer) = request(addr, "POST", path, &headers, body).await;
    assert_eq!(status, 200, "{path} {body}: {answer}");
}

/// Kicks `player` from `room` through the admin API, and sees it closed for it.
async fn kick(addr: SocketAddr, headers: &[(&'static str, String)], room: &str, player: &mut TestClient) {
    admin_post(addr, headers, "/admin/api/kick", &format!(r#"{{"room":"{room}","id":{}}}"#, player.id())).await;
    assert_eq!(expect_close(&mut player.ws).await, (1008, "kicked by the host".to_owned()));
}

/// Waits until `room` lists `want` players and kept seats.
async fn wait_for_seats(addr: SocketAddr, room: &str, want: (u64, u64)) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while room_seats(addr, room).await != Some(want) {
        assert!(std::time::Instant::now() < deadline, "{room} never had {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Says `hello` from `source` and returns the close the server answers with.
async fn refused_from(srv: &skirmish_server::ServerHandle, source: &str, mut hello: Client) -> (u16, String) {
    let mut ws = upgrade_from(srv, source.parse().expect("an address"), &[]).await.expect("upgraded");
    ws.send(Message::binary(hello.on_open())).await.expect("send Hello");
    expect_close(&mut ws).await
}

/// Found by an outside attack: the ban stopped joins, but a `Hello` with the rejoin token of
/// another seat of the kicked player's address (a second player it had lost on purpose) went
/// straight back into the room. The kick frees the address's kept seats in that room: their
/// tokens lead nowhere, and a join from the address is refused by the ban.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_frees_the_seats_its_address_kept_so_none_leads_back_in() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let _keeper = TestClient::join(&srv.ws_url(), "Keeper", Some("den")).await;
    let mut troll = TestClient::join_from(&srv, "127.0.0.2", Client::new("Troll", Some("den".into()))).await;
    let mut sock = TestClient::join_from(&srv, "127.0.0.2", Client::new("Sock", Some("den".into()))).await;
    sock.hold_token().await;
    let (sock_id, sock_token) = (sock.id(), sock.core.rejoin_token().to_owned());
    drop(sock);
    common::wait_for_kept_seats(srv.addr, "den", 1).await;

    kick(srv.addr, &headers, "den", &mut troll).await;
    // The keeper alone: Sock's kept seat went with the kick.
    wait_for_seats(srv.addr, "den", (1, 0)).await;

    let rejoin = Client::new("Sock", Some("den".into())).rejoin(&sock_token);
    assert_eq!(refused_from(&srv, "127.0.0.2", rejoin).await, (1008, banned_reason(KICK_BAN)));
    let elsewhere = Client::new("Sock", Some("den".into())).rejoin(&sock_token);
    let back = TestClient::join_from(&srv, "127.0.0.3", elsewhere).await;
    assert_ne!(back.id(), sock_id, "the token led nowhere: a newcomer");
}

/// Found by an outside test of a LAN host: a housemate of the kicked player, playing on in the
/// room, lost its seat at its next lost connection (a reload, a paused server, a phone switching
/// apps), its rejoin refused by the ban. A player of the address who was connected when the host
/// kicked keeps its seat through a lost connection, as anyone does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_housemate_playing_when_the_host_kicked_keeps_its_seat_through_a_lost_connection() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let _keeper = TestClient::join(&srv.ws_url(), "Keeper", Some("den")).await;
    let mut troll = TestClient::join_from(&srv, "127.0.0.2", Client::new("Troll", Some("den".into()))).await;
    let mut mate = TestClient::join_from(&srv, "127.0.0.2", Client::new("Mate", Some("den".into()))).await;
    mate.hold_token().await;
    kick(srv.addr, &headers, "den", &mut troll).await;
    wait_for_seats(srv.addr, "den", (2, 0)).await;

    let (mate_id, mate_token) = (mate.id(), mate.core.rejoin_token().to_owned());
    drop(mate);
    common::wait_for_kept_seats(srv.addr, "den", 1).await;
    let rejoin = Client::new("Mate", Some("den".into())).rejoin(&mate_token);
    let back = TestClient::join_from(&srv, "127.0.0.2", rejoin).await;
    assert_eq!(back.id(), mate_id, "back in its own seat");
    // A newcomer from that address is still refused.
    let newcomer = Client::new("Other", Some("den".into()));
    assert_eq!(refused_from(&srv, "127.0.0.2", newcomer).await, (1008, banned_reason(KICK_BAN)));
}

/// Found by an outside attack: quick play sent everyone to the fullest public room, even one a
/// kick banned their address from (a housemate of the kicked player could not press Play for
/// 10 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_play_skips_rooms_it_would_be_turned_away_from() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let mut big = Vec::new();
    for name in ["A", "B"] {
        big.push(TestClient::join(&srv.ws_url(), name, Some("big")).await);
    }
    let mut troll = TestClient::join_from(&srv, "127.0.0.2", Client::new("Troll", Some("big".into()))).await;
    let _small = TestClient::join(&srv.ws_url(), "C", Some("small")).await;
    kick(srv.addr, &headers, "big", &mut troll).await;
    // Big is still the fullest.
    wait_for_seats(srv.addr, "big", (2, 0)).await;

    let housemate = TestClient::join_from(&srv, "127.0.0.2", Client::new("Mate", Some(String::new()))).await;
    assert_eq!(housemate.core.room_name(), "small", "not the room its address is banned from");

    // A room the host is closing is skipped too: `lobby::tests`, since its sessions leave as
    // soon as they are told, before a join over a socket could come in between.
    drop(big);
}

/// A host who kicked by mistake, or whose griefer shares an address with a friend, sees the ban
/// in the status (address, room, time left) and lifts it: the address joins that room again at
/// once. A ban that is not running cannot be lifted (404), and the status no longer lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sees_a_kicks_ban_and_lifts_it() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let _keeper = TestClient::join(&srv.ws_url(), "Keeper", Some("den")).await;
    let mut friend = TestClient::join_from(&srv, "127.0.0.2", Client::new("Friend", Some("den".into()))).await;
    kick(srv.addr, &headers, "den", &mut friend).await;

    let status = |headers: Vec<(&'static str, String)>| async move {
        let cookie: Vec<(&str, &str)> =
            headers.iter().filter(|(k, _)| *k == "Cookie").map(|(k, v)| (*k, v.as_str())).collect();
        let (code, _, body) = request(srv.addr, "GET", "/admin/api/status", &cookie, "").await;
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON")
    };
    let bans = status(headers.clone()).await["bans"].clone();
    let bans = bans.as_array().expect("a list of bans");
    assert_eq!(bans.len(), 1, "{bans:?}");
    assert_eq!(bans[0]["room"], "den");
    assert_eq!(bans[0]["address"], "127.0.0.2");
    let left = bans[0]["seconds_left"].as_u64().expect("seconds left");
    assert!(left > 0 && left <= skirmish_server::lobby::KICK_BAN.as_secs(), "{left}");
    assert_eq!(
        refused_from(&srv, "127.0.0.2", Client::new("Friend", Some("den".into()))).await.1,
        banned_reason(KICK_BAN)
    );

    admin_post(srv.addr, &headers, "/admin/api/unban", r#"{"room":"den","address":"127.0.0.2"}"#).await;
    let back = TestClient::join_from(&srv, "127.0.0.2", Client::new("Friend", Some("den".into()))).await;
    assert_eq!(back.core.room_name(), "den", "in the room it was kicked from");
    assert_eq!(status(headers.clone()).await["bans"], serde_json::json!([]));

    let plain: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let again = r#"{"room":"den","address":"127.0.0.2"}"#;
    let (code, _, body) = request(srv.addr, "POST", "/admin/api/unban", &plain, again).await;
    assert_eq!((code, body.contains("no such ban")), (404, true), "{body}");
    let bad = r#"{"room":"den","address":"not an address"}"#;
    let (code, _, body) = request(srv.addr, "POST", "/admin/api/unban", &plain, bad).await;
    assert_eq!(code, 400, "{body}");
}

/// Found by an outside load test: `/metrics` counted a closed room's players and the joins a
/// ban refused as kicks (20 "kicked" for one kick and a room closed). Each has its own reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicks_bans_and_closed_rooms_are_told_apart_in_the_metrics() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let count = async |reason: &str| {
        common::metrics(srv.addr).await[&format!("skirmish_disconnects_total{{reason=\"{reason}\"}}")]
    };
    let mut stayers = Vec::new();
    for name in ["A", "B", "C"] {
        stayers.push(TestClient::join(&srv.ws_url(), name, Some("den")).await);
    }
    let mut troll = TestClient::join_from(&srv, "127.0.0.2", Client::new("Troll", Some("den".into()))).await;
    admin_post(srv.addr, &headers, "/admin/api/kick", &format!(r#"{{"room":"den","id":{}}}"#, troll.id())).await;
    assert_eq!(expect_close(&mut troll.ws).await.0, 1008);
    assert_eq!(
        refused_from(&srv, "127.0.0.2", Client::new("Troll", Some("den".into()))).await.1,
        banned_reason(KICK_BAN)
    );
    admin_post(srv.addr, &headers, "/admin/api/close-room", r#"{"room":"den"}"#).await;
    for stayer in &mut stayers {
        assert_eq!(expect_close(&mut stayer.ws).await, (1008, "room closed by the host".to_owned()));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count("room_closed").await < 3.0 {
        assert!(std::time::Instant::now() < deadline, "the closed room's players never counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((count("kicked").await, count("banned").await, count("room_closed").await), (1.0, 1.0, 3.0));
}

/// Found by an outside test of a LAN host: a player away when the host closed its room (its
/// seat kept) came back with its token, which led nowhere, and so opened the room again as a
/// newcomer with no word of the close. It is told the room was closed; a newcomer may open a
/// room of that name again, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_away_when_its_room_closed_is_told_when_it_comes_back() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let mut here = TestClient::join(&srv.ws_url(), "Here", Some("den")).await;
    let mut away = TestClient::join(&srv.ws_url(), "Away", Some("den")).await;
    away.hold_token().await;
    let token = away.core.rejoin_token().to_owned();
    drop(away);
    common::wait_for_kept_seats(srv.addr, "den", 1).await;

    admin_post(srv.addr, &headers, "/admin/api/close-room", r#"{"room":"den"}"#).await;
    assert_eq!(expect_close(&mut here.ws).await, (1008, "room closed by the host".to_owned()));
    // Once the closed room is gone (its last session has left): while it closes, any join is
    // refused anyway.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while room_seats(srv.addr, "den").await.is_some() {
        assert!(std::time::Instant::now() < deadline, "the closed room never went");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let back = Client::new("Away", Some("den".into())).rejoin(&token);
    assert_eq!(refused_from(&srv, "127.0.0.1", back).await, (1008, "room closed by the host".to_owned()));
    let fresh = TestClient::join(&srv.ws_url(), "Fresh", Some("den")).await;
    assert_eq!(fresh.core.room_name(), "den", "a newcomer opens it again");
}

/// From an outside test of a griefer: 96 idle ships from a few addresses filled a room, and
/// each kick took one (its address's other ships played on), so clearing the room took a
/// hundred clicks. A kick with `all_from_address` closes every connection of the address in
/// that room, players and spectators, and frees its kept seats; everyone else stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_of_all_from_an_address_clears_its_ships_at_once() {
    let srv = server_with(config());
    let headers = admin(srv.addr).await;
    let mut honest = TestClient::join_from(&srv, "127.0.0.1", Client::new("Honest", Some("den".into()))).await;
    let from = |name: &str| Client::new(name, Some("den".into()));
    let mut griefers = Vec::new();
    for name in ["G1", "G2", "G3"] {
        griefers.push(TestClient::join_from(&srv, "127.0.0.5", from(name)).await);
    }
    griefers.push(TestClient::join_from(&srv, "127.0.0.5", from("G4").ask_to_spectate(true)).await);
    let mut lost = TestClient::join_from(&srv, "127.0.0.5", from("G5")).await;
    lost.hold_token().await;
    drop(lost);
    wait_for_seats(srv.addr, "den", (4, 1)).await;

    let body = format!(r#"{{"room":"den","id":{},"all_from_address":true}}"#, griefers[0].id());
    let writes: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, answer) = request(srv.addr, "POST", "/admin/api/kick", &writes, &body).await;
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(answer["connections_and_seats"], 5, "three players, a spectator and a kept seat: {answer}");
    for griefer in &mut griefers {
        assert_eq!(expect_close(&mut griefer.ws).await, (1008, "kicked by the host".to_owned()));
    }
    // Only the honest player is left, and plays on.
    wait_for_seats(srv.addr, "den", (1, 0)).await;
    let seen = honest.core.stats().snapshots;
    honest.wait_for(|c| c.core.stats().snapshots >= seen + 5).await;
    // Without the flag a kick is one player's, as before.
    let mut a = TestClient::join_from(&srv, "127.0.0.6", from("A")).await;
    let mut b = TestClient::join_from(&srv, "127.0.0.6", from("B")).await;
    kick(srv.addr, &headers, "den", &mut a).await;
    let seen = b.core.stats().snapshots;
    b.wait_for(|c| c.core.stats().snapshots >= seen + 5).await;
}
