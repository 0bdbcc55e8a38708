//! `--assets DIR`: a modder's page and style come from the directory (and edits show without a
//! restart), files it lacks from the binary, and the wasm client always from the binary.

mod common;

use common::{http_get, server_with};

#[tokio::test]
async fn a_modders_directory_replaces_the_embedded_assets() {
    let dir = common::maps_dir(
        "assets-dir",
        &[("index.html", "<!doctype html><title>Modded</title>"), ("style.css", "body { color: hotpink; }")],
    );
    let mut config = skirmish_server::Config::for_tests();
    config.assets = Some(dir.clone());
    let srv = server_with(config);

    assert!(http_get(srv.addr, "/").await.contains("<title>Modded</title>"), "the page from the directory");
    assert_eq!(http_get(srv.addr, "/style.css").await, "body { color: hotpink; }");
    std::fs::write(dir.join("style.css"), "body { color: teal; }").expect("edit the style");
    assert_eq!(http_get(srv.addr, "/style.css").await, "body { color: teal; }", "an edit shows at once");

    // Not in the directory: the embedded copy.
    let embedded_icon = include_str!("../../assets/favicon.svg");
    assert_eq!(http_get(srv.addr, "/favicon.svg").await, embedded_icon);
    // The wasm client comes from the binary, and the game's routes are untouched.
    assert!(http_get(srv.addr, "/pkg/skirmish_web.js").await.contains("skirmish_web_bg.wasm"));
    assert_eq!(http_get(srv.addr, "/livez").await, "ok");
}

#[test]
fn a_missing_assets_directory_is_refused_with_its_name() {
    let mut config = skirmish_server::Config::for_tests();
    config.assets = Some("/nonexistent/skirmish-mod".into());
    let err = config.check().expect_err("refused");
    assert!(err.contains("/nonexistent/skirmish-mod") && err.contains("not a directory"), "{err}");
}
