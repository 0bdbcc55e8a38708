//! The README screenshot, made by the real game: a server, four native hunters that chase and
//! shoot each other (and you), and headless Chromium at 1280×720 joining as a player who flies
//! and fires; once the fight is on, the page is saved as `docs/screenshot.png`. Ignored by
//! default (it writes into the repository); run it with
//! `cargo test -p skirmish-server --test browser_screenshot -- --ignored`
//! (`SKIRMISH_SCREENSHOT=FILE.png` saves elsewhere, `SKIRMISH_SCREENSHOT_SIZE=844x390` checks a
//! phone-sized window).

mod common;
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "screenshot";
const HUNTERS: [(&str, f32); 4] = [("Vega", 0.1), ("Orion", 0.9), ("Lyra", 0.35), ("Nova", 0.7)];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes docs/screenshot.png; run explicitly"]
async fn screenshot_of_a_real_match() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let config = skirmish_server::Config { map: Some("arena".into()), ..skirmish_server::Config::for_tests() };
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    let driver = ChromeDriver::start(&driver_bin);
    let size = std::env::var("SKIRMISH_SCREENSHOT_SIZE").ok();
    let (width, height) = size
        .as_deref()
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((1280, 720));
    let browser = driver.session_sized(width, height).await;
    let me = open_and_join(&browser, &server.http_url(), ROOM, "Ace", false).await;
    let mut hunters = Vec::new();
    for (name, phase) in HUNTERS {
        hunters.push(Watcher::join(&server.ws_url(), name, ROOM, Flight::Hunt { phase, prey: Some(me) }).await);
    }
    hunters[0].say("glhf everyone");
    hunters[2].say("who keeps camping the middle?");

    // Aim right of our ship and hold fire and a steering key while the hunters close in.
    let aim = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveTo { duration: None, x: f64::from(width) * 0.7, y: f64::from(height) * 0.4 })
        .then(PointerAction::Down { button: fantoccini::actions::MOUSE_BUTTON_LEFT });
    browser.perform_actions(aim).await.expect("aim and fire");
    poll("our own bullets", async || hunters[0].seen().bullet_owners.contains(&me).then_some(())).await;
    let keys = || KeyActions::new("keyboard".to_owned());
    browser.perform_actions(keys().then(KeyAction::Down { value: 'd' })).await.expect("steer");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.perform_actions(keys().then(KeyAction::Up { value: 'd' })).await.expect("steer");
    browser.perform_actions(keys().then(KeyAction::Down { value: 'w' })).await.expect("steer");
    tokio::time::sleep(Duration::from_millis(800)).await;
    browser.perform_actions(keys().then(KeyAction::Up { value: 'w' })).await.expect("steer");
    let chat = browser.find(fantoccini::Locator::Css("#chatinput")).await.expect("#chatinput");
    chat.send_keys("bring it on\u{E007}").await.expect("chat");
    // Long enough for a few kills and the first pickups.
    tokio::time::sleep(Duration::from_secs(9)).await;

    // Shoot when the fight is on screen.
    // (If none comes within the wait, the picture is taken anyway: it is for people to judge.)
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    while std::time::Instant::now() < deadline && !lively(&hunters[0], me) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let png = browser.screenshot().await.expect("screenshot");
    let path = std::env::var_os("SKIRMISH_SCREENSHOT")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshot.png"), PathBuf::from);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the screenshot's folder");
    }
    std::fs::write(&path, &png).expect("write the screenshot");
    // PNG: the IHDR chunk right after the signature holds the width and height.
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    eprintln!("screenshot ({w}×{h}) saved to {}", path.display());
    assert!(w >= width && h >= height, "the screenshot is {w}×{h}");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    for hunter in hunters {
        hunter.stop().await;
    }
    server.stop();
}

/// Us and at least three others alive in view, and bullets in the air, ours among them.
fn lively(watcher: &Watcher, me: u32) -> bool {
    let seen = watcher.seen();
    let Some(mine) = seen.positions.get(&me).filter(|_| seen.alive.contains(&me)) else { return false };
    let in_view =
        |id: &u32| seen.positions.get(id).is_some_and(|p| (p.x - mine.x).abs() < 600.0 && (p.y - mine.y).abs() < 320.0);
    let near = seen.alive.iter().filter(|id| in_view(id)).count();
    near >= 4 && seen.bullet_owners.len() >= 6 && seen.bullet_owners.contains(&me)
}
