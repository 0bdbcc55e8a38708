//! The simulation step gives bit-identical results natively and in the browser's wasm: the page's
//! own wasm (`window.skirmishSimCheck`, see `client/web/src/app.rs`) and this native test each
//! step one ship through the same 10 000 pseudo-random inputs (`shared::sim::replay_hash`: the
//! movement step with walls and obstacles, its quantise step, and bullet launches through
//! `libm`'s trigonometry) and hash every state; the hashes must be equal, or a predicting
//! client would drift from the server. Skips loudly without chromedriver unless
//! `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use skirmish_shared::sim::replay_hash;
use webdriver::{ChromeDriver, chromedriver_or_skip, poll};

const STEPS: u32 = 10_000;

#[tokio::test(flavor = "multi_thread")]
async fn the_step_is_bit_identical_in_wasm_and_natively() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server_with(skirmish_server::Config::for_tests());
    let driver = ChromeDriver::start(&driver_bin);
    let browser = driver.session().await;
    browser.goto(&server.http_url()).await.expect("page loads");
    poll("the wasm client to start", async || {
        let ready = browser.execute("return typeof window.skirmishSimCheck === 'function';", vec![]).await.ok()?;
        ready.as_bool()?.then_some(())
    })
    .await;
    for seed in [1_u32, 7, 0xdead_beef] {
        let script = format!("return window.skirmishSimCheck({seed}, {STEPS});");
        let in_wasm = browser.execute(&script, vec![]).await.expect("run the check in the page");
        let native = format!("{:016x}", replay_hash(seed.into(), STEPS));
        assert_eq!(in_wasm.as_str(), Some(native.as_str()), "seed {seed}: wasm and native states differ");
    }
    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    server.stop();
}
