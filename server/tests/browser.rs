//! The real browser end to end: headless Chromium (over chromedriver) loads the page from the
//! real server, joins and steers with the keyboard while a native client in the same room watches
//! the ship move; and sees a server restart, reconnects, and remembers its name. Skips loudly
//! without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`; `SKIRMISH_SCREENSHOT=FILE.png` saves
//! what the browser showed in play.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TestClient;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use glam::Vec2;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const ROOM: &str = "browser-test";
const NAME: &str = "Chromey";
/// Generous: these bound a hang on a loaded 2-core machine, they do not measure speed.
const WAIT: Duration = Duration::from_secs(30);
/// How far the ship must travel while the key is held: a clear margin over any jitter.
const MIN_TRAVEL: f32 = 40.0;
const SKIP: &str = "SKIPPING browser test: chromedriver not found; install chromium chromium-driver";

#[tokio::test(flavor = "multi_thread")]
async fn browser_player_joins_and_moves_with_the_keyboard() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let watcher = Watcher::join(&server.ws_url()).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;

    let id = open_and_play(&browser, &server.http_url(), NAME).await;
    let status = text(&browser, "#status").await.unwrap_or_default();
    assert!(status.contains(NAME) && status.contains(ROOM), "status names the player and room: {status:?}");

    // The native client sees the same player, by name and id, and where it spawned.
    let start = poll("the native client to see Chromey", async || {
        let seen = watcher.seen();
        (seen.names.get(&id).map(String::as_str) == Some(NAME)).then_some(())?;
        seen.positions.get(&id).copied()
    })
    .await;

    // Steer towards the far side first (so a spawn next to a wall cannot fail the test), then
    // back: both D and A must move the ship clearly along x.
    let towards_right = start.x <= watcher.arena().x / 2.0;
    let mut x = start.x;
    for (key, dir) in if towards_right { [('d', 1.0), ('a', -1.0)] } else { [('a', -1.0), ('d', 1.0)] } {
        x = steer(&browser, &watcher, id, key, dir, x).await;
    }

    // The HUD counts both players and measures the round trip.
    poll("#players to count 2", async || text(&browser, "#players").await.filter(|s| s.starts_with("2 "))).await;
    let ping = poll("#ping to show a number", async || {
        text(&browser, "#ping").await.filter(|s| s.chars().any(|c| c.is_ascii_digit()))
    })
    .await;
    assert!(ping.starts_with("ping ") && ping.ends_with(" ms"), "{ping:?}");

    // The wasm arrived compressed (pre-gzipped by the build), as players will download it.
    let sizes = browser
        .execute(
            "const e = performance.getEntriesByType('resource').find(r => r.name.endsWith('/skirmish_web_bg.wasm'));
             return e ? [e.encodedBodySize, e.decodedBodySize] : null;",
            vec![],
        )
        .await
        .expect("read resource timings");
    let (encoded, decoded) = (sizes[0].as_u64().unwrap_or(0), sizes[1].as_u64().unwrap_or(0));
    assert!(encoded > 0 && encoded < decoded / 2, "wasm transferred compressed: {sizes}");
    eprintln!("wasm: {encoded} bytes transferred, {decoded} bytes decoded");

    if let Some(path) = std::env::var_os("SKIRMISH_SCREENSHOT") {
        let png = browser.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write the screenshot");
        eprintln!("screenshot saved to {}", Path::new(&path).display());
    }

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    watcher.stop().await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_shows_the_close_reason_and_reconnects() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let addr = server.addr;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let name = "Phoenix";
    open_and_play(&browser, &server.http_url(), name).await;

    // A graceful server stop closes with 1012; the page says so and offers to reconnect.
    server.stop();
    let status = poll("#status to report the close", async || {
        text(&browser, "#status").await.filter(|s| s.starts_with("Disconnected"))
    })
    .await;
    assert_eq!(status, "Disconnected (1012: server restarting)");
    let reconnect = browser.find(Locator::Css("#reconnect")).await.expect("#reconnect");
    assert!(reconnect.is_displayed().await.expect("visibility"), "Reconnect is shown after a close");

    // The server comes back on the same address; one click and we play again, same name.
    let config = skirmish_server::Config { port: addr.port(), ..skirmish_server::Config::for_tests() };
    let server = skirmish_server::spawn_in_thread(config).expect("server restarts on the same port");
    reconnect.click().await.expect("click Reconnect");
    let status = poll("#status to say playing again", async || {
        text(&browser, "#status").await.filter(|s| s.contains("playing"))
    })
    .await;
    assert!(status.contains(name), "{status:?}");
    assert!(!reconnect.is_displayed().await.expect("visibility"), "Reconnect hides while playing");

    // The name is remembered across visits.
    browser.goto(&server.http_url()).await.expect("page reloads");
    let remembered = poll("#name to be filled in", async || {
        let field = browser.find(Locator::Css("#name")).await.ok()?;
        field.prop("value").await.ok()?.filter(|v| !v.is_empty())
    })
    .await;
    assert_eq!(remembered, name);

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}

/// The chromedriver binary, or `None` after a loud skip message (a panic instead when
/// `SKIRMISH_REQUIRE_BROWSER=1`, so CI cannot skip silently).
fn chromedriver_or_skip() -> Option<PathBuf> {
    let found = find_chromedriver();
    if found.is_none() {
        assert!(std::env::var("SKIRMISH_REQUIRE_BROWSER").as_deref() != Ok("1"), "{SKIP}");
        // Straight to the process's stderr: libtest captures `eprintln!`, and a skip must be seen.
        let _ = writeln!(std::io::stderr(), "\n*** {SKIP} ***\n");
    }
    found
}

/// Loads the page for [`ROOM`], checks the wasm started, joins as `name` and waits until the
/// page says "playing"; returns the player id the page shows.
async fn open_and_play(browser: &Browser, http_url: &str, name: &str) -> u32 {
    // The served page says "loading…" until the wasm's `start()` replaces it and enables Play.
    assert!(include_str!("../../assets/index.html").contains(r#"<span id="status" role="status">loading…</span>"#));
    browser.goto(&format!("{http_url}/?room={ROOM}")).await.expect("page loads");
    poll("the wasm client to start", async || {
        let play = browser.find(Locator::Css("#play")).await.ok()?;
        play.is_enabled().await.ok()?.then_some(())
    })
    .await;
    let ready = text(browser, "#status").await.unwrap_or_default();
    assert!(ready.starts_with("ready"), "#status after start(): {ready:?}");

    let field = browser.find(Locator::Css("#name")).await.expect("#name");
    field.clear().await.expect("clear #name");
    field.send_keys(name).await.expect("type a name");
    browser.find(Locator::Css("#play")).await.expect("#play").click().await.expect("click Play");

    poll("#status to say playing", async || text(browser, "#status").await.filter(|s| s.contains("playing"))).await;
    poll("data-player-id on #status", async || {
        let el = browser.find(Locator::Css("#status")).await.ok()?;
        el.attr("data-player-id").await.ok()??.parse().ok()
    })
    .await
}

/// Holds `key` until the native client sees player `id` more than [`MIN_TRAVEL`] from `from_x`
/// in direction `dir` (±1), releases it and returns the new x.
async fn steer(browser: &Browser, watcher: &Watcher, id: u32, key: char, dir: f32, from_x: f32) -> f32 {
    browser.perform_actions(keys().then(KeyAction::Down { value: key })).await.expect("key down");
    let x = poll(&format!("the ship to move holding {key:?}"), async || {
        let x = watcher.seen().positions.get(&id)?.x;
        ((x - from_x) * dir > MIN_TRAVEL).then_some(x)
    })
    .await;
    browser.perform_actions(keys().then(KeyAction::Up { value: key })).await.expect("key up");
    eprintln!("{NAME} (id {id}) moved from x = {from_x:.0} to x = {x:.0} holding {key:?}");
    x
}

/// The one keyboard input source; WebDriver keeps its pressed keys between calls.
fn keys() -> KeyActions {
    KeyActions::new("keyboard".to_owned())
}

/// The text of the first element matching `css`, or `None` if there is none yet.
async fn text(browser: &Browser, css: &str) -> Option<String> {
    browser.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// Calls `check` until it returns `Some`, for at most [`WAIT`].
async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the native client has seen, updated after every server message.
#[derive(Debug, Default, Clone)]
struct Seen {
    names: BTreeMap<u32, String>,
    positions: BTreeMap<u32, Vec2>,
}

/// A native player in the same room, pumping its socket on a task (so the server never sees it
/// stall) and publishing the roster and newest positions.
struct Watcher {
    seen: Arc<Mutex<Seen>>,
    arena: Vec2,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    async fn join(url: &str) -> Watcher {
        let mut client = TestClient::join(url, "Watcher", Some(ROOM)).await;
        let arena = client.core.arena();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // Inputs keep the connection alive (the server cuts silent clients).
            let mut heartbeat = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = client.next_event() => {
                        let now = Seen {
                            names: client.core.roster().iter().map(|(id, p)| (*id, p.name.clone())).collect(),
                            positions: client.core.latest().map(|s| s.players.iter().map(|p| (p.id, p.pos)).collect()).unwrap_or_default(),
                        };
                        *shared.lock().expect("no panics while locked") = now;
                    }
                    _ = heartbeat.tick() => client.send_input(Vec2::ZERO).await,
                }
            }
        });
        Watcher { seen, arena, task }
    }

    fn seen(&self) -> Seen {
        self.seen.lock().expect("no panics while locked").clone()
    }

    fn arena(&self) -> Vec2 {
        self.arena
    }

    async fn stop(self) {
        self.task.abort();
        // A panic inside the task (socket closed, bad message) fails the test here.
        if let Err(e) = self.task.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

fn find_chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let usual = PathBuf::from("/usr/bin/chromedriver");
    if usual.is_file() {
        return Some(usual);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())
}

fn chrome_binary() -> Option<PathBuf> {
    std::env::var_os("CHROME")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromium")).filter(|p| p.is_file()))
}

/// A chromedriver process (and the browsers it starts) on a free loopback port, with a fresh
/// browser profile. Dropping it kills the whole process group, even when the test panicked.
struct ChromeDriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl ChromeDriver {
    fn start(bin: &Path) -> ChromeDriver {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let profile = std::env::temp_dir().join(format!("skirmish-chrome-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile).expect("create a browser profile dir");
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so Drop can end chromedriver and Chromium together.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut driver = ChromeDriver { child, port, profile };
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited early: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    /// Opens a headless Chromium session.
    async fn session(&self) -> Browser {
        let profile = format!("--user-data-dir={}", self.profile.display());
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                // Without these it floods a closed network with update and sync requests.
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", profile, "--window-size=1280,720",
            ],
        });
        if let Some(chrome) = chrome_binary() {
            options["binary"] = json!(chrome);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with headless Chromium")
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (`process_group(0)`).
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
