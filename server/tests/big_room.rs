//! Big rooms go quiet, against the real server: above `--big-room-players`, joins, leaves and
//! kills make no system chat lines, and a kill reaches only the players it involves and those
//! who could see it, not a player far away.

mod common;

use common::{TestClient, maps_dir, server_with};
use futures_util::SinkExt as _;
use glam::Vec2;
use skirmish_client::Event;
use skirmish_shared::consts::AOI_HALF_EXTENT;
use skirmish_shared::{Input, Kill, Phase};

/// A long arena with both spawn points near its left end.
const WIDE: &str = r#"{"name": "wide", "size": [4000, 800], "obstacles": [],
    "spawns": [[200, 400], [600, 400]], "pickups": []}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_room_sends_no_system_lines_and_kills_only_to_those_concerned() {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir("big-room", &[("wide.json", WIDE)]));
    config.map = Some("wide".into());
    config.big_room_players = 0; // every room counts as big
    let srv = server_with(config);

    let mut shooter = TestClient::join(&srv.ws_url(), "Shooter", Some("big")).await;
    let mut target = TestClient::join(&srv.ws_url(), "Target", Some("big")).await;
    let mut far = TestClient::join(&srv.ws_url(), "Far", Some("big")).await;
    let (me, them, far_id) = (shooter.id(), target.id(), far.id());

    // Everyone is told who is in the room, but nobody gets a "joined" line.
    shooter.wait_for(|c| c.core.roster().contains_key(&far_id) && c.core.phase().0 == Phase::Playing).await;

    // The shooter and the target stay at the spawn points; the third player flies right, far
    // out of their view.
    const FAR_X: f32 = 600.0 + 2.0 * AOI_HALF_EXTENT;
    far.wait_for(|c| c.position_of(far_id).is_some()).await;
    let mut last_input: Option<std::time::Instant> = None;
    for _ in 0..900 {
        if far.position_of(far_id).is_some_and(|p| p.x > FAR_X) {
            break;
        }
        // At the tick rate, not per snapshot read: a backlog read in a burst would be a flood.
        if last_input.is_none_or(|t| t.elapsed() >= skirmish_shared::consts::TICK_DURATION) {
            far.send_input(Vec2::X).await;
            last_input = Some(std::time::Instant::now());
        }
        far.next_snapshot().await;
    }
    far.send_input(Vec2::ZERO).await;
    let far_at = far.position_of(far_id).expect("far sees itself");
    assert!(far_at.x > FAR_X, "the third player got far away: {far_at}");

    // The shooter aims at the target and holds fire until the kill arrives.
    let mut kill = None;
    let mut last_input: Option<std::time::Instant> = None;
    for _ in 0..3000 {
        if last_input.is_none_or(|t| t.elapsed() >= skirmish_shared::consts::TICK_DURATION) {
            let (mine, theirs) = (shooter.position_of(me).unwrap(), shooter.position_of(them).unwrap());
            let d = theirs - mine;
            shooter.send_controls(Vec2::ZERO, d.y.atan2(d.x), Input::FIRE).await;
            last_input = Some(std::time::Instant::now());
        }
        if let Event::Kill(k) = shooter.next_event().await {
            kill = Some(k);
            break;
        }
    }
    assert_eq!(kill, Some(Kill { killer: me, victim: them }), "the shooter hears of its kill");
    let victim_pos = shooter.position_of(them).expect("the shooter sees the target");
    assert!((victim_pos - far_at).abs().max_element() > AOI_HALF_EXTENT, "the kill is out of the far view");
    target.wait_for(|c| c.core.kill_feed().any(|(k, _)| k.victim == them)).await;

    // The far player gets a second of snapshots after the kill, and no word of it.
    for _ in 0..30 {
        far.next_snapshot().await;
    }
    assert_eq!(far.core.kill_feed().count(), 0, "a far player hears of no kill");
    for c in [&shooter, &target, &far] {
        let system: Vec<_> = c.chat_lines().into_iter().filter(|(from, _)| from.is_none()).collect();
        assert!(system.is_empty(), "no system lines in a big room: {system:?}");
    }
    // Scores still reach everyone: the score table is room-wide.
    far.wait_for(|c| c.core.scores().get(&me).is_some_and(|s| s.kills == 1)).await;
}

/// Two spawn points 880 units apart on one line: just out of each other's view (850 each side
/// of the centre), within a bullet's reach (900).
const LONG_SHOT: &str = r#"{"name": "long", "size": [3000, 800], "obstacles": [],
    "spawns": [[1000, 400], [1880, 400]], "pickups": []}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spectators_feed_in_a_big_room_holds_its_players_kills_out_of_view() {
    // Found by an outside test of a caster: a spectator's feed kept the kills that involved the
    // spectator itself (none ever do) instead of those of the player it follows, so a kill by
    // that player of a ship just out of view reached the player's feed and not the caster's.
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir("big-room-long", &[("long.json", LONG_SHOT)]));
    config.map = Some("long".into());
    config.big_room_players = 0;
    let srv = server_with(config);
    let mut a = TestClient::join(&srv.ws_url(), "A", Some("long")).await;
    let b = TestClient::join(&srv.ws_url(), "B", Some("long")).await;
    let caster = skirmish_client::Client::new("Caster", Some("long".to_owned())).ask_to_spectate(true);
    let mut caster = TestClient::join_from(&srv, "127.0.0.9", caster).await;
    let (a_id, b_id) = (a.id(), b.id());
    a.wait_for(|c| c.core.phase().0 == Phase::Playing && c.position_of(a_id).is_some()).await;
    // A shoots along the line toward the other spawn, which it cannot see.
    let left = a.position_of(a_id).is_some_and(|p| p.x < 1440.0);
    assert!(a.position_of(b_id).is_none(), "B is out of A's view");
    let follow = caster.core.follow(Some(a_id)).expect("a spectator may follow");
    caster.ws.send(tokio_tungstenite::tungstenite::Message::binary(follow)).await.expect("send Follow");
    caster.wait_for(|c| c.core.subject() == Some(a_id)).await;
    let aim = if left { 0.0 } else { std::f32::consts::PI };
    let mut last_input: Option<std::time::Instant> = None;
    let mut killed = false;
    for _ in 0..3000 {
        if last_input.is_none_or(|t| t.elapsed() >= skirmish_shared::consts::TICK_DURATION) {
            a.send_controls(Vec2::ZERO, aim, Input::FIRE).await;
            last_input = Some(std::time::Instant::now());
        }
        if let Event::Kill(k) = a.next_event().await {
            assert_eq!(k, Kill { killer: a_id, victim: b_id });
            killed = true;
            break;
        }
    }
    assert!(killed, "A's shots killed B");
    caster.wait_for(|c| c.core.kill_feed().any(|(k, _)| *k == Kill { killer: a_id, victim: b_id })).await;
    drop(b);
}
