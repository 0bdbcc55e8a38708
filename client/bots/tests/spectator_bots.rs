//! `--spectators` against the real server (in-process on port 0): the spectator bots join as
//! spectators, receive snapshots and acknowledge them (so the server sends deltas, not a full
//! snapshot every tick), switch whom they follow, and are counted apart from the players, whose
//! figures and thresholds leave them out. Sizes of timings are not checked: a benchmark's job.

mod http;
mod run;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use run::{BIN, f64_at, json_path, read_json};
use serde_json::json;

/// Bounds a hung run; a normal one takes the `--duration` plus a second or two.
const WALL_CLOCK_GUARD: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn spectator_bots_watch_acknowledge_switch_and_are_counted_apart() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("spectators");
    // Six seconds: every spectator's first switch is due within five of its `Welcome`; with
    // seed 12 both first switches name a player, 1.0 and 1.4 s in (`spectators::FollowPlan`).
    let args = [
        "-c",
        "4",
        "--spectators",
        "2",
        "--duration",
        "6",
        "--seed",
        "12",
        "--json",
        path.to_str().unwrap(),
        "--url",
        &url,
        // Limits no run can miss: the players' thresholds stay theirs.
        "--max-p99-latency",
        "60000",
        "--min-delivery",
        "0.01",
    ];
    let child = tokio::process::Command::new(BIN).args(args).kill_on_drop(true).output();
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child).await.expect("the run ends in time").expect("it starts");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("4 bots + 2 spectators →"), "the start line names them:\n{stdout}");
    assert!(stdout.contains("spectators   2 bots watching (--spectators)"), "listed apart:\n{stdout}");
    assert!(stdout.contains("follow ms"), "{stdout}");

    let json = read_json(&path);
    assert_eq!(json["params"]["spectators"], 2, "{json:#}");
    // The players: four, none of them made a spectator, none of the watchers among them.
    assert_eq!((&json["connected"], &json["completed"], &json["failed"]), (&json!(4), &json!(4), &json!(0)));
    assert_eq!(json["spectators"], 0, "no player was made a spectator: {json:#}");
    assert_eq!(json["behaviours"], json!({"wander": 4}), "{json:#}");
    assert_eq!(json["rooms"], json!({"main": 4}), "{json:#}");
    let players_due = f64_at(&json, "/due_seconds");
    assert!(players_due <= 4.0 * 8.0, "four players' time due, no more: {json:#}");
    assert!(f64_at(&json, "/inputs_sent") > 0.0, "{json:#}");
    assert_eq!(f64_at(&json, "/latency_ms/count"), f64_at(&json, "/inputs_sent"), "one sample per input: {json:#}");

    // The spectators, apart.
    let s = &json["spectator_bots"];
    assert_eq!(
        (&s["bots"], &s["connected"], &s["completed"], &s["failed"]),
        (&json!(2), &json!(2), &json!(2), &json!(0))
    );
    assert_eq!(s["rooms"], json!({"main": 2}), "{json:#}");
    let snapshots = f64_at(s, "/snapshots_received");
    assert!(snapshots > 0.0, "they receive snapshots: {json:#}");
    assert!(f64_at(s, "/min_snapshots_per_bot") > 0.0, "each of them: {json:#}");
    assert!(f64_at(s, "/delivery_ratio") > 0.0, "{json:#}");
    let acks = f64_at(s, "/acks_sent");
    assert!(acks > 0.0 && acks <= snapshots, "an Ack per snapshot at most: {json:#}");
    // Each spectator switches at least once; a switch naming a player shows that player's view.
    assert!(f64_at(s, "/follows_sent") >= 2.0, "{json:#}");
    let shown = f64_at(s, "/follows_shown");
    assert!(shown >= 2.0, "the server showed each one the player it chose: {json:#}");
    assert!(shown + f64_at(s, "/follows_nil") <= f64_at(s, "/follows_sent"), "{json:#}");
    assert_eq!(f64_at(s, "/follow_ms/count"), shown, "each switch shown is timed once: {json:#}");
    assert_eq!(s["follows_overruled"], 0, "one address: every player is its own: {json:#}");
    assert!(f64_at(s, "/bytes_down_per_snapshot") > 0.0, "{json:#}");
    assert!(f64_at(s, "/bytes_up") > 0.0, "Acks and Follows went up: {json:#}");
    assert_eq!(s["latency_ms"], json!(null), "a spectator has no input latency, only follow_ms: {json:#}");
    // --max-failed judged on each group apart.
    assert_eq!(json["thresholds"]["max_failed"]["passed"], true, "{json:#}");
    assert_eq!(json["thresholds"]["max_failed_spectators"]["passed"], true, "{json:#}");
    assert_eq!(f64_at(&json, "/thresholds/max_failed_spectators/value"), 0.0, "{json:#}");

    // The server sent deltas: acknowledged snapshots serve as baselines. Unacknowledged, every
    // snapshot of a spectator would have gone out whole.
    let full = server.stats.full_snapshots.load(Relaxed) as f64;
    assert!(full < snapshots / 3.0, "{full} full snapshots for the spectators' {snapshots}: {json:#}");
    let metrics = http::metrics(server.addr).await;
    assert_eq!(metrics["skirmish_disconnects_total{reason=\"normal\"}"], 6.0, "all six closed normally: {metrics:?}");
    assert_eq!(server.stats.protocol_disconnects(), 0, "nothing the server objected to");
    server.stop();
}
