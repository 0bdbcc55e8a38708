//! A server slow to let the bots in, or one that never answers, between them and the real
//! server: a gate that holds every connection it accepts until the test opens it (then carries
//! its bytes to the server), or forever. A slow admission must lower delivery and show as the
//! time to join; a bot let in only after the run is over did not join it; and no join outlives
//! the run.

mod gate;
mod run;

use std::process::Output;
use std::time::Duration;

use gate::{Gate, WALL_CLOCK_GUARD};
use run::{f64_at, json_path, read_json, spawn_bots};
use serde_json::Value;

async fn finish(child: tokio::process::Child) -> (Output, String) {
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child.wait_with_output())
        .await
        .expect("skirmish-bots finishes within the guard")
        .expect("skirmish-bots ran");
    let text =
        format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_kept_waiting_to_join_lower_delivery_and_show_the_wait() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let gate = Gate::start(Some(server.addr)).await;
    let path = json_path("slow-admission");
    let url = gate.url();
    let args =
        ["-c", "4", "--duration", "4", "--min-delivery", "0.99", "--json", path.to_str().unwrap(), "--url", &url];
    let child = spawn_bots(&args);
    // Every bot is at the gate, so past its start: held 2 s more, each waits at least that
    // long to join and misses at least half of its 4 s of snapshots.
    gate.arrivals(4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    gate.open.send_replace(true);
    let (out, text) = finish(child).await;
    let json = read_json(&path);
    assert_eq!(json["connected"], 4, "{json:#}\n{text}");
    let ratio = f64_at(&json, "/delivery_ratio");
    assert!(ratio < 0.75, "the 2 s wait to join is counted as snapshots due: {ratio}\n{text}");
    assert_eq!(out.status.code(), Some(2), "--min-delivery 0.99 fails:\n{text}");
    assert_eq!(json["thresholds"]["min_delivery"]["passed"], false, "{json:#}");
    assert_eq!(f64_at(&json, "/thresholds/min_delivery/value"), ratio);
    assert!(text.contains("threshold failed: --min-delivery 0.99: delivery ratio measured"), "{text}");
    assert_eq!(f64_at(&json, "/join_ms/count"), 4.0, "{json:#}");
    assert!(f64_at(&json, "/join_ms/p50") >= 2000.0, "{json:#}");
    assert!(f64_at(&json, "/join_ms/max") >= f64_at(&json, "/join_ms/p50"), "{json:#}");
    assert!(text.contains("join ms      p50 "), "{text}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_let_in_only_after_the_run_did_not_join_it() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let gate = Gate::start(Some(server.addr)).await;
    let path = json_path("after-the-run");
    let url = gate.url();
    let args = ["-c", "3", "--duration", "1", "--json", path.to_str().unwrap(), "--url", &url];
    let child = spawn_bots(&args);
    gate.arrivals(3).await;
    // Past the run's end of 1 s (every bot started before it reached the gate).
    tokio::time::sleep(Duration::from_secs(2)).await;
    gate.open.send_replace(true);
    let (out, text) = finish(child).await;
    let json = read_json(&path);
    assert_eq!(json["completed"], 0, "none stayed to the end of a run it never played: {json:#}\n{text}");
    assert_eq!((&json["connected"], &json["failed"]), (&Value::from(0), &Value::from(3)), "{json:#}");
    assert_eq!(out.status.code(), Some(1), "no bot joined the run:\n{text}");
    server.stop();
}
