//! Running the real `skirmish-bots` binary in tests, and reading its JSON summary: shared by the
//! test files that drive it.
#![allow(dead_code, reason = "each test file uses part of these")]

use std::path::PathBuf;

use serde_json::Value;

/// The bots binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_skirmish-bots");

/// A JSON path unique to this test process and test.
pub fn json_path(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("skirmish-bots-{}-{test}.json", std::process::id()))
}

/// Starts the bots binary with `args`, its stdout and stderr piped, killed if the test drops it.
pub fn spawn_bots(args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("skirmish-bots starts")
}

/// The JSON summary at `path`, which is then removed.
pub fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).expect("the JSON summary was written");
    // Best effort: a leftover file in the target dir is harmless.
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).expect("the summary is JSON")
}

/// The number at `pointer` in `json`.
pub fn f64_at(json: &Value, pointer: &str) -> f64 {
    json.pointer(pointer).and_then(Value::as_f64).unwrap_or_else(|| panic!("{pointer} is a number in {json:#}"))
}
