//! Graceful shutdown of the real binary: on SIGTERM (and Ctrl-C's SIGINT, and SIGHUP) every
//! connected client gets Close 1012 with a reason and the process exits promptly and cleanly; a
//! second Ctrl-C during the drain exits at once.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{TestClient, WAIT, expect_close, start_binary};

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").args([sig, &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit within {WAIT:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn clients_get_1012_and_process_exits(sig: &str) {
    // SIGHUP at its default, whatever the tests inherited: a test run under `nohup` ignores it,
    // and the server then rightly keeps ignoring it (see `under_nohup_sighup_is_still_ignored`).
    let (mut child, port) = common::start_binary_under(&["env", "--default-signal=HUP"], &[]);
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut a = TestClient::join(&url, "Alpha", None).await;
    let mut b = TestClient::join(&url, "Beta", Some("other")).await;
    a.wait_for(|c| c.core.latest().is_some()).await;
    let signalled = Instant::now();
    signal(&child, sig);
    for c in [&mut a, &mut b] {
        let (code, reason) = expect_close(&mut c.ws).await;
        assert_eq!(code, 1012, "{reason}");
        assert!(reason.contains("restart"), "{reason}");
    }
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child)).await.unwrap();
    assert!(status.success(), "clean exit, got {status}");
    eprintln!("{sig}: exited {:?} after the signal", signalled.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_clients_with_1012_and_exits() {
    clients_get_1012_and_process_exits("-TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_closes_clients_with_1012_and_exits() {
    clients_get_1012_and_process_exits("-INT").await;
}

/// From an outside test of a deployment: SIGHUP (a closed ssh session, or an admin asking for a
/// reload) ended the process at once, with nothing in the log and no Close for the players.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_drains_as_sigterm_does() {
    clients_get_1012_and_process_exits("-HUP").await;
}

/// From an outside test of a deployment: a server started with `nohup` (SIGHUP ignored, so it
/// outlives the terminal) stopped when the ssh session closed once it handled SIGHUP itself.
/// Started so, it keeps ignoring it: its players play on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_nohup_sighup_is_still_ignored() {
    let (child, port) = common::start_binary_under(&["nohup"], &[]);
    plays_on_after(child, port, &["-HUP"]).await;
}

/// From a chaos test of a host: SIGUSR1 and SIGUSR2, which log-rotation setups send to ask for
/// log files to be reopened, ended the process at once (their default), with no Close for the
/// players. They are ignored: the players play on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_and_sigusr2_are_ignored() {
    let (child, port) = start_binary();
    plays_on_after(child, port, &["-USR1", "-USR2"]).await;
}

/// Sends `signals` to the server `child` (on `port`) with a player in it: well past a drain's
/// end (it takes milliseconds with one client) the server still runs and the player is still
/// served; then SIGTERM drains it as usual.
async fn plays_on_after(mut child: std::process::Child, port: u16, signals: &[&str]) {
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut a = TestClient::join(&url, "Alpha", None).await;
    a.wait_for(|c| c.core.latest().is_some()).await;
    for sig in signals {
        signal(&child, sig);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(child.try_wait().expect("wait works").is_none(), "the server stopped on {signals:?}");
    let before = a.next_snapshot().await;
    assert!(a.next_snapshot().await > before, "the player is still served");
    signal(&child, "-TERM");
    let (code, _) = expect_close(&mut a.ws).await;
    assert_eq!(code, 1012);
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child)).await.unwrap();
    assert!(status.success(), "clean exit, got {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_exits_at_once_without_finishing_the_drain() {
    let (mut child, port) = start_binary();
    // A client that never answers the server's Close holds the drain open for seconds.
    let _silent = common::raw(&format!("ws://127.0.0.1:{port}/ws")).await;
    // Its session counts once its actor has started, a moment after the upgrade: a signal before
    // that would find nothing to drain.
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + WAIT;
    while common::metrics(addr).await["skirmish_connections"] < 1.0 {
        assert!(Instant::now() < deadline, "the connection was never counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(&child, "-INT");
    // The first signal must have been taken before the second comes, or the two may merge.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(child.try_wait().expect("wait works").is_none(), "still draining after the first Ctrl-C");
    signal(&child, "-INT");
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut child)).await.unwrap();
    assert_eq!(status.code(), Some(130), "the second Ctrl-C's exit, not the drain's: {status}");
}

/// A server that stops running for longer than the client timeout (a host's laptop asleep, a
/// paused VM; here `SIGSTOP`) keeps its players when it runs again: what they sent meanwhile
/// waits in the socket, and the time the server did not run is neither their silence nor, when
/// it all arrives at once, a flood (what is over the limit is dropped, not closed for). Before, each was closed with 1008 "heartbeat timeout" the
/// moment the server woke (or as flooding, had it read their inputs first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_paused_longer_than_the_client_timeout_keeps_its_players() {
    /// The child, killed however the test ends: a stopped server left behind would hold the
    /// test's output open.
    struct Server(Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (child, port) = common::start_binary_with(&["--client-timeout", "2s", "--heartbeat-interval", "1s", "--no-qr"]);
    let mut server = Server(child);
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut a = TestClient::join(&url, "Sleeper", None).await;
    let before = a.next_snapshot().await;
    // Inputs every `every`, reading between them.
    let play = async |a: &mut TestClient, how_long: Duration, every: Duration| {
        let until = Instant::now() + how_long;
        while Instant::now() < until {
            a.send_input(glam::Vec2::X).await;
            let _ = tokio::time::timeout(every, a.next_snapshot()).await;
        }
    };
    signal(&server.0, "-STOP");
    // Near the limit's 60 a second: about 240 waiting when the server wakes, 120 over the burst
    // and the flood allowance together.
    play(&mut a, Duration::from_secs(4), Duration::from_millis(17)).await;
    signal(&server.0, "-CONT");
    play(&mut a, Duration::from_secs(3), Duration::from_millis(33)).await;
    // Still connected and served: a newer snapshot (a close would have panicked the reads).
    let after = a.next_snapshot().await;
    assert!(after > before + 30, "snapshots went on after the pause: {before} then {after}");
    signal(&server.0, "-TERM");
    let (code, reason) = expect_close(&mut a.ws).await;
    assert_eq!(code, 1012, "the close is the shutdown's, not a timeout or a flood: {reason}");
    tokio::task::spawn_blocking(move || wait_exit(&mut server.0)).await.unwrap();
}
