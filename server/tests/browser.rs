//! The real browser end to end: headless Chromium (over chromedriver) loads the page from the
//! real server, joins and steers with the keyboard while a native client in the same room watches
//! the ship move, with the HUD, scoreboard, sounds, mute button and network overlay (F3) working; and sees a server restart, reconnects, and remembers its
//! name. Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client as Browser, Locator};
use webdriver::{ChromeDriver, Flight, MIN_TRAVEL, Watcher, chromedriver_or_skip, open_and_join, poll, text};

const ROOM: &str = "browser-test";
const NAME: &str = "Chromey";

#[tokio::test(flavor = "multi_thread")]
async fn browser_player_joins_and_moves_with_the_keyboard() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = webdriver::server_in_view("browser-keyboard");
    let watcher = Watcher::join(&server.ws_url(), "Watcher", ROOM, Flight::Still).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;

    let id = open_and_join(&browser, &server.http_url(), ROOM, NAME, false).await;
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

    // The HUD counts both players, measures the round trip and the frame rate, and shows a full
    // health bar, the score and the clock.
    poll("#players to count 2", async || text(&browser, "#players").await.filter(|s| s.starts_with("2 "))).await;
    let ping = poll("#ping to show a number", async || {
        text(&browser, "#ping").await.filter(|s| s.chars().any(|c| c.is_ascii_digit()))
    })
    .await;
    assert!(ping.starts_with("ping ") && ping.ends_with(" ms"), "{ping:?}");
    let fps = poll("#fps to show a number", async || {
        text(&browser, "#fps").await.filter(|s| s.chars().any(|c| c.is_ascii_digit()))
    })
    .await;
    assert!(fps.ends_with(" fps"), "{fps:?}");
    assert_eq!(text(&browser, "#health").await.as_deref(), Some("100"));
    assert_eq!(text(&browser, "#score").await.as_deref(), Some("0 kills · 0 deaths"));
    let clock = text(&browser, "#clock").await.unwrap_or_default();
    assert!(clock.contains(':') || clock.starts_with("Waiting"), "#clock: {clock:?}");

    // Holding Tab shows the scoreboard with both players; releasing it hides it again.
    browser.perform_actions(keys().then(KeyAction::Down { value: '\u{E004}' })).await.expect("Tab down");
    let rows = poll("the scoreboard to list both players", async || {
        let rows = browser.find_all(Locator::Css("#scoreboard tbody tr .name")).await.ok()?;
        let mut names = Vec::new();
        for row in rows {
            names.push(row.text().await.ok()?);
        }
        // Both names read: one loaded run read an empty name for a row the board had just shown.
        (names.len() == 2 && names.iter().all(|n| !n.is_empty())).then_some(names)
    })
    .await;
    assert!(rows.contains(&NAME.to_owned()) && rows.contains(&"Watcher".to_owned()), "{rows:?}");
    browser.perform_actions(keys().then(KeyAction::Up { value: '\u{E004}' })).await.expect("Tab up");
    let board = browser.find(Locator::Css("#scoreboard")).await.expect("#scoreboard");
    poll("the scoreboard to hide", async || (!board.is_displayed().await.ok()?).then_some(())).await;

    // Joining loaded the sound effects; M mutes them, and the choice is remembered.
    poll("the sound effects to load", async || {
        let script = "return performance.getEntriesByType('resource').filter(r => r.name.includes('/sounds/')).length";
        (browser.execute(script, vec![]).await.ok()?.as_u64()? >= 4).then_some(())
    })
    .await;
    let mute = browser.find(Locator::Css("#mute")).await.expect("#mute");
    assert_eq!(mute.attr("aria-pressed").await.expect("aria-pressed").as_deref(), Some("false"));
    browser
        .perform_actions(keys().then(KeyAction::Down { value: 'm' }).then(KeyAction::Up { value: 'm' }))
        .await
        .expect("M");
    poll("#mute to show muted", async || (mute.attr("aria-pressed").await.ok()?? == "true").then_some(())).await;
    let stored = browser.execute("return localStorage.getItem('skirmish.muted')", vec![]).await.expect("read storage");
    assert_eq!(stored, "1");
    mute.click().await.expect("click #mute");
    poll("#mute to show sound on", async || (mute.attr("aria-pressed").await.ok()?? == "false").then_some(())).await;

    // F3 shows the network overlay: the round trip, the snapshot rate (30 a second, give or
    // take a window's edge), bytes both ways, the interpolation delay and the prediction's
    // corrections; F3 again hides it.
    let f3 = || keys().then(KeyAction::Down { value: '\u{E033}' }).then(KeyAction::Up { value: '\u{E033}' });
    browser.perform_actions(f3()).await.expect("F3");
    let overlay = poll("#netstats to show rates", async || {
        text(&browser, "#netstats").await.filter(|t| t.contains("/s") && t.contains("KB/s"))
    })
    .await;
    let figure = |name: &str| -> f64 {
        let line = overlay.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {overlay:?}"));
        let value = line[name.len()..].split_whitespace().next().unwrap_or_default();
        value.parse().unwrap_or_else(|_| panic!("{name}: {line:?}"))
    };
    assert!(figure("ping") >= 0.0 && figure("snapshots") > 10.0, "{overlay:?}");
    assert!(figure("down") > 0.0 && figure("up") > 0.0, "{overlay:?}");
    // Our ship is alive in an unfrozen phase: predicted, with its corrections counted.
    assert!(figure("interp") > 0.0 && figure("corrections") >= 0.0, "{overlay:?}");
    browser.perform_actions(f3()).await.expect("F3 again");
    poll("#netstats to hide", async || text(&browser, "#netstats").await.filter(String::is_empty)).await;

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
    open_and_join(&browser, &server.http_url(), ROOM, name, false).await;

    // A graceful server stop closes with 1012; the page says so, that it will try again by
    // itself (its first tries find nobody: 1006), and offers to reconnect at once.
    server.stop();
    // Read together: each retry hides the button for the moment its connection is being made
    // (a millisecond here, the server gone), and a read of each in turn could fall either side.
    let status = poll("#status to report the close, and Reconnect shown", async || {
        let status = text(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))?;
        let reconnect = browser.find(Locator::Css("#reconnect")).await.ok()?;
        let again = text(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"));
        (reconnect.is_displayed().await.ok()? && again.is_some()).then_some(status)
    })
    .await;
    assert!(status.ends_with("(1012: server restarting)"), "{status}");
    let reconnect = browser.find(Locator::Css("#reconnect")).await.expect("#reconnect");
    // Let the page's own retries (which find nobody) back off to a couple of seconds, so that
    // the click below, not a retry, normally brings it back. Only a preference: on a slow
    // machine the test goes on after a while, and either way is checked below.
    let backing_off = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < backing_off {
        let status = text(&browser, "#status").await.unwrap_or_default();
        let secs = status.strip_prefix("Reconnecting in ").and_then(|s| s.split(' ').next()?.parse::<u32>().ok());
        if secs.is_some_and(|s| s >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Its retries, refused without a word (1006), keep the restart's words: they were replaced
    // by "connection lost" within half a second (an outside test).
    let status = poll("a countdown after failed retries", async || {
        text(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))
    })
    .await;
    assert!(status.ends_with("(1012: server restarting)"), "{status}");

    // The server comes back on the same address; one click and we play again, same name.
    let config = skirmish_server::Config { port: addr.port(), ..skirmish_server::Config::for_tests() };
    let server = skirmish_server::spawn_in_thread(config).expect("server restarts on the same port");
    // On a slow machine the page's own retry may still get there first and hide the button
    // between WebDriver's look-up and its click. Chrome then answers "not interactable" or
    // "click intercepted" (by the canvas under the hidden button), depending on the moment.
    // Either way the page reconnected by itself, which the assertions below check alike. A retry
    // that started before the server was back hides the button for its millisecond and shows it
    // again: then the click is tried again; a button shown after three tries failed.
    for attempt in 1..=3 {
        let Err(e) = reconnect.click().await else { break };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let shown = reconnect.is_displayed().await.expect("visibility");
        if !shown {
            eprintln!("the page reconnected by itself before the click ({e})");
            break;
        }
        assert!(attempt < 3, "click Reconnect: {e}");
    }
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
