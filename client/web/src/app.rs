//! The page: wires the join form, the WebSocket, the 30 Hz input timer and the render loop to the
//! client core. Only browser plumbing lives here; what the bytes mean is `skirmish_client`'s job.
//! Page-lifetime listeners are leaked with `forget` on purpose; per-socket ones die with the socket.

use std::cell::RefCell;
use std::rc::Rc;

use glam::Vec2;
use skirmish_client::{ChatEntry, Client, ConnState, Event};
use skirmish_shared::PlayerId;
use skirmish_shared::consts::{ARENA_HEIGHT, ARENA_WIDTH, INPUT_PERIOD_MS, PING_PERIOD_MS, TICK_RATE_HZ};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CanvasRenderingContext2d, CloseEvent, HtmlButtonElement, HtmlCanvasElement, HtmlElement,
    HtmlFormElement, HtmlInputElement, MessageEvent, Performance, Storage, WebSocket, Window, console,
};

use crate::camera::Camera;
use crate::controls::{self, Command};
use crate::cues::{Cues, Effects, Sound};
use crate::devices::{self, Action, Devices, listen};
use crate::hud::{self, FpsMeter};
use crate::minimap::{self, Blip};
use crate::netstats::{Extra, NetMeter, Totals};
use crate::render::{self, Scene};
use crate::sound::Sounds;
use crate::ui::{FrameInfo, Ui, by_id};
use crate::{name, reconnect, resume, room, spectate};

/// How often the network overlay's text is refreshed while shown.
const NETSTATS_REFRESH_MS: f64 = 250.0;
/// Where the chosen name is remembered between visits.
const NAME_STORAGE_KEY: &str = "skirmish.name";
/// Where the mute choice is remembered ("1" muted).
const MUTE_STORAGE_KEY: &str = "skirmish.muted";
/// Inputs are skipped while this much is still unsent: they would only arrive late, behind the
/// backlog, and the server keeps using the previous input meanwhile.
const MAX_BUFFERED_BYTES: u32 = 8 * 1024;

/// The page's own elements (the HUD's are in [`Ui`]), looked up once.
struct Page {
    window: Window,
    performance: Performance,
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    join: HtmlFormElement,
    name: HtmlInputElement,
    spectate: HtmlInputElement,
    private: HtmlInputElement,
    play: HtmlButtonElement,
    /// Why the link's `?room=` cannot be joined, shown in the form instead of connecting.
    roomcheck: HtmlElement,
}

impl Page {
    fn find(window: Window) -> Result<Page, JsValue> {
        let document = window.document().ok_or("no document")?;
        let performance = window.performance().ok_or("no performance clock")?;
        let canvas: HtmlCanvasElement = by_id(&document, "arena")?;
        let ctx = canvas.get_context("2d")?.ok_or("no 2D canvas context")?.dyn_into::<CanvasRenderingContext2d>()?;
        Ok(Page {
            join: by_id(&document, "join")?,
            name: by_id(&document, "name")?,
            spectate: by_id(&document, "spectate")?,
            private: by_id(&document, "private")?,
            play: by_id(&document, "play")?,
            roomcheck: by_id(&document, "roomcheck")?,
            window,
            performance,
            canvas,
            ctx,
        })
    }

    fn storage(&self) -> Option<Storage> {
        // Private browsing may refuse storage; things are then just not remembered.
        self.window.local_storage().ok().flatten()
    }

    /// The tab's own storage, gone with the tab (see `resume`).
    fn session(&self) -> Option<Storage> {
        self.window.session_storage().ok().flatten()
    }
}

/// One WebSocket and the core driving it.
struct Connection {
    ws: WebSocket,
    client: Client,
    last_ping_ms: f64,
    /// When the connection began, or its last snapshot arrived (page clock, ms): see
    /// [`reconnect::SERVER_SILENT_MS`].
    heard_ms: f64,
    /// The socket's event handlers; kept alive exactly as long as the socket is ours.
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Detach first, so a late event from the old socket never reaches a freed closure.
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close_with_code_and_reason(1000, "reconnecting");
        }
    }
}

struct App {
    page: Page,
    ui: Ui,
    devices: Rc<Devices>,
    sounds: Sounds,
    conn: Option<Connection>,
    /// The camera of the last frame, to turn the pointer into a world position when aiming.
    camera: Camera,
    /// Our ship on screen in the last frame, the origin of the aim.
    my_screen: Option<Vec2>,
    /// The aim last sent: kept when no device says otherwise (a lifted finger).
    aim: f32,
    /// Whom a spectator last asked to follow, until the server's views are of that player: the
    /// next Q/E steps on from it rather than from a view that is one round trip old.
    follow_asked: Option<PlayerId>,
    cues: Cues,
    effects: Effects,
    fps: FpsMeter,
    /// The network overlay's figures, kept whether it shows or not (jitter needs history).
    net: NetMeter,
    /// Whether the overlay shows (F3), and when its text is next refreshed.
    net_shown: bool,
    net_next_ms: f64,
    /// The bytes of the message being handled, and the events it gave: both reused, so the
    /// 30 Hz path allocates nothing of ours per message.
    received: Vec<u8>,
    events: Vec<Event>,
    /// The radar blips outside the view, rebuilt each frame into the same list.
    blips: Vec<Blip>,
    /// Scratch for the blips: the ships the snapshot shows, per radar cell.
    seen_cells: Vec<u8>,
    /// Retries since the connection was last lost (0 once a `Welcome` arrives).
    retries: u32,
    /// Why the connection that began these retries ended, as the status says it.
    lost: String,
    /// The timer of the pending automatic reconnect and its callback (kept alive until it
    /// fires or is cancelled).
    retry_timer: Option<(i32, Closure<dyn FnMut()>)>,
    /// While a reconnect is pending: when it fires (page clock, ms) and why the connection
    /// ended, from which the status counts the seconds down.
    retry_status: Option<(f64, String)>,
    /// When the input timer last ran (page clock, ms): a tick without it means the browser
    /// is throttling the page's timers.
    timer_ms: f64,
    /// The token of the seat a reloaded page takes back (`resume`), for its first connection.
    resume_token: String,
}

type Shared = Rc<RefCell<App>>;

/// The cross-platform determinism check (`shared::sim::replay_hash`) run in the page's wasm,
/// as 16 hex digits; the page exposes it as `window.skirmishSimCheck` for the browser test,
/// which compares it with the same steps run natively.
#[wasm_bindgen]
pub fn sim_check(seed: u32, steps: u32) -> String {
    format!("{:016x}", skirmish_shared::sim::replay_hash(seed.into(), steps))
}

/// Entry point, called by the page's module script after `init()`.
#[wasm_bindgen]
pub fn start() -> Result<(), JsValue> {
    install_panic_hook();
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let page = Page::find(window)?;
    let ui = Ui::find(&document)?;
    let storage = page.storage();
    let stored = storage.as_ref().and_then(|s| s.get_item(NAME_STORAGE_KEY).ok().flatten());
    if let Some(stored) = stored.as_deref().and_then(name::clean_name) {
        page.name.set_value(&stored);
    }
    page.name.set_placeholder(&name::default_name(js_sys::Math::random()));
    let muted = storage.and_then(|s| s.get_item(MUTE_STORAGE_KEY).ok().flatten()).as_deref() == Some("1");
    ui.set_muted(muted);

    let devices = Rc::new(Devices::default());
    devices::wire(&devices, &page.window, &page.canvas, &ui.chatinput, ui.mute.as_ref());
    let app = Rc::new(RefCell::new(App {
        page,
        ui,
        devices,
        sounds: Sounds::new(muted),
        conn: None,
        camera: Camera::follow(Vec2::ONE, Vec2::ONE, Vec2::ZERO),
        my_screen: None,
        aim: 0.0,
        follow_asked: None,
        cues: Cues::default(),
        effects: Effects::default(),
        fps: FpsMeter::default(),
        net: NetMeter::new(1000.0 / f64::from(TICK_RATE_HZ)),
        net_shown: false,
        net_next_ms: 0.0,
        received: Vec::new(),
        events: Vec::new(),
        blips: Vec::new(),
        seen_cells: Vec::new(),
        retries: 0,
        lost: String::new(),
        retry_timer: None,
        retry_status: None,
        timer_ms: 0.0,
        resume_token: String::new(),
    }));

    wire_buttons(&app);
    start_input_timer(&app)?;
    start_render_loop(&app)?;

    let a = app.borrow();
    if let Some(why) = link_problem(&a.page.window) {
        // Play stays disabled: the form's room list and the lobby link are the ways on.
        a.ui.status.set_text_content(Some("not joining: the link's room name is not valid"));
        a.page.roomcheck.insert_adjacent_text("afterbegin", &why)?;
        a.page.roomcheck.set_hidden(false);
        return Ok(());
    }
    a.ui.status.set_text_content(Some("ready: pick a name and press Play"));
    a.page.play.set_disabled(false);
    // Back in the room it was in moments ago (a reload): take the place back at once. A link
    // asking to watch (`?room=NAME&spectate`, a caster's) watches at once.
    // The link's `spectate`, if it has one, decides between watching and playing.
    let room = room_param(&a.page.window);
    let spectate = query_param(&a.page.window, "spectate").map(|v| !matches!(v.as_str(), "0" | "false"));
    let session = a.page.session();
    let saved = session.as_ref().and_then(|s| s.get_item(resume::STORAGE_KEY).ok().flatten());
    // Taken once: a tab duplicated later copies no place to take over.
    if let Some(session) = &session {
        let _ = session.remove_item(resume::STORAGE_KEY);
    }
    let place = saved
        .and_then(|text| resume::load(&text, room.as_deref(), js_sys::Date::now()))
        .filter(|place| spectate.is_none_or(|watch| watch == place.spectate));
    let watch = room.is_some() && spectate == Some(true);
    drop(a);
    if let Some(place) = place {
        let mut a = app.borrow_mut();
        a.page.spectate.set_checked(place.spectate);
        a.resume_token = place.token;
        a.follow_asked = place.follow;
        drop(a);
        play(&app);
    } else if watch {
        app.borrow().page.spectate.set_checked(true);
        play(&app);
    }
    Ok(())
}

/// Reports a panic in the console and on the page instead of a bare "unreachable" trap.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console::error_1(&format!("skirmish panicked: {info}").into());
        if let Some(status) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("status")) {
            status.set_text_content(Some("crashed: please reload the page"));
        }
    }));
}

fn wire_buttons(app: &Shared) {
    let a = app.borrow();
    let shared = Rc::clone(app);
    listen(a.page.join.as_ref(), "submit", move |ev: web_sys::Event| {
        ev.prevent_default(); // no page reload
        play(&shared);
    });
    // Where the page may be gone next (a reload, a phone's app switch), its place is saved, and
    // only then: a tab duplicated while this one shows copies no place to take over. A page
    // left (`pagehide`: it may sit in the back/forward cache, socket open) or frozen gives its
    // connection up, and reconnects if it is shown again. (`visibilitychange` bubbles from
    // the document to the window; `freeze` may not.)
    let targets: [(&web_sys::EventTarget, &str); 3] = [
        (a.page.window.as_ref(), "visibilitychange"),
        (a.page.window.as_ref(), "pagehide"),
        (a.ui.document().as_ref(), "freeze"),
    ];
    for (target, kind) in targets {
        let shared = Rc::clone(app);
        listen(target, kind, move |ev: web_sys::Event| {
            let Ok(mut a) = shared.try_borrow_mut() else { return };
            let hidden = a.ui.document().hidden();
            if hidden || ev.type_() != "visibilitychange" {
                a.save_place();
            } else if let Some(session) = a.page.session() {
                let _ = session.remove_item(resume::STORAGE_KEY);
            }
            if ev.type_() != "visibilitychange"
                && let Some(delay) = a.give_up_connection(reconnect::AWAY_CODE, reconnect::AWAY_REASON)
            {
                schedule_retry(&shared, &mut a, delay);
            }
        });
    }
    let shared = Rc::clone(app);
    listen(a.ui.reconnect.as_ref(), "click", move |_: web_sys::Event| {
        let name = shared.borrow().page.name.value();
        let name = name::clean_name(&name).unwrap_or_else(|| name::default_name(js_sys::Math::random()));
        connect(&shared, name);
    });
}

/// Joins as the form says: the name typed (or the suggested one), remembered for next time.
fn play(app: &Shared) {
    let name = {
        let a = app.borrow();
        // Play is disabled then, but a script or an old browser may still submit.
        if link_problem(&a.page.window).is_some() {
            return;
        }
        let name = name::clean_name(&a.page.name.value())
            .or_else(|| name::clean_name(&a.page.name.placeholder()))
            .unwrap_or_else(|| name::default_name(js_sys::Math::random()));
        a.page.name.set_value(&name);
        if let Some(storage) = a.page.storage() {
            let _ = storage.set_item(NAME_STORAGE_KEY, &name);
        }
        let _ = a.page.name.blur();
        a.page.join.set_hidden(true);
        name
    };
    connect(app, name);
}

/// `ws(s)://<host that served the page>/ws`.
fn socket_url(window: &Window) -> Result<String, JsValue> {
    let location = window.location();
    let scheme = if location.protocol()? == "https:" { "wss:" } else { "ws:" };
    Ok(format!("{scheme}//{}/ws", location.host()?))
}

/// The `?room=NAME` query parameter, if present and not empty.
fn room_param(window: &Window) -> Option<String> {
    query_param(window, "room").filter(|room| !room.is_empty())
}

/// The page's query parameter `key`, if present.
fn query_param(window: &Window, key: &str) -> Option<String> {
    let search = window.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(key)
}

/// Why the page's `?room=NAME` cannot be joined (`room::link_problem`), if it cannot.
fn link_problem(window: &Window) -> Option<String> {
    room_param(window).and_then(|room| room::link_problem(&room))
}

/// The room `Hello` asks for: the page's `?room=NAME`; else, for a private game, a fresh random
/// name nobody can guess (the link to share appears in the address bar once joined); else quick
/// play (empty: the server picks the fullest public room with space).
fn room_to_ask(window: &Window, private: bool) -> String {
    match room_param(window) {
        Some(room) => room,
        None if private => {
            // Unambiguous letters and digits; 31^10 names (about 2^50) are not guessed.
            const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
            let pick =
                |_| char::from(ALPHABET[(js_sys::Math::random() * ALPHABET.len() as f64) as usize % ALPHABET.len()]);
            format!("p-{}", (0..10).map(pick).collect::<String>())
        }
        None => String::new(),
    }
}

/// Puts the joined room in the address bar (`?room=NAME`, without a reload), so a reload or a
/// reconnect returns to it and the address is the link to share.
fn show_room_in_address(window: &Window, room: &str) {
    if room_param(window).as_deref() == Some(room) {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?room={room}")));
    }
}

/// Opens a fresh socket as `name`, replacing (and closing) any previous one.
/// Reconnects by itself after `delay_ms`, as the same player to the same room (the address bar
/// names it since the `Welcome`), unless the player does it first.
fn schedule_retry(app: &Shared, a: &mut App, delay_ms: f64) {
    a.cancel_retry();
    let shared = Rc::clone(app);
    let callback = Closure::<dyn FnMut()>::new(move || {
        let name = shared.borrow().page.name.value();
        let name = name::clean_name(&name).unwrap_or_else(|| name::default_name(js_sys::Math::random()));
        connect(&shared, name);
    });
    let handle = a
        .page
        .window
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), delay_ms as i32);
    match handle {
        Ok(handle) => a.retry_timer = Some((handle, callback)),
        Err(e) => console::error_2(&"skirmish: cannot schedule a reconnect".into(), &e),
    }
}

fn connect(app: &Shared, name: String) {
    let mut a = app.borrow_mut();
    a.cancel_retry();
    a.retry_status = None;
    // After a lost connection, the seat the server keeps for a while goes with the token (a
    // reloaded page's first connection has the one it saved).
    let resumed = std::mem::take(&mut a.resume_token);
    let rejoin = a.conn.as_ref().map_or(resumed, |c| c.client.rejoin_token().to_owned());
    // A spectator watches the same player again once back (the server's choice otherwise).
    a.follow_asked = a.follow_asked.or(a.conn.as_ref().and_then(|c| c.client.subject()));
    a.conn = None;
    a.cues = Cues::default();
    a.net = NetMeter::new(1000.0 / f64::from(TICK_RATE_HZ));
    // A new player's page starts a new log; one taking its seat back keeps what it had read.
    if rejoin.is_empty() {
        a.ui.clear_logs();
    }
    // Joining is a user gesture: the moment browsers allow audio to start loading.
    a.sounds.load();
    let private = a.page.private.checked();
    let room = room_to_ask(&a.page.window, private);
    let client = Client::new(name, Some(room))
        .ask_to_spectate(a.page.spectate.checked())
        .private(private)
        .rejoin(&rejoin)
        .predict(true);
    let ws = match socket_url(&a.page.window).and_then(|url| WebSocket::new(&url)) {
        Ok(ws) => ws,
        Err(e) => {
            console::error_2(&"skirmish: cannot open the WebSocket".into(), &e);
            a.ui.status.set_text_content(Some(&hud::closed_text(1006, "cannot open the connection")));
            a.ui.reconnect.set_hidden(false);
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = socket_handler(app, |a, _| a.on_open());
    let on_message = socket_handler(app, |a, ev| a.on_message(ev.unchecked_into()));
    let retry_app = Rc::clone(app);
    let on_close = socket_handler(app, move |a, ev| {
        let ev: CloseEvent = ev.unchecked_into();
        if let Some(delay) = a.on_close(ev.code(), &ev.reason()) {
            schedule_retry(&retry_app, a, delay);
        }
    });
    let on_error = socket_handler(app, |_, _| console::warn_1(&"skirmish: WebSocket error".into()));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    a.conn = Some(Connection {
        ws,
        client,
        last_ping_ms: f64::NEG_INFINITY,
        heard_ms: a.page.performance.now(),
        _handlers: vec![on_open, on_message, on_close, on_error],
    });
    a.refresh_status();
}

fn socket_handler(app: &Shared, f: impl Fn(&mut App, JsValue) + 'static) -> Closure<dyn FnMut(JsValue)> {
    let app = Rc::clone(app);
    Closure::new(move |ev: JsValue| match app.try_borrow_mut() {
        Ok(mut a) => f(&mut a, ev),
        // Socket events are dispatched from the event loop, never inside another handler of ours;
        // should that ever change, dropping one event beats a panic.
        Err(_) => console::warn_1(&"skirmish: socket event while busy, dropped".into()),
    })
}

impl App {
    fn on_open(&mut self) {
        let Some(conn) = self.conn.as_mut() else { return };
        let hello = conn.client.on_open();
        send(&conn.ws, &hello);
        self.refresh_status();
    }

    fn on_message(&mut self, ev: MessageEvent) {
        let now = self.page.performance.now();
        let Some(conn) = self.conn.as_mut() else { return };
        let Ok(buf) = ev.data().dyn_into::<js_sys::ArrayBuffer>() else {
            console::warn_1(&"skirmish: ignoring a non-binary frame".into());
            return;
        };
        let bytes = js_sys::Uint8Array::new(&buf);
        self.received.resize(bytes.length() as usize, 0);
        bytes.copy_to(&mut self.received);
        self.events.clear();
        if let Err(e) = conn.client.on_message(&self.received, now, &mut self.events) {
            // The events it did give (the rest of a batch) still apply.
            console::warn_1(&format!("skirmish: bad message from the server: {e}").into());
        }
        // A spectator sends no inputs, which otherwise carry the acknowledgement its deltas are
        // built against; after a bad snapshot this asks for a full one.
        if conn.client.is_spectator()
            && conn.ws.ready_state() == WebSocket::OPEN
            && let Some(ack) = conn.client.ack_frame()
        {
            send(&conn.ws, &ack);
        }
        let mut status_changed = false;
        let mut refollow = None;
        for event in &self.events {
            match event {
                Event::Snapshot { tick_gap, .. } => {
                    // Only snapshots count as hearing the game: the session answers pings
                    // itself, so a room that stopped ticking left the page on a frozen
                    // picture for good (from a chaos test of a host).
                    conn.heard_ms = now;
                    self.net.on_snapshot(now, *tick_gap);
                    let client = &conn.client;
                    if client.subject().is_some() && client.subject() == self.follow_asked {
                        self.follow_asked = None;
                    }
                    let Some(view) = client.latest() else { continue };
                    let (sounds, blasts) = self.cues.observe(client.my_id(), view);
                    // Ships are drawn the interpolation delay late: the explosion waits as long.
                    let delay_ms = client.interp_delay_ms(now);
                    for b in blasts {
                        let colour = client.roster().get(&b.id).map_or(0xffffff, |p| p.colour);
                        self.effects.add(b.pos, colour, now + delay_ms);
                    }
                    // While predicting, our shots have sounded already (see `tick`).
                    let predicting = client.prediction().state().is_some();
                    for s in sounds.into_iter().filter(|s| !(predicting && *s == Sound::Shoot)) {
                        self.sounds.play(s);
                    }
                }
                Event::Chat(entry) => self.ui.add_chat(entry),
                Event::Welcome { .. } => {
                    status_changed = true;
                    self.retries = 0;
                    let room = conn.client.room_name();
                    show_room_in_address(&self.page.window, room);
                    self.ui.set_invite(Some(room).filter(|r| !r.is_empty()));
                    refollow = self.follow_asked.filter(|_| conn.client.is_spectator());
                    if refollow.is_none() {
                        self.follow_asked = None;
                    }
                }
                Event::Joined(_) | Event::Roster(_) | Event::Left(_) => status_changed = true,
                // The kill feed, scores, radar, clock and obstacles are redrawn from the core
                // every frame.
                Event::Kill(_)
                | Event::Match(_)
                | Event::Obstacles(_)
                | Event::Results(_)
                | Event::Scores(_)
                | Event::Radar
                | Event::Pong { .. } => {}
            }
        }
        if status_changed {
            self.refresh_status();
        }
        if let Some(id) = refollow {
            self.ask_to_follow(id);
        }
        // Browsers throttle a hidden page's timers, the input timer with them (Chromium runs them
        // at most once a second, and its intensive throttling can slow them to once a minute),
        // but not its message events; a visible page's too at times (Chromium's for a
        // cross-origin frame out of view, as a game embedded in a host's page is). Sending an
        // input here too keeps the inputs, which carry the acknowledgements, at the snapshots'
        // pace: the server neither drops the player as silent nor builds its deltas against old
        // ticks. A page that is hidden, or whose timer has not run for a tick, sends the one due
        // before the next snapshot: its timer may not run again before then.
        let hidden = self.page.window.document().is_some_and(|d| d.hidden());
        let throttled = now - self.timer_ms > f64::from(INPUT_PERIOD_MS);
        self.tick(hidden || throttled);
    }

    /// The socket closed: shows why, and returns how long to wait before reconnecting by
    /// itself, if the close is one to retry (see [`reconnect::retries`]).
    fn on_close(&mut self, code: u16, reason: &str) -> Option<f64> {
        let conn = self.conn.as_mut()?;
        conn.client.on_close(code, reason);
        self.devices.held.set(0);
        self.refresh_status();
        if !reconnect::retries(code, reason) {
            self.page.join.set_hidden(false);
            return None;
        }
        // A retry that fails without a word (1006) keeps the words of the close that began the
        // retries: a restart's "server restarting" gave way to "connection lost" within half a
        // second (an outside test).
        if self.retries == 0 || code != 1006 {
            self.lost = hud::closed_text(code, reason);
        }
        let delay = reconnect::delay_ms(self.retries, js_sys::Math::random());
        self.retries = self.retries.saturating_add(1);
        self.retry_status = Some((self.page.performance.now() + delay, self.lost.clone()));
        self.show_retry_status();
        Some(delay)
    }

    /// While a reconnect is pending, the status says in how many seconds (updated as they
    /// pass, so it never claims a time already gone).
    fn show_retry_status(&self) {
        if let Some((at_ms, closed)) = &self.retry_status {
            self.ui.set_status(&reconnect::waiting_text(closed, at_ms - self.page.performance.now()));
        }
    }

    /// Gives up on a link that has been silent for [`reconnect::SERVER_SILENT_MS`], as on a lost
    /// connection: returns how long to wait before reconnecting. Also while connecting: a
    /// paused server's kernel takes the TCP connection and the handshake hangs, and the page
    /// said "connecting…" for as long, with no countdown (an outside test of a LAN host).
    fn check_heard(&mut self) -> Option<f64> {
        let now = self.page.performance.now();
        let conn = self.conn.as_mut()?;
        if matches!(conn.client.state(), ConnState::Closed { .. }) || now - conn.heard_ms < reconnect::SERVER_SILENT_MS
        {
            return None;
        }
        // The browser's close event may come a minute later on a dead link: this is the close.
        self.give_up_connection(reconnect::SILENT_CODE, reconnect::SILENT_REASON)
    }

    /// Closes an open connection from our side with `code` and handles it as closed at once
    /// (its close event is not waited for); returns how long to wait before reconnecting.
    fn give_up_connection(&mut self, code: u16, reason: &str) -> Option<f64> {
        let conn = self.conn.as_mut().filter(|c| c.ws.ready_state() <= WebSocket::OPEN)?;
        conn.ws.set_onclose(None);
        conn.ws.set_onmessage(None);
        let _ = conn.ws.close_with_code_and_reason(code, reason);
        self.on_close(code, reason)
    }

    /// Cancels the pending automatic reconnect, if any (the player reconnected by hand).
    fn cancel_retry(&mut self) {
        if let Some((handle, _callback)) = self.retry_timer.take() {
            self.page.window.clear_timeout_with_handle(handle);
        }
    }

    fn refresh_status(&self) {
        if let Some(conn) = &self.conn {
            self.ui.set_connection(&conn.client);
        }
    }

    /// Runs every [`POLL_MS`] and after every message: handles queued page actions, sends the
    /// controls when the core says an input is due (one per server tick; `early`: due before
    /// the next snapshot, for a page whose timers are throttled), and a ping when one is due.
    fn tick(&mut self, early: bool) {
        for action in self.devices.take_actions() {
            self.act(action);
        }
        self.show_retry_status();
        let now = self.page.performance.now();
        let held = self.devices.held.get();
        let touch = self.devices.touch.get();
        let keys = controls::stick(held);
        // With no mouse over the canvas yet (a keyboard-only player), the ship aims where the
        // keys fly it: the shots of a player who cannot use a mouse all went east.
        let pointer = self.devices.pointer.get();
        let aim = touch
            .aim_direction(self.my_screen)
            .or_else(|| Some(pointer? - self.my_screen?))
            .or_else(|| pointer.is_none().then_some(keys))
            .and_then(controls::angle);
        if let Some(aim) = aim {
            self.aim = aim;
        }
        let mv = if keys == Vec2::ZERO { touch.stick() } else { keys };
        let buttons = controls::buttons(held) | if touch.firing() { controls::buttons(controls::FIRE) } else { 0 };
        let Some(conn) = self.conn.as_mut() else { return };
        if conn.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        if !conn.client.is_spectator()
            && conn.ws.buffered_amount() <= MAX_BUFFERED_BYTES
            && (now >= conn.client.input_due_ms() || early && conn.client.input_due_by_next_snapshot(now))
            && let Some(bytes) = conn.client.input(mv, self.aim, buttons, now)
        {
            send(&conn.ws, &bytes);
            // A predicted shot sounds when the trigger fires it, not a round trip later.
            let (sent, _) = conn.client.input_seqs();
            if conn.client.prediction().shots().last().is_some_and(|s| s.seq == sent) {
                self.sounds.play(Sound::Shoot);
            }
        }
        if now - conn.last_ping_ms >= PING_PERIOD_MS as f64
            && let Some(bytes) = conn.client.ping(now)
        {
            conn.last_ping_ms = now;
            send(&conn.ws, &bytes);
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Key(Command::Mute) | Action::ToggleMute => {
                let muted = !self.sounds.muted();
                self.sounds.set_muted(muted);
                self.ui.set_muted(muted);
                if let Some(storage) = self.page.storage() {
                    let _ = storage.set_item(MUTE_STORAGE_KEY, if muted { "1" } else { "0" });
                }
            }
            Action::Say(text) => {
                // To this player alone: a line the server would refuse, or that has no
                // connection to go by (one is being made again), does not vanish without a word.
                let why = match self.conn.as_mut().filter(|c| c.ws.ready_state() == WebSocket::OPEN) {
                    Some(conn) => match conn.client.chat(&text) {
                        Some(bytes) => {
                            send(&conn.ws, &bytes);
                            None
                        }
                        None => Client::chat_refusal(&text),
                    },
                    None => Some("not connected"),
                };
                if let Some(why) = why {
                    let text = format!("not sent: {why}");
                    self.ui.add_chat(&ChatEntry { from: None, colour: 0xffffff, text });
                }
            }
            Action::Key(Command::NetStats) => {
                self.net_shown = !self.net_shown;
                // Shown at the next frame, with rates from now on; hidden now.
                self.net_next_ms = 0.0;
                self.net.restart_rates();
                if !self.net_shown {
                    self.ui.set_netstats(None);
                }
            }
            Action::Key(Command::PrevTarget) => self.switch_target(false),
            Action::Key(Command::NextTarget) => self.switch_target(true),
            Action::Click(at) if self.spectating() => match self.ship_under(at) {
                Some(id) => self.ask_to_follow(id),
                None => self.switch_target(true),
            },
            Action::Key(_) | Action::Click(_) => {}
        }
    }

    /// Saves what a reloaded page needs to take its place back (see `resume`); a page closed
    /// for cause (a kick, a refusal) saves nothing, so it does not come back by itself.
    fn save_place(&self) {
        let (Some(session), Some(conn)) = (self.page.session(), self.conn.as_ref()) else { return };
        let Some(room) = room_param(&self.page.window) else { return };
        if let ConnState::Closed { code, reason } = conn.client.state()
            && !reconnect::retries(*code, reason)
        {
            let _ = session.remove_item(resume::STORAGE_KEY);
            return;
        }
        let spectate = conn.client.is_spectator();
        // Whom it watches, as the server decided (a request it overruled is not asked again).
        let follow = conn.client.subject().or(self.follow_asked).filter(|_| spectate);
        let place = resume::Place { room, token: conn.client.rejoin_token().to_owned(), spectate, follow };
        let _ = session.set_item(resume::STORAGE_KEY, &resume::save(&place, js_sys::Date::now()));
    }

    fn spectating(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.client.is_spectator())
    }

    /// A spectator steps to the next or previous player of the room and asks the server to
    /// follow them; the camera moves when views of that player arrive.
    fn switch_target(&mut self, forward: bool) {
        let Some(conn) = self.conn.as_mut().filter(|c| c.client.is_spectator()) else { return };
        if conn.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        let roster = conn.client.roster();
        let ids = spectate::targets(roster);
        // A request the server has not answered yet counts, unless that player left meanwhile.
        let current = self.follow_asked.filter(|id| roster.contains_key(id)).or(conn.client.subject());
        if let Some(next) = spectate::cycle(&ids, current, forward).filter(|&id| Some(id) != current) {
            self.ask_to_follow(next);
        }
    }

    /// The living ship drawn nearest to `at` (CSS pixels) within a finger's reach, where the
    /// last frame drew it: the one a spectator's click or tap means to follow. The one it
    /// follows (or asked to) is left out: a click on it steps to the next player, as a click
    /// beside every ship does.
    fn ship_under(&self, at: Vec2) -> Option<PlayerId> {
        let conn = self.conn.as_ref().filter(|c| *c.client.state() == ConnState::Playing)?;
        let current = self.follow_asked.or(conn.client.subject());
        let ships = conn.client.ships(self.page.performance.now());
        let drawn = ships
            .iter()
            .filter(|s| s.state.alive() && Some(s.id) != current)
            .map(|s| (s.id, self.camera.to_screen(s.pos)));
        spectate::under(drawn, at, spectate::reach_px(self.camera.scale))
    }

    /// Asks the server to send a spectator the views of `id`; the camera moves when they arrive.
    fn ask_to_follow(&mut self, id: PlayerId) {
        let Some(conn) = self.conn.as_mut().filter(|c| c.client.is_spectator()) else { return };
        if conn.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        if let Some(bytes) = conn.client.follow(Some(id)) {
            send(&conn.ws, &bytes);
            self.follow_asked = Some(id);
        }
    }

    /// Draws one frame at display rate and brings the HUD up to date.
    fn draw(&mut self) {
        let now = self.page.performance.now();
        let fps = self.fps.frame(now);
        let p = &self.page;
        let dpr = p.window.device_pixel_ratio().max(0.5);
        let view = Vec2::new(p.canvas.client_width().max(1) as f32, p.canvas.client_height().max(1) as f32);
        // Checked every frame rather than on `resize`: it also catches zoom (a dpr change).
        let (w, h) = ((f64::from(view.x) * dpr).round() as u32, (f64::from(view.y) * dpr).round() as u32);
        if p.canvas.width() != w || p.canvas.height() != h {
            p.canvas.set_width(w);
            p.canvas.set_height(h);
        }
        let _ = p.ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);

        let spectating = self.spectating();
        self.devices.spectating.set(spectating);
        let playing = self.conn.as_ref().filter(|c| *c.client.state() == ConnState::Playing);
        self.devices.playing.set(playing.is_some());
        let client = playing.map(|c| &c.client);
        let arena = client.map_or(Vec2::new(ARENA_WIDTH, ARENA_HEIGHT), Client::arena);
        let ships = client.map(|c| c.ships(now)).unwrap_or_default();
        let bullets = client.map(|c| c.bullets(now)).unwrap_or_default();
        // Whose view the server sends: ours, or the player a spectator follows.
        let focus = client.and_then(Client::subject);
        let target = ships.iter().find(|s| Some(s.id) == focus);
        self.camera = Camera::follow(view, arena, target.map_or(arena / 2.0, |s| s.pos));
        self.my_screen = target.filter(|_| !spectating).map(|s| self.camera.to_screen(s.pos));
        let own_x = target.filter(|_| !spectating).map(|s| s.pos.x);
        self.blips.clear();
        let radar = client.and_then(Client::radar);
        if let Some(radar) = radar {
            let view_rect = self.camera.world_rect(view);
            let seen = ships.iter().filter(|s| s.state.alive()).map(|s| s.pos);
            minimap::blips_outside_view(radar, arena, view_rect, seen, &mut self.seen_cells, &mut self.blips);
        }
        let blasts: Vec<_> = self.effects.live(now).collect();
        let obstacles = client.and_then(Client::match_info).map_or(&[][..], |m| &m.map.obstacles[..]);
        let scene = Scene {
            view,
            cam: self.camera,
            arena,
            obstacles,
            ships: &ships,
            bullets: &bullets,
            pickups: client.map_or(&[][..], Client::pickups),
            blasts: &blasts,
            focus,
            radar: &self.blips,
            // Spectators tap to switch players: no sticks for them.
            touch: (self.devices.touched.get() && !spectating).then(|| self.devices.touch.get()),
            now_ms: now,
            minimap: client.is_some(),
        };
        render::frame(&p.ctx, &scene);

        self.ui.set_minimap_blips(radar.map(|_| self.blips.len()));
        let watching = focus.filter(|_| spectating).and_then(|id| client?.roster().get(&id)).map(|p| p.name.as_str());
        let info = FrameInfo { now_ms: now, fps, scoreboard_held: self.devices.tab.get(), watching };
        if let Some(client) = self.conn.as_ref().map(|c| &c.client) {
            self.ui.update(client, &info);
            self.ui.set_motion(own_x, client);
            if self.net_shown && now >= self.net_next_ms {
                self.net_next_ms = now + NETSTATS_REFRESH_MS;
                let stats = client.stats();
                self.net.sample(Totals {
                    at_ms: now,
                    snapshots: stats.snapshots,
                    down: stats.bytes_received,
                    up: stats.bytes_sent,
                    corrections: client.prediction().corrections,
                    correction_units: client.prediction().correction_units,
                });
                let extra = Extra {
                    ping_ms: client.ping_ms(now),
                    interp_delay_ms: client.interp_delay_ms(now),
                    predicting: client.prediction().state().is_some(),
                };
                self.ui.set_netstats(Some(self.net.text(extra)));
            }
        }
    }
}

fn send(ws: &WebSocket, bytes: &[u8]) {
    // Fails only if the socket is not open yet (callers check) or already closing, where the
    // close handler reports the state anyway.
    if let Err(e) = ws.send_with_u8_array(bytes) {
        console::warn_2(&"skirmish: send failed".into(), &e);
    }
}

/// How often the page looks whether an input is due (ms): a quarter of a tick, so an input goes
/// out within a few ms of when the core says, well inside the half tick it has in hand.
const POLL_MS: u32 = INPUT_PERIOD_MS / 4;

/// Calls [`App::tick`] every [`POLL_MS`] (a quarter tick, in the whole
/// milliseconds `setInterval` takes) for the life of the page.
fn start_input_timer(app: &Shared) -> Result<(), JsValue> {
    let shared = Rc::clone(app);
    let tick = Closure::<dyn FnMut()>::new(move || {
        if let Ok(mut a) = shared.try_borrow_mut() {
            a.timer_ms = a.page.performance.now();
            a.tick(false);
            if let Some(delay) = a.check_heard() {
                schedule_retry(&shared, &mut a, delay);
            }
        }
    });
    app.borrow()
        .page
        .window
        .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), POLL_MS as i32)?;
    tick.forget(); // runs for the life of the page
    Ok(())
}

fn start_render_loop(app: &Shared) -> Result<(), JsValue> {
    // requestAnimationFrame needs a fresh request each frame, so the closure holds itself.
    type FrameCallback = Closure<dyn FnMut(f64)>;
    let slot: Rc<RefCell<Option<FrameCallback>>> = Rc::new(RefCell::new(None));
    let again = Rc::clone(&slot);
    let shared = Rc::clone(app);
    let window = app.borrow().page.window.clone();
    *slot.borrow_mut() = Some(Closure::new(move |_: f64| {
        if let Ok(mut a) = shared.try_borrow_mut() {
            a.draw();
        }
        if let Some(cb) = again.borrow().as_ref() {
            let _ = window.request_animation_frame(cb.as_ref().unchecked_ref());
        }
    }));
    let first = slot.borrow();
    if let Some(cb) = first.as_ref() {
        app.borrow().page.window.request_animation_frame(cb.as_ref().unchecked_ref())?;
    }
    Ok(())
}
