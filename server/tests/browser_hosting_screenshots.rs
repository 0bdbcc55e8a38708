//! Screenshots of the hosting pages, made by the real server and headless Chromium: the join
//! form's room list (`docs/rooms.png`), the admin page after logging in (`docs/admin.png`) and a
//! page reconnecting by itself after a server restart (`docs/reconnecting.png`). Ignored by
//! default (it writes into the repository); run it with
//! `cargo test -p skirmish-server --test browser_hosting_screenshots -- --ignored`.

mod common;
mod webdriver;

use std::path::PathBuf;

use fantoccini::Locator;
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, content, open_and_join, poll};

fn save(png: &[u8], name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs").join(name);
    std::fs::write(&path, png).expect("write the screenshot");
    eprintln!("saved {}", path.display());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "writes docs/rooms.png, docs/admin.png and docs/reconnecting.png; run explicitly"]
async fn screenshots_of_the_room_list_the_admin_page_and_a_reconnect() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.admin_token = Some("screenshot-token".into());
    let server = common::server_with(config);
    let url = server.ws_url();
    let mut players = Vec::new();
    for (name, room) in
        [("Vega", "friday-night"), ("Orion", "friday-night"), ("Lyra", "friday-night"), ("Nova", "lobby-2")]
    {
        players.push(Watcher::join(&url, name, room, Flight::Hunt { phase: 0.3, prey: None }).await);
    }
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session_sized(1000, 720).await;

    browser.goto(&format!("{}/", server.http_url())).await.expect("page loads");
    poll("two rooms listed", async || {
        let rooms = browser.find_all(Locator::Css("#roomlist li")).await.ok()?;
        (rooms.len() == 2).then_some(())
    })
    .await;
    save(&browser.screenshot().await.expect("screenshot"), "rooms.png");

    browser.goto(&format!("{}/admin", server.http_url())).await.expect("the login form");
    browser.find(Locator::Css("#token")).await.expect("#token").send_keys("screenshot-token").await.expect("type");
    browser.find(Locator::Css("button[type=submit]")).await.expect("submit").click().await.expect("log in");
    poll("the admin page's rooms", async || content(&browser, "#rooms").await.filter(|t| t.contains("friday-night")))
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    save(&browser.screenshot().await.expect("screenshot"), "admin.png");

    open_and_join(&browser, &server.http_url(), "friday-night", "Ace", false).await;
    for p in players {
        p.stop().await;
    }
    tokio::task::spawn_blocking(move || server.stop()).await.expect("the server stops");
    poll("the page to say it reconnects", async || {
        content(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))
    })
    .await;
    save(&browser.screenshot().await.expect("screenshot"), "reconnecting.png");
    browser.close().await.expect("end the WebDriver session");
}
