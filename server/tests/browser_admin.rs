//! The admin page in a real browser, as a host uses it: log in with the token, kick a griefer
//! with the page's own Kick button (confirming the dialog), see the kick's ban listed with its
//! address and room, and lift it with Lift ban, after which the address joins that room again;
//! then clear two ships of one address with one Kick all from address.
//! Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use common::{TestClient, expect_close};
use fantoccini::Locator;
use skirmish_client::Client;
use skirmish_server::lobby::{KICK_BAN, banned_reason};
use webdriver::{ChromeDriver, chromedriver_or_skip, content, poll};

#[tokio::test(flavor = "multi_thread")]
async fn the_host_kicks_from_the_page_and_lifts_the_ban_there() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.admin_token = Some("admin-page-token".into());
    let server = common::server_with(config);
    let _keeper = TestClient::join(&server.ws_url(), "Keeper", Some("den")).await;
    let mut griefer = TestClient::join_from(&server, "127.0.0.2", Client::new("Griefer", Some("den".into()))).await;

    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    browser.goto(&format!("{}/admin", server.http_url())).await.expect("the login form");
    browser.find(Locator::Css("#token")).await.expect("#token").send_keys("admin-page-token").await.expect("type");
    browser.find(Locator::Css("button[type=submit]")).await.expect("submit").click().await.expect("log in");
    poll("the griefer's row", async || content(&browser, "#rooms").await.filter(|t| t.contains("Griefer"))).await;
    assert_eq!(content(&browser, "#bans tbody").await.as_deref(), Some(""), "no ban yet");
    let hidden = "return document.getElementById('bans').hidden;";
    assert_eq!(browser.execute(hidden, vec![]).await.expect("probe"), serde_json::json!(true));

    // The griefer's own Kick button, confirmed in the browser's dialog.
    let rows = browser.find_all(Locator::Css("#rooms tr")).await.expect("rows");
    let mut kicked = false;
    for row in rows {
        if row.text().await.expect("row text").contains("Griefer") {
            row.find(Locator::Css("button")).await.expect("Kick").click().await.expect("click Kick");
            kicked = true;
            break;
        }
    }
    assert!(kicked, "a row with a Kick button for the griefer");
    browser.accept_alert().await.expect("confirm the kick");
    assert_eq!(expect_close(&mut griefer.ws).await, (1008, "kicked by the host".to_owned()));

    // Its ban, listed: the address, the room, the time left.
    let ban = poll("the ban listed", async || {
        let shown = browser.execute(hidden, vec![]).await.ok()? == serde_json::json!(false);
        content(&browser, "#bans tbody").await.filter(|t| shown && t.contains("127.0.0.2"))
    })
    .await;
    assert!(ban.contains("den") && ban.contains("min") && ban.contains("left"), "{ban}");
    let mut hello = Client::new("Griefer", Some("den".into()));
    let mut ws = common::upgrade_from(&server, "127.0.0.2".parse().expect("address"), &[]).await.expect("upgraded");
    futures_util::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::binary(hello.on_open()))
        .await
        .expect("send Hello");
    assert_eq!(expect_close(&mut ws).await, (1008, banned_reason(KICK_BAN)), "banned");

    // Lifted from the page: the row goes, the status line says so, the address plays again.
    browser.find(Locator::Css("#bans button")).await.expect("Lift ban").click().await.expect("click Lift ban");
    poll("the notice of the lifted ban", async || {
        content(&browser, "#notice").await.filter(|t| t.contains("127.0.0.2 may join den again"))
    })
    .await;
    poll("the ban gone from the page", async || {
        (browser.execute(hidden, vec![]).await.ok()? == serde_json::json!(true)).then_some(())
    })
    .await;
    let back = TestClient::join_from(&server, "127.0.0.2", Client::new("Griefer", Some("den".into()))).await;
    assert_eq!(back.core.room_name(), "den");

    // Two ships from one address: their rows offer Kick all from address (a lone player's row
    // does not), and one click, confirmed, closes both.
    let mut twins = Vec::new();
    for name in ["Twin1", "Twin2"] {
        twins.push(TestClient::join_from(&server, "127.0.0.3", Client::new(name, Some("den".into()))).await);
    }
    let shown_all = "return [...document.querySelectorAll('#rooms tr')].map((tr) => \
        [tr.textContent, [...tr.querySelectorAll('button')].some((b) => !b.hidden && b.textContent === 'Kick all from address')]);";
    let rows = poll("the twins' rows", async || {
        let rows: Vec<(String, bool)> = serde_json::from_value(browser.execute(shown_all, vec![]).await.ok()?).ok()?;
        (rows.iter().filter(|(text, _)| text.contains("Twin")).count() == 2).then_some(rows)
    })
    .await;
    for (text, all) in &rows {
        assert_eq!(*all, text.contains("Twin"), "Kick all from address only where the address has others: {text}");
    }
    let all = browser.find(Locator::XPath("//tr[contains(., 'Twin1')]//button[. = 'Kick all from address']")).await;
    all.expect("the button").click().await.expect("click Kick all from address");
    browser.accept_alert().await.expect("confirm");
    for twin in &mut twins {
        assert_eq!(expect_close(&mut twin.ws).await, (1008, "kicked by the host".to_owned()));
    }
    // The status line says how many went.
    poll("the notice of the kick", async || {
        content(&browser, "#notice")
            .await
            .filter(|t| t.contains("2 connections and seats of 127.0.0.3 kicked from den"))
    })
    .await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
