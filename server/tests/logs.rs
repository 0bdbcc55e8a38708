//! The binary's logs go to stderr, as plain text when that is not a terminal, and stdout holds
//! only the banner (the URLs to share): `skirmish > urls.txt 2> server.log` splits them, and a
//! log file or journal gets no colour codes.

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, Stdio};

use futures_util::SinkExt as _;
use tokio::io::AsyncReadExt as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

#[test]
fn logs_go_to_stderr_without_colour_codes_and_stdout_holds_the_banner() {
    // The banner first (the server is up once it names its local URL), then a clean stop,
    // which logs too.
    let (mut child, mut stdout, mut out, _) = start_logging();
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

/// Starts the binary logging at `info`, both outputs piped; returns it, its stdout, what that
/// said up to the banner's local URL, and its port.
fn start_logging() -> (Child, BufReader<std::process::ChildStdout>, String, u16) {
    start_logging_with(&[])
}

/// [`start_logging`] with more command-line arguments.
fn start_logging_with(args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>, String, u16) {
    start_logging_to(args, Stdio::piped())
}

/// [`start_logging_with`], its stderr going to `stderr`.
fn start_logging_to(args: &[&str], stderr: Stdio) -> (Child, BufReader<std::process::ChildStdout>, String, u16) {
    start_logging_under(&[], args, stderr)
}

/// [`start_logging_to`], run by `wrapper` (a command and its arguments, such as `prlimit`).
fn start_logging_under(
    wrapper: &[&str],
    args: &[&str],
    stderr: Stdio,
) -> (Child, BufReader<std::process::ChildStdout>, String, u16) {
    let binary = env!("CARGO_BIN_EXE_skirmish");
    let mut command = match wrapper {
        [program, rest @ ..] => {
            let mut command = Command::new(program);
            command.args(rest).arg(binary);
            command
        }
        [] => Command::new(binary),
    };
    let mut child = command
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-qr"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the server binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut out = String::new();
    let port = loop {
        let start = out.len();
        let read = stdout.read_line(&mut out).expect("utf-8 stdout");
        assert!(read > 0, "stdout ended before the banner:\n{out}");
        if let Some(url) = out[start..].trim().strip_prefix("Local:") {
            break url.trim().trim_end_matches('/').rsplit(':').next().expect("a port").parse().expect("a number");
        }
    };
    (child, stdout, out, port)
}

/// The server binary, killed however the test ends: a failed assertion must not leave it running.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Found by a chaos test of a host: with its stderr in a pipe nobody read (a terminal paused
/// with Ctrl-S, `| less` left open, a stalled log shipper), the server stopped altogether once
/// the pipe's buffer was full: the first thread to log blocked, a room thread among them, and
/// no one could join or play. Log lines now queue on a thread of their own and are dropped
/// (and counted) when the queue is full; the game goes on.
#[tokio::test]
async fn a_stderr_nobody_reads_does_not_stop_the_game() {
    // Unread from here to the stop: start_logging pipes stderr and reads only stdout.
    let (child, _stdout, _, port) = start_logging_with(&["--connections-per-ip-per-sec", "0"]);
    let mut server = Server(child);
    let url = format!("ws://127.0.0.1:{port}/ws");
    // Over twice what a pipe holds (64 KiB on Linux) of join and leave lines.
    for i in 0..600 {
        let joined = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            common::TestClient::join(&url, &format!("churn{i}"), Some("churn")),
        )
        .await;
        let mut churn =
            joined.unwrap_or_else(|_| panic!("join {i} unanswered: the server stopped with its log unread"));
        let bye = CloseFrame { code: 1000u16.into(), reason: "bye".into() };
        churn.ws.send(Message::Close(Some(bye))).await.expect("Close sent");
        common::expect_close(&mut churn.ws).await;
    }
    // A room still ticks for a newcomer, and the server still answers.
    let mut ada = common::TestClient::join(&url, "Ada", Some("steady")).await;
    let first = ada.next_snapshot().await;
    let mut last = first;
    while last < first + 30 {
        last = ada.next_snapshot().await;
    }
    let metrics = common::metrics(format!("127.0.0.1:{port}").parse().expect("an address")).await;
    assert!(metrics.contains_key("skirmish_log_lines_lost_total"), "lost log lines are counted in /metrics");
    let child = &mut server.0;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let mut err = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut err).expect("utf-8 stderr");
    assert!(child.wait().expect("the server exits").success());
    assert!(err.len() > 2 * 65_536, "the log outgrew a pipe's buffer twice over: {} bytes", err.len());
    assert!(err.contains(r#"name="churn599""#), "the queued lines are written once stderr is read again");
}

/// Found by a chaos test of a host: a log write that failed (a full disk, a log reader gone)
/// panicked the thread that logged, so the first room to log a join died with its players in
/// it, never welcomed, while the rest of the server answered as healthy. Now the line is lost
/// and counted, and the game goes on.
#[tokio::test]
async fn a_stderr_that_fails_every_write_costs_log_lines_not_rooms() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full opens");
    let (child, _stdout, _, port) = start_logging_to(&[], full.into());
    let mut server = Server(child);
    let url = format!("ws://127.0.0.1:{port}/ws");
    // Each join is logged, in two rooms: both are welcomed and tick.
    let mut ada = common::TestClient::join(&url, "Ada", Some("one")).await;
    let mut bob = common::TestClient::join(&url, "Bob", Some("two")).await;
    let first = ada.next_snapshot().await;
    while ada.next_snapshot().await < first + 10 {}
    bob.next_snapshot().await;
    let metrics = common::metrics(format!("127.0.0.1:{port}").parse().expect("an address")).await;
    assert!(metrics["skirmish_log_lines_lost_total"] >= 2.0, "the joins' lines are counted lost: {metrics:?}");
    let child = &mut server.0;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    assert!(child.wait().expect("the server exits").success(), "a clean stop");
}

/// Found by a chaos test of a host: once a full log disk had room again, the line telling of the
/// lines lost said "lost=1": it counted from its own last report, queued but lost with the rest.
/// Now the count runs from the last report stderr took. The full disk here is a file-size
/// limit (its signal ignored, so writes past it fail with EFBIG), emptied as logrotate's
/// copytruncate would.
#[tokio::test]
async fn once_stderr_takes_lines_again_the_log_says_how_many_were_lost() {
    let path = std::env::temp_dir().join(format!("skirmish-lost-lines-{}.log", std::process::id()));
    let log = std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(&path).expect("a log file");
    let append = std::fs::OpenOptions::new().append(true).open(&path).expect("the log file, appending");
    let wrapper = ["prlimit", "--fsize=16384", "env", "--ignore-signal=XFSZ"];
    let (child, _stdout, _, port) =
        start_logging_under(&wrapper, &["--connections-per-ip-per-sec", "0"], append.into());
    let _server = Server(child);
    let url = format!("ws://127.0.0.1:{port}/ws");
    let addr = format!("127.0.0.1:{port}").parse().expect("an address");
    // Joins and leaves, logged, until lines are lost (a few dozen fill 16 KiB).
    let mut joins = 0;
    while common::metrics(addr).await["skirmish_log_lines_lost_total"] < 20.0 {
        assert!(joins < 1000, "no log line lost past the file-size limit");
        let mut churn = common::TestClient::join(&url, &format!("churn{joins}"), Some("churn")).await;
        let bye = CloseFrame { code: 1000u16.into(), reason: "bye".into() };
        churn.ws.send(Message::Close(Some(bye))).await.expect("Close sent");
        common::expect_close(&mut churn.ws).await;
        joins += 1;
    }
    let lost = common::metrics(addr).await["skirmish_log_lines_lost_total"];
    log.set_len(0).expect("the log emptied");
    // The next line written comes after the one telling of every line lost.
    let ada = common::TestClient::join(&url, "Ada", Some("after")).await;
    let said = format!("lost={lost} since_start={lost}");
    let deadline = std::time::Instant::now() + common::WAIT;
    let text = loop {
        let text = std::fs::read_to_string(&path).expect("the log read");
        if text.contains(r#"name="Ada""#) || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    drop(ada);
    let _ = std::fs::remove_file(&path);
    let report = text.lines().find(|l| l.contains("log lines lost")).unwrap_or_else(|| panic!("no report:\n{text}"));
    assert!(report.contains(&said), "{said} expected: {report}");
    assert!(report.contains(" WARN skirmish: "), "formatted as the log's own lines: {report}");
    let joined = text.lines().position(|l| l.contains(r#"name="Ada""#)).expect("Ada's join logged");
    let told = text.lines().position(|l| l.contains("log lines lost")).expect("the report");
    assert!(told < joined, "the report comes first:\n{text}");
}

/// Found by a chaos test of a host: a stdout that cannot take the start-up banner (`>
/// /dev/full`, a full disk) made the server panic before it served anyone. Now the log says
/// so, with the invite, and the server runs.
#[tokio::test]
async fn a_stdout_that_takes_nothing_is_logged_and_the_server_runs() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full opens");
    let child = Command::new(env!("CARGO_BIN_EXE_skirmish"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-qr"])
        .env("RUST_LOG", "info")
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut server = Server(child);
    let mut lines = BufReader::new(server.0.stderr.take().expect("piped")).lines();
    let warned = loop {
        let line = lines.next().expect("a log line before stderr ends").expect("utf-8 stderr");
        if line.contains("cannot write the start-up banner") {
            break line;
        }
    };
    assert!(warned.contains("No space left on device"), "the reason: {warned}");
    assert!(warned.contains("set --admin-token"), "the lost token is said: {warned}");
    let invite = warned.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).expect("the invite");
    let url = format!("ws://{}ws", invite.trim_start_matches("http://"));
    // Keep reading stderr, so the server never waits on it.
    std::thread::spawn(move || for _ in lines {});
    let mut ada = common::TestClient::join(&url, "Ada", None).await;
    ada.next_snapshot().await;
}

/// A host reads who came and went in the log: the joining player's name and address, and the
/// leaver's name and why it left; values are printed plainly (an address, not `Some(..)`), the
/// names a player chose quoted.
#[tokio::test]
async fn the_log_names_who_joined_from_where_and_who_left_and_why() {
    let (child, _stdout, _, port) = start_logging();
    let mut server = Server(child);
    let child = &mut server.0;
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut ada = common::TestClient::join(&url, "Ada", Some("logroom")).await;
    // Bob's name is made to look like log fields (from an outside test of a griefer): quoted.
    let mut bob = common::TestClient::join(&url, "Bob why=kicked", Some("logroom")).await;
    bob.hold_token().await;
    // Ada says something (logged: who, from where, what, quoted).
    ada.send_chat("hi \"all\"").await;
    ada.wait_for(|c| c.chat_lines().iter().any(|(_, text)| text == "hi \"all\"")).await;
    // Then too much, too fast: she is told, and so is the host (from an outside test of a host:
    // lines over the connection's own limit were dropped with no line in the log).
    for i in 0..12 {
        ada.send_chat(&format!("spam {i}")).await;
    }
    ada.wait_for(|c| c.chat_lines().iter().any(|(from, text)| from.is_none() && text.contains("too fast"))).await;
    // Ada leaves on purpose; Bob's connection is simply dropped (lost: its seat is kept).
    let bye = CloseFrame { code: 1000u16.into(), reason: "bye".into() };
    ada.ws.send(Message::Close(Some(bye))).await.expect("Close sent");
    common::expect_close(&mut ada.ws).await;
    drop(bob);
    // Cy's page closes with 1001 (a browser's reload or a tab put away): a failed connection,
    // whose code and words the log gives (escaped: they are the client's).
    let mut cy = common::TestClient::join(&url, "Cy", Some("logroom")).await;
    cy.hold_token().await;
    let away = CloseFrame { code: 1001u16.into(), reason: "going\naway".into() };
    cy.ws.send(Message::Close(Some(away))).await.expect("Close sent");
    common::expect_close(&mut cy.ws).await;
    // The lost seats show as kept in the rooms list once the room has heard of them.
    common::wait_for_kept_seats(format!("127.0.0.1:{port}").parse().expect("an address"), "logroom", 2).await;
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let mut err = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut err).expect("utf-8 stderr");
    assert!(child.wait().expect("the server exits").success());
    let line = |needle: &str| err.lines().find(|l| l.contains(needle)).map(str::to_owned);
    let joined = line("player joined room=logroom player=1").unwrap_or_else(|| panic!("Ada's join:\n{err}"));
    assert!(joined.contains(r#"name="Ada""#) && joined.contains("address=127.0.0.1"), "{joined}");
    let left = line("player left room=logroom player=1").unwrap_or_else(|| panic!("Ada's leave:\n{err}"));
    assert!(left.contains(r#"name="Ada""#) && left.contains("why=normal") && left.contains("kept=false"), "{left}");
    let lost = line("player left room=logroom player=2").unwrap_or_else(|| panic!("Bob's loss:\n{err}"));
    assert!(
        lost.contains(r#"name="Bob why=kicked""#) && lost.contains("why=lost") && lost.contains("kept=true"),
        "{lost}"
    );
    let closed = line("client closed: its connection failed").unwrap_or_else(|| panic!("Cy's close:\n{err}"));
    assert!(closed.contains("player=3") && closed.contains("code=1001"), "{closed}");
    assert!(closed.contains(r#"reason="going\naway""#), "the client's words, escaped: {closed}");
    let said = line("chat room=logroom player=1").unwrap_or_else(|| panic!("Ada's line:\n{err}"));
    let spam = line("chat too fast: lines dropped").unwrap_or_else(|| panic!("Ada's spam:\n{err}"));
    assert!(spam.contains(r#"player=1 name="Ada" address=127.0.0.1"#), "{spam}");
    assert!(said.contains(r#"name="Ada" address=127.0.0.1 text="hi \"all\"""#), "{said}");
    let created = line("room created room=logroom").unwrap_or_else(|| panic!("the room:\n{err}"));
    assert!(created.contains("opened_by=127.0.0.1"), "{created}");
    assert!(!err.contains("Some("), "no Debug-formatted options in the log:\n{err}");
}

/// Found by an outside test of a LAN host: a WebSocket refused at the per-address cap was logged
/// at DEBUG only, and a browser cannot read the 429 (its page says the connection was lost), so
/// a host whose players share an address never learnt why the third could not join. Now a WARN
/// line names the address, why, and the option to raise.
#[tokio::test]
async fn a_refusal_at_a_connection_cap_is_logged_for_the_host() {
    let args = ["--max-connections-per-ip", "1", "--max-http-connections-per-ip", "2"];
    let (mut child, _stdout, _, port) = start_logging_with(&args);
    let url = format!("ws://127.0.0.1:{port}/ws");
    let first = common::TestClient::join(&url, "First", Some("home")).await;
    let refused = tokio_tungstenite::connect_async(&url).await;
    let status = match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!("the second socket is refused, not {:?}", other.map(|_| ())),
    };
    assert_eq!(status, 429);
    // A page whose Origin holds text made to look like log fields: quoted in the log.
    let mut forged = format!("ws://127.0.0.1:{port}/ws").into_client_request().expect("a request");
    let origin = "http://evil.example peer=10.9.9.9:1 INFO admin logged in";
    forged.headers_mut().insert("origin", origin.parse().expect("a header value"));
    assert!(tokio_tungstenite::connect_async(forged).await.is_err(), "another site's page is refused");
    // An admin action from another origin (a proxy that drops the port from `Host` makes every
    // one look so): refused, and logged with the `Host` it was compared with.
    let addr = format!("127.0.0.1:{port}").parse().expect("an address");
    let elsewhere = [("Origin", "https://play.example.org")];
    assert_eq!(common::http_request(addr, "POST", "/admin/logout", &elsewhere, "").await.0, 403);
    // Plain HTTP connections past the address's share (two) are closed unanswered: of three
    // that send nothing, one at least ends with no byte (the others get a 408 in time).
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connects"));
    }
    let first_bytes = idle.iter_mut().map(|conn| async move {
        let mut buf = [0u8; 1];
        matches!(conn.read(&mut buf).await, Ok(0) | Err(_))
    });
    let unanswered = futures_util::future::join_all(first_bytes).await;
    assert!(unanswered.contains(&true), "one closed unanswered: {unanswered:?}");
    drop((first, idle));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(killed.success());
    let mut err = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut err).expect("utf-8 stderr");
    assert!(child.wait().expect("the server exits").success());
    let line = err
        .lines()
        .find(|l| l.contains("WebSocket refused: too many connections from your address"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{err}"));
    assert!(line.contains("WARN") && line.contains("client=127.0.0.1") && line.contains("reason=per_ip"), "{line}");
    assert!(line.contains("(see --max-connections-per-ip)"), "{line}");
    let line = err.lines().find(|l| l.contains("origin not allowed")).unwrap_or_else(|| panic!("no origin:\n{err}"));
    assert!(line.contains(&format!("origin={origin:?}")), "quoted whole: {line}");
    assert!(line.contains(&format!("host=\"127.0.0.1:{port}\"")), "the Host it was compared with: {line}");
    let line = err.lines().find(|l| l.contains("admin request refused")).unwrap_or_else(|| panic!("no admin:\n{err}"));
    assert!(line.contains("WARN") && line.contains(r#"origin="https://play.example.org""#), "{line}");
    assert!(line.contains(&format!("host=\"127.0.0.1:{port}\"")) && line.contains("client=127.0.0.1"), "{line}");
    let line = err
        .lines()
        .find(|l| l.contains("its address has all its HTTP connections open"))
        .unwrap_or_else(|| panic!("no HTTP refusal logged:\n{err}"));
    assert!(line.contains("WARN") && line.contains("client=127.0.0.1"), "{line}");
    assert!(line.contains("(see --max-http-connections-per-ip)"), "{line}");
}

/// A panic is an ERROR line of the log, naming its thread and where it happened, and the main
/// thread's is written out before the process ends: the default hook wrote to stderr itself,
/// past the log's queue, where a stderr that takes nothing would hold the thread that panicked
/// (a room's thread: every room on it) for good. The panic here is a real one: a limit on
/// processes so low that the server's room threads cannot start (found by a chaos test of a
/// host). Processes are counted per user, and root's are not limited, so the server runs as a
/// user id of its own (switching to it needs root, as the tests run), from a copy of the binary
/// that user may read wherever the checkout is.
#[test]
fn a_panic_is_a_line_of_the_log() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("skirmish-panic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let binary = dir.join("skirmish");
    std::fs::copy(env!("CARGO_BIN_EXE_skirmish"), &binary).expect("the binary copied");
    for path in [&dir, &binary] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("made readable");
    }
    let user = "4242424";
    let output = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--clear-groups", "prlimit", "--nproc=3:3"])
        .arg(&binary)
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-qr"])
        .env("RUST_LOG", "info")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("setpriv runs");
    std::fs::remove_dir_all(&dir).expect("the copy removed");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("setresuid failed"), "switching users needs root:\n{err}");
    assert_eq!(output.status.code(), Some(101), "the main thread's panic ends the server:\n{err}");
    let line = err.lines().find(|l| l.contains(" ERROR ") && l.contains("panic: ")).unwrap_or_else(|| {
        panic!("no ERROR line for the panic:\n{err}");
    });
    assert!(line.contains("thread=\"main\"") && line.contains("location="), "{line}");
    assert!(!err.contains("panicked at"), "the default hook's text, past the log:\n{err}");
}
