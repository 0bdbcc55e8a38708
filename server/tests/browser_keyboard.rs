//! A player who cannot use a mouse, in a real browser (found by an outside test of a
//! keyboard-only player): from a fresh page, Tab reaches a listed room's link and Enter joins
//! it (the page took Tab, Enter and Space for the game even in the lobby, so focus stuck on
//! Play and no room could be picked); the room list keeps the focus while it refreshes; in the
//! game the ship aims where the keys fly it (every shot went east); and a held Enter's repeats
//! neither close the chat box it opened nor steal a line being typed.
//! Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use std::f32::consts::{FRAC_PI_2, PI};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};
use fantoccini::{Client as Browser, Locator};
use serde_json::json;
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, content, poll};

const ROOM: &str = "keys-only";

/// The focused element's room, if it is a room link: `li[data-room] > a`.
const FOCUSED_ROOM: &str = "const a = document.activeElement; \
    return a && a.tagName === 'A' && a.parentElement.dataset.room || null;";

#[tokio::test(flavor = "multi_thread")]
async fn a_keyboard_alone_picks_a_room_plays_aims_and_chats() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = webdriver::server_in_view("browser-keyboard");
    let watcher = Watcher::join(&server.ws_url(), "Watcher", ROOM, Flight::Still).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;

    browser.goto(&format!("{}/", server.http_url())).await.expect("page loads");
    poll("the room listed", async || {
        browser.find(Locator::Css(&format!("#roomlist li[data-room='{ROOM}'] a"))).await.ok().map(drop)
    })
    .await;
    // Tab from the name field, one press at a time, until a room link has the focus.
    let mut presses = 0;
    while browser.execute(FOCUSED_ROOM, vec![]).await.expect("probe") != json!(ROOM) {
        presses += 1;
        assert!(presses <= 12, "Tab never reached the room link; focus on {:?}", focused_tag(&browser).await);
        tap(&browser, '\u{E004}').await;
    }
    // The list refreshes every 2 s; the link keeps the focus through it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(browser.execute(FOCUSED_ROOM, vec![]).await.expect("probe"), json!(ROOM), "focus kept");

    // Enter follows the link: the page loads in that room; Enter in the name field joins.
    tap(&browser, '\u{E007}').await;
    poll("the page in the room", async || {
        let url = browser.current_url().await.ok()?;
        url.as_str().contains(&format!("room={ROOM}")).then_some(())
    })
    .await;
    poll("the wasm client to start", async || {
        browser.find(Locator::Css("#play")).await.ok()?.is_enabled().await.ok()?.then_some(())
    })
    .await;
    // The mouse passes over the form on its way (a touchpad brushed): that is not the game,
    // and keeps no aim.
    let name_field = browser.find(Locator::Css("#name")).await.expect("#name");
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: name_field,
        duration: None,
        x: 0.0,
        y: 0.0,
    });
    browser.perform_actions(hover).await.expect("move the mouse over the form");
    browser.execute("document.getElementById('name').focus();", vec![]).await.expect("focus the name field");
    tap(&browser, '\u{E007}').await;
    let id: u32 = poll("the page playing", async || {
        let el = browser.find(Locator::Css("#status")).await.ok()?;
        el.attr("data-player-id").await.ok()??.parse().ok()
    })
    .await;

    // The status line (a live region) is not rewritten, the same words read out again, when
    // someone joins or leaves (an outside screen-reader test).
    let watch = "window.statusWrites = 0; new MutationObserver(() => window.statusWrites++)\
        .observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true });";
    browser.execute(watch, vec![]).await.expect("watch the status line");
    let passer = common::TestClient::join(&server.ws_url(), "Passer", Some(ROOM)).await;
    let passer_id = passer.id();
    poll("the page to count the passer", async || content(&browser, "#players").await.filter(|t| t == "3 players"))
        .await;
    drop(passer);
    poll("the passer gone", async || (!watcher.seen().names.contains_key(&passer_id)).then_some(())).await;
    poll("the page to count it gone", async || content(&browser, "#players").await.filter(|t| t == "2 players")).await;
    let writes = browser.execute("return window.statusWrites;", vec![]).await.expect("read the count");
    assert_eq!(writes, json!(0), "the status line was rewritten");

    // No mouse has moved over the game: the ship aims where the keys fly it.
    for (key, want) in [('\u{E013}', -FRAC_PI_2), ('\u{E012}', PI), ('\u{E015}', FRAC_PI_2)] {
        browser.perform_actions(keys().then(KeyAction::Down { value: key })).await.expect("key down");
        poll(&format!("the ship to aim at {want:.2} holding {key:?}"), async || {
            let aim = *watcher.seen().aims.get(&id)?;
            let off = (aim - want).rem_euclid(2.0 * PI);
            (off.min(2.0 * PI - off) < 0.05).then_some(())
        })
        .await;
        browser.perform_actions(keys().then(KeyAction::Up { value: key })).await.expect("key up");
    }

    // Enter opens the chat box; a repeat of the same held Enter leaves it open (it closed it).
    tap(&browser, '\u{E007}').await;
    poll("the chat box focused", async || {
        (browser.execute("return document.activeElement.id;", vec![]).await.ok()? == json!("chatinput")).then_some(())
    })
    .await;
    let repeat = "document.activeElement.dispatchEvent(new KeyboardEvent('keydown', \
        { key: 'Enter', code: 'Enter', repeat: true, bubbles: true, cancelable: true })); \
        return document.activeElement.id;";
    assert_eq!(browser.execute(repeat, vec![]).await.expect("a repeated Enter"), json!("chatinput"));
    let line = "typed by keyboard";
    let input = browser.find(Locator::Css("#chatinput")).await.expect("#chatinput");
    input.send_keys(line).await.expect("type");
    assert_eq!(browser.execute(repeat, vec![]).await.expect("a repeated Enter"), json!("chatinput"));
    input.send_keys("\u{E007}").await.expect("send with Enter");
    poll("the line to reach the watcher", async || {
        watcher.seen().chat.iter().any(|(_, text)| text == line).then_some(())
    })
    .await;
    assert_eq!(content(&browser, "#chatinput").await.as_deref(), Some(""), "sent once, box emptied");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    watcher.stop().await;
    server.stop();
}

/// Presses and releases `key`.
async fn tap(browser: &Browser, key: char) {
    let press = keys().then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    browser.perform_actions(press).await.expect("press a key");
}

/// The focused element's tag and id, for a failure message.
async fn focused_tag(browser: &Browser) -> serde_json::Value {
    let probe = "const a = document.activeElement; return a ? a.tagName + '#' + a.id : null;";
    browser.execute(probe, vec![]).await.unwrap_or_default()
}

/// The one keyboard input source; WebDriver keeps its pressed keys between calls.
fn keys() -> KeyActions {
    KeyActions::new("keyboard".to_owned())
}

/// Found by an outside keyboard test: a page closed for cause (a kick, a ban, a room full)
/// showed the reason and a Reconnect button that only repeated the refusal, with no way back to
/// the lobby but the address bar. It is back at the form, reason shown, and Tab reaches the
/// listed rooms.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_closed_for_cause_is_back_at_the_form() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = 1;
    config.max_spectators_per_room = 0;
    let server = common::server_with(config);
    let _first = common::TestClient::join(&server.ws_url(), "First", Some("tiny")).await;
    let _other = common::TestClient::join(&server.ws_url(), "Other", Some("roomy")).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    browser.goto(&format!("{}/?room=tiny", server.http_url())).await.expect("page loads");
    poll("the wasm client to start", async || {
        browser.find(Locator::Css("#play")).await.ok()?.is_enabled().await.ok()?.then_some(())
    })
    .await;
    browser.execute("document.getElementById('name').focus();", vec![]).await.expect("focus the name field");
    tap(&browser, '\u{E007}').await;
    let status =
        poll("the refusal", async || content(&browser, "#status").await.filter(|s| s.contains("is full"))).await;
    assert_eq!(status, "Disconnected (1008: room tiny is full)");
    let form = "return [document.getElementById('join').hidden, document.body.className];";
    assert_eq!(browser.execute(form, vec![]).await.expect("probe"), json!([false, "lobby closed"]), "back at the form");
    poll("the room list", async || {
        browser.find(Locator::Css("#roomlist li[data-room='roomy'] a")).await.ok().map(drop)
    })
    .await;
    let mut presses = 0;
    while browser.execute(FOCUSED_ROOM, vec![]).await.expect("probe") != json!("roomy") {
        presses += 1;
        assert!(presses <= 12, "Tab never reached the room link; focus on {:?}", focused_tag(&browser).await);
        tap(&browser, '\u{E004}').await;
    }

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
