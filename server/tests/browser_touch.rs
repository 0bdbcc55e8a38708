//! Touch controls in a real browser: WebDriver pointer actions of type "touch" (real
//! `PointerEvent`s with `pointerType == "touch"`) drag the virtual stick on the left half of the
//! screen, and a native client in the same room sees the ship move; a finger held on the right
//! half fires. Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use std::time::Duration;

use fantoccini::Client as Browser;
use fantoccini::actions::{InputSource, PointerAction, TouchActions};
use fantoccini::error::CmdError;
use tokio::task::JoinHandle;
use webdriver::{ChromeDriver, Flight, MIN_TRAVEL, Watcher, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "touch-test";
const NAME: &str = "Thumbs";
/// The window: a phone held sideways would do too; the test only needs two halves.
const WIDTH: f64 = 1280.0;
const HEIGHT: f64 = 720.0;
/// How long each gesture holds the screen: far longer than the ship needs to show it.
const HOLD: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread")]
async fn the_touch_stick_moves_the_ship_and_the_right_thumb_fires() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = webdriver::server_in_view("browser-touch");
    let watcher = Watcher::join(&server.ws_url(), "Watcher", ROOM, Flight::Still).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let id = open_and_join(&browser, &server.http_url(), ROOM, NAME, false).await;
    let start = poll("the native client to see the ship", async || watcher.seen().positions.get(&id).copied()).await;

    // Thumb down on the left half, drag sideways (towards the far side of the arena, so a spawn
    // by a wall cannot fail the test), hold, lift. chromedriver only delivers a touch release
    // sent in the same action list as its press, so each gesture is one list, performed on a
    // task while the native client watches; the hold is many times what the test needs.
    let dir = if start.x <= watcher.arena().x / 2.0 { 1.0 } else { -1.0 };
    let drag = TouchActions::new("left-thumb".to_owned())
        .then(PointerAction::MoveTo { duration: None, x: WIDTH * 0.2, y: HEIGHT * 0.6 })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(150)), x: dir * 80.0, y: 0.0 })
        .pause(HOLD)
        .then(PointerAction::Up { button: 0 })
        .pause(Duration::from_millis(50));
    let gesture = perform(&browser, drag);
    let x = poll("the ship to move while the stick is held", async || {
        let x = watcher.seen().positions.get(&id)?.x;
        ((x - start.x) * dir as f32 > MIN_TRAVEL).then_some(x)
    })
    .await;
    eprintln!("{NAME} (id {id}) moved from x = {:.0} to x = {x:.0} on the touch stick", start.x);
    gesture.await.expect("the gesture task").expect("drag the stick");

    // Released, the ship coasts to a stop: the stick no longer pushes it.
    let stopped = poll("the ship to stop after the thumb lifts", async || {
        let a = watcher.seen().positions.get(&id).copied()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let b = watcher.seen().positions.get(&id).copied()?;
        (a.distance(b) < 1.0).then_some(b)
    })
    .await;

    // A thumb held on the right half aims and fires: bullets of ours show up, and the ship
    // stays where it is.
    let fire = TouchActions::new("right-thumb".to_owned())
        .then(PointerAction::MoveTo { duration: None, x: WIDTH * 0.75, y: HEIGHT * 0.4 })
        .then(PointerAction::Down { button: 0 })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(50)), x: 4.0, y: 0.0 })
        .pause(HOLD)
        .then(PointerAction::Up { button: 0 })
        .pause(Duration::from_millis(50));
    let gesture = perform(&browser, fire);
    poll("bullets fired from the touch screen", async || watcher.seen().bullet_owners.contains(&id).then_some(()))
        .await;
    gesture.await.expect("the gesture task").expect("press the fire side");
    let end = watcher.seen().positions.get(&id).copied().unwrap_or(stopped);
    assert!(end.distance(stopped) < MIN_TRAVEL, "firing alone does not move the ship: {stopped} -> {end}");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    watcher.stop().await;
    server.stop();
}

/// Performs `gesture` on a task, so the test can watch the game while the finger is down.
fn perform(browser: &Browser, gesture: TouchActions) -> JoinHandle<Result<(), CmdError>> {
    let browser = browser.clone();
    tokio::spawn(async move { browser.perform_actions(gesture).await })
}
