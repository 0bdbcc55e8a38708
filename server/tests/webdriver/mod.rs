//! The browser test harness shared by `tests/browser*.rs`: a chromedriver process per browser
//! (each with its own headless Chromium and profile, so two windows never share a throttled
//! renderer), page helpers that read the DOM HUD, and a native [`Watcher`] in the same room that
//! publishes what the server says. Skips loudly without chromedriver unless
//! `SKIRMISH_REQUIRE_BROWSER=1`.

#![allow(dead_code)] // Each test file uses a different subset.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use glam::Vec2;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use skirmish_shared::{Input, PlayerId};

use crate::common::TestClient;

/// Generous: these bound a hang on a loaded 2-core machine, they do not measure speed.
pub const WAIT: Duration = Duration::from_secs(30);
/// How far a ship must travel to count as moved: a clear margin over any jitter.
pub const MIN_TRAVEL: f32 = 40.0;
const SKIP: &str = "SKIPPING browser test: chromedriver not found; install chromium chromium-driver";

/// A map small enough that every ship on it is in every player's view wherever it flies: no
/// side longer than the area of interest's half extent (`AOI_HALF_EXTENT`, 850 units). Out of
/// the rotation, so it is the only map played.
const CLOSE_QUARTERS_MAP: &str = r#"{"name": "close-quarters", "rotation": false, "size": [850, 850],
    "spawns": [[200, 200], [650, 200], [200, 650], [650, 650]], "obstacles": [], "pickups": []}"#;

/// A test server (`Config::for_tests()`) playing only the close-quarters map, for tests where a
/// native [`Watcher`] must see the browser's ship: since protocol v3 each player receives only
/// the ships near its own, and the built-in maps are bigger than that.
pub fn server_in_view(test: &str) -> skirmish_server::ServerHandle {
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(crate::common::maps_dir(test, &[("close-quarters.json", CLOSE_QUARTERS_MAP)]));
    config.map = Some("close-quarters".to_owned());
    crate::common::server_with(config)
}

/// The chromedriver binary, or `None` after a loud skip message (a panic instead when
/// `SKIRMISH_REQUIRE_BROWSER=1`, so CI cannot skip silently).
pub fn chromedriver_or_skip() -> Option<PathBuf> {
    let found = find_chromedriver();
    if found.is_none() {
        assert!(std::env::var("SKIRMISH_REQUIRE_BROWSER").as_deref() != Ok("1"), "{SKIP}");
        // Straight to the process's stderr: libtest captures `eprintln!`, and a skip must be seen.
        let _ = writeln!(std::io::stderr(), "\n*** {SKIP} ***\n");
    }
    found
}

/// Loads the page for `room`, checks the wasm started, joins as `name` (ticking `#spectate`
/// when asked) and waits until the page says "playing" or "spectating"; returns the player id
/// the page shows.
pub async fn open_and_join(browser: &Browser, http_url: &str, room: &str, name: &str, spectate: bool) -> u32 {
    // The served page says "loading…" until the wasm's `start()` replaces it and enables Play.
    assert!(include_str!("../../../assets/index.html").contains(r#"<span id="status" role="status">loading…</span>"#));
    browser.goto(&format!("{http_url}/?room={room}")).await.expect("page loads");
    poll("the wasm client to start", async || {
        let play = browser.find(Locator::Css("#play")).await.ok()?;
        play.is_enabled().await.ok()?.then_some(())
    })
    .await;
    let ready = content(browser, "#status").await.unwrap_or_default();
    assert!(ready.starts_with("ready"), "#status after start(): {ready:?}");

    let field = browser.find(Locator::Css("#name")).await.expect("#name");
    field.clear().await.expect("clear #name");
    field.send_keys(name).await.expect("type a name");
    if spectate {
        browser.find(Locator::Css("#spectate")).await.expect("#spectate").click().await.expect("tick #spectate");
    }
    browser.find(Locator::Css("#play")).await.expect("#play").click().await.expect("click Play");

    let word = if spectate { "spectating" } else { "playing" };
    poll(&format!("#status to say {word}"), async || content(browser, "#status").await.filter(|s| s.contains(word)))
        .await;
    poll("data-player-id on #status", async || {
        let el = browser.find(Locator::Css("#status")).await.ok()?;
        el.attr("data-player-id").await.ok()??.parse().ok()
    })
    .await
}

/// The visible text of the first element matching `css`, or `None` if there is none yet.
pub async fn text(browser: &Browser, css: &str) -> Option<String> {
    browser.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

/// The `textContent` of the first element matching `css`, shown or not (a phone-sized page hides
/// some of the HUD).
pub async fn content(browser: &Browser, css: &str) -> Option<String> {
    let script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;";
    browser.execute(script, vec![json!(css)]).await.ok()?.as_str().map(str::to_owned)
}

/// Calls `check` until it returns `Some`, for at most [`WAIT`].
pub async fn poll<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
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
pub struct Seen {
    pub names: BTreeMap<u32, String>,
    pub positions: BTreeMap<u32, Vec2>,
    /// Where each ship in the newest snapshot aims (radians, 0 = +x, clockwise on screen).
    pub aims: BTreeMap<u32, f32>,
    /// Players whose ships are alive in the newest snapshot.
    pub alive: Vec<PlayerId>,
    /// Owners of the bullets in the newest snapshot.
    pub bullet_owners: Vec<PlayerId>,
    /// Pickups waiting in the newest snapshot.
    pub pickups: usize,
    /// Chat lines received: sender name (`None` for the server) and text.
    pub chat: Vec<(Option<String>, String)>,
}

/// How a [`Watcher`] flies: standing still, or the way the screenshot's extras do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flight {
    /// Stays put (sends empty inputs to stay connected).
    Still,
    /// Closes in on `prey` (or, while it is dead, the nearest other ship), circles it at a
    /// distance and fires at it; `phase` sets the direction and rhythm, so hunters spread out.
    Hunt {
        /// 0 to 1.
        phase: f32,
        /// The ship to hunt first.
        prey: Option<PlayerId>,
    },
}

/// A native player in the same room, pumping its socket on a task (so the server never sees it
/// stall) and publishing the roster and newest positions.
pub struct Watcher {
    pub id: u32,
    seen: Arc<Mutex<Seen>>,
    say: tokio::sync::mpsc::UnboundedSender<String>,
    arena: Vec2,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    pub async fn join(url: &str, name: &str, room: &str, flight: Flight) -> Watcher {
        let mut client = TestClient::join(url, name, Some(room)).await;
        let id = client.id();
        let arena = client.core.arena();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let (say, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            // Inputs keep the connection alive (the server cuts silent clients).
            let mut heartbeat = tokio::time::interval(Duration::from_millis(33));
            let mut t = 0.0f32;
            loop {
                tokio::select! {
                    _ = client.next_event() => {
                        let core = &client.core;
                        let latest = core.latest();
                        let now = Seen {
                            names: core.roster().iter().map(|(id, p)| (*id, p.name.clone())).collect(),
                            positions: latest.map(|s| s.players.iter().map(|p| (p.id, p.pos)).collect()).unwrap_or_default(),
                            aims: latest.map(|s| s.players.iter().map(|p| (p.id, p.aim)).collect()).unwrap_or_default(),
                            alive: latest.map(|s| s.players.iter().filter(|p| p.alive()).map(|p| p.id).collect()).unwrap_or_default(),
                            bullet_owners: latest.map(|s| s.bullets.iter().map(|b| b.owner).collect()).unwrap_or_default(),
                            pickups: latest.map_or(0, |s| s.pickups.len()),
                            chat: core.chat_log().iter().map(|c| (c.from.clone(), c.text.clone())).collect(),
                        };
                        *shared.lock().expect("no panics while locked") = now;
                    }
                    Some(line) = lines.recv() => {
                        let bytes = client.core.chat(&line).expect("a sendable chat line");
                        use futures_util::SinkExt;
                        client.ws.send(tokio_tungstenite::tungstenite::Message::binary(bytes)).await.expect("send chat");
                    }
                    _ = heartbeat.tick() => {
                        t += 1.0 / 30.0;
                        let (mv, aim, buttons) = match flight {
                            Flight::Still => (Vec2::ZERO, 0.0, 0),
                            Flight::Hunt { phase, prey } => hunt(&client.core, id, prey, t, phase),
                        };
                        let now = client.now_ms();
                        if let Some(bytes) = client.core.input(mv, aim, buttons, now) {
                            use futures_util::SinkExt;
                            client.ws.send(tokio_tungstenite::tungstenite::Message::binary(bytes)).await.expect("send input");
                        }
                    }
                }
            }
        });
        Watcher { id, seen, say, arena, task }
    }

    /// Sends a chat line from this player.
    pub fn say(&self, line: &str) {
        self.say.send(line.to_owned()).expect("the watcher task is running");
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("no panics while locked").clone()
    }

    pub fn arena(&self) -> Vec2 {
        self.arena
    }

    pub async fn stop(self) {
        self.task.abort();
        // A panic inside the task (socket closed, bad message) fails the test here.
        if let Err(e) = self.task.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// One input of a [`Flight::Hunt`]er at time `t` seconds: steer, aim and fire.
fn hunt(core: &skirmish_client::Client, me: PlayerId, prey: Option<PlayerId>, t: f32, phase: f32) -> (Vec2, f32, u8) {
    let Some(snap) = core.latest() else { return (Vec2::ZERO, 0.0, 0) };
    let Some(mine) = snap.players.iter().find(|p| p.id == me) else { return (Vec2::ZERO, 0.0, 0) };
    let others = || snap.players.iter().filter(|p| p.id != me && p.alive());
    let nearest = others().find(|p| Some(p.id) == prey).or_else(|| {
        others().min_by(|a, b| a.pos.distance_squared(mine.pos).total_cmp(&b.pos.distance_squared(mine.pos)))
    });
    let Some(target) = nearest else { return (Vec2::new((t + phase).cos(), (t * 0.7).sin()), 0.0, 0) };
    let to = target.pos - mine.pos;
    let dist = to.length().max(1.0);
    let toward = to / dist;
    // Orbit: sideways around the target, in or out to hold about 320 units, wobbling a little.
    let side = if phase > 0.5 { toward.perp() } else { -toward.perp() };
    let radial = ((dist - 320.0) / 200.0).clamp(-1.0, 1.0);
    let mv = side * 0.8 + toward * radial + Vec2::new((t * 1.3 + phase).sin(), (t * 0.9).cos()) * 0.3;
    // Poor aim on purpose: the screenshot wants a long fight, not quick kills.
    let wobble = (t * 2.1 + phase * 5.0).sin() * 0.35;
    let fire = dist < 800.0 && (t * 1.5 + phase * 3.0) % 2.0 < 1.4;
    (mv, to.y.atan2(to.x) + wobble, if fire { Input::FIRE } else { 0 })
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

/// A chromedriver process (and the browser it starts) on a free loopback port, with a fresh
/// browser profile. Dropping it kills the whole process group, even when the test panicked.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl ChromeDriver {
    pub fn start(bin: &Path) -> ChromeDriver {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let profile = std::env::temp_dir().join(format!("skirmish-chrome-{}-{port}-{nanos}", std::process::id()));
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

    /// Opens a headless Chromium session with a 1280×720 window.
    pub async fn session(&self) -> Browser {
        self.session_sized(1280, 720).await
    }

    /// Opens a headless Chromium session with a window of `width`×`height` CSS pixels.
    pub async fn session_sized(&self, width: u32, height: u32) -> Browser {
        self.session_with(width, height, false).await
    }

    /// A 1280×720 session whose hidden pages have their timers throttled as in a user's browser
    /// (at most once a second): chromedriver turns that off by default
    /// (`--disable-background-timer-throttling`, `--disable-backgrounding-occluded-windows`).
    pub async fn session_throttled(&self) -> Browser {
        self.session_with(1280, 720, true).await
    }

    async fn session_with(&self, width: u32, height: u32, throttle_hidden: bool) -> Browser {
        let profile = format!("--user-data-dir={}", self.profile.display());
        let mut options = json!({
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                // Without these it floods a closed network with update and sync requests.
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", profile, format!("--window-size={width},{height}"),
                // Headless has no audio device; the page must cope, but needs no real output.
                "--mute-audio",
            ],
        });
        if let Some(chrome) = chrome_binary() {
            options["binary"] = json!(chrome);
        }
        if throttle_hidden {
            options["excludeSwitches"] =
                json!(["disable-background-timer-throttling", "disable-backgrounding-occluded-windows"]);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let browser = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with headless Chromium");
        // `--window-size` is the outer size; grow the window so the page itself gets the size.
        let inner = browser.execute("return [innerWidth, innerHeight]", vec![]).await.expect("read the viewport");
        let inner = (inner[0].as_u64().unwrap_or(0) as u32, inner[1].as_u64().unwrap_or(0) as u32);
        if inner != (width, height) && inner.0 > 0 && inner.1 > 0 {
            let (w, h) = (2 * width - inner.0.min(width), 2 * height - inner.1.min(height));
            browser.set_window_size(w, h).await.expect("resize the window");
        }
        browser
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
