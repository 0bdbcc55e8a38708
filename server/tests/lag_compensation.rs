//! Lag-compensated shots against the real server: a shooter leads a target flying across its
//! view as the snapshot it was showing had it, and fires four snapshots later naming that tick
//! in `view_tick`. The shot hits; the same shot sent without `view_tick` (the server then
//! starts it at the present, with the target four ticks further on) misses.

mod common;

use common::{TestClient, maps_dir, server_with};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_shared::consts::TICK_DT;
use skirmish_shared::tuning::{BULLET_SPEED, SHIP_MAX_HEALTH, SHIP_MAX_SPEED, SHIP_RADIUS};
use skirmish_shared::{ClientMsg, Input, Phase, encode_client};
use tokio_tungstenite::tungstenite::Message;

/// Tall and open: one spawn at the top right for the target, which flies straight down, and
/// one at the left for the shooter, level with where the shot meets the target (so the bullet
/// crosses its path square on).
const LANE: &str = r#"{"name": "lane", "size": [800, 1400], "obstacles": [],
    "spawns": [[200, 500], [600, 100]], "pickups": []}"#;

/// Snapshots the shooter waits between the one it aims from and firing: its view is then
/// four ticks (133 ms) or more behind the tick that applies the shot.
const BEHIND_TICKS: u64 = 4;

/// The aim from `shooter` that meets a target at `target` moving at `vel` per tick, for a
/// bullet leaving the nose at that same tick (solved by fixed-point iteration on the flight time).
fn lead(shooter: Vec2, target: Vec2, vel: Vec2) -> f32 {
    let per_tick = BULLET_SPEED * TICK_DT;
    let mut ticks = (target - shooter).length() / per_tick;
    for _ in 0..20 {
        ticks = ((target + vel * ticks - shooter).length() - SHIP_RADIUS) / per_tick;
    }
    (target + vel * ticks - shooter).to_angle()
}

/// In a fresh room: the target flies down at full speed, the shooter aims from one snapshot
/// and fires `BEHIND_TICKS` snapshots later, naming the first one's tick in `view_tick` if
/// `compensated`. True if the target was hit.
async fn shot_hits(url: &str, room: &str, compensated: bool) -> bool {
    let mut a = TestClient::join(url, "A", Some(room)).await;
    let b = TestClient::join(url, "B", Some(room)).await;
    a.wait_for(|c| c.core.phase().0 == Phase::Playing && c.ids().len() == 2).await;
    // The target is whoever spawned at the top.
    let top = |c: &TestClient, id: u32| c.position_of(id).is_some_and(|p| p.y < 400.0);
    let (mut shooter, mut target) = if top(&a, b.id()) { (a, b) } else { (b, a) };
    let (me, them) = (shooter.id(), target.id());
    shooter.wait_for(|c| c.ids().len() == 2).await;
    target.send_input(Vec2::Y).await;
    // Only the shooter is watched; the target keeps flying down, an input a snapshot (a ship
    // with no new input lets go of its thrust after half a second).
    let drain = tokio::spawn(async move {
        loop {
            target.next_snapshot().await;
            target.send_input(Vec2::Y).await;
        }
    });

    // Full speed: two snapshots in a row a full step apart.
    let full_step = SHIP_MAX_SPEED * TICK_DT;
    let mut last = shooter.position_of(them).expect("in view");
    loop {
        shooter.next_snapshot().await;
        let now = shooter.position_of(them).expect("in view");
        let step = now.y - last.y;
        last = now;
        if (step - full_step).abs() < 0.6 {
            break;
        }
    }
    let shown = shooter.core.newest_tick();
    let aim = lead(shooter.position_of(me).expect("own ship"), last, Vec2::new(0.0, full_step));
    for _ in 0..BEHIND_TICKS {
        shooter.next_snapshot().await;
    }
    // Fire once (the next input releases the trigger), by hand to name the tick shown.
    let ack = shooter.core.newest_tick();
    let view_tick = if compensated { shown } else { 0 };
    for (seq, buttons) in [(1, Input::FIRE), (2, 0)] {
        let input = Input { seq, mv: Vec2::ZERO, aim, buttons, ack, view_tick };
        shooter.ws.send(Message::binary(encode_client(&ClientMsg::Input(input)))).await.expect("send input");
    }
    // Long enough for the bullet to fly past.
    let mut hit = false;
    for _ in 0..60 {
        shooter.next_snapshot().await;
        hit |= shooter.state_of(them).is_some_and(|s| s.health < SHIP_MAX_HEALTH);
    }
    drain.abort();
    hit
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_at_the_target_as_shown_hits_and_the_same_shot_uncompensated_misses() {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir("lag_compensation", &[("lane.json", LANE)]));
    config.map = Some("lane".into());
    let srv = server_with(config);
    assert!(shot_hits(&srv.ws_url(), "compensated", true).await, "what the shooter saw was hit");
    assert!(!shot_hits(&srv.ws_url(), "uncompensated", false).await, "without view_tick, the target had moved on");
}
