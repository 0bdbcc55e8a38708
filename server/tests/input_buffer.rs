//! One input per tick against the real server: a burst of inputs is applied one per tick in
//! `seq` order (snapshots acknowledge each in turn), the buffer's overflow drops the oldest,
//! an empty buffer repeats the input in force, `/metrics` counts both, and the player's own
//! state says while an input waits (so its client can leave a slot out).

mod common;

use common::{TestClient, metrics, server};
use futures_util::SinkExt;
use glam::Vec2;
use skirmish_shared::PlayerState;
use tokio_tungstenite::tungstenite::Message;

/// Inputs in the burst: more than the server's buffer of 3 holds.
const BURST: u32 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_applied_one_input_per_tick_in_order_and_counted() {
    let srv = server();
    let mut player = TestClient::join(&srv.ws_url(), "Burst", Some("burst")).await;
    player.next_snapshot().await;
    let before = metrics(srv.addr).await;
    assert_eq!(before["skirmish_inputs_repeated_total"], 0.0, "no input yet: nothing to repeat");
    assert_eq!(before["skirmish_inputs_overflowed_total"], 0.0);

    // All in one write, so they reach the server together between two ticks (or, rarely,
    // around one: the assertions below hold either way).
    for _ in 0..BURST {
        let bytes = player.core.input(Vec2::X, 0.0, 0, player.now_ms()).expect("playing");
        player.ws.feed(Message::binary(bytes)).await.expect("queue input");
    }
    player.ws.flush().await.expect("send the burst");

    // (tick, acknowledged seq) of every snapshot until the last input is acknowledged, and a
    // few more ticks in which the buffer is empty.
    let me = player.id();
    let mut seen = Vec::new();
    let mut waiting = Vec::new();
    let mut extra = 0;
    while extra < 5 {
        let tick = player.next_snapshot().await;
        let own = player.state_of(me).expect("own ship");
        if seen.last().is_some_and(|&(_, last)| last == BURST) {
            extra += 1;
        }
        seen.push((tick, own.ack));
        waiting.push((own.ack, own.flags & PlayerState::INPUT_WAITING != 0));
    }
    for pair in seen.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1, "a snapshot was missed: {seen:?}");
    }
    // The inputs applied, in the order their ticks applied them.
    let mut applied: Vec<u32> = seen.iter().map(|&(_, ack)| ack).filter(|&a| a != 0).collect();
    applied.dedup();
    assert!(applied.is_sorted(), "in seq order: {seen:?}");
    assert!(applied.ends_with(&[BURST - 2, BURST - 1, BURST]), "the newest three, kept: {seen:?}");
    // One per tick: the acknowledgement never moves more than one applied input per tick.
    for pair in seen.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        if a != b {
            let (i, j) = (applied.iter().position(|&s| s == a), applied.iter().position(|&s| s == b));
            assert!(a == 0 || j == i.map(|i| i + 1), "two inputs in one tick: {seen:?}");
        }
    }

    // While the burst drains, its own state says an input waits (but maybe at the first
    // input applied, if the burst straddled a tick); once the last is applied, it does not.
    let draining: Vec<bool> = waiting.iter().filter(|&&(ack, _)| ack != 0 && ack < BURST).map(|&(_, w)| w).collect();
    assert!(draining.len() >= 2 && draining[1..].iter().all(|&w| w), "{waiting:?}");
    assert!(waiting.iter().filter(|&&(ack, _)| ack == BURST).all(|&(_, w)| !w), "{waiting:?}");

    let after = metrics(srv.addr).await;
    let overflowed = after["skirmish_inputs_overflowed_total"];
    assert_eq!(overflowed, f64::from(BURST) - applied.len() as f64, "every input applied or counted as dropped");
    assert!(overflowed >= 1.0, "a burst of {BURST} overflows a buffer of 3");
    assert!(after["skirmish_inputs_repeated_total"] >= 4.0, "the ticks after the burst repeated the last input");
    // The buffer held three after the burst: the first two takes each left an input waiting.
    assert!(after["skirmish_inputs_waiting_total"] >= 2.0, "the burst's inputs waited for later ticks");
    assert_eq!(after["skirmish_inputs_dropped_total"], 0.0, "nothing was out of order or over the rate limit");
}

/// Found by an outside test on a bad link: through a stall of the link the server repeated the
/// last input for as long as it lasted, so the ship went on thrusting and firing, steered by
/// nobody. Now it lets go of thrust and trigger after half a second with no new input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ship_whose_inputs_stop_lets_go_of_its_trigger() {
    let srv = server();
    let mut player = TestClient::join(&srv.ws_url(), "Stall", Some("stall")).await;
    let me = player.id();
    player.next_snapshot().await;
    // Fire for a few ticks, one input per snapshot, standing still and aiming at the arena's
    // centre (away from the walls, so every bullet lives a frame or more); then nothing more
    // is sent.
    let to_centre = player.core.arena() / 2.0 - player.position_of(me).expect("own ship");
    let aim = to_centre.y.atan2(to_centre.x);
    for _ in 0..5 {
        player.send_controls(Vec2::ZERO, aim, skirmish_shared::Input::FIRE).await;
        player.next_snapshot().await;
    }
    let (last, _) = player.core.input_seqs();
    // The tick that applied the last input: from there on the server has nothing new.
    let mut applied = None;
    let mut launches = std::collections::BTreeSet::new();
    loop {
        let tick = player.next_snapshot().await;
        let (newest, _) = player.core.frames();
        let own = newest.expect("a frame").bullets.iter().filter(|b| b.owner == me).map(|b| b.tick);
        launches.extend(own);
        if applied.is_none() && player.state_of(me).expect("own ship").ack == last {
            applied = Some(tick);
        }
        if applied.is_some_and(|at| tick >= at + 45) {
            break;
        }
    }
    let applied = applied.expect("the last input was applied");
    let newest_launch = launches.last().copied().expect("the ship fired");
    assert!(newest_launch > applied, "the input in force is repeated for a while: {launches:?} (applied at {applied})");
    assert!(
        newest_launch < applied + 15,
        "no shot from the 15th tick without input on: {launches:?} (applied at {applied})"
    );
    let repeats = metrics(srv.addr).await["skirmish_inputs_repeated_total"];
    assert!(repeats >= 45.0, "every tick since was a repeat: {repeats}");
}
