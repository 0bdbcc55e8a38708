//! The scoreboard of a room too big to send everyone every line, against the real server: over
//! 100 players fire at random in a small arena until the match ends, and then every player's
//! board shows the top 20 of the match's results, line for line, and its own line as the results
//! have it, although the lines of the others below the top were not all kept current for everyone;
//! a spectator's board shows the line of the player it watches as the results have it, before and
//! after it switches to another; and a newcomer's board shows that top from its first frame.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{TestClient, maps_dir, server_with};
use glam::Vec2;
use skirmish_shared::consts::{ROSTER_CHUNK_PLAYERS, SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS, TICK_DURATION};
use skirmish_shared::{Input, PlayerId, ScoreLine};

/// A small open arena: a crowd firing at random hits someone often.
const PEN: &str = r#"{"name": "pen", "size": [1000, 700], "obstacles": [],
    "spawns": [[150, 150], [500, 150], [850, 150], [150, 550], [500, 550], [850, 550]], "pickups": []}"#;

/// Players in the room: over the size where every line is kept current for everyone.
const PLAYERS: usize = SCORES_ALL_MAX_PLAYERS + 6;
/// The match: everyone fires until it ends.
const MATCH: Duration = Duration::from_secs(5);
/// Read on after the results: nothing scores then, and the last lines have arrived.
const SETTLE: Duration = Duration::from_millis(500);

/// The best `SCOREBOARD_TOP` of `lines`, best first, as every board ranks them.
fn top(lines: impl Iterator<Item = ScoreLine>) -> Vec<ScoreLine> {
    let mut all: Vec<ScoreLine> = lines.collect();
    all.sort_by_key(ScoreLine::rank_key);
    all.truncate(SCOREBOARD_TOP);
    all
}

/// Fires in a direction that turns with the tick and the player until the match's results
/// arrive, then reads on for `SETTLE`.
async fn fight(mut c: TestClient) -> TestClient {
    let mut turn = f32::from(u16::try_from(c.id()).unwrap_or(0)) * 0.7;
    let mut last_input: Option<Instant> = None;
    let mut results_at: Option<Instant> = None;
    while results_at.is_none_or(|t| t.elapsed() < SETTLE) {
        // At the tick rate, not per frame read: a backlog read in a burst would be a flood.
        if results_at.is_none() && last_input.is_none_or(|t| t.elapsed() >= TICK_DURATION) {
            turn += 0.37;
            c.send_controls(Vec2::from_angle(turn * 0.5), turn, Input::FIRE).await;
            last_input = Some(Instant::now());
        }
        c.next_event().await;
        if results_at.is_none() && c.core.results().is_some() {
            results_at = Some(Instant::now());
        }
    }
    c
}

/// Reads as a spectator until the match's results arrive, then for `SETTLE`.
async fn watch(mut c: TestClient) -> TestClient {
    let mut results_at: Option<Instant> = None;
    while results_at.is_none_or(|t| t.elapsed() < SETTLE) {
        c.next_event().await;
        if results_at.is_none() && c.core.results().is_some() {
            results_at = Some(Instant::now());
        }
    }
    c
}

/// Asks the server, as spectator `c`, to show it `target`'s views.
async fn follow(c: &mut TestClient, target: PlayerId) {
    use futures_util::SinkExt;
    let bytes = c.core.follow(Some(target)).expect("a spectator may follow");
    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(bytes)).await.expect("send Follow");
}

/// `c`'s line for `id`: none reads as no kills and no deaths.
fn held(c: &TestClient, id: PlayerId) -> ScoreLine {
    c.core.scores().get(&id).copied().unwrap_or(ScoreLine { id, kills: 0, deaths: 0 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_board_in_a_big_room_shows_the_true_top() {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(maps_dir("big-room-scores", &[("pen.json", PEN)]));
    config.map = Some("pen".into());
    config.max_players_per_room = PLAYERS;
    config.score_limit = 0;
    // The match starts when the last player is in, and ends while all are still firing.
    config.min_players = PLAYERS as u16;
    config.match_duration = MATCH;
    config.results_duration = Duration::from_secs(60);
    let srv = server_with(config);

    let mut clients = Vec::new();
    for i in 0..PLAYERS {
        clients.push(TestClient::join(&srv.ws_url(), &format!("p{i}"), Some("crowd")).await);
    }
    // A spectator watches one of the crowd through the match.
    let mut eve = TestClient::join_as(&srv.ws_url(), "eve", Some("crowd"), true).await;
    let watched = clients[PLAYERS / 2].id();
    follow(&mut eve, watched).await;
    eve.wait_for(|c| c.core.subject() == Some(watched)).await;
    let eve = tokio::spawn(watch(eve));
    let fights: Vec<_> = clients.into_iter().map(|c| tokio::spawn(fight(c))).collect();
    let mut clients = Vec::new();
    for f in fights {
        clients.push(f.await.expect("a player's task"));
    }
    let mut eve = eve.await.expect("the spectator's task");

    // The results are the server's own account of the match, best first, board order (the ids
    // grow with joining, the results' last tie-break).
    let results = clients[0].core.results().expect("the match ended").clone();
    let truth: BTreeMap<PlayerId, ScoreLine> =
        results.scores.iter().map(|s| (s.id, ScoreLine { id: s.id, kills: s.kills, deaths: s.deaths })).collect();
    let true_top: Vec<ScoreLine> = top(truth.values().copied());
    assert!(true_top.iter().any(|l| l.kills > 0), "the crowd scored no kill: the test saw nothing");

    // The spectator's HUD shows the watched player's line: true, in or out of the top. (The
    // results list only the best, so the truth of every line is its owner's: checked below
    // against the results where they have it.)
    let line_of = |id: PlayerId| {
        let owner = clients.iter().find(|c| c.id() == id).expect("a player of the crowd");
        held(owner, id)
    };
    let roster: Vec<PlayerId> = eve.core.roster().values().filter(|p| !p.spectator).map(|p| p.id).collect();
    assert_eq!(held(&eve, watched), line_of(watched), "the watched player's line on the spectator's board");
    assert_eq!(top(roster.iter().map(|&id| held(&eve, id))), true_top, "the spectator's board");

    // A newcomer (the room is full, so it watches) has the top of the board in its first frame:
    // the players `Welcome` lists and their lines. Its board is right before any `Roster` chunk
    // brings the rest of the room.
    let mut late = TestClient::join(&srv.ws_url(), "late", Some("crowd")).await;
    late.wait_for(|c| c.core.results().is_some()).await;
    assert_eq!(late.core.results(), Some(&results), "a newcomer during the results has them");
    assert!(late.core.roster().len() <= ROSTER_CHUNK_PLAYERS, "only what one frame holds so far");
    assert_eq!(top(late.core.scores().values().copied()), true_top, "the newcomer's board from its first frame");
    // And it watches at once a player whose line the room holds out of date (the spectator's
    // board holds the room's lines but for the one it watches), while the rest of its roster
    // still comes a chunk a tick, lowest ids first, with the lines the room holds. The last such
    // player by id comes in the last chunk, a few ticks after this follow has taken effect
    // (unless the machine is very slow): checked below once its roster is whole.
    let published_stale =
        roster.iter().copied().rev().find(|&id| eve.core.scores().contains_key(&id) && held(&eve, id) != line_of(id));
    if let Some(target) = published_stale {
        follow(&mut late, target).await;
    }

    // It switches to a player whose line it holds out of date (nothing scores after the
    // match): that line comes true with the first view of the new player, and the board's top
    // stays the true top.
    // The last such player by id: a newcomer's roster brings it in its last chunk (below).
    let out_of_date = roster.iter().copied().rev().find(|&id| held(&eve, id) != line_of(id));
    let switch_to = out_of_date.expect("every line on the spectator's board was current: the test saw nothing");
    follow(&mut eve, switch_to).await;
    eve.wait_for(|c| c.core.subject() == Some(switch_to)).await;
    assert_eq!(held(&eve, switch_to), line_of(switch_to), "the newly watched player's line");
    assert_eq!(top(roster.iter().map(|&id| held(&eve, id))), true_top, "the spectator's board after the switch");
    // Once the newcomer's roster is whole, the line it holds for the player it watches is still
    // the true one: the chunk that brought that player did not overwrite it.
    if let Some(target) = published_stale {
        late.wait_for(|c| c.core.subject() == Some(target) && c.core.roster().len() == PLAYERS + 2).await;
        assert_eq!(held(&late, target), line_of(target), "the line of the player the newcomer watches");
    } else {
        eprintln!("no line the room holds was out of date: the newcomer's follow was not checked");
    }

    let mut stale = 0;
    for c in &clients {
        let roster: Vec<PlayerId> = c.core.roster().values().filter(|p| !p.spectator).map(|p| p.id).collect();
        assert_eq!(roster.len(), PLAYERS, "player {} knows the whole room", c.id());
        let held = |id: PlayerId| c.core.scores().get(&id).copied().unwrap_or(ScoreLine { id, kills: 0, deaths: 0 });
        assert_eq!(top(roster.iter().map(|&id| held(id))), true_top, "player {}'s board", c.id());
        if let Some(mine) = truth.get(&c.id()) {
            assert_eq!(held(c.id()), *mine, "player {}'s own line", c.id());
        }
        stale += roster.iter().filter(|&&id| truth.get(&id).is_some_and(|t| held(id) != *t)).count();
    }
    let kills: u32 = truth.values().map(|l| u32::from(l.kills)).sum();
    eprintln!(
        "{kills} kills by the best {} of {PLAYERS} players; {stale} of their lines out of date across {} boards",
        truth.len(),
        clients.len()
    );
}
