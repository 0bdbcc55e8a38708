//! A newcomer to a crowded room learns who is there a chunk at a time, against the real server:
//! `Welcome` lists at most `ROSTER_CHUNK_PLAYERS`, `Roster` messages bring the rest with their
//! scores (those the room keeps for everyone), and no frame grows with the room (the HTTP layer
//! would keep a connection's write buffer that large for as long as it lives).

mod common;

use common::{TestClient, WAIT, raw, server_with};
use futures_util::{SinkExt, StreamExt};
use skirmish_client::{Client, ConnState, Event};
use skirmish_shared::consts::{ROSTER_CHUNK_PLAYERS, SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS};
use skirmish_shared::{PlayerInfo, ServerMsg, encode_server};
use tokio_tungstenite::tungstenite::Message;

/// actix-http's initial per-connection write buffer: a frame larger than this makes it grow,
/// and it keeps what it grew to.
const HTTP_WRITE_BUFFER_BYTES: usize = 8 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_gets_the_roster_in_bounded_chunks() {
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = 200;
    let srv = server_with(config);

    // Long names in four-byte characters: the whole roster in one frame would pass the buffer
    // size above, each chunk stays well under it.
    let crowd = 4 * ROSTER_CHUNK_PLAYERS + 5;
    let name = |i: usize| format!("{}{i:03}", "🚀".repeat(13));
    let mut here = Vec::new();
    for i in 0..crowd {
        here.push(TestClient::join(&srv.ws_url(), &name(i), Some("crowd")).await);
    }
    let ids: Vec<u32> = here.iter().map(TestClient::id).collect();
    let whole = (0..crowd).map(|i| PlayerInfo { id: ids[i], name: name(i), colour: 0xffffff, spectator: false });
    let whole = encode_server(&ServerMsg::Roster(whole.collect())).len();
    assert!(whole > HTTP_WRITE_BUFFER_BYTES, "the test room is big enough to matter: {whole} B");

    let mut ws = raw(&srv.ws_url()).await;
    let mut core = Client::new("Late", Some("crowd".into()));
    ws.send(Message::binary(core.on_open())).await.expect("send Hello");
    let (mut largest, mut welcome_players, mut chunks) = (0, None, Vec::new());
    let deadline = std::time::Instant::now() + WAIT;
    // Past `SCORES_ALL_MAX_PLAYERS` the room keeps everyone current only on the top of the
    // board: here the first to join (no one has scored). The line of a player who came when the
    // room was already that big (no kills, no deaths, below the top) goes to it alone, and a
    // missing line means just that.
    let top = &ids[..SCOREBOARD_TOP];
    while !core.roster_complete() || !top.iter().all(|id| core.scores().contains_key(id)) {
        assert!(std::time::Instant::now() < deadline, "roster incomplete within {WAIT:?}: {}", core.roster().len());
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time");
        let Some(Ok(Message::Binary(bytes))) = msg else { continue };
        largest = largest.max(bytes.len());
        let mut events = Vec::new();
        core.on_message(&bytes, 0.0, &mut events).expect("valid server message");
        for event in events {
            match event {
                Event::Welcome { .. } => {
                    welcome_players = Some(core.roster().len());
                    assert!(!core.roster_complete(), "a full Welcome leaves the roster open");
                }
                Event::Roster(n) => chunks.push(n),
                _ => {}
            }
        }
    }
    assert_eq!(core.state(), &ConnState::Playing);
    assert_eq!(welcome_players, Some(ROSTER_CHUNK_PLAYERS), "Welcome: the newcomer and 31 others");
    // Full chunks, then a short one that tells the client the roster is whole.
    let rest = crowd + 1 - ROSTER_CHUNK_PLAYERS;
    let mut expected = vec![ROSTER_CHUNK_PLAYERS; rest / ROSTER_CHUNK_PLAYERS];
    expected.push(rest % ROSTER_CHUNK_PLAYERS);
    assert_eq!(chunks, expected, "Roster messages");
    assert_eq!(core.roster().len(), crowd + 1, "everyone, the newcomer included, once");
    assert!(ids.iter().all(|id| core.roster().contains_key(id)), "the whole roster");
    assert!(ids.len() > SCORES_ALL_MAX_PLAYERS, "the test room is big enough to keep only its top current");
    assert!(!core.scores().contains_key(ids.last().unwrap()), "no line for the last to come, below the top");
    assert!(largest < HTTP_WRITE_BUFFER_BYTES, "largest frame {largest} B");
}

/// A room whose players just fill `Welcome`: the client cannot tell from it that nobody is left,
/// so an empty `Roster` closes the roster on the next tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_welcome_is_closed_by_an_empty_roster() {
    let srv = server_with(skirmish_server::Config::for_tests());
    let mut here = Vec::new();
    for i in 0..ROSTER_CHUNK_PLAYERS - 1 {
        here.push(TestClient::join(&srv.ws_url(), &format!("p{i}"), Some("full")).await);
    }
    let mut late = TestClient::join(&srv.ws_url(), "late", Some("full")).await;
    assert_eq!(late.core.roster().len(), ROSTER_CHUNK_PLAYERS, "everyone in the Welcome");
    assert!(!late.core.roster_complete(), "a full Welcome: more might come");
    let mut rosters = Vec::new();
    while !late.core.roster_complete() {
        if let Event::Roster(n) = late.next_event().await {
            rosters.push(n);
        }
    }
    assert_eq!(rosters, [0], "one empty Roster, nothing more");
    assert_eq!(late.core.roster().len(), ROSTER_CHUNK_PLAYERS);
}
