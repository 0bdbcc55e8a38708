//! `/invite.svg` is a QR code that decodes back to the URL to invite players to: the served SVG
//! is rasterised and read with a real QR decoder. With `?room=NAME` it holds that room's link,
//! for a room that is open.

mod common;

use common::{TestClient, http_get, server_with};

/// Rasterises the invite SVG (the path of dark runs `M x y h n v 1 h -n z` on a white square of
/// `side` modules, as `server/src/invite.rs` draws it) at 4 pixels per module and decodes it.
fn decode(svg: &str) -> String {
    let view_box = svg.split("viewBox=\"").nth(1).and_then(|v| v.split('"').next()).expect("a viewBox");
    let side: usize = view_box.split(' ').nth(2).and_then(|w| w.parse().ok()).expect("the viewBox width");
    let path = svg.split(" d=\"").nth(1).and_then(|d| d.split('"').next()).expect("the path of dark modules");
    let mut dark = vec![false; side * side];
    for run in path.split('M').filter(|r| !r.is_empty()) {
        let (x, rest) = run.split_once(' ').expect("x y");
        let (y, rest) = rest.split_once('h').expect("h");
        let n = rest.split('v').next().expect("a run length");
        let (x, y, n): (usize, usize, usize) = (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
        for i in x..x + n {
            dark[y * side + i] = true;
        }
    }
    const SCALE: usize = 4;
    let pixels = side * SCALE;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
        if dark[(y / SCALE) * side + x / SCALE] { 0 } else { 255 }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("the code decodes").1
}

#[tokio::test]
async fn the_invite_code_decodes_to_the_servers_url() {
    let srv = server_with(skirmish_server::Config::for_tests());
    let svg = http_get(srv.addr, "/invite.svg").await;
    // The test server listens on 127.0.0.1, which is the address it can be reached at.
    let url = format!("http://{}/", srv.addr);
    assert_eq!(decode(&svg), url);
    assert!(svg.contains(&format!(">{url}</text>")), "the URL is written under the code");
}

#[tokio::test]
async fn a_public_url_is_what_the_code_holds() {
    let mut config = skirmish_server::Config::for_tests();
    config.public_url = Some("https://skirmish.example.org/r/friday".into());
    let srv = server_with(config);
    assert_eq!(decode(&http_get(srv.addr, "/invite.svg").await), "https://skirmish.example.org/r/friday");
}

#[tokio::test]
async fn a_room_invite_decodes_to_that_rooms_link() {
    let srv = server_with(skirmish_server::Config::for_tests());
    // No room of that name yet: no code. Names made up, more than the drawing rate's burst
    // (40), spend nothing of it: the open room's code below is drawn at once.
    for name in (0..60).map(|i| format!("made-up-{i}")).chain(["friday-2".into()]) {
        let none = common::http_get_raw(srv.addr, &format!("/invite.svg?room={name}")).await;
        assert_eq!(none.split(' ').nth(1), Some("404"), "{none}");
    }
    let _host = TestClient::join(&srv.ws_url(), "Host", Some("friday-2")).await;
    let url = format!("http://{}/r/friday-2", srv.addr);
    let svg = http_get(srv.addr, "/invite.svg?room=friday-2").await;
    assert_eq!(decode(&svg), url);
    assert!(svg.contains(&format!(">{url}</text>")), "the link is written under the code");
    let refused = common::http_get_raw(srv.addr, "/invite.svg?room=no%20such").await;
    assert_eq!(refused.split(' ').nth(1), Some("400"), "{refused}");
}

/// Whether a room is open is what a join would tell: a code not drawn yet costs the address one
/// of its new connections (`--connections-per-ip-per-sec`, in bursts of twice that), so a
/// private room's name is no quicker to find out here than by joining.
#[tokio::test]
async fn asking_for_room_codes_costs_an_address_what_joining_does() {
    let mut config = skirmish_server::Config::for_tests();
    config.connections_per_ip_per_sec = 1;
    let srv = server_with(config);
    let status = async |path: &str| {
        let response = common::http_get_raw(srv.addr, path).await;
        response.split(' ').nth(1).map(str::to_owned).unwrap_or_default()
    };
    // Twenty guesses: the first two are the burst; the rest, unless this machine took over 18 s
    // for them, run into the rate.
    let mut answers = Vec::new();
    for i in 0..20 {
        answers.push(status(&format!("/invite.svg?room=guess-{i}")).await);
    }
    assert_eq!(answers[..2], ["404", "404"], "{answers:?}");
    assert!(answers.iter().any(|a| a == "429"), "past the burst of 2: {answers:?}");
    assert!(answers.iter().all(|a| a == "404" || a == "429"), "{answers:?}");
    assert_eq!(status("/invite.svg").await, "200", "the server's own code costs nothing");
}
