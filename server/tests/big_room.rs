//! Big rooms go quiet, against the real server: above `--big-room-players`, joins, leaves and
//! kills make no system chat lines, and a kill reaches only the players it involves and those
//! who could see it, not a player far away.

mod common;

use common::{TestClient, maps_dir, server_with};
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
