//! The page comes back by itself: after a server restart (close 1012) it says it is
//! reconnecting, counts the seconds to its next try down, and once a server listens on the same
//! address again it rejoins the same room without a click. Skips loudly without chromedriver
//! unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use webdriver::{ChromeDriver, chromedriver_or_skip, content, open_and_join, poll};

const ROOM: &str = "phoenix-room";

#[tokio::test(flavor = "multi_thread")]
async fn the_page_rejoins_by_itself_after_a_server_restart() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let first = common::server();
    let (addr, url) = (first.addr, first.http_url());
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    open_and_join(&browser, &url, ROOM, "Phoenix", false).await;

    // The restart: everyone gets 1012, and the page says it will try again (its first tries
    // find nobody listening: 1006, and it keeps trying).
    tokio::task::spawn_blocking(move || first.stop()).await.expect("the first server stops");
    poll("the page to say it reconnects", async || {
        content(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))
    })
    .await;

    // While it waits, the status counts the seconds down. Once the retries have backed off to
    // a wait of 5 s or more, the next two changes of the status are that wait less 1 s, then
    // less 2 s, with nothing in between: no try goes out before then, and without the count the
    // status would keep its first figure until the try, then say it connects or give a new
    // wait. Seen through WebDriver's polls, each figure shows for a whole second.
    let seconds = |status: &str| status.strip_prefix("Reconnecting in ")?.split(' ').next()?.parse::<u32>().ok();
    let mut shown = poll("the page to wait 5 s or more for its next try", async || {
        content(&browser, "#status").await.filter(|s| seconds(s).is_some_and(|n| n >= 5))
    })
    .await;
    let from = seconds(&shown).expect("a wait");
    for expected in [from - 1, from - 2] {
        let before = shown.clone();
        shown =
            poll("the status to change", async || content(&browser, "#status").await.filter(|s| *s != before)).await;
        assert_eq!(seconds(&shown), Some(expected), "after {before:?} came {shown:?}");
    }

    // A new server on the same address (the listener sets SO_REUSEADDR): the page's own retries
    // find it, with nobody clicking anything.
    let mut config = skirmish_server::Config::for_tests();
    config.port = addr.port();
    let second = common::server_with(config);
    let back = poll("the page to play again", async || {
        content(&browser, "#status").await.filter(|s| s.contains("playing") && s.contains(ROOM))
    })
    .await;
    assert!(!back.contains("reconnecting"), "{back}");
    let rooms: serde_json::Value =
        serde_json::from_str(&common::http_get(second.addr, "/api/rooms").await).expect("/api/rooms is JSON");
    assert_eq!((rooms[0]["name"].as_str(), rooms[0]["players"].as_u64()), (Some(ROOM), Some(1)), "{rooms}");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    second.stop();
}
