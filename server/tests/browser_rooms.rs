//! Rooms in a real browser: the join form lists the public rooms (name, players/capacity, map,
//! phase) and not the private ones, and Play without a room is quick play, which puts the
//! player in the fullest public room and that room in the address bar, the link to share. A
//! link whose `?room=` the server would refuse is caught by the page, which says why and opens
//! no connection. Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::Locator;
use futures_util::SinkExt;
use serde_json::json;
use skirmish_client::Client;
use tokio_tungstenite::tungstenite::Message;
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, content, poll};

/// The listed rooms as the page shows them: `[[name, info], …]`.
const ROOM_LIST: &str = "return [...document.querySelectorAll('#roomlist li')]\
    .map(li => [li.dataset.room, li.querySelector('span').textContent]);";

#[tokio::test(flavor = "multi_thread")]
async fn the_page_lists_public_rooms_and_quick_play_joins_the_fullest() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let listed = Watcher::join(&server.ws_url(), "Waiting", "listed-room", Flight::Still).await;
    // A private room with a player in it, kept open for the test's length.
    let mut hidden = common::raw(&server.ws_url()).await;
    let mut core = Client::new("Hidden", Some("hidden-room".to_owned())).private(true);
    hidden.send(Message::binary(core.on_open())).await.expect("send Hello");

    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    browser.goto(&format!("{}/", server.http_url())).await.expect("page loads");
    let rooms = poll("the room list", async || {
        let rooms = browser.execute(ROOM_LIST, vec![]).await.ok()?;
        (rooms.as_array()?.len() == 1).then_some(rooms)
    })
    .await;
    assert_eq!(rooms, json!([["listed-room", "1/100 · arena · waiting for players"]]), "not the private room");
    let link = browser.find(Locator::Css("#roomlist li a")).await.expect("a room link");
    assert_eq!(link.attr("href").await.expect("href").as_deref(), Some("?room=listed-room"));

    poll("the wasm client to start", async || {
        browser.find(Locator::Css("#play")).await.ok()?.is_enabled().await.ok()?.then_some(())
    })
    .await;
    browser.find(Locator::Css("#name")).await.expect("#name").send_keys("Quick").await.expect("type a name");
    browser.find(Locator::Css("#play")).await.expect("#play").click().await.expect("click Play");
    poll("#status to say playing", async || content(&browser, "#status").await.filter(|s| s.contains("playing"))).await;
    let status = content(&browser, "#status").await.unwrap_or_default();
    assert!(status.contains("listed-room"), "quick play chose the fullest public room: {status}");
    let search = browser.execute("return location.search;", vec![]).await.expect("read the address");
    assert_eq!(search, json!("?room=listed-room"), "the room's link in the address bar");
    let invite = browser.execute("return document.getElementById('invitecode').src;", vec![]).await.expect("read");
    let invite_src = format!("{}/invite.svg?room=listed-room", server.http_url());
    assert_eq!(invite, json!(invite_src), "the Invite code is of the room quick play chose");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    listed.stop().await;
    server.stop();
}

/// Replaces `WebSocket` with a counting subclass, submits the join form as Play would, and
/// returns `[sockets opened, #join hidden, body class]`; the wasm opens its socket inside the
/// submit handler, so the count is final when `requestSubmit` returns.
const SUBMIT: &str = "let opened = 0; const Real = WebSocket; \
    window.WebSocket = class extends Real { constructor(...a) { super(...a); opened++; } }; \
    const form = document.getElementById('join'); form.requestSubmit(); \
    return [opened, form.hidden, document.body.className];";

#[tokio::test(flavor = "multi_thread")]
async fn a_link_to_an_impossible_room_says_why_instead_of_connecting() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;

    // Both forms of a room's link, `/r/NAME` redirected to the page as the first.
    for bad in ["/?room=no%20such", &format!("/?room={}", "a".repeat(40)), "/r/bad.name"] {
        browser.goto(&format!("{}{bad}", server.http_url())).await.expect("page loads");
        let status =
            poll("the wasm client to start", async || content(&browser, "#status").await.filter(|s| s != "loading…"))
                .await;
        assert_eq!(status, "not joining: the link's room name is not valid", "{bad}");
        let check = browser.find(Locator::Css("#roomcheck")).await.expect("#roomcheck");
        assert!(check.is_displayed().await.expect("visibility"), "{bad}: the reason shows in the form");
        let why = check.text().await.expect("its text");
        assert!(why.contains("room names are 1 to 32 of A-Z a-z 0-9 - _"), "{bad}: {why}");
        let play = browser.find(Locator::Css("#play")).await.expect("#play");
        assert!(!play.is_enabled().await.expect("enabled?"), "{bad}: Play is disabled");
        // Even submitted (a script, Enter in an old browser), the form stays and nothing connects.
        let submitted = browser.execute(SUBMIT, vec![]).await.expect("submit the form");
        assert_eq!(submitted, json!([0, false, "lobby"]), "{bad}: no socket, still in the lobby");
    }

    // The form's link leads to the lobby, where Play is quick play again.
    browser.find(Locator::Css("#roomcheck a")).await.expect("the lobby link").click().await.expect("follow it");
    poll("the wasm client to start", async || {
        browser.find(Locator::Css("#play")).await.ok()?.is_enabled().await.ok()?.then_some(())
    })
    .await;
    let search = browser.execute("return location.search;", vec![]).await.expect("read the address");
    assert_eq!(search, json!(""), "no room in the lobby's address");
    let check = browser.find(Locator::Css("#roomcheck")).await.expect("#roomcheck");
    assert!(!check.is_displayed().await.expect("visibility"), "no complaint in the lobby");
    let submitted = browser.execute(SUBMIT, vec![]).await.expect("submit the form");
    assert_eq!(submitted, json!([1, true, ""]), "Play connects (the probe counts sockets)");
    poll("#status to say playing", async || content(&browser, "#status").await.filter(|s| s.contains("playing"))).await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
