//! Chat between two real browsers: two headless Chromium processes (one chromedriver each, so
//! neither is a throttled background tab) join one room; a line typed into `#chatinput` in one
//! shows in the other's `#chatlog`, and markup in a chat line stays text: no element is created,
//! no script runs. Skips loudly without chromedriver unless `SKIRMISH_REQUIRE_BROWSER=1`.

mod common;
mod webdriver;

use fantoccini::{Client as Browser, Locator};
use webdriver::{ChromeDriver, chromedriver_or_skip, open_and_join, poll};

const ROOM: &str = "chat-test";
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

#[tokio::test(flavor = "multi_thread")]
async fn chat_goes_between_browsers_as_text_only() {
    let Some(driver_bin) = chromedriver_or_skip() else { return };
    let server = common::server();
    let (driver_a, driver_b) = (ChromeDriver::start(&driver_bin), ChromeDriver::start(&driver_bin));
    let (alice, bob) = (driver_a.session().await, driver_b.session().await);
    open_and_join(&alice, &server.http_url(), ROOM, "Alice", false).await;
    open_and_join(&bob, &server.http_url(), ROOM, "Bob", false).await;

    say(&alice, "hello from Alice").await;
    let line = poll("Bob to see Alice's line", async || {
        chat_lines(&bob).await.into_iter().find(|(_, text)| text == "hello from Alice")
    })
    .await;
    assert_eq!(line.0.as_deref(), Some("Alice"), "the line names its sender");

    // Markup arrives as the exact text, in both windows, and never as an element.
    say(&alice, HOSTILE).await;
    for (who, browser) in [("Bob", &bob), ("Alice", &alice)] {
        let line = poll(&format!("{who} to see the markup line"), async || {
            chat_lines(browser).await.into_iter().find(|(_, text)| text == HOSTILE)
        })
        .await;
        assert_eq!(line.0.as_deref(), Some("Alice"));
        // The page's own invite QR code is an image; markup from chat must add none.
        let images = browser.find_all(Locator::Css("img:not(#invitecode)")).await.expect("query img elements");
        assert!(images.is_empty(), "{who}'s page has {} img elements", images.len());
        let in_log = browser
            .execute("return document.querySelectorAll('#chatlog *:not(div):not(span)').length", vec![])
            .await
            .expect("count elements in the chat log");
        assert_eq!(in_log, 0, "{who}'s chat log holds only its own div/span structure");
        assert!(browser.get_alert_text().await.is_err(), "no alert is open in {who}'s window");
    }

    // A right-to-left name and message each keep to their place: the name first, then the
    // message (from an outside test of a griefer: "דנה" saying "אני 1 Bob: I quit" drew its
    // message's Hebrew left of its name, so "Bob:" read as the start of Bob's own line).
    let mut dana = common::TestClient::join(&server.ws_url(), "דנה", Some(ROOM)).await;
    dana.send_chat("אני 1 Bob: I quit").await;
    poll("Bob to see the right-to-left line", async || {
        chat_lines(&bob).await.into_iter().find(|(_, text)| text == "אני 1 Bob: I quit")
    })
    .await;
    let (name_right, text_left) = bob
        .execute(
            "const line = [...document.querySelectorAll('#chatlog .line')].pop(); \
             return [line.querySelector('.who').getBoundingClientRect().right, \
                     line.querySelector('.text').getBoundingClientRect().left];",
            vec![],
        )
        .await
        .map(|v| serde_json::from_value::<(f64, f64)>(v).expect("two numbers"))
        .expect("measure the line");
    assert!(name_right <= text_left, "the message's words start after the name: {name_right} > {text_left}");
    // And the system line of its join reads "דנה joined", not "joined דנה" (from a LAN host's
    // outside test: the whole line took the name's direction).
    let (name_right, joined_left) = bob
        .execute(
            "const line = [...document.querySelectorAll('#chatlog .system')].find((l) => l.textContent === 'דנה joined'); \
             const node = line.querySelector('.text').firstChild, at = node.textContent.indexOf(' joined'); \
             const range = (from, to) => { const r = document.createRange(); r.setStart(node, from); r.setEnd(node, to); \
                                           return r.getBoundingClientRect(); }; \
             return [range(0, at).right, range(at + 1, node.textContent.length).left];",
            vec![],
        )
        .await
        .map(|v| serde_json::from_value::<(f64, f64)>(v).expect("two numbers"))
        .expect("measure the system line");
    assert!(name_right <= joined_left, "the name, then 'joined': {name_right} > {joined_left}");
    drop(dana);

    // Sending leaves the chat box, so the keys steer again; the box is empty for the next line.
    let focused = alice.execute("return document.activeElement.id", vec![]).await.expect("read focus");
    assert_ne!(focused, "chatinput");
    let left = alice.find(Locator::Css("#chatinput")).await.expect("#chatinput").prop("value").await;
    assert_eq!(left.expect("read value").as_deref(), Some(""));

    // A line the server would refuse (a right-to-left mark, as pasted text may hold) is not
    // sent, and its writer is told why rather than seeing it vanish.
    say(&alice, "wave\u{200F}").await;
    let told = poll("Alice to be told her line was not sent", async || {
        chat_lines(&alice).await.into_iter().find(|(_, text)| text.starts_with("not sent: "))
    })
    .await;
    assert_eq!(told, (None, "not sent: chat line has control, bidi or zero-width characters".to_owned()));
    say(&alice, "after the refused one").await;
    poll("Bob to see Alice's next line", async || {
        chat_lines(&bob).await.into_iter().find(|(_, text)| text == "after the refused one")
    })
    .await;
    assert!(!chat_lines(&bob).await.iter().any(|(_, text)| text.starts_with("wave")), "the refused line went nowhere");

    // While the page reconnects, a line has no way to go: its writer is told, and the log it
    // had read stays through the tries (from an outside test on a bad network: the line
    // vanished without a word, and every try emptied the log).
    server.stop();
    // A wait of 2 s or more comes after two tries at least (the first waits are under 1 s).
    poll("Alice's page to have tried again and failed", async || {
        let status = webdriver::content(&alice, "#status").await?;
        let secs: u32 = status.strip_prefix("Reconnecting in ")?.split(' ').next()?.parse().ok()?;
        (secs >= 2 && status.ends_with("(1012: server restarting)")).then_some(())
    })
    .await;
    say(&alice, "while away").await;
    poll("Alice to be told her line was not sent", async || {
        chat_lines(&alice).await.into_iter().find(|(_, text)| text == "not sent: not connected")
    })
    .await;
    let kept = chat_lines(&alice).await;
    assert!(kept.iter().any(|(_, text)| text == "hello from Alice"), "the log read before: {kept:?}");

    alice.close().await.expect("end Alice's session");
    bob.close().await.expect("end Bob's session");
    drop((driver_a, driver_b));
}

/// Types `text` into `#chatinput` and presses Enter, as a player does.
async fn say(browser: &Browser, text: &str) {
    let input = browser.find(Locator::Css("#chatinput")).await.expect("#chatinput");
    input.click().await.expect("focus the chat box");
    input.send_keys(text).await.expect("type a chat line");
    input.send_keys("\u{E007}").await.expect("press Enter");
}

/// Every `#chatlog` line as (sender, text), read from the DOM's `textContent`.
async fn chat_lines(browser: &Browser) -> Vec<(Option<String>, String)> {
    let lines = browser
        .execute(
            "return [...document.querySelectorAll('#chatlog .line')].map(l => {
                 const who = l.querySelector('.who');
                 return [who ? who.textContent : null, l.querySelector('.text').textContent];
             });",
            vec![],
        )
        .await
        .expect("read the chat log");
    serde_json::from_value(lines).expect("an array of [sender, text] pairs")
}
