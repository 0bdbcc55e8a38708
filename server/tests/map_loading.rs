//! Maps from `--maps DIR`: a bad file or an unknown `--map` stops the real binary before it
//! listens, with a message naming the file or map; `spawn_in_thread` refuses the same way.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{WAIT, maps_dir};

/// Runs the server binary with `args`; it must exit by itself (a server that starts would not).
fn run_binary(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skirmish"))
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server binary starts");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().expect("wait works").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server kept running despite {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_bad_map_file_stops_the_binary_naming_the_file_and_problem() {
    let dir = maps_dir("bad-binary", &[("broken.json", r#"{"name": "broken", "size": [800, 400], "spawns": []}"#)]);
    let out = run_binary(&["--maps", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    assert!(stderr.contains("broken.json") && stderr.contains("no spawn points"), "stderr:\n{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Skirmish is running"), "no banner for a failed start");
}

#[test]
fn an_unknown_first_map_stops_the_binary() {
    let out = run_binary(&["--map", "atlantis"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("atlantis") && stderr.contains("arena"), "names the map and the choices:\n{stderr}");
}

#[test]
fn spawn_in_thread_refuses_a_bad_map() {
    let dir = maps_dir(
        "bad-thread",
        &[(
            "inside.json",
            r#"{"name": "inside", "size": [800, 400],
        "obstacles": [[100, 100, 200, 200]], "spawns": [[150, 150]]}"#,
        )],
    );
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(dir);
    let err = skirmish_server::spawn_in_thread(config).expect_err("a spawn inside an obstacle is refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("inside.json") && err.to_string().contains("obstacle 0"), "{err}");
}
