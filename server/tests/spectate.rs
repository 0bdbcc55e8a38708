//! Spectators against the real server: they watch (snapshots, match info, chat) without a ship,
//! their inputs are ignored, and a room full of players turns newcomers into spectators until
//! the spectator seats are full too.

mod common;

use common::{TestClient, expect_close, hello, raw, server, server_with};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_server::Stats;
use skirmish_server::room::{FOLLOW_OVERRULED, ROOM_FULL};
use skirmish_shared::Input;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spectator_watches_without_a_ship_and_its_inputs_are_ignored() {
    let srv = server();
    let mut player = TestClient::join(&srv.ws_url(), "Player", Some("watch")).await;
    let mut watcher = TestClient::join_as(&srv.ws_url(), "Watcher", Some("watch"), true).await;
    let (p, w) = (player.id(), watcher.id());
    assert!(watcher.core.is_spectator(), "Welcome says spectator");

    // Snapshots show the player and never the spectator.
    watcher.wait_for(|c| c.ids() == vec![p] && c.core.match_info().is_some()).await;
    player.wait_for(|c| c.core.roster().get(&w).is_some_and(|i| i.spectator)).await;
    assert!(!player.core.roster()[&p].spectator);

    // Inputs from a spectator are dropped, counted, and do not close the connection.
    let dropped_before = Stats::get(&srv.stats.inputs_dropped);
    for _ in 0..5 {
        watcher.send_controls(Vec2::new(1.0, 0.0), 0.0, Input::FIRE).await;
    }
    let before = watcher.core.stats().snapshots;
    watcher.wait_for(|c| c.core.stats().snapshots >= before + 10).await;
    assert!(Stats::get(&srv.stats.inputs_dropped) >= dropped_before + 5, "spectator inputs counted as dropped");
    assert_eq!(watcher.ids(), vec![p], "still no ship");
    assert_eq!(srv.stats.protocol_disconnects(), 0);

    // Spectators may chat.
    watcher.send_chat("nice shot").await;
    player.wait_for(|c| c.chat_lines().contains(&(Some("Watcher".into()), "nice shot".into()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_room_makes_spectators_then_refuses() {
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = 1;
    config.max_spectators_per_room = 2;
    let srv = server_with(config);
    let first = TestClient::join(&srv.ws_url(), "First", Some("small")).await;
    assert!(!first.core.is_spectator());
    let mut second = TestClient::join(&srv.ws_url(), "Second", Some("small")).await;
    assert!(second.core.is_spectator(), "no seat left to play: watching instead");
    second.wait_for(|c| c.core.latest().is_some()).await;
    assert_eq!(second.ids(), vec![first.id()]);
    // Told why, once (a player who asked to play saw the game with no ship and no word); a
    // spectator who asked to watch is told nothing.
    let told =
        |c: &TestClient| c.chat_lines().into_iter().filter(|(from, text)| from.is_none() && text == ROOM_FULL).count();
    assert_eq!(told(&second), 1, "{:?}", second.chat_lines());
    let mut caster = TestClient::join_as(&srv.ws_url(), "Caster", Some("small"), true).await;
    caster.wait_for(|c| c.core.stats().snapshots >= 10).await;
    second.wait_for(|c| c.core.stats().snapshots >= 20).await;
    assert_eq!((told(&caster), told(&second)), (0, 1), "{:?}", caster.chat_lines());

    let mut third = raw(&srv.ws_url()).await;
    third.send(Message::binary(hello("Third", "small", false))).await.unwrap();
    let (code, reason) = expect_close(&mut third).await;
    assert_eq!((code, reason.as_str()), (1008, "room small is full"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_refused_for_want_of_spectator_places_is_told_so() {
    // Found by an outside test: a second watcher was told the room was full while it had
    // ships free, which a join as a player would have got.
    let mut config = skirmish_server::Config::for_tests();
    config.max_spectators_per_room = 1;
    let srv = server_with(config);
    let _player = TestClient::join(&srv.ws_url(), "Player", Some("roomy")).await;
    let watch = |name: &str| skirmish_client::Client::new(name, Some("roomy".to_owned())).ask_to_spectate(true);
    let first = TestClient::join_with(&srv.ws_url(), watch("Watcher1")).await;
    assert!(first.core.is_spectator());
    let mut second = raw(&srv.ws_url()).await;
    second.send(Message::binary(hello("Watcher2", "roomy", true))).await.unwrap();
    let (code, reason) = expect_close(&mut second).await;
    assert_eq!((code, reason.as_str()), (1008, "room roomy has no place left for spectators"));
    // As a player it gets in.
    let player = TestClient::join(&srv.ws_url(), "Watcher2", Some("roomy")).await;
    assert!(!player.core.is_spectator());
}

/// A client core joining the room `eyes` as `name`, watching or not.
fn watcher(name: &str, spectate: bool) -> skirmish_client::Client {
    skirmish_client::Client::new(name, Some("eyes".to_owned())).ask_to_spectate(spectate)
}

/// Asks the server, as spectator `c`, to show it `target`'s views.
async fn follow(c: &mut TestClient, target: u32) {
    let bytes = c.core.follow(Some(target)).expect("a spectator may follow");
    c.ws.send(Message::binary(bytes)).await.expect("send Follow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spectator_from_a_players_address_watches_only_that_address() {
    // Found by an outside test: a player opened a second connection as a spectator, followed an
    // opponent, and got every snapshot the opponent got (its position across the map included),
    // as it got it.
    let srv = server();
    let ada = TestClient::join_from(&srv, "127.0.0.2", watcher("Ada", false)).await;
    let bob = TestClient::join_from(&srv, "127.0.0.3", watcher("Bob", false)).await;
    let mut spy = TestClient::join_from(&srv, "127.0.0.2", watcher("Spy", true)).await;
    let mut fan = TestClient::join_from(&srv, "127.0.0.4", watcher("Fan", true)).await;
    let (a, b) = (ada.id(), bob.id());
    follow(&mut spy, b).await;
    follow(&mut fan, b).await;
    // The fan, from an address with no player, watches whom it likes; its Follow went out
    // after the spy's, so by then the spy's has been applied too.
    fan.wait_for(|c| c.core.subject() == Some(b)).await;
    let seen = spy.core.stats().snapshots;
    spy.wait_for(|c| c.core.stats().snapshots >= seen + 10).await;
    assert_eq!(spy.core.subject(), Some(a), "the spy still watches its own address's player");
    // And is told why, once (a caster from a player's address took Q/E for broken); the fan,
    // whose choice holds, is told nothing.
    let told = |c: &TestClient| {
        c.chat_lines().into_iter().filter(|(from, text)| from.is_none() && text == FOLLOW_OVERRULED).count()
    };
    assert_eq!(told(&spy), 1, "{:?}", spy.chat_lines());
    assert_eq!(told(&fan), 0, "{:?}", fan.chat_lines());
    follow(&mut spy, a).await;
    let seen = spy.core.stats().snapshots;
    spy.wait_for(|c| c.core.stats().snapshots >= seen + 10).await;
    assert_eq!(told(&spy), 1, "a choice the rule allows is not answered");

    // Once no player of its address is left, its choice holds.
    drop(ada);
    spy.wait_for(|c| c.core.subject() == Some(b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spectator_from_an_away_players_address_still_watches_only_that_address() {
    // From an outside test of a griefer: the moment its player's connection dropped (its seat
    // kept), the spectator from its address followed an opponent, and went back when the player
    // rejoined with its token.
    let mut config = skirmish_server::Config::for_tests();
    config.seat_reservation = std::time::Duration::from_secs(60);
    let srv = server_with(config);
    let mut ada = TestClient::join_from(&srv, "127.0.0.2", watcher("Ada", false)).await;
    let bob = TestClient::join_from(&srv, "127.0.0.3", watcher("Bob", false)).await;
    let mut spy = TestClient::join_from(&srv, "127.0.0.2", watcher("Spy", true)).await;
    let (a, b) = (ada.id(), bob.id());
    ada.hold_token().await;
    follow(&mut spy, b).await;
    let seen = spy.core.stats().snapshots;
    spy.wait_for(|c| c.core.stats().snapshots >= seen + 10).await;
    assert_eq!(spy.core.subject(), Some(a));
    drop(ada);
    common::wait_for_kept_seats(srv.addr, "eyes", 1).await;
    follow(&mut spy, b).await;
    // Watched for 1.5 s past the drop: the old rule had switched within a tick or two.
    let seen = spy.core.stats().snapshots;
    spy.wait_for(|c| c.core.stats().snapshots >= seen + 45 || c.core.subject() != Some(a)).await;
    assert_eq!(spy.core.subject(), Some(a), "while Ada's seat is kept, the spy watches only Ada");
}
