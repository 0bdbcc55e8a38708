//! The scoreboard of a big room in a real browser: with more than `SCORES_ALL_MAX_PLAYERS`
//! players the server keeps the page current only on the board's top and its own line, so the
//! Tab board shows the top rows with their places and ours below them as `21+`, read through
//! the page's DOM hook (`#scorerows tr`, see `client/web/src/ui.rs`). Skips loudly without
//! chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use std::time::Instant;

use common::TestClient;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use glam::Vec2;
use skirmish_shared::consts::{SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS, TICK_DURATION};
use webdriver::{ChromeDriver, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "big-board";

/// A native player that stays put: it sends an empty input every tick (the server cuts silent
/// clients) and reads everything, on its own task, until aborted.
fn idle(mut c: TestClient) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_input: Option<Instant> = None;
        loop {
            if last_input.is_none_or(|t| t.elapsed() >= TICK_DURATION) {
                c.send_input(Vec2::ZERO).await;
                last_input = Some(Instant::now());
            }
            // A frame arrives every tick: the loop never waits long for its next input.
            c.next_event().await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_rooms_board_shows_the_top_and_our_row_below_it() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.max_players_per_room = SCORES_ALL_MAX_PLAYERS + 10;
    let server = common::server_with(config);

    // Enough native players that the room is big with the page in it; they join first, so
    // (nobody scores) the top is theirs: the board breaks ties by who came first.
    let mut natives = Vec::new();
    let mut ids = Vec::new();
    for i in 0..SCORES_ALL_MAX_PLAYERS {
        let c = TestClient::join(&server.ws_url(), &format!("n{i}"), Some(ROOM)).await;
        ids.push(c.id());
        natives.push(idle(c));
    }
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let me = open_and_join(&browser, &server.http_url(), ROOM, "Chromey", false).await;

    // Hold Tab and read the board once it lists the top and our row after it.
    let keys = || KeyActions::new("keyboard".to_owned());
    browser.perform_actions(keys().then(KeyAction::Down { value: '\u{E004}' })).await.expect("Tab down");
    let script = "return Array.from(document.querySelectorAll('#scorerows tr'), tr => [tr.dataset.playerId,
        tr.querySelector('.rank').textContent, tr.className]);";
    let rows: Vec<(u32, String, String)> = poll("the top rows and ours", async || {
        let value = browser.execute(script, vec![]).await.ok()?;
        let rows: Vec<(u32, String, String)> = value
            .as_array()?
            .iter()
            .map(|row| {
                let cell = |i: usize| row.get(i).and_then(|v| v.as_str());
                Some((cell(0)?.parse().ok()?, cell(1)?.to_owned(), cell(2)?.to_owned()))
            })
            .collect::<Option<_>>()?;
        (rows.len() == SCOREBOARD_TOP + 1 && rows.last()?.0 == me).then_some(rows)
    })
    .await;
    // On a laptop's 1366 × 768 every row is inside the panel (from an outside test of a
    // caster: the 20th row sat below its edge, and the panel takes no pointer to scroll).
    // The viewport itself, as a stream's browser source has it: the window's frame added.
    browser.set_window_size(1366, 768).await.expect("a laptop's window");
    let inner = browser.execute("return innerHeight;", vec![]).await.expect("the viewport's height");
    let frame = 768 - inner.as_u64().expect("a height") as u32;
    browser.set_window_size(1366, 768 + frame).await.expect("a 1366 × 768 viewport");
    let fits = "const panel = document.getElementById('scoreboard').getBoundingClientRect(); \
        const rows = [...document.querySelectorAll('#scorerows tr')]; \
        return rows.length > 20 && rows.every((tr) => tr.getBoundingClientRect().bottom <= panel.bottom + 0.5);";
    poll("every row inside the panel at 1366 × 768", async || {
        (browser.execute(fits, vec![]).await.ok()? == serde_json::json!(true)).then_some(())
    })
    .await;
    browser.perform_actions(keys().then(KeyAction::Up { value: '\u{E004}' })).await.expect("Tab up");

    let top: Vec<(u32, String)> = rows[..SCOREBOARD_TOP].iter().map(|(id, rank, _)| (*id, rank.clone())).collect();
    let expected: Vec<(u32, String)> =
        ids[..SCOREBOARD_TOP].iter().enumerate().map(|(i, id)| (*id, (i + 1).to_string())).collect();
    assert_eq!(top, expected, "the first to come, in order, with their places");
    let ours = &rows[SCOREBOARD_TOP];
    assert_eq!(
        (ours.0, ours.1.as_str(), ours.2.as_str()),
        (me, format!("{}+", SCOREBOARD_TOP + 1).as_str(), "me"),
        "our row: below the top, place not counted"
    );

    // Gone before the server goes, so no native player reads its close as a failure.
    for native in natives {
        native.abort();
        let _ = native.await;
    }
    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
