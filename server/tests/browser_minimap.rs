//! The minimap and scoreboard in a real browser show players outside the view: on a long map, a
//! native player spawns 5000 units from the browser's ship, far outside its area of interest,
//! so the page knows of it only through the radar, the roster and the score table. Read through
//! the page's DOM hooks (`#minimap[data-blips-outside-view]`, `#scorerows tr[data-player-id]`;
//! see `client/web/src/ui.rs`), since a canvas cannot be read over WebDriver. Skips loudly
//! without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::Client as Browser;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use webdriver::{ChromeDriver, Flight, Watcher, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "minimap-test";
/// 6000 × 1000 with a spawn point near each end, 5000 apart: whoever comes second spawns at the
/// other end (spawns keep clear of living ships). Out of the rotation, so no other map comes up.
const LONG_MAP: &str = r#"{"name": "long", "rotation": false, "size": [6000, 1000],
    "spawns": [[500, 500], [5500, 500]], "obstacles": [], "pickups": []}"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_minimap_and_scoreboard_show_a_player_outside_the_view() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(common::maps_dir("browser-minimap", &[("long.json", LONG_MAP)]));
    config.map = Some("long".to_owned());
    let server = common::server_with(config);
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    let me = open_and_join(&browser, &server.http_url(), ROOM, "Chromey", false).await;
    let far = Watcher::join(&server.ws_url(), "Faraway", ROOM, Flight::Still).await;

    // The premise: the two ships are at opposite ends, out of each other's area of interest, so
    // the native client (and likewise the page) receives no state of the other ship.
    poll("a view of the native player's own", async || far.seen().positions.contains_key(&far.id).then_some(())).await;
    assert!(!far.seen().positions.contains_key(&me), "the browser's ship is out of the native player's view");

    // The radar (once a second) puts the far ship on the minimap, outside the view rectangle;
    // our own ship's cell is inside it.
    let blips =
        poll("a minimap blip outside the view", async || blips_outside_view(&browser).await.filter(|&n| n >= 1)).await;
    assert_eq!(blips, 1, "one other ship, in one radar cell");

    // The scoreboard lists both players from the roster and score table, with their ids and
    // (nobody has fired) no kills or deaths.
    let mut rows = scoreboard(&browser, 2, true).await;
    rows.sort();
    let mut expected = vec![(me, "Chromey".to_owned(), 0, 0), (far.id, "Faraway".to_owned(), 0, 0)];
    expected.sort();
    assert_eq!(rows, expected);

    // When the far player leaves, the next radar has no ship outside the view: the blip was
    // that player, not our own cell.
    far.stop().await;
    poll("the blip to go", async || blips_outside_view(&browser).await.filter(|&n| n == 0)).await;
    // Read with the board hidden (no Tab): the hook is kept current all the same, for a caster's
    // stream that shows it with its own CSS (from an outside test of a caster: the rows were
    // those of the last Tab, through two matches and an empty room).
    assert_eq!(scoreboard(&browser, 1, false).await, [(me, "Chromey".to_owned(), 0, 0)]);
    let hidden = browser.execute("return document.getElementById('scoreboard').hidden;", vec![]).await;
    assert_eq!(hidden.expect("probe"), serde_json::json!(true), "read while hidden");
    // A caster's custom CSS, as the README gives it, shows it for good.
    let shown = "const style = document.createElement('style'); \
        style.textContent = '#scoreboard { display: block !important; }'; document.head.append(style); \
        return document.querySelector('#scorerows tr').getBoundingClientRect().height > 0;";
    assert_eq!(browser.execute(shown, vec![]).await.expect("probe"), serde_json::json!(true), "the README's CSS");

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}

/// `#minimap[data-blips-outside-view]`, once the page has drawn a radar.
async fn blips_outside_view(browser: &Browser) -> Option<u32> {
    let script = "return document.getElementById('minimap').getAttribute('data-blips-outside-view');";
    browser.execute(script, vec![]).await.ok()?.as_str()?.parse().ok()
}

/// The Tab scoreboard's lines as (player id, name, kills, deaths), read while Tab is held (if
/// `hold_tab`) once it shows `count` of them.
async fn scoreboard(browser: &Browser, count: usize, hold_tab: bool) -> Vec<(u32, String, u16, u16)> {
    if hold_tab {
        browser.perform_actions(keys().then(KeyAction::Down { value: '\u{E004}' })).await.expect("Tab down");
    }
    let script = "return Array.from(document.querySelectorAll('#scorerows tr'), tr => [tr.dataset.playerId,
        tr.querySelector('.name').textContent, tr.querySelector('.kills').textContent,
        tr.querySelector('.deaths').textContent]);";
    let rows = poll(&format!("{count} scoreboard lines"), async || {
        let value = browser.execute(script, vec![]).await.ok()?;
        let rows: Vec<(u32, String, u16, u16)> = value
            .as_array()?
            .iter()
            .map(|row| {
                let cell = |i: usize| row.get(i).and_then(|v| v.as_str());
                Some((cell(0)?.parse().ok()?, cell(1)?.to_owned(), cell(2)?.parse().ok()?, cell(3)?.parse().ok()?))
            })
            .collect::<Option<_>>()?;
        (rows.len() == count).then_some(rows)
    })
    .await;
    if hold_tab {
        browser.perform_actions(keys().then(KeyAction::Up { value: '\u{E004}' })).await.expect("Tab up");
    }
    rows
}

/// The one keyboard input source; WebDriver keeps its pressed keys between calls.
fn keys() -> KeyActions {
    KeyActions::new("keyboard".to_owned())
}
