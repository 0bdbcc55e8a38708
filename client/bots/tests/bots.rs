//! The `skirmish-bots` binary against the real server (started in-process on port 0): a swarm
//! joins, plays and reports consistent figures, and an unreachable server fails the run clearly.
//! Timing figures are only checked for consistency here; their size is a benchmark, not a test.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::Value;

/// Bounds a hung run; a normal one takes the `--duration` plus a second or two.
const WALL_CLOCK_GUARD: Duration = Duration::from_secs(60);

/// A JSON path unique to this test process and test.
fn json_path(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("skirmish-bots-{}-{test}.json", std::process::id()))
}

/// Runs the bots binary with `args`, killing it if it outlives the guard.
async fn run_bots(args: &[&str]) -> Output {
    let child =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_skirmish-bots")).args(args).kill_on_drop(true).output();
    tokio::time::timeout(WALL_CLOCK_GUARD, child)
        .await
        .expect("skirmish-bots finishes within the guard")
        .expect("skirmish-bots starts")
}

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).expect("the JSON summary was written");
    // Best effort: a leftover file in the target dir is harmless.
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).expect("the summary is JSON")
}

fn f64_at(json: &Value, pointer: &str) -> f64 {
    json.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("{pointer} is a number in {json}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swarm_joins_plays_and_reports_consistent_figures() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("swarm");
    let out =
        run_bots(&["-c", "20", "--duration", "3", "--seed", "7", "--json", path.to_str().unwrap(), "--url", &url])
            .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert!(stdout.contains("20 connected"), "human summary on stdout:\n{stdout}");

    let json = read_json(&path);
    assert_eq!(json["connected"], 20, "{json:#}");
    assert_eq!(json["failed"], 0, "{json:#}");
    assert_eq!(json["completed"], 20, "every bot stays to the end: {json:#}");
    assert_eq!(json["disconnects"], serde_json::json!({}), "{json:#}");
    assert_eq!(json["params"]["count"], 20);
    assert_eq!(json["params"]["seed"], 7);
    assert_eq!(json["params"]["duration_s"], 3.0);
    assert_eq!(json["params"]["url"], url.as_str());
    assert_eq!(json["params"]["room"], "main");

    let received = f64_at(&json, "/snapshots_received");
    let expected = f64_at(&json, "/expected_snapshots");
    let ratio = f64_at(&json, "/delivery_ratio");
    assert!(received > 0.0, "{json:#}");
    assert!(f64_at(&json, "/min_snapshots_per_bot") > 0.0, "every bot received snapshots: {json:#}");
    assert!((ratio - received / expected).abs() < 1e-9, "{json:#}");
    assert!(ratio > 0.0 && ratio <= 1.05, "{json:#}");

    let lat = |p: &str| f64_at(&json, &format!("/latency_ms/{p}"));
    assert!(f64_at(&json, "/latency_ms/count") > 0.0, "inputs were acknowledged: {json:#}");
    assert!(lat("p50") <= lat("p99") && lat("p99") <= lat("max"), "{json:#}");
    let gap = |p: &str| f64_at(&json, &format!("/snapshot_gap_ms/{p}"));
    assert!(gap("p50") <= gap("p99") && gap("p99") <= gap("max"), "{json:#}");
    assert!(f64_at(&json, "/bytes_down") > 0.0 && f64_at(&json, "/bytes_up") > 0.0, "{json:#}");

    // The bots behave like players: the server found nothing to object to.
    assert_eq!(server.stats.protocol_disconnects.load(Relaxed), 0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_fails_the_run_with_a_clear_message() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let path = json_path("refused");
    let out = run_bots(&["-c", "3", "--duration", "1", "--json", path.to_str().unwrap(), "--url", &url]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a run where no bot connects fails");
    assert!(stderr.contains("no bot connected"), "stderr:\n{stderr}");
    assert!(stderr.contains("connection refused"), "the cause is named:\n{stderr}");

    // The JSON is still written, for CI to archive.
    let json = read_json(&path);
    assert_eq!(json["connected"], 0);
    assert_eq!(json["failed"], 3);
    assert_eq!(json["failures"]["connection refused"], 3);
    assert_eq!(json["delivery_ratio"], 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_url_is_refused_before_any_bot_starts() {
    let out = run_bots(&["-c", "3", "--duration", "1", "--url", "http://127.0.0.1:1/ws"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--url"), "stderr:\n{stderr}");
}
