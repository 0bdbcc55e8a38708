//! Reconnection that keeps your score: a player whose connection is lost keeps its seat for the
//! seat reservation, and a `Hello` with its `Welcome.rejoin` token takes back its id, name,
//! colour, ship and score (closing the old socket if it still lingers); after the window, or
//! after a close for cause, the token leads nowhere and a newcomer joins instead.

mod common;

use std::time::Duration;

use common::{TestClient, expect_close, http_get, maps_dir, room_seats, server_with};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_client::{Client, Event};
use skirmish_shared::consts::PROTOCOL_VERSION;
use skirmish_shared::tuning::SHIP_MAX_HEALTH;
use skirmish_shared::{ClientMsg, Hello, Input, Phase, encode_client};
use tokio_tungstenite::tungstenite::Message;

/// Small, open, two spawn points facing each other 400 units apart.
const DUEL: &str = r#"{"name": "duel", "size": [800, 400], "obstacles": [],
    "spawns": [[200, 200], [600, 200]], "pickups": []}"#;

fn config(test: &str, reservation: Duration) -> skirmish_server::Config {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir(test, &[("duel.json", DUEL)]));
    config.map = Some("duel".into());
    config.seed = Some(7);
    config.seat_reservation = reservation;
    config
}

/// Joins `room` as `name`, asking for the seat of `token`.
async fn rejoin(url: &str, name: &str, room: &str, token: &str) -> TestClient {
    TestClient::join_with(url, Client::new(name, Some(room.to_owned())).rejoin(token)).await
}

/// The `duel` room's players and kept seats, as `/api/rooms` lists them (`None`: not listed).
async fn seats(addr: std::net::SocketAddr) -> Option<(u64, u64)> {
    room_seats(addr, "duel").await
}

/// Shoots `target` (as `shooter`) until the kill is heard.
async fn kill(shooter: &mut TestClient, target: u32) {
    let me = shooter.id();
    shooter.wait_for(|c| c.core.phase().0 == Phase::Playing && c.ids().len() == 2).await;
    for _ in 0..900 {
        let (Some(mine), Some(theirs)) = (shooter.position_of(me), shooter.position_of(target)) else {
            shooter.next_event().await;
            continue;
        };
        let d = theirs - mine;
        shooter.send_controls(Vec2::ZERO, d.y.atan2(d.x), Input::FIRE).await;
        if let Event::Kill(k) = shooter.next_event().await
            && k.victim == target
        {
            return;
        }
    }
    panic!("no kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_player_takes_back_its_id_colour_and_score() {
    let srv = server_with(config("rejoin-score", Duration::from_secs(30)));
    let url = srv.ws_url();
    let mut shooter = TestClient::join(&url, "Shooter", Some("duel")).await;
    let target = TestClient::join(&url, "Target", Some("duel")).await;
    let (id, target_id) = (shooter.id(), target.id());
    let colour = shooter.core.roster()[&id].colour;
    let token = shooter.core.rejoin_token().to_owned();
    assert_eq!(token.len(), 32, "a token to come back with: {token:?}");
    // The target hears nothing of the shooter going and coming back: its ship stays in the
    // world meanwhile, and the shooter in every roster.
    let (back_tx, mut back_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(async move {
        let mut target = target;
        let mut heard = Vec::new();
        loop {
            tokio::select! {
                _ = &mut back_rx => return (heard, target.core.roster().get(&id).cloned()),
                event = target.next_event() => match event {
                    Event::Left(left) if left == id => heard.push(event),
                    Event::Joined(ref info) if info.id == id => heard.push(event),
                    _ => {}
                },
            }
        }
    });
    kill(&mut shooter, target_id).await;
    shooter.wait_for(|c| c.core.my_state().is_some_and(|s| s.kills == 1)).await;

    // The connection is lost: the socket ends with no WebSocket close.
    drop(shooter);
    let rooms = http_get(srv.addr, "/api/rooms").await;
    assert!(rooms.contains(r#""name":"duel""#), "the room stays while a seat is kept: {rooms}");

    let mut back = rejoin(&url, "Someone else", "duel", &token).await;
    assert_eq!(back.id(), id, "the same id");
    back.wait_for(|c| c.core.my_state().is_some()).await;
    let info = &back.core.roster()[&id];
    assert_eq!((info.name.as_str(), info.colour), ("Shooter", colour), "the same name and colour");
    assert_eq!(back.core.my_state().map(|s| s.kills), Some(1), "the same score");
    assert_eq!(back.core.rejoin_token(), token, "the same token, for the next time");
    back.next_snapshot().await;
    back_tx.send(()).expect("the watcher waits");
    let (heard, seen) = watcher.await.expect("the watcher ends");
    assert!(heard.is_empty(), "the others heard nothing of it: {heard:?}");
    let seen = seen.expect("in the target's roster throughout");
    assert_eq!((seen.name.as_str(), seen.colour), ("Shooter", colour), "as the others see it");
}

/// Dropping the connection is no way out of a losing fight: a rejoin takes back the ship where
/// it was lost, with the health it had, not a new one at a spawn point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ship_comes_back_where_it_was_with_its_health() {
    let srv = server_with(config("rejoin-ship", Duration::from_secs(30)));
    let url = srv.ws_url();
    let mut shooter = TestClient::join(&url, "Shooter", Some("duel")).await;
    let mut target = TestClient::join(&url, "Target", Some("duel")).await;
    let (me, target_id) = (shooter.id(), target.id());
    let token = target.core.rejoin_token().to_owned();

    // One shot: fire for one tick (each tick applies one buffered input), then not. The target
    // reads on until it is hit: 20 damage, alive.
    shooter.wait_for(|c| c.core.phase().0 == Phase::Playing && c.ids().len() == 2).await;
    shooter.wait_for(|c| c.position_of(me).is_some() && c.position_of(target_id).is_some()).await;
    let d = shooter.position_of(target_id).expect("seen") - shooter.position_of(me).expect("seen");
    shooter.send_controls(Vec2::ZERO, d.y.atan2(d.x), Input::FIRE).await;
    shooter.send_controls(Vec2::ZERO, d.y.atan2(d.x), 0).await;
    target.wait_for(|c| c.core.my_state().is_some_and(|s| s.health < SHIP_MAX_HEALTH)).await;
    // The target flies off its spawn point, out of the line of fire, until a snapshot shows it
    // there (inputs sent faster than ticks are only buffered or dropped, never harmful), then
    // stops and waits to be shown at rest there.
    const AWAY: f32 = 280.0;
    for _ in 0..300 {
        target.send_input(Vec2::new(0.0, 1.0)).await;
        target.next_snapshot().await;
        if target.core.my_state().is_some_and(|s| s.pos.y > AWAY) {
            break;
        }
    }
    target.send_input(Vec2::ZERO).await;
    target.wait_for(|c| c.core.my_state().is_some_and(|s| s.vel == Vec2::ZERO && s.pos.y > AWAY)).await;
    let before = *target.core.my_state().expect("playing");
    assert!(before.alive() && before.health < SHIP_MAX_HEALTH, "hurt, alive: {before:?}");

    // The connection is lost; the server keeps the seat (wait for it, or the rejoin would take
    // over a live connection instead).
    drop(target);
    common::wait_for_kept_seats(srv.addr, "duel", 1).await;
    let mut back = rejoin(&url, "Target", "duel", &token).await;
    assert_eq!(back.id(), target_id);
    back.wait_for(|c| c.core.my_state().is_some()).await;
    let now = *back.core.my_state().expect("playing");
    assert_eq!((now.pos, now.health), (before.pos, before.health), "the same ship: {now:?}, was {before:?}");
}

/// Found by an outside attack: a player about to die dropped its connection, the bullets flew
/// through the place its ship had left the world from, and it came back with the same health.
/// The lost player's ship now stays in the world while its seat waits, and the kill counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_connection_is_no_way_out_of_a_fight() {
    let srv = server_with(config("rejoin-fight", Duration::from_secs(30)));
    let url = srv.ws_url();
    let mut shooter = TestClient::join(&url, "Shooter", Some("duel")).await;
    let mut target = TestClient::join(&url, "Target", Some("duel")).await;
    target.hold_token().await;
    let (target_id, token) = (target.id(), target.core.rejoin_token().to_owned());
    shooter.wait_for(|c| c.core.phase().0 == Phase::Playing && c.ids().len() == 2).await;
    drop(target);
    common::wait_for_kept_seats(srv.addr, "duel", 1).await;
    kill(&mut shooter, target_id).await;
    shooter.wait_for(|c| c.core.my_state().is_some_and(|s| s.kills == 1)).await;
    let mut back = rejoin(&url, "Target", "duel", &token).await;
    assert_eq!(back.id(), target_id, "its seat waited");
    back.wait_for(|c| c.core.my_state().is_some()).await;
    assert_eq!(back.core.my_state().map(|s| s.deaths), Some(1), "killed while away: the death counts");
}

/// Found by an outside attack: a client that sends its `Hello` and loses the connection before
/// it reads its `Welcome` never had a rejoin token, yet its seat was kept: a ship nobody could
/// take back stood in the world and held a seat for the whole reservation (the tester filled a
/// room with them). A seat is kept only for a client known to hold its token: one that
/// acknowledged a snapshot (snapshots come after the `Welcome`), or came back with its token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_lost_before_it_read_its_welcome_keeps_no_seat() {
    let srv = server_with(config("rejoin-ghost", Duration::from_secs(30)));
    let url = srv.ws_url();
    let mut keeper = TestClient::join(&url, "Keeper", Some("duel")).await;
    let mut ws = common::raw(&url).await;
    let hello = Hello {
        version: PROTOCOL_VERSION,
        name: "Ghost".into(),
        room: Some("duel".into()),
        spectate: false,
        private: false,
        rejoin: None,
    };
    ws.send(Message::binary(encode_client(&ClientMsg::Hello(hello)))).await.expect("send Hello");
    // In the room (the keeper hears it join), then lost, having read nothing.
    keeper.wait_for(|c| c.core.roster().values().any(|p| p.name == "Ghost")).await;
    drop(ws);
    let deadline = std::time::Instant::now() + common::WAIT;
    // Its leave is taken in at once: the players drop back to one, kept seat or not.
    while seats(srv.addr).await.map(|(players, _)| players) != Some(1) {
        assert!(std::time::Instant::now() < deadline, "the ghost never left");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seats(srv.addr).await, Some((1, 0)), "no seat kept for a client with no token");
    while keeper.core.roster().values().any(|p| p.name == "Ghost") {
        keeper.next_event().await;
    }
}

/// A kept seat counts against the room's players: a newcomer to a full room watches while the
/// seat waits, and the lost player comes back to its ship, never past the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_seat_is_not_given_to_a_newcomer() {
    let mut config = config("rejoin-full", Duration::from_secs(30));
    config.max_players_per_room = 2;
    let srv = server_with(config);
    let url = srv.ws_url();
    let mut keeper = TestClient::join(&url, "Keeper", Some("duel")).await;
    let (id, token) = keeper.see_lost(&url, "Lost", "duel").await;

    assert_eq!(seats(srv.addr).await, Some((1, 1)), "the list counts the kept seat");
    assert_eq!(common::metrics(srv.addr).await["skirmish_kept_seats"], 1.0, "and the metrics");
    let newcomer = TestClient::join(&url, "Newcomer", Some("duel")).await;
    assert!(newcomer.core.is_spectator(), "the lost player's seat is not free");
    let back = rejoin(&url, "Lost", "duel", &token).await;
    assert_eq!(back.id(), id);
    assert!(!back.core.is_spectator(), "its seat waited for it");
    assert_eq!(seats(srv.addr).await, Some((2, 0)), "two players, no seat kept");
    assert_eq!(common::metrics(srv.addr).await["skirmish_kept_seats"], 0.0);
}

/// A rejoin takes its seat back whatever else its `Hello` asks: `spectate` is ignored with the
/// room and the name (PROTOCOL.md, `rejoin`), so a reconnecting page never loses its ship.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejoin_asking_to_spectate_still_takes_its_seat() {
    let srv = server_with(config("rejoin-spectate", Duration::from_secs(30)));
    let url = srv.ws_url();
    let mut keeper = TestClient::join(&url, "Keeper", Some("duel")).await;
    let (id, token) = keeper.see_lost(&url, "Lost", "duel").await;
    let core = Client::new("Lost", Some("duel".into())).rejoin(&token).ask_to_spectate(true);
    let back = TestClient::join_with(&url, core).await;
    assert_eq!(back.id(), id, "the seat's id");
    assert!(!back.core.is_spectator(), "a player again, with its ship");
    assert_eq!(seats(srv.addr).await, Some((2, 0)), "two players, no seat kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejoin_while_the_old_socket_lingers_replaces_it() {
    let srv = server_with(config("rejoin-replace", Duration::from_secs(30)));
    let mut old = TestClient::join(&srv.ws_url(), "Twice", Some("duel")).await;
    let id = old.id();
    let token = old.core.rejoin_token().to_owned();
    // The old connection steers and fires until a snapshot acknowledges its input.
    for _ in 0..300 {
        old.send_controls(Vec2::new(0.0, 1.0), 0.5, Input::FIRE).await;
        old.next_snapshot().await;
        if old.core.my_state().is_some_and(|s| s.ack >= 3) {
            break;
        }
    }
    assert!(old.core.my_state().is_some_and(|s| s.ack >= 3), "the old connection's inputs were applied");
    let mut new = rejoin(&srv.ws_url(), "Twice", "duel", &token).await;
    assert_eq!(new.id(), id, "the seat, ship and all");
    // Its inputs stop with it: the new connection's first snapshots acknowledge nothing (its
    // `seq` start again from 1), and its first input is acknowledged as 1.
    new.wait_for(|c| c.core.my_state().is_some()).await;
    assert_eq!(new.core.my_state().map(|s| s.ack), Some(0), "the old connection's input is no longer in force");
    new.send_input(Vec2::ZERO).await;
    new.wait_for(|c| c.core.my_state().is_some_and(|s| s.ack == 1)).await;
    let (code, reason) = expect_close(&mut old.ws).await;
    assert_eq!((code, reason.as_str()), (1000, "replaced by your new connection"));
    let rooms = http_get(srv.addr, "/api/rooms").await;
    assert!(rooms.contains(r#""players":1"#), "one player, not two: {rooms}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_whose_only_player_was_lost_waits_for_it_then_goes() {
    let srv = server_with(config("rejoin-room", Duration::from_millis(1500)));
    let mut alone = TestClient::join(&srv.ws_url(), "Alone", Some("duel")).await;
    alone.hold_token().await;
    drop(alone);
    // Nobody is connected, but the seat keeps the room (the tests' empty-room grace is zero).
    let deadline = std::time::Instant::now() + common::WAIT;
    let mut kept = false;
    loop {
        let rooms = http_get(srv.addr, "/api/rooms").await;
        if rooms == "[]" {
            break;
        }
        kept |= rooms.contains(r#""kept":1"#) && rooms.contains(r#""players":0"#);
        assert!(std::time::Instant::now() < deadline, "the room never went: {rooms}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(kept, "the room was listed, empty, while the seat waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_the_token_leads_nowhere_and_a_newcomer_joins() {
    let srv = server_with(config("rejoin-late", Duration::from_millis(500)));
    let keep = TestClient::join(&srv.ws_url(), "Keeper", Some("duel")).await;
    let mut gone = TestClient::join(&srv.ws_url(), "Late", Some("duel")).await;
    gone.hold_token().await;
    let (id, token) = (gone.id(), gone.core.rejoin_token().to_owned());
    drop(gone);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let late = rejoin(&srv.ws_url(), "Late", "duel", &token).await;
    assert_ne!(late.id(), id, "a new player");
    assert_ne!(late.core.rejoin_token(), token, "with a token of its own");
    drop(keep);
}

/// How a player breaks the rules in [`closed_for_cause_then_rejoin`].
enum Cause {
    /// Inputs far over the rate limit: 1008.
    Flood,
    /// A frame with a reserved bit set: a WebSocket protocol error, 1002.
    ReservedBits,
}

/// A player closed for `cause` gets `code`, and its token then leads nowhere.
async fn closed_for_cause_then_rejoin(test: &str, cause: Cause, code: u16) {
    let srv = server_with(config(test, Duration::from_secs(30)));
    let mut bad = TestClient::join(&srv.ws_url(), "Bad", Some("duel")).await;
    let (id, token) = (bad.id(), bad.core.rejoin_token().to_owned());
    match cause {
        Cause::Flood => {
            let input = encode_client(&ClientMsg::Input(Input::default()));
            for _ in 0..3000 {
                if bad.ws.send(Message::binary(input.clone())).await.is_err() {
                    break;
                }
            }
        }
        Cause::ReservedBits => {
            // FIN + RSV1 + binary, masked, an empty payload.
            common::write_raw(&mut bad.ws, &[0xC2, 0x80, 1, 2, 3, 4]).await.expect("send the frame");
        }
    }
    let (got, reason) = expect_close(&mut bad.ws).await;
    assert_eq!(got, code, "{reason}");
    let again = rejoin(&srv.ws_url(), "Bad", "duel", &token).await;
    assert_ne!(again.id(), id, "the token was revoked with the close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_closed_for_cause_cannot_take_its_seat_back() {
    closed_for_cause_then_rejoin("rejoin-kicked", Cause::Flood, 1008).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_closed_for_a_websocket_protocol_error_cannot_take_its_seat_back() {
    closed_for_cause_then_rejoin("rejoin-1002", Cause::ReservedBits, 1002).await;
}

/// Closes `c` with `code` (a WebSocket Close from the client) and waits for the server's answer.
async fn close_with(c: &mut TestClient, code: u16) {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let frame = CloseFrame { code: code.into(), reason: "bye".into() };
    c.ws.send(Message::Close(Some(frame))).await.expect("send Close");
    let (answer, _) = expect_close(&mut c.ws).await;
    assert_eq!(answer, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_for_a_failed_link_keeps_its_seat() {
    // A page that hears nothing from the server for 5 s gives the link up with 4000 and
    // reconnects (from an outside test on a bad network: a silently dead link left the page
    // "playing" until TCP gave up, minutes later, and the seat was gone). Should the server
    // still hear that Close, the seat is kept as for a lost connection. So it is for 1001, which
    // a browser sends for a page reloaded, frozen or put in the back/forward cache as well as
    // closed (from an outside test on a phone: an app switch lost the seat). 1000 is a leave.
    let srv = server_with(config("rejoin-4000", Duration::from_secs(30)));
    let _keep = TestClient::join(&srv.ws_url(), "Keeper", Some("duel")).await;
    let mut lost = TestClient::join(&srv.ws_url(), "Lost", Some("duel")).await;
    lost.hold_token().await;
    let (id, token) = (lost.id(), lost.core.rejoin_token().to_owned());
    close_with(&mut lost, 4000).await;
    let back = rejoin(&srv.ws_url(), "Lost", "duel", &token).await;
    assert_eq!(back.id(), id, "its seat was kept");
    let mut away = TestClient::join(&srv.ws_url(), "Away", Some("duel")).await;
    away.hold_token().await;
    let (id, token) = (away.id(), away.core.rejoin_token().to_owned());
    close_with(&mut away, 1001).await;
    let back = rejoin(&srv.ws_url(), "Away", "duel", &token).await;
    assert_eq!(back.id(), id, "1001: its seat was kept");
    let mut left = TestClient::join(&srv.ws_url(), "Leaver", Some("duel")).await;
    left.hold_token().await;
    let (id, token) = (left.id(), left.core.rejoin_token().to_owned());
    close_with(&mut left, 1000).await;
    let again = rejoin(&srv.ws_url(), "Leaver", "duel", &token).await;
    assert_ne!(again.id(), id, "1000: a leave keeps no seat");
}
