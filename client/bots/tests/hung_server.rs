//! A server that accepts TCP connections and never answers (the gate with nothing behind it):
//! bots that never got in must be reported as failing to join, with why, never as having
//! played or endured, and no join may outlive the run.

mod gate;
mod run;

use std::process::Output;

use gate::{Gate, WALL_CLOCK_GUARD};
use run::spawn_bots;
use serde_json::{Value, json};

/// The run's output and its `--json -`.
async fn finish(child: tokio::process::Child) -> (Output, Value, String) {
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child.wait_with_output())
        .await
        .expect("skirmish-bots finishes within the guard")
        .expect("skirmish-bots ran");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    (out, json, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaving_bots_that_never_got_in_did_not_endure() {
    let gate = Gate::start(None).await;
    let url = gate.url();
    let args = ["-c", "2", "--duration", "1", "--misbehave", "flood=100", "--json", "-", "--url", &url];
    let (out, json, stderr) = finish(spawn_bots(&args)).await;
    let flood = &json["misbehaving"]["flood"];
    assert_eq!(flood["bots"], 2, "{json:#}\n{stderr}");
    assert_eq!(flood["endured"], 0, "they never got to misbehave: {json:#}");
    let failed: u64 = flood["failed"].as_object().expect("failed by why").values().filter_map(Value::as_u64).sum();
    assert_eq!(failed, 2, "{json:#}");
    assert_eq!(out.status.code(), Some(1), "none got in: {stderr}");
}

/// Sends SIGINT (Ctrl-C) to the bots.
fn interrupt(child: &tokio::process::Child) {
    signal(child, "INT");
}

/// Sends `signal` (`INT`, `KILL`) to the bots.
fn signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("running");
    // `sh`'s own `kill`, so no `procps` is needed.
    let command = format!("kill -{signal} {pid}");
    let sent = std::process::Command::new("sh").arg("-c").arg(command).status().expect("sh runs");
    assert!(sent.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaving_bots_stopped_while_joining_did_not_endure() {
    let gate = Gate::start(None).await;
    let url = gate.url();
    let args = ["-c", "2", "--duration", "600", "--misbehave", "garbage=100", "--json", "-", "--url", &url];
    let child = spawn_bots(&args);
    gate.arrivals(2).await;
    interrupt(&child);
    let (out, json, stderr) = finish(child).await;
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(json["misbehaving"]["garbage"]["endured"], 0, "{json:#}\n{stderr}");
    assert_eq!(json["misbehaving"]["garbage"]["failed"], json!({"stopped while joining": 2}), "{json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_join_outlives_the_run_nor_starts_after_it() {
    let gate = Gate::start(None).await;
    let url = gate.url();
    // Two attempts at a time: the first two hang until the run's end, which the other four,
    // queued for a slot, never see pass with an attempt of their own.
    let args = ["-c", "6", "--max-connecting", "2", "--duration", "1", "--json", "-", "--url", &url];
    let (out, json, stderr) = finish(spawn_bots(&args)).await;
    assert_eq!(out.status.code(), Some(1), "no bot connected: {stderr}");
    assert_eq!((&json["connected"], &json["failed"], &json["not_started"]), (&json!(0), &json!(6), &json!(0)));
    assert_eq!(
        json["failures"],
        json!({"run over while connecting": 2, "run over while waiting to connect": 4}),
        "{json:#}"
    );
    assert!(gate.arrived() <= 2, "{} connections: attempts started after the run's end", gate.arrived());
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_stopped_while_joining_failed_to_join_rather_than_never_started() {
    let gate = Gate::start(None).await;
    let url = gate.url();
    let args = ["-c", "4", "--duration", "600", "--json", "-", "--url", &url];
    let child = spawn_bots(&args);
    gate.arrivals(4).await;
    interrupt(&child);
    let (out, json, stderr) = finish(child).await;
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!((&json["failed"], &json["not_started"]), (&json!(4), &json!(0)), "{json:#}");
    assert_eq!(json["failures"], json!({"stopped while joining": 4}), "{json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_leaves_no_empty_json_file() {
    let gate = Gate::start(None).await;
    let url = gate.url();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("killed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory of its own");
    let path = dir.join("run.json");
    let args = ["-c", "1", "--duration", "600", "--json", path.to_str().unwrap(), "--url", &url];
    let child = spawn_bots(&args);
    // The bot is connecting, so the JSON's file was opened before.
    gate.arrivals(1).await;
    signal(&child, "KILL");
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child.wait_with_output()).await.expect("killed").expect("ran");
    assert_eq!(out.status.code(), None, "killed by a signal");
    assert!(!path.exists(), "a run killed before its end wrote no --json file, empty or not");
    let _ = std::fs::remove_dir_all(&dir);
}
