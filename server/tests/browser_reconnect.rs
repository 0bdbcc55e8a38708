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

/// A link that dies without a word (dead wifi, a NAT that forgot the connection; here the
/// server stopped with `SIGSTOP`, which answers nothing either) closes nothing for minutes: the
/// page, hearing nothing for 5 s while playing, gives the link up itself, says so, and keeps
/// trying, giving each try that hears nothing for 5 s up too; once the server answers again it
/// is back in its own seat. From an outside test on a
/// bad network: the page said "playing" with a frozen clock until TCP gave up, and came back
/// as a new player.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_gives_up_a_silent_link_and_gets_its_seat_back() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    /// The child, killed however the test ends: a stopped server left behind would hold the
    /// test's output open.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let signal = |server: &Server, sig: &str| {
        let status = std::process::Command::new("kill").args([sig, &server.0.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill {sig}");
    };
    let (child, port) = common::start_binary_with(&["--no-qr", "--seat-reservation", "60s"]);
    let server = Server(child);
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let id = open_and_join(&browser, &format!("http://127.0.0.1:{port}"), ROOM, "Silent", false).await;

    signal(&server, "-STOP");
    let status = poll("the page to give the silent link up", async || {
        content(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))
    })
    .await;
    assert!(status.ends_with("(4000: no data from the server)"), "{status}");
    // Its retry's handshake hangs (the stopped server's kernel takes the TCP connection): the
    // page gives that up too and counts down again, rather than say "connecting…" for as long
    // as the server is away (an outside test of a LAN host).
    poll("the page to try again", async || content(&browser, "#status").await.filter(|s| s == "connecting…")).await;
    poll("the page to give the hung retry up", async || {
        content(&browser, "#status").await.filter(|s| s.starts_with("Reconnecting in"))
    })
    .await;

    signal(&server, "-CONT");
    let seat = playing_as(&browser, "the page to play again").await;
    assert_eq!(seat, id, "back in its own seat");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    drop(server);
}

/// A reload in the middle of a match (F5, or a phone reopening a tab it discarded) takes the
/// player's seat back by itself: the same id, no join form to fill in. A caster's link
/// (`/r/NAME?spectate`) opens the page watching, and a reload keeps it watching the same player.
/// From outside tests on a phone (a reload, Back and Forward cost the seat and the score) and of
/// a caster (a reload turned the caster into a player; a reconnect followed someone else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_page_takes_its_seat_back_and_a_watcher_keeps_watching() {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.seat_reservation = std::time::Duration::from_secs(20);
    let srv = common::server_with(config);
    let url = srv.http_url();
    const ROOM: &str = "reload-room";
    let driver = ChromeDriver::start(&driver_bin);
    let player = driver.session().await;
    let id = open_and_join(&player, &url, ROOM, "Reloader", false).await;
    // Once the server knows the page holds its token (its inputs acknowledge snapshots).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    player.refresh().await.expect("reload");
    let seat = playing_as(&player, "the reloaded page to play again").await;
    assert_eq!(seat, id, "back in its own seat");

    // A tab opened on the page's own link (which copies the tab's sessionStorage, as Duplicate
    // does) shows the form: it does not take the first tab's seat over.
    let first = player.window().await.expect("this window");
    player.execute("window.open(location.href)", vec![]).await.expect("open the link");
    let second = poll("the second tab", async || player.windows().await.ok()?.into_iter().find(|w| *w != first)).await;
    player.switch_to_window(second).await.expect("to the second tab");
    poll("the second tab's form", async || content(&player, "#status").await.filter(|s| s.starts_with("ready"))).await;
    player.close_window().await.expect("close the second tab");
    player.switch_to_window(first).await.expect("back to the first tab");
    assert!(content(&player, "#status").await.is_some_and(|s| s.contains("playing")), "the first tab still plays");

    // Leaving the page for another in the same tab (Chromium may keep it in its back/forward
    // cache, socket open and pings answered) gives the connection up: the ship is away, not in
    // play with nobody at the controls. Back again, the page takes its seat back.
    player.goto(&format!("{url}/api/rooms")).await.expect("another page");
    common::wait_for_kept_seats(srv.addr, ROOM, 1).await;
    player.back().await.expect("back");
    let seat = playing_as(&player, "the page, back, to play again").await;
    assert_eq!(seat, id, "back in its own seat after Back");

    // Two other players, then a caster (in the browser's one profile, after the player): its
    // link watches at once; E steps to a player the server did not pick; after a reload it
    // watches that player again.
    player.close().await.expect("end the WebDriver session");
    let _other = common::TestClient::join(&srv.ws_url(), "Other", Some(ROOM)).await;
    let _third = common::TestClient::join(&srv.ws_url(), "Third", Some(ROOM)).await;
    let caster = driver.session().await;
    caster.goto(&format!("{url}/r/{ROOM}?spectate")).await.expect("the caster's link");
    let label = |s: String| s.strip_prefix("Spectating ").map(str::to_owned);
    let first = poll("the caster to watch", async || content(&caster, "#watching").await.and_then(label)).await;
    assert!(content(&caster, "#status").await.is_some_and(|s| s.starts_with("spectating")));
    caster
        .perform_actions(
            KeyActions::new("keys".into()).then(KeyAction::Down { value: 'e' }).then(KeyAction::Up { value: 'e' }),
        )
        .await
        .expect("press E");
    let chosen = poll("the caster to watch the other player", async || {
        content(&caster, "#watching").await.and_then(label).filter(|n| *n != first)
    })
    .await;
    caster.refresh().await.expect("reload");
    poll("the reloaded caster to watch its choice again", async || {
        content(&caster, "#watching").await.and_then(label).filter(|n| *n == chosen)
    })
    .await;
    assert!(content(&caster, "#status").await.is_some_and(|s| s.starts_with("spectating")), "still watching");

    caster.close().await.expect("end the WebDriver session");
    drop(driver);
    srv.stop();
}

/// Waits (as `what`) until the page says it plays, and returns its player id (`#status`'s
/// `data-player-id`).
async fn playing_as(browser: &fantoccini::Client, what: &str) -> u32 {
    poll(what, async || {
        content(browser, "#status").await.filter(|s| s.contains("playing"))?;
        let script = "return document.getElementById('status').getAttribute('data-player-id');";
        browser.execute(script, vec![]).await.ok()?.as_str()?.parse::<u32>().ok()
    })
    .await
}
