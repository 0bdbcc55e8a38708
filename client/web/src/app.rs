//! The page: wires the name form, the WebSocket, the 30 Hz input timer and the render loop to the
//! client core. Only browser plumbing lives here; what the bytes mean is `skirmish_client`'s job.
//! Page-lifetime listeners are leaked with `forget` on purpose; per-socket ones die with the socket.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use glam::Vec2;
use skirmish_client::{Client, ConnState, Event};
use skirmish_shared::consts::{ARENA_HEIGHT, ARENA_WIDTH};
use wasm_bindgen::JsCast;
use wasm_bindgen::convert::FromWasmAbi;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CanvasRenderingContext2d, CloseEvent, Document, Element, HtmlButtonElement, HtmlCanvasElement,
    HtmlElement, HtmlFormElement, HtmlInputElement, KeyboardEvent, MessageEvent, MouseEvent, Performance, WebSocket,
    Window, console,
};

use crate::camera::Camera;
use crate::controls::{self, Held};
use crate::{hud, name, render};

/// How often inputs go out: the server's tick rate (setInterval rounds, which is harmless for
/// sending; the server consumes at most one input per tick anyway).
const INPUT_PERIOD_MS: i32 = 33;
/// How often the round trip is measured.
const PING_PERIOD_MS: f64 = 2000.0;
/// Where the chosen name is remembered between visits.
const NAME_STORAGE_KEY: &str = "skirmish.name";
/// Inputs are skipped while this much is still unsent: they would only arrive late, behind the
/// backlog, and the server keeps using the previous input meanwhile.
const MAX_BUFFERED_BYTES: u32 = 8 * 1024;

/// The page's elements, looked up once.
struct Page {
    window: Window,
    document: Document,
    performance: Performance,
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    join: HtmlFormElement,
    name: HtmlInputElement,
    play: HtmlButtonElement,
    reconnect: HtmlButtonElement,
    status: HtmlElement,
    ping: HtmlElement,
    players: HtmlElement,
}

impl Page {
    fn find() -> Result<Page, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let performance = window.performance().ok_or("no performance clock")?;
        let canvas: HtmlCanvasElement = by_id(&document, "arena")?;
        let ctx = canvas.get_context("2d")?.ok_or("no 2D canvas context")?.dyn_into::<CanvasRenderingContext2d>()?;
        Ok(Page {
            join: by_id(&document, "join")?,
            name: by_id(&document, "name")?,
            play: by_id(&document, "play")?,
            reconnect: by_id(&document, "reconnect")?,
            status: by_id(&document, "status")?,
            ping: by_id(&document, "ping")?,
            players: by_id(&document, "players")?,
            window,
            document,
            performance,
            canvas,
            ctx,
        })
    }
}

fn by_id<T: JsCast>(document: &Document, id: &str) -> Result<T, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("#{id} missing from the page")))?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("#{id} has the wrong element type")))
}

/// Keyboard and pointer state. Their handlers touch only this (never the `App` borrow), so they
/// cannot collide with a handler that holds the app.
#[derive(Default)]
struct Devices {
    held: Cell<Held>,
    /// Pointer position over the canvas in CSS pixels; `None` until the pointer moves.
    pointer: Cell<Option<Vec2>>,
}

/// One WebSocket and the core driving it.
struct Connection {
    ws: WebSocket,
    client: Client,
    last_ping_ms: f64,
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
    devices: Rc<Devices>,
    conn: Option<Connection>,
    /// The camera of the last frame, to turn the pointer into a world position when aiming.
    camera: Camera,
    /// Our ship's drawn position in the last frame, the origin of the aim.
    my_pos: Option<Vec2>,
}

type Shared = Rc<RefCell<App>>;

/// Entry point, called by the page's module script after `init()`.
#[wasm_bindgen]
pub fn start() -> Result<(), JsValue> {
    install_panic_hook();
    let page = Page::find()?;
    let stored = page.window.local_storage().ok().flatten().and_then(|s| s.get_item(NAME_STORAGE_KEY).ok().flatten());
    if let Some(stored) = stored.as_deref().and_then(name::clean_name) {
        page.name.set_value(&stored);
    }
    page.name.set_placeholder(&name::default_name(js_sys::Math::random()));
    let devices = Rc::new(Devices::default());
    let camera = Camera::fit(Vec2::ONE, Vec2::ONE);
    let app = Rc::new(RefCell::new(App { page, devices, conn: None, camera, my_pos: None }));

    wire_devices(&app)?;
    wire_buttons(&app)?;
    start_input_timer(&app)?;
    start_render_loop(&app)?;

    let a = app.borrow();
    a.page.status.set_text_content(Some("ready: pick a name and press Play"));
    a.page.play.set_disabled(false);
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

/// Adds a listener that lives as long as the page.
fn listen<E: FromWasmAbi + 'static>(target: &web_sys::EventTarget, kind: &str, f: impl FnMut(E) + 'static) {
    let cb = Closure::<dyn FnMut(E)>::new(f);
    if let Err(e) = target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref()) {
        console::warn_2(&format!("skirmish: cannot listen to {kind}").into(), &e);
    }
    cb.forget();
}

/// True when a key event is aimed at a text field: typing a name must not steer.
fn typing(ev: &KeyboardEvent) -> bool {
    ev.target().and_then(|t| t.dyn_into::<Element>().ok()).is_some_and(|el| {
        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            || el.dyn_ref::<HtmlElement>().is_some_and(HtmlElement::is_content_editable)
    })
}

fn wire_devices(app: &Shared) -> Result<(), JsValue> {
    let a = app.borrow();
    let window: &web_sys::EventTarget = a.page.window.as_ref();

    let d = Rc::clone(&a.devices);
    listen(window, "keydown", move |ev: KeyboardEvent| {
        if typing(&ev) || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        if let Some(bit) = controls::key_control(&ev.code(), &ev.key()) {
            d.held.set(d.held.get() | bit);
            ev.prevent_default(); // arrows and space would scroll
        }
    });
    // Releases always count, even in a text field, so no key stays stuck.
    let d = Rc::clone(&a.devices);
    listen(window, "keyup", move |ev: KeyboardEvent| {
        if let Some(bit) = controls::key_control(&ev.code(), &ev.key()) {
            d.held.set(d.held.get() & !bit);
        }
    });
    // A key released while the window had no focus never sends keyup.
    let d = Rc::clone(&a.devices);
    listen(window, "blur", move |_: web_sys::Event| d.held.set(0));

    let d = Rc::clone(&a.devices);
    let canvas = a.page.canvas.clone();
    listen(window, "pointermove", move |ev: MouseEvent| {
        let rect = canvas.get_bounding_client_rect();
        let at =
            Vec2::new((f64::from(ev.client_x()) - rect.left()) as f32, (f64::from(ev.client_y()) - rect.top()) as f32);
        d.pointer.set(Some(at));
    });
    let d = Rc::clone(&a.devices);
    listen(a.page.canvas.as_ref(), "pointerdown", move |ev: MouseEvent| {
        if ev.button() == 0 {
            d.held.set(d.held.get() | controls::FIRE);
        }
    });
    let d = Rc::clone(&a.devices);
    listen(window, "pointerup", move |ev: MouseEvent| {
        if ev.button() == 0 {
            d.held.set(d.held.get() & !controls::FIRE);
        }
    });
    Ok(())
}

fn wire_buttons(app: &Shared) -> Result<(), JsValue> {
    let a = app.borrow();
    let shared = Rc::clone(app);
    listen(a.page.join.as_ref(), "submit", move |ev: web_sys::Event| {
        ev.prevent_default(); // no page reload
        let name = {
            let a = shared.borrow();
            let name = name::clean_name(&a.page.name.value())
                .or_else(|| name::clean_name(&a.page.name.placeholder()))
                .unwrap_or_else(|| name::default_name(js_sys::Math::random()));
            a.page.name.set_value(&name);
            if let Some(storage) = a.page.window.local_storage().ok().flatten() {
                // Private browsing may refuse; the name is then just not remembered.
                let _ = storage.set_item(NAME_STORAGE_KEY, &name);
            }
            let _ = a.page.name.blur();
            a.page.join.set_hidden(true);
            name
        };
        connect(&shared, name);
    });
    let shared = Rc::clone(app);
    listen(a.page.reconnect.as_ref(), "click", move |_: web_sys::Event| {
        let name = shared.borrow().page.name.value();
        let name = name::clean_name(&name).unwrap_or_else(|| name::default_name(js_sys::Math::random()));
        connect(&shared, name);
    });
    Ok(())
}

/// `ws(s)://<host that served the page>/ws`.
fn socket_url(window: &Window) -> Result<String, JsValue> {
    let location = window.location();
    let scheme = if location.protocol()? == "https:" { "wss:" } else { "ws:" };
    Ok(format!("{scheme}//{}/ws", location.host()?))
}

/// The `?room=NAME` query parameter, if present and not empty.
fn room_param(window: &Window) -> Option<String> {
    let search = window.location().search().ok()?;
    let room = web_sys::UrlSearchParams::new_with_str(&search).ok()?.get("room")?;
    (!room.is_empty()).then_some(room)
}

/// Opens a fresh socket as `name`, replacing (and closing) any previous one.
fn connect(app: &Shared, name: String) {
    let mut a = app.borrow_mut();
    a.conn = None;
    let room = room_param(&a.page.window);
    let client = Client::new(name, room);
    let ws = match socket_url(&a.page.window).and_then(|url| WebSocket::new(&url)) {
        Ok(ws) => ws,
        Err(e) => {
            console::error_2(&"skirmish: cannot open the WebSocket".into(), &e);
            a.page.status.set_text_content(Some(&hud::closed_text(1006, "cannot open the connection")));
            a.page.reconnect.set_hidden(false);
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on_open = socket_handler(app, |a, _| a.on_open());
    let on_message = socket_handler(app, |a, ev| a.on_message(ev.unchecked_into()));
    let on_close = socket_handler(app, |a, ev| a.on_close(ev.unchecked_into()));
    let on_error = socket_handler(app, |_, _| console::warn_1(&"skirmish: WebSocket error".into()));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    a.conn = Some(Connection {
        ws,
        client,
        last_ping_ms: f64::NEG_INFINITY,
        _handlers: vec![on_open, on_message, on_close, on_error],
    });
    a.refresh_hud();
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
        self.refresh_hud();
    }

    fn on_message(&mut self, ev: MessageEvent) {
        let now = self.page.performance.now();
        let Some(conn) = self.conn.as_mut() else { return };
        let Ok(buf) = ev.data().dyn_into::<js_sys::ArrayBuffer>() else {
            console::warn_1(&"skirmish: ignoring a non-binary frame".into());
            return;
        };
        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
        match conn.client.on_message(&bytes, now) {
            // Snapshots arrive 30 times a second and change nothing in the HUD.
            Ok(Event::Snapshot { .. }) => {}
            Ok(_) => self.refresh_hud(),
            Err(e) => console::warn_1(&format!("skirmish: bad message from the server: {e}").into()),
        }
    }

    fn on_close(&mut self, ev: CloseEvent) {
        let Some(conn) = self.conn.as_mut() else { return };
        conn.client.on_close(ev.code(), &ev.reason());
        self.devices.held.set(0);
        self.refresh_hud();
    }

    /// Runs every [`INPUT_PERIOD_MS`]: sends the controls, and a ping when one is due.
    fn send_input(&mut self) {
        let now = self.page.performance.now();
        let held = self.devices.held.get();
        let aim = match (self.my_pos, self.devices.pointer.get()) {
            (Some(me), Some(pointer)) => {
                let d = self.camera.to_world(pointer) - me;
                if d.length_squared() > 0.0 { d.y.atan2(d.x) } else { 0.0 }
            }
            _ => 0.0,
        };
        let Some(conn) = self.conn.as_mut() else { return };
        if conn.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        if conn.ws.buffered_amount() <= MAX_BUFFERED_BYTES
            && let Some(bytes) = conn.client.input(controls::stick(held), aim, controls::buttons(held), now)
        {
            send(&conn.ws, &bytes);
        }
        if now - conn.last_ping_ms >= PING_PERIOD_MS
            && let Some(bytes) = conn.client.ping(now)
        {
            conn.last_ping_ms = now;
            send(&conn.ws, &bytes);
        }
    }

    /// Draws one frame at display rate.
    fn draw(&mut self) {
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

        let playing = self.conn.as_ref().filter(|c| *c.client.state() == ConnState::Playing);
        let arena = playing.map_or(Vec2::new(ARENA_WIDTH, ARENA_HEIGHT), |c| c.client.arena());
        let ships = playing.map(|c| c.client.ships(p.performance.now())).unwrap_or_default();
        self.camera = Camera::fit(view, arena);
        self.my_pos = ships.iter().find(|s| s.me).map(|s| s.pos);
        render::frame(&p.ctx, view, &self.camera, arena, &ships);
    }

    /// Writes the connection state into the DOM (the HUD, and what tests read).
    fn refresh_hud(&self) {
        let p = &self.page;
        let Some(conn) = &self.conn else { return };
        let c = &conn.client;
        let me = c.my_id();
        // The roster holds the name as the server accepted it.
        let name = me.and_then(|id| c.roster().get(&id)).map_or("", |info| info.name.as_str());
        // textContent only: names and close reasons come from the network.
        p.status.set_text_content(Some(&hud::status_text(c.state(), name, c.room())));
        p.ping.set_text_content(Some(&hud::ping_text(c.rtt_ms())));
        p.players.set_text_content(Some(&hud::players_text(c.roster().len())));
        let _ = match me {
            Some(id) => p.status.set_attribute("data-player-id", &id.to_string()),
            None => p.status.remove_attribute("data-player-id"),
        };
        let closed = matches!(c.state(), ConnState::Closed { .. });
        p.reconnect.set_hidden(!closed);
        if let Some(body) = p.document.body() {
            body.set_class_name(if closed { "closed" } else { "" });
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

fn start_input_timer(app: &Shared) -> Result<(), JsValue> {
    let shared = Rc::clone(app);
    let tick = Closure::<dyn FnMut()>::new(move || {
        if let Ok(mut a) = shared.try_borrow_mut() {
            a.send_input();
        }
    });
    app.borrow()
        .page
        .window
        .set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), INPUT_PERIOD_MS)?;
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
