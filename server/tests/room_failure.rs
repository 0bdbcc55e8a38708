//! A room that panics (a bug in the game's code) ends alone: its players are closed with 1011
//! and a reason their pages reconnect on, it leaves the lobby's list, the next join opens it
//! afresh, the failure is counted, and every other room, on its thread or another, ticks on. A
//! lobby that panics shuts the server down, since nobody could join or leave a room any more.
//!
//! The panic comes from a tracing layer this test installs as the process's subscriber: armed,
//! it panics on the next line a given room logs with a given message, so the panic unwinds
//! through the server's own code (a room's tick's `tick sent` trace line, a chat line's log in
//! a room's message handler, the lobby's `room created`) with no hook in the server for it.

mod common;

use std::sync::{Mutex, Once};

use common::{TestClient, expect_close, http_get, metrics, server};
use futures_util::SinkExt as _;
use tokio_tungstenite::tungstenite::Message;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

/// The `(room, message)` lines to panic on, each once.
static ARMED: Mutex<Vec<(String, &'static str)>> = Mutex::new(Vec::new());

/// The layer that panics on an armed line.
struct PanicOn;

/// The two fields a log line is matched by.
#[derive(Default)]
struct Fields {
    room: Option<String>,
    message: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "room" => self.room = Some(format!("{value:?}")),
            "message" => self.message = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for PanicOn {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(room) = fields.room else { return };
        let mut armed = ARMED.lock().expect("not poisoned: nothing panics holding it");
        let Some(at) = armed.iter().position(|(r, m)| *r == room && *m == fields.message) else { return };
        armed.remove(at);
        drop(armed);
        panic!("a panic this test injects into room {room}, at its line {:?}", fields.message);
    }
}

/// Installs the process's subscriber, once for the file's tests.
fn panic_on() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        tracing::subscriber::set_global_default(Registry::default().with(PanicOn))
            .expect("no other subscriber in this test binary");
    });
}

fn arm(room: &str, message: &'static str) {
    panic_on();
    ARMED.lock().expect("not poisoned").push((room.to_owned(), message));
}

/// Room names listed by `/api/rooms`.
async fn listed(addr: std::net::SocketAddr) -> Vec<String> {
    let rooms: serde_json::Value = serde_json::from_str(&http_get(addr, "/api/rooms").await).expect("JSON");
    rooms.as_array().expect("a list of rooms").iter().map(|r| r["name"].as_str().expect("a name").to_owned()).collect()
}

/// Reads `client`'s snapshots until their tick has moved on by `ticks`.
async fn ticks_on(client: &mut TestClient, ticks: u64) {
    let from = client.next_snapshot().await;
    while client.next_snapshot().await < from + ticks {}
}

/// Joins one player in each of `rooms`, sees each room tick, and checks that a failure in the
/// room named `doomed` ends only it: `fail` makes the failure happen once the players are in.
async fn only_the_failed_room_ends(doomed: &str, message: &'static str, fail: impl AsyncFnOnce(&mut TestClient)) {
    panic_on();
    let srv = server();
    let url = srv.ws_url();
    // Rooms are spread over the room threads: with several on each, a room shares the failed
    // one's thread and another does not.
    let others = ["calm-1", "calm-2", "calm-3", "calm-4"];
    let mut calm = Vec::new();
    for room in others {
        calm.push(TestClient::join(&url, room, Some(room)).await);
    }
    let mut victim = TestClient::join(&url, "Victim", Some(doomed)).await;
    let mut watcher = TestClient::join_as(&url, "Watcher", Some(doomed), true).await;
    victim.next_snapshot().await;
    watcher.next_snapshot().await;
    for client in &mut calm {
        client.next_snapshot().await;
    }

    arm(doomed, message);
    fail(&mut victim).await;
    for client in [&mut victim, &mut watcher] {
        let (code, reason) = expect_close(&mut client.ws).await;
        assert_eq!(code, 1011, "{reason}");
        assert!(reason.contains("room") && reason.contains("failed"), "{reason}");
    }
    // Every other room ticks on, a second's worth.
    for client in &mut calm {
        ticks_on(client, 30).await;
    }
    let failed = metrics(srv.addr).await;
    assert_eq!(failed.get("skirmish_rooms_failed_total"), Some(&1.0));
    assert!(armed_is_empty(doomed), "the injected panic never happened");
    let rooms = listed(srv.addr).await;
    assert!(!rooms.iter().any(|r| r == doomed), "the failed room is still listed: {rooms:?}");
    for room in others {
        assert!(rooms.iter().any(|r| r == room), "{room} is gone: {rooms:?}");
    }

    // The next join opens the room afresh, and it ticks.
    let mut back = TestClient::join(&url, "Back", Some(doomed)).await;
    ticks_on(&mut back, 30).await;
    assert!(listed(srv.addr).await.iter().any(|r| r == doomed));
    let after = metrics(srv.addr).await;
    assert_eq!(after.get("skirmish_rooms_failed_total"), Some(&1.0));
    assert_eq!(after.get("skirmish_rooms"), Some(&5.0), "{after:?}");
    // The failed room's player and spectator left the counts with it.
    assert_eq!(after.get("skirmish_players"), Some(&5.0), "{after:?}");
    assert_eq!(after.get("skirmish_spectators"), Some(&0.0), "{after:?}");
}

fn armed_is_empty(room: &str) -> bool {
    !ARMED.lock().expect("not poisoned").iter().any(|(r, _)| r == room)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_panics_in_its_tick_ends_alone() {
    only_the_failed_room_ends("doomed-tick", "tick sent", async |_| {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_panics_handling_a_message_ends_alone() {
    only_the_failed_room_ends("doomed-chat", "chat", async |victim| victim.send_chat("boom").await).await;
}

/// The lobby is the server's one way into and out of rooms: if it panics, nobody can join or
/// leave, so the server shuts down (Close 1012 to everyone, then an error for its supervisor)
/// rather than serve on with a lobby that answers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lobby_that_panics_shuts_the_server_down() {
    panic_on();
    let srv = server();
    let url = srv.ws_url();
    let mut calm = TestClient::join(&url, "Calm", Some("calm-lobby")).await;
    calm.next_snapshot().await;
    // Opening a room, the lobby logs it: the panic comes there, in its `Join` handler.
    arm("doomed-lobby", "room created");
    let mut joiner = common::raw(&url).await;
    joiner.send(Message::binary(common::hello("Joiner", "doomed-lobby", false))).await.expect("Hello sent");
    let (code, reason) = expect_close(&mut joiner).await;
    assert!([1011, 1012].contains(&code), "{code} {reason}");
    assert!(armed_is_empty("doomed-lobby"), "the injected panic never happened");
    let (code, reason) = expect_close(&mut calm.ws).await;
    assert_eq!((code, reason.as_str()), (1012, "server restarting"));
    let ended = tokio::task::spawn_blocking(move || srv.wait()).await.expect("waited");
    let error = ended.expect_err("the server ends with an error, for its supervisor");
    assert!(error.to_string().contains("lobby failed"), "{error}");
}
