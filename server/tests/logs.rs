//! The binary's logs go to stderr, as plain text when that is not a terminal, and stdout holds
//! only the banner (the URLs to share): `skirmish > urls.txt 2> server.log` splits them, and a
//! log file or journal gets no colour codes.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};

#[test]
fn logs_go_to_stderr_without_colour_codes_and_stdout_holds_the_banner() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skirmish"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-qr"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    // The banner first (the server is up once it names its local URL), then a clean stop,
    // which logs too.
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut out = String::new();
    while !out.contains("Local:") {
        let read = stdout.read_line(&mut out).expect("utf-8 stdout");
        assert!(read > 0, "stdout ended before the banner:\n{out}");
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    stdout.read_to_string(&mut out).expect("utf-8 stdout");
    let mut err = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut err).expect("utf-8 stderr");
    assert!(child.wait().expect("the server exits").success());
    assert!(out.contains("Skirmish is running") && out.contains("Local:"), "the banner on stdout:\n{out}");
    assert!(!out.contains("INFO"), "no log lines on stdout:\n{out}");
    assert!(err.contains("INFO"), "log lines on stderr:\n{err}");
    assert!(!err.contains('\u{1b}'), "no colour codes in a piped log:\n{err:?}");
}
