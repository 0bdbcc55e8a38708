//! The page's Invite button in a real browser: it opens a panel showing `/invite.svg`, the QR
//! code of the server's invite URL (its decoding is tested in `invite.rs`), in the lobby and
//! in a match alike. Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::Locator;
use serde_json::json;
use webdriver::{ChromeDriver, chromedriver_or_skip, open_and_join, poll};

/// Whether `#invitepanel` is open and its image loaded: `[open, naturalWidth, src]`.
const PANEL_STATE: &str = "const p = document.getElementById('invitepanel'); \
    const img = document.getElementById('invitecode'); \
    return [p.matches(':popover-open'), img.complete ? img.naturalWidth : 0, img.currentSrc];";

#[tokio::test(flavor = "multi_thread")]
async fn the_invite_button_shows_the_servers_qr_code() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let state = async || browser.execute(PANEL_STATE, vec![]).await.expect("run the probe");

    open_and_join(&browser, &server.http_url(), "invite-test", "Host", false).await;
    assert_eq!(state().await[0], json!(false), "closed until asked for");
    browser.find(Locator::Css("#invite")).await.expect("#invite").click().await.expect("click Invite");
    let shown = poll("the invite panel with its code", async || {
        let s = state().await;
        (s[0] == json!(true) && s[1].as_u64().is_some_and(|w| w > 0)).then_some(s)
    })
    .await;
    assert_eq!(shown[2], json!(format!("{}/invite.svg", server.http_url())), "the server's code");

    // Hidden again as Escape or a click outside would (a popover's light dismiss).
    browser.execute("document.getElementById('invitepanel').hidePopover();", vec![]).await.expect("close");
    assert_eq!(state().await[0], json!(false));

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
