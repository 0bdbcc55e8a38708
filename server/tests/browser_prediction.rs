//! Client-side prediction in a real browser, over a link made slow on purpose
//! (`--sim-latency 150ms`: a 150 ms round trip, half each way, so an input's acknowledgement
//! comes back at least 150 ms after it leaves): after a key press our own ship must move on
//! screen before any snapshot acknowledging that input arrives.
//!
//! Read through `#status[data-motion]` ("x sent acked", see `client/web/src/ui.rs`): a
//! `MutationObserver` installed in the page logs every change with `performance.now()`, and a
//! key listener logs when the key went down, so the times are the page's own and do not depend
//! on how fast WebDriver polls. The measured times are printed (`--nocapture`). Skips loudly
//! without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use webdriver::{ChromeDriver, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "prediction-test";
/// Wide, with its only spawn near the left edge, so the ship has room to fly right.
const WIDE_MAP: &str = r#"{"name": "wide", "rotation": false, "size": [3000, 1000],
    "spawns": [[500, 500]], "obstacles": [], "pickups": []}"#;
const SIM_LATENCY: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread")]
async fn the_own_ship_moves_before_the_server_acknowledges_the_key() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let mut config = skirmish_server::Config::for_tests();
    config.maps = Some(common::maps_dir("browser-prediction", &[("wide.json", WIDE_MAP)]));
    config.map = Some("wide".to_owned());
    config.sim_latency = SIM_LATENCY;
    let server = common::server_with(config);
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    open_and_join(&browser, &server.http_url(), ROOM, "Quick", false).await;

    // Our ship is drawn and at rest, and the server has acknowledged inputs (the link works).
    let motion = "return document.getElementById('status').getAttribute('data-motion');";
    poll("our ship drawn, inputs acknowledged", async || {
        let m = parse(browser.execute(motion, vec![]).await.ok()?.as_str()?)?;
        (m.acked > 0).then_some(())
    })
    .await;
    let install = "window.motionLog = []; window.keyDownAt = null;
        addEventListener('keydown', e => { if (e.key === 'd' && window.keyDownAt === null) window.keyDownAt = performance.now(); }, true);
        const status = document.getElementById('status');
        const log = () => window.motionLog.push([performance.now(), status.getAttribute('data-motion') || '']);
        log();
        new MutationObserver(log).observe(status, { attributes: true, attributeFilter: ['data-motion'] });";
    browser.execute(install, vec![]).await.expect("install the observer");

    let keys = || KeyActions::new("keyboard".to_owned());
    browser.perform_actions(keys().then(KeyAction::Down { value: 'd' })).await.expect("D down");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    browser.perform_actions(keys().then(KeyAction::Up { value: 'd' })).await.expect("D up");

    let read = "return [window.keyDownAt, window.motionLog];";
    let value = browser.execute(read, vec![]).await.expect("read the log");
    let key_at = value[0].as_f64().expect("the key went down in the page");
    let log: Vec<(f64, Motion)> = value[1]
        .as_array()
        .expect("the log")
        .iter()
        .filter_map(|e| Some((e[0].as_f64()?, parse(e[1].as_str()?)?)))
        .collect();
    // Where the ship was and the newest input sent when the key went down.
    let (_, before) = log.iter().rev().find(|(t, _)| *t <= key_at).expect("a state before the key");
    let moved = log
        .iter()
        .find(|(t, m)| *t > key_at && m.x > before.x)
        .unwrap_or_else(|| panic!("the ship never moved right: {log:?}"));
    let acked = log
        .iter()
        .find(|(t, m)| *t > key_at && m.acked > before.sent)
        .unwrap_or_else(|| panic!("no input sent after the key was acknowledged: {log:?}"));
    println!(
        "key → own ship moving: {:.0} ms; key → first acknowledgement of an input sent after it: {:.0} ms \
         (--sim-latency {} ms round trip)",
        moved.0 - key_at,
        acked.0 - key_at,
        SIM_LATENCY.as_millis()
    );
    assert!(
        moved.1.acked <= before.sent,
        "when the ship moved, the server had already acknowledged input {} (sent after the key)",
        moved.1.acked
    );
    assert!(moved.0 < acked.0);

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}

/// One `data-motion` value.
#[derive(Debug, Clone, Copy)]
struct Motion {
    x: u32,
    sent: u32,
    acked: u32,
}

fn parse(s: &str) -> Option<Motion> {
    let mut it = s.split(' ').map(|v| v.parse::<u32>().ok());
    Some(Motion { x: it.next()??, sent: it.next()??, acked: it.next()?? })
}
