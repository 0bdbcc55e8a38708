//! A server that freezes until the end of the run (the gate between it and the bots stops
//! moving bytes, as a SIGSTOPped server would): the inputs it never acknowledged and the
//! snapshots that never came must show in latency, gaps and missed ticks, and every input sent
//! is timed once, those the client core forgot during a long freeze included. The `--stats`
//! lines of the freeze show the bots' time due with nothing delivered, not nothing due.

mod gate;
mod run;

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use gate::{Gate, WALL_CLOCK_GUARD};
use run::{BIN, f64_at, json_path};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_freeze_until_the_end_shows_in_latency_gaps_and_missed_ticks() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let gate = Gate::start(Some(server.addr)).await;
    gate.open.send_replace(true);
    let url = gate.url();
    // Frozen once both bots play, a second or so into the 12 s run, to its end: longer than
    // the 256 unacknowledged inputs (8.5 s) the client core remembers.
    let stats = json_path("frozen-stats");
    let stats_arg = stats.to_str().expect("a UTF-8 path");
    let args = ["-c", "2", "--duration", "12", "--mix", "wander=100", "--json", "-", "--url", &url];
    let args = [&args[..], &["--stats", stats_arg, "--stats-every", "1s"]].concat();
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("skirmish-bots starts");
    // Both playing: a second of snapshots each has gone out.
    let deadline = tokio::time::Instant::now() + WALL_CLOCK_GUARD;
    while server.stats.snapshots_sent.load(Relaxed) < 60 {
        assert!(tokio::time::Instant::now() < deadline, "the bots never got to play");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.frozen.send_replace(true);
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child.wait_with_output())
        .await
        .expect("skirmish-bots finishes within the guard")
        .expect("skirmish-bots ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    // Every input is one latency sample: acknowledged, forgotten by the core, or still waiting.
    assert_eq!(f64_at(&json, "/latency_ms/count"), f64_at(&json, "/inputs_sent"), "{json:#}\n{stderr}");
    // The freeze lasted the run but for the time the bots took to join and get a second of
    // snapshots: well over a second on any machine.
    assert!(f64_at(&json, "/latency_ms/max") >= 1000.0, "{json:#}");
    assert!(f64_at(&json, "/snapshot_gap_ms/max") >= 1000.0, "{json:#}");
    assert!(f64_at(&json, "/ticks_missed") >= 60.0, "a second of ticks for each bot: {json:#}");
    // Whole seconds of the run fell in the freeze: their lines show two bots' time due (the
    // clock's, as bots add their snapshots every half second whatever arrived) and none of it
    // delivered. Before, they showed nothing due and a null ratio, and a later line the loss.
    let text = std::fs::read_to_string(&stats).expect("the stats file was written");
    let _ = std::fs::remove_file(&stats);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let frozen: Vec<&Value> = lines.iter().filter(|l| l["snapshots"] == 0).collect();
    assert!(frozen.len() >= 5, "most of 12 lines lie in the freeze: {text}");
    for line in &frozen {
        assert_eq!(line["connected"], 2, "{text}");
        assert_eq!(line["delivery_ratio"], 0.0, "due, none delivered: {text}");
        assert!(f64_at(line, "/expected_snapshots") > 0.0, "{text}");
    }
    assert!(lines.iter().all(|l| !l["delivery_ratio"].is_null()), "no line with nothing due: {text}");
    server.stop();
}
