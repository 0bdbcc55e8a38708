//! Area of interest against the real server: a player receives the ships and bullets in its
//! view and nothing beyond, entities enter and leave the view as they move, and a spectator
//! sees exactly what the player it follows sees.

mod common;

use std::collections::BTreeMap;

use common::{TestClient, maps_dir, server_with};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_shared::Input;
use skirmish_shared::consts::AOI_HALF_EXTENT;
use tokio_tungstenite::tungstenite::Message;

/// A long, empty arena with one spawn point at each end, 11 000 units apart.
const ENDS: &str = r#"{"name": "ends", "size": [12000, 1000], "obstacles": [],
    "spawns": [[500, 500], [11500, 500]], "pickups": []}"#;

/// A wide arena whose two spawn points are 400 units apart: in each other's view.
const NEAR: &str = r#"{"name": "near", "size": [6000, 1000], "obstacles": [],
    "spawns": [[500, 500], [900, 500]], "pickups": []}"#;

/// A wide arena with a spawn point 100 units from its left wall and one 1150 units further:
/// beyond 850 units of the first ship, but on its screen, as the camera stops at the wall.
const WALL: &str = r#"{"name": "wall", "size": [6000, 1000], "obstacles": [],
    "spawns": [[100, 500], [1250, 500]], "pickups": []}"#;

fn server_on(test: &str, name: &str, map: &str) -> skirmish_server::ServerHandle {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir(test, &[(&format!("{name}.json"), map)]));
    config.map = Some(name.into());
    server_with(config)
}

/// Ids of the other ships and the owners of bullets in a client's newest view.
fn others(c: &TestClient) -> (Vec<u32>, Vec<u32>) {
    let Some(view) = c.core.latest() else { return (Vec::new(), Vec::new()) };
    let me = c.id();
    let ships = view.players.iter().map(|p| p.id).filter(|&id| id != me).collect();
    let bullets = view.bullets.iter().map(|b| b.owner).collect();
    (ships, bullets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_at_opposite_ends_receive_nothing_of_each_other() {
    let srv = server_on("ends", "ends", ENDS);
    nothing_of_each_other(&srv, "ends").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_far_apart_on_expanse_receive_nothing_of_each_other() {
    let mut config = skirmish_server::Config::for_tests();
    config.map = Some("expanse".into());
    let srv = server_with(config);
    nothing_of_each_other(&srv, "expanse").await;
}

/// Two players join `room`, where they spawn far apart; for two seconds each holds fire towards
/// the other, and neither is ever sent the other's ship or bullets (while each gets its own).
async fn nothing_of_each_other(srv: &skirmish_server::ServerHandle, room: &str) {
    let mut a = TestClient::join(&srv.ws_url(), "Ada", Some(room)).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", Some(room)).await;
    let (ida, idb) = (a.id(), b.id());
    // Both know of each other (the roster is room-wide), but neither ship is in the other's view.
    a.wait_for(|c| c.core.roster().contains_key(&idb) && c.position_of(ida).is_some()).await;
    b.wait_for(|c| c.position_of(idb).is_some()).await;
    let (pa, pb) = (a.position_of(ida).unwrap(), b.position_of(idb).unwrap());
    assert!(
        (pa - pb).abs().max_element() > 3.0 * AOI_HALF_EXTENT,
        "the seed must spawn them far apart for this test to mean anything: {pa} and {pb}"
    );
    let aim_at_b = (pb - pa).y.atan2((pb - pa).x);
    let mut a_saw_own_bullets = false;
    for _ in 0..60 {
        // Each holds fire towards the other; bullets fly 900 units and die far from the target.
        a.send_controls(Vec2::ZERO, aim_at_b, Input::FIRE).await;
        b.send_controls(Vec2::ZERO, aim_at_b + std::f32::consts::PI, Input::FIRE).await;
        a.next_snapshot().await;
        b.next_snapshot().await;
        let (a_ships, a_bullets) = others(&a);
        let (b_ships, b_bullets) = others(&b);
        assert!(!a_ships.contains(&idb), "Ada was sent Bob's ship");
        assert!(!b_ships.contains(&ida), "Bob was sent Ada's ship");
        assert!(!a_bullets.contains(&idb), "Ada was sent Bob's bullets");
        assert!(!b_bullets.contains(&ida), "Bob was sent Ada's bullets");
        a_saw_own_bullets |= a_bullets.contains(&ida);
    }
    assert!(a_saw_own_bullets, "bullets in view are sent (Ada's own)");
    assert_eq!(a.core.subject(), Some(ida));
    assert_eq!(srv.stats.protocol_disconnects(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_enter_and_leave_the_view_as_they_move() {
    let srv = server_on("near", "near", NEAR);
    let mut a = TestClient::join(&srv.ws_url(), "Ada", Some("near")).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", Some("near")).await;
    let idb = b.id();
    a.wait_for(|c| others(c).0.contains(&idb)).await;
    b.wait_for(|c| c.position_of(idb).is_some()).await;

    // Bob flies right, out of Ada's view (she stays put, acknowledging with idle inputs).
    let start = b.position_of(idb).expect("Bob sees himself");
    let mut left_at = None;
    for _ in 0..300 {
        b.send_input(Vec2::new(1.0, 0.0)).await;
        a.send_input(Vec2::ZERO).await;
        b.next_snapshot().await;
        a.next_snapshot().await;
        if !others(&a).0.contains(&idb) {
            left_at = b.position_of(idb);
            break;
        }
    }
    let left_at = left_at.expect("Bob left Ada's view");
    assert!(left_at.x - start.x > AOI_HALF_EXTENT - 500.0, "left only once far: {start} → {left_at}");
    assert!(a.core.roster().contains_key(&idb), "out of view is not out of the room");

    // And back in.
    let mut back = false;
    for _ in 0..300 {
        b.send_input(Vec2::new(-1.0, 0.0)).await;
        a.send_input(Vec2::ZERO).await;
        b.next_snapshot().await;
        a.next_snapshot().await;
        if others(&a).0.contains(&idb) {
            back = true;
            break;
        }
    }
    assert!(back, "Bob entered Ada's view again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_a_wall_the_view_holds_what_the_camera_shows() {
    let srv = server_on("wall", "wall", WALL);
    let mut a = TestClient::join(&srv.ws_url(), "Ada", Some("wall")).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", Some("wall")).await;
    let (ida, idb) = (a.id(), b.id());
    a.wait_for(|c| c.position_of(ida).is_some()).await;
    b.wait_for(|c| c.position_of(idb).is_some()).await;
    // Whoever spawned by the wall sees the other, 1150 units off; the other, its view centred
    // on its ship, does not see back.
    let (mut walled, mut open, other, walled_id) =
        if a.position_of(ida).unwrap().x < b.position_of(idb).unwrap().x { (a, b, idb, ida) } else { (b, a, ida, idb) };
    let (pw, po) = (walled.position_of(walled_id).unwrap(), open.position_of(other).unwrap());
    assert!(pw.x < 200.0 && po.x - pw.x > AOI_HALF_EXTENT + 200.0, "spawned at {pw} and {po}");
    walled.wait_for(|c| others(c).0.contains(&other)).await;
    for _ in 0..10 {
        walled.send_input(Vec2::ZERO).await;
        open.send_input(Vec2::ZERO).await;
        walled.next_snapshot().await;
        open.next_snapshot().await;
        assert!(others(&walled).0.contains(&other), "on the walled ship's screen");
        assert!(!others(&open).0.contains(&walled_id), "off the other ship's screen");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spectator_sees_what_its_player_sees() {
    let srv = server_on("spectator-view", "ends", ENDS);
    let mut a = TestClient::join(&srv.ws_url(), "Ada", Some("ends")).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", Some("ends")).await;
    let mut s = TestClient::join_as(&srv.ws_url(), "Sam", Some("ends"), true).await;
    let (ida, idb) = (a.id(), b.id());
    for (watched, other) in [(idb, ida), (ida, idb)] {
        let follow = s.core.follow(Some(watched)).expect("spectators may follow");
        s.ws.send(Message::binary(follow)).await.expect("send Follow");
        s.wait_for(|c| c.core.subject() == Some(watched)).await;

        // The spectator's view and the watched player's, tick by tick.
        let watched_client = if watched == ida { &mut a } else { &mut b };
        let (mut seen_by_player, mut seen_by_spectator) = (BTreeMap::new(), BTreeMap::new());
        for _ in 0..40 {
            watched_client.send_controls(Vec2::new(0.0, 1.0), 0.0, Input::FIRE).await;
            // Read each until both hold the same tick (one may have snapshots queued from
            // before; the server may also skip a tick for one of them, latest-wins).
            let mut tp = watched_client.next_snapshot().await;
            let mut ts = s.next_snapshot().await;
            while tp != ts {
                if tp < ts {
                    tp = watched_client.next_snapshot().await;
                } else {
                    ts = s.next_snapshot().await;
                }
            }
            let view = |c: &TestClient| {
                let v = c.core.latest().expect("a view");
                let mut ids: Vec<u32> = v.players.iter().map(|p| p.id).collect();
                ids.sort_unstable();
                let mut bullets: Vec<u32> = v.bullets.iter().map(|b| b.id).collect();
                bullets.sort_unstable();
                (v.tick, (ids, bullets))
            };
            let (t, v) = view(watched_client);
            seen_by_player.insert(t, v);
            let (t, v) = view(&s);
            seen_by_spectator.insert(t, v);
        }
        let common: Vec<_> = seen_by_player.keys().filter(|t| seen_by_spectator.contains_key(t)).collect();
        assert!(common.len() >= 10, "both received the same ticks");
        for t in common {
            assert_eq!(seen_by_player[t], seen_by_spectator[t], "tick {t}: the spectator's view differs");
            assert!(seen_by_spectator[t].0.contains(&watched), "the followed ship is in view");
            assert!(!seen_by_spectator[t].0.contains(&other), "the far player is not");
        }
    }
}
