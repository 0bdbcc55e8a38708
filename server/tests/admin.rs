//! The admin page and its API against the real server: nothing without a login (401, only the
//! login form), a wrong token or a login from another site refused (only wrong tokens count
//! against an address, and the refusals say why), an `HttpOnly`,
//! `SameSite=Strict` session cookie for the right token, then the rooms and players, a kick
//! (1008 with a reason, and the player's rejoin token revoked) and closing a room; every write
//! from another origin refused. In a real browser, the page itself: what an action did or why it
//! failed, that the server cannot be reached, and buttons that refreshes leave in place.
//! Sessions end: a lifetime, and Log out.

mod common;
mod webdriver;

use std::net::SocketAddr;
use std::time::Duration;

use common::{TestClient, expect_close, http_request as request, server_with};
use fantoccini::{Client as Browser, Locator};
use serde_json::json;
use skirmish_client::Client;
use webdriver::{ChromeDriver, chromedriver_or_skip, poll};

const TOKEN: &str = "correct-horse-battery-staple";
const WRONG_LOGINS: usize = skirmish_server::admin::WRONG_LOGINS_PER_MINUTE;

fn same_origin(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Logs in and returns the `Cookie` header value.
async fn log_in(addr: SocketAddr) -> String {
    let origin = same_origin(addr);
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = request(addr, "POST", "/admin/login", &form, &format!("token={TOKEN}")).await;
    assert_eq!(status, 303, "{head}");
    let set_cookie = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    let value = set_cookie.split_once(':').unwrap().1.trim().split(';').next().unwrap();
    value.to_owned()
}

fn config() -> skirmish_server::Config {
    let mut config = skirmish_server::Config::for_tests();
    config.admin_token = Some(TOKEN.into());
    config.seat_reservation = Duration::from_secs(30);
    config
}

#[tokio::test]
async fn nothing_without_a_login_and_no_login_with_a_wrong_token_or_from_elsewhere() {
    let srv = server_with(config());
    let _player = TestClient::join(&srv.ws_url(), "Visible", Some("secret-room")).await;
    let (status, _, body) = request(srv.addr, "GET", "/admin", &[], "").await;
    assert_eq!(status, 401);
    assert!(body.contains("<form") && !body.contains("secret-room") && !body.contains("/admin/api"), "{body}");
    let (status, _, body) = request(srv.addr, "GET", "/admin/api/status", &[], "").await;
    assert_eq!(status, 401);
    assert!(!body.contains("secret-room") && !body.contains("rooms"), "no data: {body}");

    let origin = same_origin(srv.addr);
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = request(srv.addr, "POST", "/admin/login", &form, "token=not-the-token").await;
    assert_eq!(status, 401);
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    let elsewhere = [("Origin", "http://evil.example"), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, _, _) = request(srv.addr, "POST", "/admin/login", &elsewhere, &format!("token={TOKEN}")).await;
    assert_eq!(status, 403, "a login from another site");
    let (status, _, _) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", "skirmish_admin=guess")], "").await;
    assert_eq!(status, 401, "a made-up session");

    // A guesser gets its attempts a minute (one is spent above), then not even the right token.
    for _ in 1..WRONG_LOGINS {
        let (status, _, _) = request(srv.addr, "POST", "/admin/login", &form, "token=guess").await;
        assert_eq!(status, 401);
    }
    let (status, head, _) = request(srv.addr, "POST", "/admin/login", &form, &format!("token={TOKEN}")).await;
    assert_eq!(status, 429, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after: "), "{head}");
}

/// From an outside test of a deployment behind nginx with TLS: the session cookie was never
/// `Secure`. It is when a trusted proxy says the browser spoke https, and only then: a LAN host
/// over plain http must still be able to log in, and a client cannot claim https itself.
#[tokio::test]
async fn the_session_cookie_is_secure_when_a_trusted_proxy_says_https() {
    let cookie_of = async |trusted: &[&str], proto: Option<&str>| {
        let mut config = config();
        config.trusted_proxies = trusted.iter().map(|p| p.parse().unwrap()).collect();
        let srv = server_with(config);
        let origin = same_origin(srv.addr);
        let mut headers = vec![("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
        headers.extend(proto.map(|p| ("X-Forwarded-Proto", p)));
        let (status, head, _) = request(srv.addr, "POST", "/admin/login", &headers, &format!("token={TOKEN}")).await;
        assert_eq!(status, 303, "{head}");
        head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a cookie").to_owned()
    };
    let secure = |cookie: &str| cookie.split(';').any(|part| part.trim().eq_ignore_ascii_case("secure"));
    assert!(secure(&cookie_of(&["127.0.0.1"], Some("https")).await), "through a trusted proxy over https");
    assert!(!secure(&cookie_of(&["127.0.0.1"], Some("http")).await), "through a trusted proxy over http");
    assert!(!secure(&cookie_of(&["127.0.0.1"], None).await), "a proxy that says nothing");
    assert!(!secure(&cookie_of(&[], Some("https")).await), "a client's own claim");
}

/// Found by an outside attack: an API call's body was parsed before the login was checked, so
/// a stranger's malformed one got 400 and a parse error (the route's shape) instead of 401.
#[tokio::test]
async fn a_strangers_body_is_never_read_and_the_admins_must_be_json() {
    let srv = server_with(config());
    let origin = same_origin(srv.addr);
    let json = [("Origin", origin.as_str()), ("Content-Type", "application/json")];
    for path in ["/admin/api/kick", "/admin/api/close-room"] {
        for (headers, body) in [(&[][..], ""), (&json[..], "x"), (&json[..], r#"{"room":"main","id":1}"#)] {
            let (status, _, answer) = request(srv.addr, "POST", path, headers, body).await;
            assert_eq!((status, answer.as_str()), (401, r#"{"error":"log in at /admin"}"#), "{path} {body:?}");
        }
    }
    let cookie = log_in(srv.addr).await;
    let logged_in = [("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
    let (status, _, answer) = request(srv.addr, "POST", "/admin/api/close-room", &logged_in, r#"{"room":"x"}"#).await;
    assert_eq!(status, 415, "no Content-Type: {answer}");
    let logged_in_json = [logged_in[0], logged_in[1], ("Content-Type", "application/json; charset=utf-8")];
    let (status, _, answer) = request(srv.addr, "POST", "/admin/api/kick", &logged_in_json, r#"{"room":"main"}"#).await;
    assert_eq!(status, 400);
    assert!(answer.contains("bad request body") && answer.contains("missing field `id`"), "{answer}");
    let (status, _, answer) =
        request(srv.addr, "POST", "/admin/api/kick", &logged_in_json, r#"{"room":"main","id":77}"#).await;
    assert_eq!(status, 404, "well formed, and no such player: {answer}");
}

/// A join from the kicked player's address to the room it was kicked from is refused.
async fn refused_as_banned(srv: &skirmish_server::ServerHandle, room: &str) {
    use futures_util::SinkExt;
    let mut ws = common::raw(&srv.ws_url()).await;
    let hello = Client::new("Again", Some(room.to_owned())).on_open();
    ws.send(tokio_tungstenite::tungstenite::Message::binary(hello)).await.expect("send Hello");
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, skirmish_server::lobby::banned_reason(skirmish_server::lobby::KICK_BAN).as_str())
    );
}

#[tokio::test]
async fn a_logged_in_admin_sees_the_rooms_and_kicks_a_player_whose_token_is_revoked() {
    let srv = server_with(config());
    let cookie = log_in(srv.addr).await;
    let (status, _, page) = request(srv.addr, "GET", "/admin", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200);
    assert!(page.contains("/admin/api/status"), "the admin page");

    let mut player = TestClient::join(&srv.ws_url(), "Troll", Some("arena-1")).await;
    let (id, token) = (player.id(), player.core.rejoin_token().to_owned());
    let (status, _, body) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{body}");
    let status_json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let room = &status_json["rooms"][0];
    assert_eq!(room["name"], "arena-1");
    assert_eq!(room["players"][0]["name"], "Troll");
    // With its address: the host can tell one machine's many players, or two of one name, apart.
    assert_eq!(room["players"][0]["address"], "127.0.0.1");
    // And who opened the room: an address whose empty rooms pile up is one to look at.
    assert_eq!(room["opened_by"], "127.0.0.1");
    assert!(room["tick_p99_ms"].as_f64().is_some() && status_json["uptime_s"].as_f64().is_some(), "{body}");
    // Players and spectators are counted apart (a spectator used to count as a player).
    let watcher = TestClient::join_as(&srv.ws_url(), "Eye", Some("arena-1"), true).await;
    let (_, _, body) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
    let counts: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!((&counts["players"], &counts["spectators"]), (&serde_json::json!(2), &serde_json::json!(1)), "{body}");
    drop(watcher);
    // And the watcher's leaving is counted too.
    poll("the spectator count back to 0", async || {
        let (_, _, body) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
        let counts: serde_json::Value = serde_json::from_str(&body).ok()?;
        (counts["spectators"] == 0 && counts["players"] == 1).then_some(())
    })
    .await;

    let kick = format!(r#"{{"room":"arena-1","id":{id}}}"#);
    let json = ("Content-Type", "application/json");
    let (status, _, _) = request(srv.addr, "POST", "/admin/api/kick", &[("Cookie", &cookie), json], &kick).await;
    assert_eq!(status, 403, "a write without an Origin");
    let origin = same_origin(srv.addr);
    let with_origin = [("Cookie", cookie.as_str()), json, ("Origin", origin.as_str())];
    let (status, _, body) = request(srv.addr, "POST", "/admin/api/kick", &with_origin, &kick).await;
    assert_eq!(status, 200, "{body}");
    let (code, reason) = expect_close(&mut player.ws).await;
    assert_eq!((code, reason.as_str()), (1008, "kicked by the host"));

    // Its address may not come back into the room for a while (a griefer was back in half a
    // second); and its token no longer gives its seat back, from anywhere.
    refused_as_banned(&srv, "arena-1").await;
    let mut again =
        TestClient::join_from(&srv, "127.0.0.3", Client::new("Troll", Some("arena-1".to_owned())).rejoin(&token)).await;
    assert_ne!(again.id(), id, "a newcomer, not the kicked player");

    let close = r#"{"room":"arena-1"}"#;
    let (status, _, body) = request(srv.addr, "POST", "/admin/api/close-room", &with_origin, close).await;
    assert_eq!(status, 200, "{body}");
    let (code, reason) = expect_close(&mut again.ws).await;
    assert_eq!((code, reason.as_str()), (1008, "room closed by the host"));
}

/// A lost player's kept seat can be kicked too: freed, and its token leads nowhere.
#[tokio::test]
async fn the_admin_kicks_a_kept_seat() {
    let srv = server_with(config());
    let cookie = log_in(srv.addr).await;
    let mut keeper = TestClient::join(&srv.ws_url(), "Keeper", Some("evade")).await;
    let (id, token) = keeper.see_lost(&srv.ws_url(), "Evader", "evade").await;

    let origin = same_origin(srv.addr);
    let headers = [("Cookie", cookie.as_str()), ("Content-Type", "application/json"), ("Origin", origin.as_str())];
    // Found by an outside attack: the status listed connected players only, so the host saw
    // no row (and no Kick button) for a kept seat whose ship plays on in the world.
    let (status, _, body) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let players = listed["rooms"].as_array().and_then(|r| r.iter().find(|r| r["name"] == "evade")).expect("the room");
    let evader = players["players"].as_array().and_then(|p| p.iter().find(|p| p["id"] == id)).expect("listed");
    assert_eq!((evader["name"].as_str(), evader["away"].as_bool()), (Some("Evader"), Some(true)), "{evader}");
    let kick = format!(r#"{{"room":"evade","id":{id}}}"#);
    let (status, _, body) = request(srv.addr, "POST", "/admin/api/kick", &headers, &kick).await;
    assert_eq!(status, 200, "{body}");
    refused_as_banned(&srv, "evade").await;
    let again =
        TestClient::join_from(&srv, "127.0.0.3", Client::new("Evader", Some("evade".to_owned())).rejoin(&token)).await;
    assert_ne!(again.id(), id, "a newcomer: the kept seat was kicked");
}

/// Closing a room ends it at once, with no empty-room grace: whoever comes next opens a new
/// room of that name, not the closed one's match.
#[tokio::test]
async fn a_closed_room_goes_at_once() {
    let mut config = config();
    config.empty_room_grace = Duration::from_secs(60);
    let srv = server_with(config);
    let cookie = log_in(srv.addr).await;
    let mut first = TestClient::join(&srv.ws_url(), "First", Some("closeme")).await;
    let mut second = TestClient::join(&srv.ws_url(), "Second", Some("closeme")).await;

    let origin = same_origin(srv.addr);
    let headers = [("Cookie", cookie.as_str()), ("Content-Type", "application/json"), ("Origin", origin.as_str())];
    let (status, _, body) = request(srv.addr, "POST", "/admin/api/close-room", &headers, r#"{"room":"closeme"}"#).await;
    assert_eq!(status, 200, "{body}");
    for player in [&mut first, &mut second] {
        let (code, reason) = expect_close(&mut player.ws).await;
        assert_eq!((code, reason.as_str()), (1008, "room closed by the host"));
    }
    let deadline = std::time::Instant::now() + common::WAIT;
    loop {
        let rooms = common::http_get(srv.addr, "/api/rooms").await;
        if !rooms.contains(r#""name":"closeme""#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still listed: {rooms}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let newcomer = TestClient::join(&srv.ws_url(), "Third", Some("closeme")).await;
    assert_eq!(newcomer.core.roster().len(), 1, "alone in a new room");
}

/// Opens `/admin` in a real browser and logs in through its form; `confirm()` answers yes.
async fn admin_in_browser(driver: &ChromeDriver, srv: &skirmish_server::ServerHandle) -> Browser {
    let browser = driver.session().await;
    browser.goto(&format!("{}/admin", srv.http_url())).await.expect("the login page loads");
    browser.find(Locator::Css("#token")).await.expect("#token").send_keys(TOKEN).await.expect("type the token");
    browser.find(Locator::Css("form button")).await.expect("Log in").click().await.expect("log in");
    poll("the admin page", async || webdriver::content(&browser, "#rooms").await).await;
    browser.execute("window.confirm = () => true;", vec![]).await.expect("answer confirms");
    browser
}

/// Finds the Kick button of the player named `arguments[0]` (`null` while not listed).
const KICK_BUTTON: &str = "const row = [...document.querySelectorAll('#rooms tr')] \
    .find((tr) => tr.children[1] && tr.children[1].textContent === arguments[0]); \
    return row ? row.querySelector('button') : null;";

/// The text of the page's status line (`#notice`), once it contains `part`.
async fn notice_with(browser: &Browser, part: &str) -> String {
    poll(&format!("#notice to say {part:?}"), async || {
        webdriver::content(browser, "#notice").await.filter(|t| t.contains(part))
    })
    .await
}

/// Found by an outside test of a LAN host: the page ignored the answer to an action, so a Kick
/// that missed (404: the player had rejoined with a new id) looked like one that worked.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_says_what_an_action_did_or_why_it_failed() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let srv = server_with(config());
    let mut troll = TestClient::join(&srv.ws_url(), "Troll", Some("arena")).await;
    let _ghost = TestClient::join(&srv.ws_url(), "Ghost", Some("arena")).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = admin_in_browser(&driver, &srv).await;

    poll("Ghost's Kick button", async || {
        let found = browser.execute(KICK_BUTTON, vec![json!("Ghost")]).await.ok()?;
        (!found.is_null()).then_some(())
    })
    .await;
    // Each row shows the player's address in a cell of its own.
    let address = browser
        .execute(
            "const row = [...document.querySelectorAll('#rooms tr')].find((tr) => tr.children[1] && \
             tr.children[1].textContent === 'Ghost'); return row ? row.children[3].textContent : null;",
            vec![],
        )
        .await
        .expect("read the row");
    assert_eq!(address, json!("127.0.0.1"));
    // The host clicks Kick on Ghost just after someone else kicked it: the server answers 404.
    let stale = "const button = (() => { ARGS })(); \
        const ghost = button.closest('tr').children[0].textContent; \
        return fetch('/admin/api/kick', { method: 'POST', headers: { 'content-type': 'application/json' }, \
            body: JSON.stringify({ room: 'arena', id: Number(ghost) }) }).then(() => { button.click(); });"
        .replace("ARGS", &KICK_BUTTON.replace("arguments[0]", "'Ghost'"));
    browser.execute(&stale, vec![]).await.expect("kick Ghost twice");
    let failed = notice_with(&browser, "no such player in that room").await;
    assert!(failed.contains("404") && failed.contains("Ghost"), "{failed}");

    let kick = browser.execute(KICK_BUTTON, vec![json!("Troll")]).await.expect("find Troll's row");
    let kick = browser.execute("arguments[0].click();", vec![kick]).await;
    kick.expect("click Kick");
    let done = notice_with(&browser, "Troll kicked").await;
    assert!(done.contains("arena") && !done.contains("failed"), "{done}");
    let (code, _) = expect_close(&mut troll.ws).await;
    assert_eq!(code, 1008);

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    srv.stop();
}

/// Found by an outside test of a LAN host: with the server down, the page went on showing its
/// last numbers as if they were live (a refresh's network error just threw). It says the server
/// cannot be reached and since when, and once a server answers there again (a restart: the
/// session is gone) it is back at the login.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_says_when_the_server_cannot_be_reached_and_recovers() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let srv = server_with(config());
    let _player = TestClient::join(&srv.ws_url(), "Ada", Some("arena")).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = admin_in_browser(&driver, &srv).await;
    poll("Ada listed", async || webdriver::content(&browser, "#rooms").await.filter(|t| t.contains("Ada"))).await;
    let conn = webdriver::content(&browser, "#conn").await.unwrap_or_default();
    assert!(conn.is_empty(), "nothing to say while it answers: {conn}");

    let addr = srv.addr;
    srv.stop();
    let down = poll("#conn to say the server is down", async || {
        webdriver::content(&browser, "#conn").await.filter(|t| t.contains("cannot be reached since"))
    })
    .await;
    assert!(down.contains("the numbers below are from its last answer, at"), "{down}");
    let stale = browser.execute("return document.body.classList.contains('stale');", vec![]).await.expect("probe");
    assert_eq!(stale, json!(true), "the old numbers are dimmed");

    let mut again = config();
    again.port = addr.port();
    let srv = server_with(again);
    poll("the login form of the restarted server", async || {
        browser.find(Locator::Css("#token")).await.ok().map(|_| ())
    })
    .await;

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    srv.stop();
}

/// Found by an outside test of a LAN host: the page rebuilt every button every 2 s, so about one
/// click in ten (its press and release spanning a rebuild) was lost, and a selection was wiped.
/// Across refreshes the rows and their buttons stay the same elements, and a selection stays.
#[tokio::test(flavor = "multi_thread")]
async fn refreshes_keep_the_buttons_and_the_selection() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let srv = server_with(config());
    let _player = TestClient::join(&srv.ws_url(), "Ada", Some("arena")).await;
    let driver = ChromeDriver::start(&driver_bin);
    let browser = admin_in_browser(&driver, &srv).await;
    let kick = poll("Ada's Kick button", async || {
        let found = browser.execute(KICK_BUTTON, vec![json!("Ada")]).await.ok()?;
        (!found.is_null()).then_some(found)
    })
    .await;
    // The host selects Ada's name (to copy it).
    let select = "window.kick = arguments[0]; const cell = kick.closest('tr').children[1]; const range = document.createRange(); \
        range.selectNodeContents(cell); getSelection().removeAllRanges(); getSelection().addRange(range);";
    browser.execute(select, vec![kick]).await.expect("select the name");

    // Two refreshes (the uptime in the summary changes with each).
    for _ in 0..2 {
        let before = webdriver::content(&browser, "#summary").await;
        poll("a refresh", async || {
            webdriver::content(&browser, "#summary").await.filter(|s| Some(s) != before.as_ref())
        })
        .await;
    }
    // Who is playing and who is watching, and the uptime in words.
    let summary = webdriver::content(&browser, "#summary").await.unwrap_or_default();
    assert!(
        summary.starts_with("up ") && summary.contains(" s · ") && summary.contains("1 playing, 0 watching"),
        "{summary}"
    );
    let probe = "return [window.kick.isConnected, getSelection().toString()];";
    let kept = browser.execute(probe, vec![]).await.expect("probe");
    assert_eq!(kept, json!([true, "Ada"]), "the same button, and the selection");

    // The page's Log out (a form POST, with the page's Origin) ends the session: the login form.
    browser.find(Locator::Css("#logout button")).await.expect("Log out").click().await.expect("log out");
    poll("the login form", async || browser.find(Locator::Css("#token")).await.ok().map(|_| ())).await;
    let status = "return fetch('/admin/api/status').then((res) => res.status);";
    assert_eq!(browser.execute(status, vec![]).await.expect("ask"), json!(401));

    browser.close().await.expect("end the WebDriver session");
    drop(driver);
    srv.stop();
}

/// Found by an outside test of a LAN host: right logins counted against the login limit, so a
/// host running the README's curl recipe in a loop locked itself out; and the 401 and 429 were
/// the bare form, with no word of why. Only wrong tokens count, and each refusal says why.
#[tokio::test]
async fn right_logins_never_lock_the_host_out_and_refusals_say_why() {
    let srv = server_with(config());
    for _ in 0..3 * WRONG_LOGINS {
        log_in(srv.addr).await;
    }
    let origin = same_origin(srv.addr);
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    for _ in 0..WRONG_LOGINS {
        let (status, _, body) = request(srv.addr, "POST", "/admin/login", &form, "token=guess").await;
        assert_eq!(status, 401);
        assert!(body.contains("<form") && body.contains("wrong token"), "{body}");
    }
    let (status, head, body) = request(srv.addr, "POST", "/admin/login", &form, &format!("token={TOKEN}")).await;
    assert_eq!(status, 429, "past its wrong tries even the right token waits: {head}");
    let retry_after: u64 = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{head}");
    let why = format!("too many wrong tries from your address: try again in {retry_after} s");
    assert!(body.contains("<form") && body.contains(&why), "{body}");
}

/// The host reads in the log who logged in (at info, with the address, never the token) and when
/// an address was locked out: once per lockout, not once per refused request.
#[tokio::test]
async fn logins_and_lockouts_are_logged_once_without_the_token() {
    use std::io::{BufRead as _, Read as _};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skirmish"))
        .args(["--bind", "127.0.0.1", "--port", "0", "--no-qr", "--admin-token", TOKEN])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut banner = String::new();
    let port: u16 = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).expect("utf-8 stdout") > 0, "no banner:\n{banner}");
        banner += &line;
        if let Some(url) = line.trim().strip_prefix("Local:") {
            break url.trim().trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    log_in(addr).await;
    let origin = same_origin(addr);
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    for _ in 0..WRONG_LOGINS {
        assert_eq!(request(addr, "POST", "/admin/login", &form, "token=guess").await.0, 401);
    }
    for _ in 0..3 {
        assert_eq!(request(addr, "POST", "/admin/login", &form, "token=guess").await.0, 429);
    }
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let mut log = String::new();
    child.stderr.take().expect("piped").read_to_string(&mut log).expect("utf-8 stderr");
    assert!(child.wait().expect("the server exits").success());
    let lines = |what: &str| log.lines().filter(|l| l.contains(what)).collect::<Vec<_>>();
    let logged_in = lines("admin logged in");
    assert!(logged_in.len() == 1 && logged_in[0].contains("INFO") && logged_in[0].contains("127.0.0.1"), "{log}");
    let locked = lines("locked out");
    assert!(locked.len() == 1 && locked[0].contains("WARN") && locked[0].contains("127.0.0.1"), "{log}");
    assert!(!log.contains(TOKEN), "the token is never logged:\n{log}");
}

/// Found by an outside test of a LAN host: a session never ended (its cookie had no `Max-Age`,
/// the server's set of sessions only grew) and there was no way to log out. A session lasts
/// `SESSION_LIFETIME` (the cookie's `Max-Age` too), and the page's Log out ends it, from the
/// page's own origin only.
#[tokio::test]
async fn a_session_has_a_lifetime_and_logging_out_ends_it() {
    let srv = server_with(config());
    let origin = same_origin(srv.addr);
    let form = [("Origin", origin.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    let (status, head, _) = request(srv.addr, "POST", "/admin/login", &form, &format!("token={TOKEN}")).await;
    assert_eq!(status, 303, "{head}");
    let max_age = format!("Max-Age={}", skirmish_server::admin::SESSION_LIFETIME.as_secs());
    assert!(head.lines().any(|l| l.starts_with("set-cookie:") && l.contains(&max_age)), "{max_age}: {head}");
    let cookie = log_in(srv.addr).await;

    let (status, _, page) = request(srv.addr, "GET", "/admin", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<form method="post" action="/admin/logout""#), "a Log out button");
    for elsewhere in
        [&[("Cookie", cookie.as_str())][..], &[("Cookie", cookie.as_str()), ("Origin", "http://evil.example")]]
    {
        let (status, _, _) = request(srv.addr, "POST", "/admin/logout", elsewhere, "").await;
        assert_eq!(status, 403, "a logout from another site");
    }
    let (status, _, _) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200, "still logged in");

    let (status, head, _) =
        request(srv.addr, "POST", "/admin/logout", &[("Cookie", cookie.as_str()), ("Origin", origin.as_str())], "")
            .await;
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /admin"), "{head}");
    let cleared = head.lines().find(|l| l.starts_with("set-cookie: skirmish_admin=")).expect("the cookie cleared");
    assert!(cleared.contains("Max-Age=0") && cleared.contains("Path=/admin"), "{cleared}");
    let (status, _, _) = request(srv.addr, "GET", "/admin/api/status", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 401, "the session is gone on the server too, not just in the browser");
}
