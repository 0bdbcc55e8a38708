//! Combat against the real server: on a two-spawn test map loaded with `--maps`, one player aims
//! at the other and holds fire until it dies; both see the kill, the scores count it, and the
//! victim comes back.

mod common;

use common::{TestClient, maps_dir, server_with};
use glam::Vec2;
use skirmish_client::Event;
use skirmish_shared::{Input, Kill, Phase};

/// Small, open, with exactly two spawn points facing each other 400 units apart.
const DUEL: &str = r#"{"name": "duel", "size": [800, 400], "obstacles": [],
    "spawns": [[200, 200], [600, 200]], "pickups": []}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_shoots_another_until_it_dies_and_it_respawns() {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir("combat", &[("duel.json", DUEL)]));
    config.map = Some("duel".into());
    config.seed = Some(7);
    let srv = server_with(config);

    let mut shooter = TestClient::join(&srv.ws_url(), "Shooter", Some("duel")).await;
    let target = TestClient::join(&srv.ws_url(), "Target", Some("duel")).await;
    let (me, them) = (shooter.id(), target.id());

    // The target only watches: it records the kill it hears about and its own death and return.
    let watcher = tokio::spawn(async move {
        let mut target = target;
        let (mut kill, mut died, mut deaths) = (None, false, 0);
        loop {
            if let Event::Kill(k) = target.next_event().await {
                kill = Some(k);
            }
            let Some(state) = target.core.my_state() else { continue };
            if !state.alive() {
                died = true;
                deaths = state.deaths;
            } else if died && kill.is_some() {
                return (kill, deaths, target.chat_lines());
            }
        }
    });

    // Two players and no countdown: the match is on.
    shooter.wait_for(|c| c.core.phase().0 == Phase::Playing && c.ids().len() == 2).await;
    let info = shooter.core.match_info().expect("Match after Welcome").clone();
    assert_eq!((info.phase, info.map.name.as_str()), (Phase::Playing, "duel"));
    assert_eq!(shooter.core.arena(), Vec2::new(800.0, 400.0), "the arena is the map's");

    // Aim at the target from the latest snapshot and hold fire until the kill arrives.
    let mut kill = None;
    for _ in 0..600 {
        let (mine, theirs) = (shooter.position_of(me).unwrap(), shooter.position_of(them).unwrap());
        let d = theirs - mine;
        shooter.send_controls(Vec2::ZERO, d.y.atan2(d.x), Input::FIRE).await;
        if let Event::Kill(k) = shooter.next_event().await {
            kill = Some(k);
            break;
        }
    }
    assert_eq!(kill, Some(Kill { killer: me, victim: them }), "the shooter saw the kill");
    shooter.send_controls(Vec2::ZERO, 0.0, 0).await;

    // The scores in snapshots count it.
    shooter
        .wait_for(|c| {
            let (a, b) = (c.state_of(me).unwrap(), c.state_of(them).unwrap());
            a.kills == 1 && b.deaths == 1 && !b.alive()
        })
        .await;
    let victim = shooter.state_of(them).unwrap();
    assert_eq!((victim.health, victim.flags & skirmish_shared::PlayerState::ALIVE), (0, 0));

    // The victim sees it too, and comes back at full health after the respawn delay.
    let (seen, deaths, chat) = watcher.await.expect("the watcher ends");
    assert_eq!(seen, Some(Kill { killer: me, victim: them }), "the victim saw the kill");
    assert_eq!(deaths, 1);
    assert!(chat.contains(&(None, "Shooter killed Target".into())), "system line for the feed: {chat:?}");
    shooter.wait_for(|c| c.state_of(them).is_some_and(|s| s.alive())).await;
    let back = shooter.state_of(them).unwrap();
    assert_eq!(back.health, skirmish_shared::tuning::SHIP_MAX_HEALTH);
    assert!(
        [Vec2::new(200.0, 200.0), Vec2::new(600.0, 200.0)].iter().any(|s| s.distance(back.pos) < 20.0),
        "respawned at a spawn point: {}",
        back.pos
    );
    assert_eq!(shooter.state_of(me).unwrap().kills, 1, "the kill stays on the shooter's score");
}
