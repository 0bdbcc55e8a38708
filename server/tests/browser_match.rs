//! The match around the player, in a real browser: a spectator watches (no ship, not on the
//! scoreboard, the camera on a player it can switch with E or by clicking its ship), and when a short match ends the
//! results screen names the winner and lists the final scores. Skips loudly without
//! chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client as Browser, Locator};
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, open_and_join, poll, text};

#[tokio::test(flavor = "multi_thread")]
async fn a_spectator_watches_players_and_switches_between_them() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let room = "spectate-test";
    let server = common::server();
    let ann = Watcher::join(&server.ws_url(), "Ann", room, Flight::Still).await;
    let bob = Watcher::join(&server.ws_url(), "Bob", room, Flight::Still).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let me = open_and_join(&browser, &server.http_url(), room, "Eve", true).await;

    let status = text(&browser, "#status").await.unwrap_or_default();
    assert!(status.starts_with("spectating as Eve"), "{status:?}");
    let first = poll("the spectator label", async || text(&browser, "#watching").await.filter(|t| t.len() > 11)).await;
    assert!(first == "Spectating Ann" || first == "Spectating Bob", "{first:?}");
    // The HUD is the followed player's: its ship's health (whole: nobody fires), its score.
    poll("the followed ship's health", async || text(&browser, "#health").await.filter(|t| t == "100")).await;
    assert_eq!(text(&browser, "#score").await.as_deref(), Some("0 kills · 0 deaths"));
    // The players see no ship of the spectator's.
    assert!(!ann.seen().positions.contains_key(&me), "a spectator has no ship");

    // E switches to the other player, and again back.
    for expected in if first.ends_with("Ann") { ["Bob", "Ann"] } else { ["Ann", "Bob"] } {
        browser
            .perform_actions(keys().then(KeyAction::Down { value: 'e' }).then(KeyAction::Up { value: 'e' }))
            .await
            .expect("press E");
        let label = format!("Spectating {expected}");
        poll(&format!("{label:?}"), async || text(&browser, "#watching").await.filter(|t| *t == label)).await;
    }

    // The scoreboard lists the two players, not the spectator.
    let names = scoreboard_names(&browser).await;
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.contains(&"Eve".to_owned()), "{names:?}");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    ann.stop().await;
    bob.stop().await;
    server.stop();
}

/// A wide open map with its three spawn points near the middle, so the camera on any of the
/// ships is not held back by a wall and the others are on screen at known offsets.
const PLAZA: &str = r#"{"name": "plaza", "size": [4000, 4000], "obstacles": [],
    "spawns": [[2000, 2000], [2240, 2100], [1800, 2150]], "pickups": []}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_spectator_clicks_a_ship_to_follow_it() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let room = "click-test";
    let config = skirmish_server::Config {
        maps: Some(common::maps_dir("browser-click", &[("plaza.json", PLAZA)])),
        map: Some("plaza".into()),
        ..skirmish_server::Config::for_tests()
    };
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    let mut players = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        players.push((Watcher::join(&server.ws_url(), name, room, Flight::Still).await, name));
    }
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    open_and_join(&browser, &server.http_url(), room, "Eve", true).await;
    let label = |i: usize| format!("Spectating {}", players[i].1);
    let first = poll("the spectator label", async || text(&browser, "#watching").await.filter(|t| t.len() > 11)).await;
    let followed = (0..3).find(|&i| first == label(i)).expect("one of the three");
    // The one before it in id order (joined in that order): a click that only stepped to the
    // next player, as clicks once did, would not land on it.
    let target = (followed + 2) % 3;
    let seen = poll("every ship", async || Some(players[0].0.seen()).filter(|s| s.positions.len() == 3)).await;
    let offset = seen.positions[&players[target].0.id] - seen.positions[&players[followed].0.id];

    // The camera is centred on the followed ship (nowhere near a wall) at the page's fixed zoom
    // (`VIEW_WORLD_UNITS` across the window's longer side), so the target is drawn at the
    // canvas's centre plus the offset between them, scaled.
    let size = browser
        .execute("const c = document.getElementById('arena'); return [c.clientWidth, c.clientHeight];", vec![])
        .await
        .expect("read the canvas size");
    let (w, h) = (size[0].as_f64().expect("width"), size[1].as_f64().expect("height"));
    let scale = w.max(h) / f64::from(skirmish_shared::consts::VIEW_WORLD_UNITS);
    let click = async |x: f64, y: f64| {
        let canvas = browser.find(Locator::Css("#arena")).await.expect("#arena");
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement { element: canvas, duration: None, x: x.round(), y: y.round() })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        browser.perform_actions(mouse).await.expect("click the arena");
    };
    click(f64::from(offset.x) * scale, f64::from(offset.y) * scale).await;
    let clicked = label(target);
    poll(&format!("{clicked:?} after a click on its ship"), async || {
        text(&browser, "#watching").await.filter(|t| *t == clicked)
    })
    .await;

    // A click beside every ship steps to the next player in id order, as before: from the
    // last, the first; from another, the one after it. (The camera is on the target now; this
    // point is far from every ship.)
    click(-0.3 * w, -0.05 * h).await;
    let next = label((target + 1) % 3);
    poll(&format!("{next:?} after a click beside the ships"), async || {
        text(&browser, "#watching").await.filter(|t| *t == next)
    })
    .await;
    // So does a click on the followed ship, at the canvas's centre.
    click(0.0, 0.0).await;
    let after = label((target + 2) % 3);
    poll(&format!("{after:?} after a click on the followed ship"), async || {
        text(&browser, "#watching").await.filter(|t| *t == after)
    })
    .await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    for (player, _) in players {
        player.stop().await;
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_results_screen_shows_when_a_match_ends() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let room = "results-test";
    let config = skirmish_server::Config {
        match_duration: Duration::from_secs(3),
        results_duration: Duration::from_secs(30),
        ..skirmish_server::Config::for_tests()
    };
    let server = skirmish_server::spawn_in_thread(config).expect("server starts");
    // A name of 16 wide letters, and a phone's width: the results must still fit the screen.
    let wide = "W".repeat(16);
    let rival = Watcher::join(&server.ws_url(), &wide, room, Flight::Still).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session_sized(360, 740).await;
    open_and_join(&browser, &server.http_url(), room, "Chromey", false).await;

    // Two players start a match; its clock counts down in m:ss.
    poll("the match clock", async || text(&browser, "#clock").await.filter(|t| t.starts_with("0:0"))).await;
    let results = browser.find(Locator::Css("#results")).await.expect("#results");
    poll("the results screen", async || results.is_displayed().await.ok()?.then_some(())).await;
    let clock = text(&browser, "#clock").await.unwrap_or_default();
    assert!(clock.starts_with("Next match in "), "the results' time left: {clock:?}");
    let headline = text(&browser, "#winner").await.unwrap_or_default();
    assert!(headline.ends_with("wins!") || headline.starts_with("Match over"), "{headline:?}");
    let rows = browser.find_all(Locator::Css("#results tbody tr .name")).await.expect("result rows");
    let mut names = Vec::new();
    for row in rows {
        names.push(row.text().await.expect("row text"));
    }
    names.sort();
    assert_eq!(names, ["Chromey".to_owned(), wide]);
    let fits = "const r = document.getElementById('results').getBoundingClientRect(); \
        return [r.left >= 0 && r.right <= innerWidth, r.left, r.right, innerWidth];";
    let fits = browser.execute(fits, vec![]).await.expect("measure the results");
    assert_eq!(fits[0], true, "the results panel (left, right, window width) {fits:?}");
    let next = text(&browser, "#nextmap").await.unwrap_or_default();
    assert!(next.starts_with("Next map: "), "{next:?}");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    rival.stop().await;
    server.stop();
}

/// The names on the Tab scoreboard, read while Tab is held.
async fn scoreboard_names(browser: &Browser) -> Vec<String> {
    browser.perform_actions(keys().then(KeyAction::Down { value: '\u{E004}' })).await.expect("Tab down");
    let names = poll("the scoreboard rows", async || {
        let rows = browser.find_all(Locator::Css("#scoreboard tbody tr .name")).await.ok()?;
        let mut names = Vec::new();
        for row in rows {
            names.push(row.text().await.ok()?);
        }
        (!names.is_empty()).then_some(names)
    })
    .await;
    browser.perform_actions(keys().then(KeyAction::Up { value: '\u{E004}' })).await.expect("Tab up");
    names
}

/// The one keyboard input source; WebDriver keeps its pressed keys between calls.
fn keys() -> KeyActions {
    KeyActions::new("keyboard".to_owned())
}
