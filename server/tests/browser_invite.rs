//! The page's Invite button in a real browser: it opens a panel showing the QR code of the
//! server's page (`/invite.svg`) in the lobby, and of the room's link (`/invite.svg?room=NAME`)
//! once in a room, so a friend scanning it joins that room (both decoded in `invite.rs`).
//! Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::Locator;
use serde_json::json;
use webdriver::{ChromeDriver, chromedriver_or_skip, open_and_join, poll};

/// Whether `#invitepanel` is open and its image loaded: `[open, naturalWidth, src, heading]`.
const PANEL_STATE: &str = "const p = document.getElementById('invitepanel'); \
    const img = document.getElementById('invitecode'); \
    return [p.matches(':popover-open'), img.complete ? img.naturalWidth : 0, img.currentSrc, \
        document.getElementById('invitetitle').textContent];";

#[tokio::test(flavor = "multi_thread")]
async fn the_invite_button_shows_the_code_of_the_room_we_are_in() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let state = async || browser.execute(PANEL_STATE, vec![]).await.expect("run the probe");
    let open_panel = async || {
        assert_eq!(state().await[0], json!(false), "closed until asked for");
        browser.find(Locator::Css("#invite")).await.expect("#invite").click().await.expect("click Invite");
        let shown = poll("the invite panel with its code", async || {
            let s = state().await;
            (s[0] == json!(true) && s[1].as_u64().is_some_and(|w| w > 0)).then_some(s)
        })
        .await;
        // Hidden again as Escape or a click outside would (a popover's light dismiss).
        browser.execute("document.getElementById('invitepanel').hidePopover();", vec![]).await.expect("close");
        assert_eq!(state().await[0], json!(false));
        shown
    };

    // In the lobby, before joining: the server's page.
    browser.goto(&format!("{}/", server.http_url())).await.expect("page loads");
    poll("the wasm client to start", async || {
        browser.find(Locator::Css("#play")).await.ok()?.is_enabled().await.ok()?.then_some(())
    })
    .await;
    let lobby = open_panel().await;
    assert_eq!(lobby[2], json!(format!("{}/invite.svg", server.http_url())), "the server's code");
    assert_eq!(lobby[3], json!("Join this game"));

    // In a room: that room's link.
    open_and_join(&browser, &server.http_url(), "invite-test", "Host", false).await;
    let room = open_panel().await;
    assert_eq!(room[2], json!(format!("{}/invite.svg?room=invite-test", server.http_url())), "the room's code");
    assert_eq!(room[3], json!("Join room invite-test"));

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
