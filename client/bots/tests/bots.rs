//! The `skirmish-bots` binary against the real server (started in-process on port 0): a mixed
//! swarm joins, plays and reports consistent figures, `--rooms` spreads bots the way the server
//! sees them, thresholds set the exit status, and start-up problems fail the run clearly.
//! Timing figures are only checked for consistency here; their size is a benchmark, not a test.

mod http;
mod run;

use std::process::Output;
use std::time::Duration;

use run::{BIN, f64_at, json_path, read_json, spawn_bots};
use serde_json::{Value, json};

/// Bounds a hung run; a normal one takes the `--duration` plus a second or two.
const WALL_CLOCK_GUARD: Duration = Duration::from_secs(60);
/// Runs the bots binary with `args` (stdout a pipe, not a terminal), killing it if it outlives
/// the guard.
async fn run_bots(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(BIN).args(args).kill_on_drop(true).output();
    tokio::time::timeout(WALL_CLOCK_GUARD, child)
        .await
        .expect("skirmish-bots finishes within the guard")
        .expect("skirmish-bots starts")
}

/// Sends `signal` (`INT`, `TERM`) to the running bots and waits for their output; `why` names
/// what the run must end soon after.
async fn stop_bots(child: tokio::process::Child, signal: &str, why: &str) -> Output {
    let pid = child.id().expect("running");
    // `sh`'s own `kill`, so no `procps` is needed.
    let sent =
        std::process::Command::new("sh").arg("-c").arg(format!("kill -{signal} {pid}")).status().expect("sh runs");
    assert!(sent.success());
    tokio::time::timeout(WALL_CLOCK_GUARD, child.wait_with_output()).await.expect(why).expect("skirmish-bots ran")
}

fn texts(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Players and spectators in the default room, from `/api/rooms`.
fn members(rooms: &Value) -> u64 {
    ["/0/players", "/0/spectators"].iter().map(|p| rooms.pointer(p).and_then(Value::as_u64).unwrap_or(0)).sum()
}

/// Waits until `n` bots are in the default room and every one of them has its `Welcome`, as the
/// bots see it. The room lists a member up to a tick before its `Welcome` goes out, and a bot
/// stopped in between counts as never started. A client is sent full snapshots until it
/// acknowledges one, which a bot does only once welcomed: so once no full snapshot has gone
/// out for a few ticks while snapshots still go out, all of them are.
async fn all_welcomed(server: &skirmish_server::ServerHandle, n: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    let deadline = tokio::time::Instant::now() + WALL_CLOCK_GUARD;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the bots were never all welcomed");
        if members(&get_rooms(server.addr).await) == n {
            let (full, sent) = (server.stats.full_snapshots.load(Relaxed), server.stats.snapshots_sent.load(Relaxed));
            tokio::time::sleep(Duration::from_millis(200)).await;
            if server.stats.full_snapshots.load(Relaxed) == full && server.stats.snapshots_sent.load(Relaxed) > sent {
                return;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// `GET /api/rooms`: `[{"name": ..., "players": ...}, ...]`.
async fn get_rooms(addr: std::net::SocketAddr) -> Value {
    let body = http::get(addr, "/api/rooms").await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/api/rooms is JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mixed_swarm_joins_plays_and_reports_consistent_figures() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("swarm");
    let stats = json_path("swarm-stats");
    let args = [
        "--stats",
        stats.to_str().unwrap(),
        "--stats-every",
        "1",
        "-c",
        "20",
        "--duration",
        "3",
        "--mix",
        "wander=50,fight=25,chat=15,idle=10",
        "--seed",
        "7",
        "--json",
        path.to_str().unwrap(),
        "--url",
        &url,
        // Limits no run can miss: passing thresholds keep the exit status 0.
        "--max-p99-latency",
        "60000",
        "--min-delivery",
        "0.01",
    ];
    let before = http::metrics(server.addr).await;
    assert_eq!(before["skirmish_snapshots_sent_total"], 0.0);
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("20 connected"), "human summary on stdout:\n{stdout}");
    assert!(!stdout.contains("snapshots/s") && !stdout.contains('\r'), "no progress line into a pipe:\n{stdout}");

    let json = read_json(&path);
    assert_eq!(json["connected"], 20, "{json:#}");
    assert_eq!(json["failed"], 0, "{json:#}");
    assert_eq!(json["completed"], 20, "every bot stays to the end: {json:#}");
    assert_eq!(json["spectators"], 0, "{json:#}");
    assert_eq!(json["disconnects"], json!({}), "{json:#}");
    assert_eq!(json["behaviours"], json!({"wander": 10, "fight": 5, "chat": 3, "idle": 2}), "{json:#}");
    assert_eq!(json["rooms"], json!({"main": 20}), "{json:#}");

    let params = &json["params"];
    assert_eq!(params["count"], 20);
    assert_eq!(params["seed"], 7);
    assert_eq!(params["duration_s"], 3.0);
    assert_eq!(params["ramp_up_s"], 0.0);
    assert_eq!(params["url"], url.as_str());
    assert_eq!(params["room"], "main");
    assert_eq!(params["rooms"], Value::Null);
    assert_eq!(params["mix"], json!({"wander": 50, "fight": 25, "chat": 15, "idle": 10}));
    assert_eq!(params["thresholds"], json!({"max_p99_latency_ms": 60000.0, "min_delivery": 0.01, "max_failed": 0.0}));

    let received = f64_at(&json, "/snapshots_received");
    let expected = f64_at(&json, "/expected_snapshots");
    let ratio = f64_at(&json, "/delivery_ratio");
    assert!(received > 0.0, "{json:#}");
    assert!(f64_at(&json, "/min_snapshots_per_bot") > 0.0, "every bot received snapshots: {json:#}");
    assert!((ratio - received / expected).abs() < 1e-9, "{json:#}");
    assert!(ratio > 0.0 && ratio <= 1.05, "{json:#}");

    let lat = |p: &str| f64_at(&json, &format!("/latency_ms/{p}"));
    assert!(lat("count") > 0.0, "inputs were acknowledged: {json:#}");
    assert!(lat("p50") <= lat("p90") && lat("p90") <= lat("p99") && lat("p99") <= lat("max"), "{json:#}");
    let gap = |p: &str| f64_at(&json, &format!("/snapshot_gap_ms/{p}"));
    assert!(gap("p50") <= gap("p99") && gap("p99") <= gap("max"), "{json:#}");
    assert!(f64_at(&json, "/send_lag_ms/count") > 0.0, "{json:#}");
    // Each bot pings as it starts playing (then every 2 s): every bot's first one was answered.
    assert!(f64_at(&json, "/rtt_ms/count") >= 20.0, "{json:#}");
    let inputs_sent = f64_at(&json, "/inputs_sent");
    assert!(inputs_sent > 0.0 && f64_at(&json, "/inputs_missed") <= f64_at(&json, "/inputs_late"), "{json:#}");

    // Per bot-second in the run, from each bot's start: at least the time connected.
    let seconds = f64_at(&json, "/due_seconds");
    assert!(seconds >= f64_at(&json, "/connected_seconds"), "{json:#}");
    assert!(f64_at(&json, "/join_ms/count") == 20.0, "{json:#}");
    let down = f64_at(&json, "/bytes_down_per_sec");
    let up = f64_at(&json, "/bytes_up_per_sec");
    assert!(down > 0.0 && up > 0.0, "{json:#}");
    assert!((down - f64_at(&json, "/bytes_down") / seconds).abs() < 1e-6, "{json:#}");
    assert!((up - f64_at(&json, "/bytes_up") / seconds).abs() < 1e-6, "{json:#}");
    assert!(f64_at(&json, "/events/matches") >= 20.0, "every bot got the match info after Welcome: {json:#}");
    assert_eq!(json["client_errors"], json!({}), "every snapshot decoded against its baseline: {json:#}");

    for name in ["max_p99_latency_ms", "min_delivery"] {
        assert_eq!(json["thresholds"][name]["passed"], true, "{json:#}");
    }

    // The --stats lines: one a second, the last ending with the run (not when its bots had
    // closed) and counting the bots that stayed to its end, which it once gave as 0.
    let text = std::fs::read_to_string(&stats).expect("the stats file was written");
    let _ = std::fs::remove_file(&stats);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let t: Vec<f64> = lines.iter().map(|l| f64_at(l, "/t_s")).collect();
    // One a second by the bots' clock; a machine too loaded to run them for over a second
    // makes one line of two seconds.
    assert!((2..=3).contains(&t.len()) && t.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!((t[t.len() - 1] - 3.0).abs() < 1e-9, "{text}");
    for line in &lines {
        assert_eq!(line["connected"], 20, "{text}");
        assert!(f64_at(line, "/delivery_ratio") > 0.0, "{text}");
    }
    let line_snapshots: f64 = lines.iter().map(|l| f64_at(l, "/snapshots")).sum();
    assert_eq!(line_snapshots, received, "every snapshot is on a line: {text}");
    assert_eq!(f64_at(&json, "/thresholds/min_delivery/value"), ratio);
    assert_eq!(f64_at(&json, "/thresholds/max_p99_latency_ms/value"), lat("p99"));

    // The server's metrics moved with the play: it sent at least what the bots received, and
    // every bot's leave was a clean close (counted once its session ends).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let after = loop {
        let m = http::metrics(server.addr).await;
        if m["skirmish_connections"] == 0.0 || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(after["skirmish_snapshots_sent_total"] >= received, "{after:?}");
    // Inputs carry the acknowledgements: after each bot's first snapshot, deltas.
    let fulls = after["skirmish_full_snapshots_total"];
    assert!(fulls >= 20.0 && fulls < received / 4.0, "{fulls} full snapshots of {received}: {after:?}");
    assert!(after["skirmish_snapshot_bytes_total"] > after["skirmish_snapshots_sent_total"], "{after:?}");
    assert!(after["skirmish_ticks_total"] > before["skirmish_ticks_total"], "{after:?}");
    assert!(after["skirmish_tick_duration_seconds_count"] > 0.0, "{after:?}");
    assert_eq!(after["skirmish_disconnects_total{reason=\"normal\"}"], 20.0, "{after:?}");

    // The bots behave like players: the server found nothing to object to.
    assert_eq!(server.stats.protocol_disconnects(), 0);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_ends_the_run_early_with_every_bot_closing_and_a_summary() {
    // Room for 5 players: the other 3 bots watch, and a spectator sends no inputs, so between
    // its pings only the stop token wakes it.
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = 5;
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    let url = server.ws_url();
    let path = json_path("ctrl-c");
    // A run far longer than the wall-clock guard: only the stop can end it in time. The bots
    // are dealt to every shard.
    let args = [
        "-c",
        "8",
        "--duration",
        "600",
        "--mix",
        "wander=50,fight=50",
        "--json",
        path.to_str().unwrap(),
        "--url",
        &url,
    ];
    let child = spawn_bots(&args);
    // Stop once everyone is playing.
    all_welcomed(&server, 8).await;
    let out = stop_bots(child, "INT", "the run ends soon after Ctrl-C, not after its 600 s").await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(130), "a run cut short neither passes nor fails:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("stopping on SIGINT (Ctrl-C): bots are closing"), "{stderr}");
    assert!(stderr.contains("stopped early by SIGINT (Ctrl-C)"), "{stderr}");
    assert!(stdout.contains("(stopped early)"), "{stdout}");
    let json = read_json(&path);
    assert_eq!(json["stopped_early"], true, "{json:#}");
    assert_eq!(json["completed"], 8, "every bot closed as at the end of a run: {json:#}");
    assert_eq!(json["spectators"], 3, "{json:#}");
    assert!(f64_at(&json, "/elapsed_s") < 600.0, "{json:#}");
    // The server saw them all close normally.
    let deadline = tokio::time::Instant::now() + WALL_CLOCK_GUARD;
    while members(&get_rooms(server.addr).await) != 0 {
        assert!(tokio::time::Instant::now() < deadline, "the bots' connections did not end");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_the_ramp_up_stops_the_run_with_its_json_on_stdout() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    // One bot starts at once, the next after 100 s: SIGTERM finds five not started yet.
    let args = ["-c", "6", "--ramp-up", "600", "--duration", "600", "--json", "-", "--url", &url];
    let child = spawn_bots(&args);
    all_welcomed(&server, 1).await;
    let out = stop_bots(child, "TERM", "the run ends soon after SIGTERM").await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(143), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // With `--json -` stdout holds the JSON alone; the start line and summary go to stderr.
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{stdout}"));
    assert_eq!(json["stopped_early"], true, "{json:#}");
    assert_eq!((&json["connected"], &json["failed"], &json["not_started"]), (&json!(1), &json!(0), &json!(5)));
    assert_eq!(json["thresholds"]["max_failed"]["passed"], true, "bots never started did not fail: {json:#}");
    assert!(stderr.contains("skirmish-bots: 6 bots"), "{stderr}");
    assert!(stderr.contains("5 not started (stopped early)"), "{stderr}");
    assert!(stderr.contains("stopped early by SIGTERM"), "{stderr}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bots_refused_by_the_server_fail_the_run_unless_allowed() {
    // Two connections per address: of five bots from one address, three are refused (429).
    let config = skirmish_server::Config { max_connections_per_ip: 2, ..skirmish_server::Config::for_tests() };
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    let url = server.ws_url();
    let path = json_path("refused-some");
    // Performance limits no run misses, however loaded the machine: this test is about refusals.
    let lax = ["--min-delivery", "0.01", "--max-p99-latency", "60000"];
    let args =
        ["-c", "5", "--duration", "2", lax[0], lax[1], lax[2], lax[3], "--json", path.to_str().unwrap(), "--url", &url];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("threshold failed: --max-failed 0: share of bots failed to join or dropped measured 0.600")
    );
    let json = read_json(&path);
    assert_eq!((&json["connected"], &json["failed"]), (&json!(2), &json!(3)), "{json:#}");
    // Counted with the server's reason, not only its status line.
    assert_eq!(
        json["failures"],
        json!({"http 429 Too Many Requests: too many connections from your address": 3}),
        "{json:#}"
    );
    assert_eq!(json["thresholds"]["min_delivery"]["passed"], true, "the two that got in were served: {json:#}");

    // Allowed: the same run passes.
    let args = ["-c", "5", "--duration", "1", "--max-failed", "0.6", lax[0], lax[1], lax[2], lax[3], "--url", &url];
    let out = run_bots(&args).await;
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_or_stats_path_that_cannot_be_written_stops_the_run_before_it_starts() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let out = run_bots(&["-c", "2", "--duration", "30", "--json", "/nonexistent-dir/run.json", "--url", &url]).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("cannot write --json /nonexistent-dir/run.json"), "{stderr}");
    assert!(!stdout.contains("snapshots"), "no run, no summary:\n{stdout}");
    // The same for --stats, which only warned at its first line and let the run pass.
    let out = run_bots(&["-c", "2", "--duration", "30", "--stats", "/nonexistent-dir/s.jsonl", "--url", &url]).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("cannot write --stats /nonexistent-dir/s.jsonl"), "{stderr}");
    assert!(!stdout.contains("snapshots"), "no run, no summary:\n{stdout}");
    let sent = server.stats.snapshots_sent.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(sent, 0, "no bot played");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn misbehaving_bots_are_cut_by_the_server_and_reported_apart() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("misbehave");
    let args = [
        "-c",
        "12",
        "--duration",
        "3",
        "--misbehave",
        "flood=25,garbage=25,oversized=25",
        "--seed",
        "3",
        "--json",
        path.to_str().unwrap(),
        "--url",
        &url,
        // Judged on the three well-behaved bots only: limits they cannot miss.
        "--max-p99-latency",
        "60000",
        "--min-delivery",
        "0.01",
    ];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("misbehaving  on purpose"), "listed apart in the human summary:\n{stdout}");

    let json = read_json(&path);
    assert_eq!(json["params"]["misbehave"], json!({"flood": 25, "garbage": 25, "oversized": 25}), "{json:#}");
    let misbehaving = json["misbehaving"].as_object().unwrap_or_else(|| panic!("misbehaving is a map: {json:#}"));
    assert_eq!(misbehaving.len(), 3, "{json:#}");
    for (kind, code) in [("flood", "1008 "), ("garbage", "1007 "), ("oversized", "1009 ")] {
        let k = &json["misbehaving"][kind];
        assert_eq!(k["bots"], 3, "{kind}: {json:#}");
        let closed = k["closed"].as_object().unwrap_or_else(|| panic!("{kind}: closed is a map: {json:#}"));
        let total: u64 = closed.values().filter_map(Value::as_u64).sum();
        assert_eq!(total, 3, "{kind}: every bot was closed by the server: {json:#}");
        assert!(closed.keys().all(|why| why.starts_with(code)), "{kind} closed with {code}: {json:#}");
        assert!(f64_at(&json, &format!("/misbehaving/{kind}/took_ms/max")) >= 0.0, "{json:#}");
    }
    assert!(json["misbehaving"]["flood"]["closed"].as_object().unwrap().keys().all(|k| k.contains("flooding")));

    // Every other figure is the three well-behaved bots' own.
    assert_eq!(
        (&json["connected"], &json["failed"], &json["completed"]),
        (&json!(3), &json!(0), &json!(3)),
        "{json:#}"
    );
    assert_eq!(json["disconnects"], json!({}), "the kicked bots are not disconnects: {json:#}");
    assert_eq!(json["behaviours"], json!({"wander": 3}), "{json:#}");
    let ratio = f64_at(&json, "/delivery_ratio");
    assert!(ratio > 0.0, "{json:#}");
    assert_eq!(f64_at(&json, "/thresholds/min_delivery/value"), ratio);
    assert_eq!(json["thresholds"]["min_delivery"]["passed"], true, "{json:#}");
    assert!(f64_at(&json, "/expected_snapshots") <= 3.0 * 30.0 * 4.0, "three bots' worth due: {json:#}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stats_line_has_the_latencies_of_its_own_interval() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let stats = json_path("latency-stats");
    // One bot: about 90 samples a second, so a buffer merged only at 128 samples left whole
    // lines without a latency.
    let args = ["-c", "1", "--duration", "3", "--stats", stats.to_str().unwrap(), "--stats-every", "1", "--url", &url];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let text = std::fs::read_to_string(&stats).expect("the stats file was written");
    let _ = std::fs::remove_file(&stats);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    for line in &lines {
        assert!(f64_at(line, "/snapshots") > 0.0, "{text}");
        assert!(line["latency_p99_ms"].is_number(), "a line with snapshots has their latencies: {text}");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_that_never_reads_finds_the_servers_close_in_its_socket() {
    // Cut after 150 snapshots not acknowledged (5 s), then 2 s for the bot's Close.
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let args = ["-c", "2", "--duration", "12", "--misbehave", "never-read=100", "--json", "-", "--url", &url];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is JSON ({e}): {stderr}"));
    let never_read = &json["misbehaving"]["never-read"];
    assert_eq!(never_read["lost"], json!({}), "the server said why, in a Close the bot never read: {json:#}");
    let closed = never_read["closed"].as_object().unwrap_or_else(|| panic!("closed is a map: {json:#}"));
    assert_eq!(closed.values().filter_map(Value::as_u64).sum::<u64>(), 2, "{json:#}");
    assert!(closed.keys().all(|why| why.starts_with("1008 not reading")), "{json:#}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_of_misbehaving_bots_only_fails_when_none_got_in() {
    // Nothing listens: no bot got in, misbehaving or not, so the run measured nothing.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("ws://127.0.0.1:{port}/ws");
    for misbehave in ["flood=100", "garbage=50,oversized=50", "reconnect=100"] {
        let out = run_bots(&["-c", "4", "--duration", "1", "--misbehave", misbehave, "--url", &dead]).await;
        let (stdout, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{misbehave}: stdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stderr.contains("no bot connected") && stderr.contains("every bot misbehaving"), "{stderr}");
        // Refused at once; on a machine too loaded to try within the one-second run, that.
        let named = ["connection refused × 4", "run over while waiting to connect × 4"];
        assert!(named.iter().any(|cause| stderr.contains(cause)), "the cause is named:\n{stderr}");
    }

    // With a server, the flooding bots got in and were cut: what the run was for, so it passes,
    // and its summary says what ran rather than the unused default mix.
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let out = run_bots(&["-c", "2", "--duration", "1", "--misbehave", "flood=100", "--url", &url]).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stdout.contains("mix wander=100"), "no bot wandered:\n{stdout}");
    assert_eq!(stdout.matches("every bot misbehaving flood=100").count(), 2, "banner and summary:\n{stdout}");
    assert!(stdout.contains("none playing: all 2 misbehave on purpose"), "{stdout}");
    assert!(stdout.contains("flood          2 bots: "), "their tally is listed:\n{stdout}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn source_ips_spread_more_bots_than_one_address_may_open_over_loopback() {
    use clap::Parser as _;
    // The server's default caps, which `Config::for_tests` turns off.
    let defaults = skirmish_server::Config::parse_from(["skirmish"]);
    let config = skirmish_server::Config {
        max_connections_per_ip: defaults.max_connections_per_ip,
        max_connections: defaults.max_connections,
        connections_per_ip_per_sec: defaults.connections_per_ip_per_sec,
        ..skirmish_server::Config::for_tests()
    };
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    let count = defaults.max_connections_per_ip + 8;
    assert!(count > defaults.max_connections_per_ip && defaults.max_connections_per_ip > 0);
    let path = json_path("source-ips");
    let (count_text, url) = (count.to_string(), server.ws_url());
    let args = [
        "-c",
        &count_text,
        "--duration",
        "2",
        "--source-ips",
        "127.0.0.2-127.0.0.40",
        "--json",
        path.to_str().unwrap(),
        "--url",
        &url,
    ];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let json = read_json(&path);
    assert_eq!((&json["connected"], &json["failed"]), (&json!(count), &json!(0)), "{json:#}");
    assert_eq!(json["params"]["source_ips"].as_array().map(Vec::len), Some(39), "{json:#}");
    let refused: u64 = skirmish_server::admission::Refusal::ALL.iter().map(|r| server.stats.refused_by(*r)).sum();
    assert_eq!(refused, 0, "no upgrade was refused");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn rooms_spread_the_bots_as_the_server_sees_them() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("rooms");
    let args = ["-c", "9", "--rooms", "3", "--duration", "4", "--json", path.to_str().unwrap(), "--url", &url];
    let args: Vec<String> = args.map(str::to_owned).into();
    let run = tokio::spawn(async move { run_bots(&args.iter().map(String::as_str).collect::<Vec<_>>()).await });

    // While the bots play, the server lists three rooms of three players.
    let want = [("bots-0".to_owned(), 3), ("bots-1".to_owned(), 3), ("bots-2".to_owned(), 3)];
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let rooms = get_rooms(server.addr).await;
        let list = rooms.as_array().unwrap_or_else(|| panic!("/api/rooms is a list: {rooms}"));
        seen = list
            .iter()
            .map(|r| (r["name"].as_str().unwrap_or_default().to_owned(), r["players"].as_u64().unwrap_or_default()))
            .collect();
        seen.sort();
        if seen == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, want, "/api/rooms (name, players) during the run");

    let out = run.await.unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("3 rooms bots-0..bots-2"), "{stdout}");
    let json = read_json(&path);
    assert_eq!(json["rooms"], json!({"bots-0": 3, "bots-1": 3, "bots-2": 3}), "{json:#}");
    assert_eq!((&json["params"]["rooms"], &json["params"]["room"]), (&json!(3), &Value::Null));
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_threshold_exits_2_and_names_it() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("thresholds");
    let args =
        ["-c", "3", "--duration", "2", "--max-p99-latency", "0.001", "--json", path.to_str().unwrap(), "--url", &url];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("threshold failed: --max-p99-latency 0.001 ms"), "{stderr}");
    assert!(stdout.contains("FAILED"), "the summary shows the verdict too:\n{stdout}");

    let json = read_json(&path);
    assert_eq!(json["connected"], 3, "the run itself went fine: {json:#}");
    let lat = &json["thresholds"]["max_p99_latency_ms"];
    assert_eq!((&lat["limit"], &lat["passed"]), (&json!(0.001), &json!(false)), "{json:#}");
    // A failed --min-delivery (a fraction up to 1, which a clean run may reach) is named by
    // slow_admission.rs.
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_progress_line_shows_on_a_terminal() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    // `script` (util-linux, in every Debian) gives the bots a pseudo-terminal as stdout.
    let command = format!("{BIN} -c 2 --duration 2 --url {}", server.ws_url());
    let child = tokio::process::Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, child).await.expect("finishes").expect("script runs");
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("bots 2/2") && stdout.contains("snapshots/s"), "progress shown:\n{stdout}");
    assert!(stdout.contains("\r\x1b[K"), "redrawn in place and erased before the summary:\n{stdout:?}");
    assert!(stdout.contains("2 connected"), "then the summary:\n{stdout}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_fails_the_run_with_exit_1() {
    // A port that was just free: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let path = json_path("refused");
    let out = run_bots(&["-c", "3", "--duration", "1", "--json", path.to_str().unwrap(), "--url", &url]).await;
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "a run where no bot connects fails:\n{stderr}");
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
async fn an_empty_room_is_quick_play_and_the_server_picks_the_room() {
    let server = skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts");
    let url = server.ws_url();
    let path = json_path("quick-play");
    let args = ["-c", "3", "--room", "", "--duration", "1", "--json", path.to_str().unwrap(), "--url", &url];
    let out = run_bots(&args).await;
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("quick play"), "{stdout}");
    let json = read_json(&path);
    assert_eq!((&json["connected"], &json["params"]["room"]), (&json!(3), &json!("")), "{json:#}");
    // Each bot's Welcome named the room the server picked: none is nameless.
    let rooms = json["rooms"].as_object().unwrap_or_else(|| panic!("rooms: {json:#}"));
    assert!(!rooms.is_empty() && rooms.keys().all(|name| !name.is_empty()), "{json:#}");
    assert_eq!(rooms.values().filter_map(Value::as_u64).sum::<u64>(), 3, "{json:#}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_options_are_refused_before_any_bot_starts() {
    let out = run_bots(&["-c", "3", "--duration", "1", "--url", "http://127.0.0.1:1/ws"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("--url"), "{}", texts(&out).1);

    let out = run_bots(&["--room", "arena", "--rooms", "3"]).await;
    assert_eq!(out.status.code(), Some(1), "usage errors are 1: 2 means a threshold failed");
    let stderr = texts(&out).1;
    assert!(stderr.contains("--room") && stderr.contains("--rooms"), "{stderr}");

    let out = run_bots(&["--mix", "wander=70,fight=20"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("add up to 90"), "{}", texts(&out).1);

    // Durations the run's end could not be computed for panicked ("overflow when adding
    // duration to instant"): refused as options now, at most a year.
    for (option, value) in [("--duration", "10000000000000000000"), ("--ramp-up", "300000000000years")] {
        let out = run_bots(&["-c", "1", option, value, "--url", "ws://127.0.0.1:1/ws"]).await;
        let stderr = texts(&out).1;
        assert_eq!(out.status.code(), Some(1), "{option} {value}: {stderr}");
        assert!(stderr.contains(option) && stderr.contains("at most a year"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // A port out of range read as none, and the bots went to port 80.
    let out = run_bots(&["-c", "1", "--duration", "1", "--url", "ws://127.0.0.1:99999/ws"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("port 99999 is not 1 to 65535"), "{}", texts(&out).1);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_carry_no_colour_codes_into_a_pipe() {
    // Each bot that cannot join logs it at debug level; stderr is a pipe here.
    let out = tokio::process::Command::new(BIN)
        .args(["-c", "2", "--duration", "1", "--url", "ws://127.0.0.1:1/ws"])
        .env("RUST_LOG", "skirmish_bots=debug")
        .output();
    let out = tokio::time::timeout(WALL_CLOCK_GUARD, out).await.expect("finishes").expect("starts");
    let stderr = texts(&out).1;
    assert!(stderr.contains("failed to join"), "the log lines are there:\n{stderr}");
    assert!(!stderr.contains('\x1b'), "no escape codes:\n{stderr:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_open_file_limit_is_reported_with_the_fix() {
    // `ulimit -n` in the shell lowers the soft and hard limits, so the bots cannot raise theirs.
    let out = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -n 256 && exec \"$0\" \"$@\"", BIN, "-c", "1000", "--url", "ws://127.0.0.1:1/ws"])
        .output()
        .await
        .expect("sh runs");
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("open-file limit is 256, need about 1064 for -c 1000"), "{stderr}");
    assert!(stderr.contains("ulimit -n"), "{stderr}");
    assert!(stdout.is_empty(), "no bot started:\n{stdout}");
}
