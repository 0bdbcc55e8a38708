//! Keyboard, mouse and touch listeners. They only record what the player does in [`Devices`]
//! (held keys, pointer, fingers, queued page commands); the app reads it on its own timers, so
//! a listener never needs the app's borrow. Listeners live as long as the page (`forget`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use glam::Vec2;
use wasm_bindgen::JsCast;
use wasm_bindgen::convert::FromWasmAbi;
use wasm_bindgen::prelude::*;
use web_sys::{
    Element, EventTarget, HtmlCanvasElement, HtmlElement, HtmlInputElement, KeyboardEvent, PointerEvent, Window,
    console,
};

use crate::controls::{self, Command, Held};
use crate::touch::Touch;

/// Something for the app to do on its next input tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A page key (mute, spectator target).
    Key(Command),
    /// Send this chat line.
    Say(String),
    /// The canvas was clicked or tapped here, in CSS pixels (spectators follow the ship under
    /// it, or step to the next player).
    Click(Vec2),
    /// The mute button was pressed.
    ToggleMute,
}

/// What the player is doing, shared between the listeners and the app.
#[derive(Default)]
pub struct Devices {
    pub held: Cell<Held>,
    /// Mouse position over the canvas in CSS pixels; `None` until it moves, and again after a
    /// touch (so a phone never aims at a stale mouse position).
    pub pointer: Cell<Option<Vec2>>,
    pub touch: Cell<Touch>,
    /// A finger has touched the canvas at least once: draw the touch sticks.
    pub touched: Cell<bool>,
    /// Tab is held.
    pub tab: Cell<bool>,
    /// The app sets this while spectating, which frees the arrow keys to switch target.
    pub spectating: Cell<bool>,
    /// The app sets this while connected in a room: only then are the keys the game's. In the
    /// lobby and on a closed connection Tab, Enter and Space are the form's and the Reconnect
    /// button's (taking them trapped a keyboard player's focus on Play: an outside test).
    pub playing: Cell<bool>,
    pub actions: RefCell<Vec<Action>>,
}

impl Devices {
    fn push(&self, action: Action) {
        self.actions.borrow_mut().push(action);
    }

    /// Everything queued since the last call.
    pub fn take_actions(&self) -> Vec<Action> {
        std::mem::take(&mut *self.actions.borrow_mut())
    }
}

/// Adds a listener that lives as long as the page.
pub fn listen<E: FromWasmAbi + 'static>(target: &EventTarget, kind: &str, f: impl FnMut(E) + 'static) {
    let cb = Closure::<dyn FnMut(E)>::new(f);
    if let Err(e) = target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref()) {
        console::warn_2(&format!("skirmish: cannot listen to {kind}").into(), &e);
    }
    cb.forget();
}

/// True when a key event is aimed at a text field: typing a name or a chat line must not steer.
fn typing(ev: &KeyboardEvent) -> bool {
    ev.target().and_then(|t| t.dyn_into::<Element>().ok()).is_some_and(|el| {
        matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            || el.dyn_ref::<HtmlElement>().is_some_and(HtmlElement::is_content_editable)
    })
}

/// Position of a pointer event over the canvas, in CSS pixels.
fn canvas_pos(canvas: &HtmlCanvasElement, ev: &PointerEvent) -> Vec2 {
    let rect = canvas.get_bounding_client_rect();
    Vec2::new((f64::from(ev.client_x()) - rect.left()) as f32, (f64::from(ev.client_y()) - rect.top()) as f32)
}

pub fn wire(d: &Rc<Devices>, window: &Window, canvas: &HtmlCanvasElement, chat: &HtmlInputElement, mute: &EventTarget) {
    let win: &EventTarget = window.as_ref();

    let dev = Rc::clone(d);
    let chat_box = chat.clone();
    listen(win, "keydown", move |ev: KeyboardEvent| {
        if !dev.playing.get() || typing(&ev) || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        match controls::key_command(&ev.code(), &ev.key(), dev.spectating.get()) {
            Some(Command::Chat) => {
                // The Enter must not land in the box as it opens. Keys held now keep steering
                // until released; their keyup counts inside the box too. A held Enter's
                // repeats neither close the box it opened nor reopen one just sent from.
                ev.prevent_default();
                if !ev.repeat() {
                    let _ = chat_box.focus();
                }
            }
            Some(Command::Scoreboard) => {
                ev.prevent_default(); // Tab would move the focus
                dev.tab.set(true);
            }
            Some(Command::NetStats) => {
                ev.prevent_default(); // the browser's "find next"
                if !ev.repeat() {
                    dev.push(Action::Key(Command::NetStats));
                }
            }
            Some(command) if !ev.repeat() => dev.push(Action::Key(command)),
            Some(_) => {}
            None => {
                if let Some(bit) = controls::key_control(&ev.code(), &ev.key()) {
                    dev.held.set(dev.held.get() | bit);
                    ev.prevent_default(); // arrows and space would scroll
                }
            }
        }
    });
    // Releases always count, even in a text field, so no key stays stuck.
    let dev = Rc::clone(d);
    listen(win, "keyup", move |ev: KeyboardEvent| {
        if let Some(bit) = controls::key_control(&ev.code(), &ev.key()) {
            dev.held.set(dev.held.get() & !bit);
        }
        if controls::key_command(&ev.code(), &ev.key(), false) == Some(Command::Scoreboard) {
            dev.tab.set(false);
        }
    });
    // A key released while the window had no focus never sends keyup, nor a finger lifted
    // while the page was hidden (a phone switched apps) a pointerup: nothing stays held
    // (from an outside test: a hidden page's ship flew and fired for as long as it was away).
    // (`visibilitychange` bubbles from the document to the window.)
    for kind in ["blur", "visibilitychange"] {
        let dev = Rc::clone(d);
        listen(win, kind, move |_: web_sys::Event| {
            dev.held.set(0);
            dev.tab.set(false);
            dev.touch.set(Touch::default());
        });
    }

    // The chat box: Enter sends and returns to the game, Escape just returns.
    let dev = Rc::clone(d);
    let chat_box = chat.clone();
    listen(chat.as_ref(), "keydown", move |ev: KeyboardEvent| match ev.key().as_str() {
        "Enter" if ev.repeat() => ev.prevent_default(),
        "Enter" => {
            ev.prevent_default();
            let text = chat_box.value();
            chat_box.set_value("");
            if !text.trim().is_empty() {
                dev.push(Action::Say(text));
            }
            let _ = chat_box.blur();
        }
        "Escape" => {
            chat_box.set_value("");
            let _ = chat_box.blur();
        }
        _ => {}
    });

    let dev = Rc::clone(d);
    listen(mute, "click", move |_: web_sys::Event| dev.push(Action::ToggleMute));

    // Pointers: the mouse aims and fires; fingers drive the twin sticks (`touch`).
    let dev = Rc::clone(d);
    let c = canvas.clone();
    listen(canvas.as_ref(), "pointerdown", move |ev: PointerEvent| {
        let at = canvas_pos(&c, &ev);
        if ev.pointer_type() == "touch" {
            ev.prevent_default(); // no emulated mouse events, no gestures
            let mut touch = dev.touch.get();
            touch.down(ev.pointer_id(), at, c.client_width() as f32);
            dev.touch.set(touch);
            dev.touched.set(true);
            dev.pointer.set(None);
        } else if ev.button() == 0 {
            dev.pointer.set(Some(at));
            dev.held.set(dev.held.get() | controls::CLICK);
        }
        if let Some(active) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.active_element())
            && let Ok(field) = active.dyn_into::<HtmlElement>()
        {
            // Back to the game: a tap or click on the arena leaves the chat box.
            let _ = field.blur();
        }
        dev.push(Action::Click(at));
    });
    let dev = Rc::clone(d);
    let c = canvas.clone();
    listen(win, "pointermove", move |ev: PointerEvent| {
        let at = canvas_pos(&c, &ev);
        if ev.pointer_type() == "touch" {
            let mut touch = dev.touch.get();
            touch.moved(ev.pointer_id(), at);
            dev.touch.set(touch);
        } else if dev.playing.get() {
            // Only over the game: a mouse that clicked the join form does not take the aim from
            // a player who then plays with keys (an outside keyboard test).
            dev.pointer.set(Some(at));
        }
    });
    for kind in ["pointerup", "pointercancel"] {
        let dev = Rc::clone(d);
        listen(win, kind, move |ev: PointerEvent| {
            if ev.pointer_type() == "touch" {
                let mut touch = dev.touch.get();
                touch.up(ev.pointer_id());
                dev.touch.set(touch);
            } else if ev.button() == 0 || ev.type_() == "pointercancel" {
                dev.held.set(dev.held.get() & !controls::CLICK);
            }
        });
    }
    // No long-press menu on phones, no right-click menu over the arena.
    listen(canvas.as_ref(), "contextmenu", |ev: web_sys::Event| ev.prevent_default());
}
