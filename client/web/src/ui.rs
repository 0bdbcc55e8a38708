//! The DOM HUD: top bar, kill feed, chat log, scoreboard, results, banner and spectator label.
//! Every string from the network (names, chat, close reasons) enters the page through
//! `textContent` on elements built with `createElement`, never as markup. Updates run every
//! frame but touch the DOM only when what they show changed.
//!
//! Hooks for tests (the canvas cannot be read over WebDriver; `index.html` points here):
//! - `#status[data-player-id]`: our id once welcomed.
//! - `#status[data-motion]`: `"x sent acked"` while we have a ship: where our ship is drawn (x,
//!   whole world units, predicted), the seq of the newest input sent and of the newest input
//!   the server acknowledged. Shows prediction at work: x moves before `acked` reaches the input
//!   that moved it.
//! - `#minimap[data-blips-outside-view]`: how many radar cells, not wholly in the view rectangle,
//!   hold ships the snapshot does not show, i.e. the blips the minimap draws for players we
//!   cannot see (`minimap`); absent until the first radar arrives.
//! - `#netstats` (F3, hidden until then): the network overlay, one `name  value` line per
//!   figure (`netstats`).
//! - `#scorerows` and `#resultrows`: one `<tr data-player-id class="me"?>` per line, with
//!   `td.rank`, `td.name` (the name as text), `td.kills`, `td.deaths`. The live scoreboard is
//!   built from the room's score table and roster, so it lists players out of view too, and is
//!   kept current while hidden (Tab shows it). Our own
//!   row below the top of a big room has `21+` for a rank (`hud::rank_text`); on the results
//!   screen of a big room, below the best 32, `33+`.
//! - `#invitecode[src]` and `#invitetitle`: the Invite panel's QR code and heading, of the room
//!   the server welcomed us to, or of the server's page in the lobby (`room`).

use skirmish_client::{ChatEntry, Client, ConnState};
use skirmish_shared::{Phase, PlayerId, PlayerState, ScoreLine};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlButtonElement, HtmlElement, HtmlInputElement};

use crate::hud::{self, Row};
use crate::room;

/// Chat lines kept in `#chatlog`; older ones are removed (the CSS shows the newest few).
const CHAT_LINES: u32 = 40;
/// How long a kill stays in the feed, in ms.
const KILL_SHOW_MS: f64 = 7000.0;
/// Kills shown at once.
const KILLS_SHOWN: usize = 5;
/// Health (of 100) below which the bar turns red.
const LOW_HEALTH: u8 = 35;

/// The element with `id`, as the type the page promises.
pub fn by_id<T: JsCast>(document: &Document, id: &str) -> Result<T, JsValue> {
    document
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("#{id} missing from the page")))?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("#{id} has the wrong element type")))
}

/// An element whose text is only rewritten when it changes.
struct Text {
    el: HtmlElement,
    shown: String,
}

impl Text {
    fn find(document: &Document, id: &str) -> Result<Text, JsValue> {
        let el: HtmlElement = by_id(document, id)?;
        Ok(Text { shown: el.text_content().unwrap_or_default(), el })
    }

    fn set(&mut self, text: String) {
        if text != self.shown {
            self.el.set_text_content(Some(&text));
            self.shown = text;
        }
    }
}

/// What the frame loop knows that the client core does not.
pub struct FrameInfo<'a> {
    /// `performance.now()`.
    pub now_ms: f64,
    /// Frames per second, once measured.
    pub fps: Option<u32>,
    /// Tab is held.
    pub scoreboard_held: bool,
    /// The name of the player a spectator watches.
    pub watching: Option<&'a str>,
}

/// The page's HUD elements, looked up once, with what each shows now.
pub struct Ui {
    document: Document,
    pub status: HtmlElement,
    pub reconnect: HtmlButtonElement,
    pub mute: HtmlButtonElement,
    pub chatinput: HtmlInputElement,
    /// The Invite panel's QR code and heading.
    invitecode: HtmlElement,
    invitetitle: Text,
    health: Text,
    healthfill: HtmlElement,
    health_shown: Option<u8>,
    score: Text,
    clock: Text,
    ping: Text,
    /// The network overlay (F3).
    netstats: Text,
    fps: Text,
    players: Text,
    banner: Text,
    killfeed: HtmlElement,
    /// Kills shown and the arrival time of the newest: the feed is rebuilt when either changes.
    killfeed_shown: (usize, f64),
    chatlog: HtmlElement,
    spectating: HtmlElement,
    watching: Text,
    /// Carries `data-blips-outside-view`.
    minimap: HtmlElement,
    blips_shown: Option<usize>,
    /// What `#status[data-motion]` shows.
    motion_shown: String,
    scoreboard: HtmlElement,
    scorerows: HtmlElement,
    scorerows_shown: Vec<Row>,
    results: HtmlElement,
    winner: Text,
    nextmap: Text,
    resultrows: HtmlElement,
    resultrows_shown: Vec<Row>,
}

impl Ui {
    pub fn find(document: &Document) -> Result<Ui, JsValue> {
        Ok(Ui {
            status: by_id(document, "status")?,
            reconnect: by_id(document, "reconnect")?,
            mute: by_id(document, "mute")?,
            chatinput: by_id(document, "chatinput")?,
            invitecode: by_id(document, "invitecode")?,
            invitetitle: Text::find(document, "invitetitle")?,
            health: Text::find(document, "health")?,
            healthfill: by_id(document, "healthfill")?,
            health_shown: None,
            score: Text::find(document, "score")?,
            clock: Text::find(document, "clock")?,
            ping: Text::find(document, "ping")?,
            netstats: Text::find(document, "netstats")?,
            fps: Text::find(document, "fps")?,
            players: Text::find(document, "players")?,
            banner: Text::find(document, "banner")?,
            killfeed: by_id(document, "killfeed")?,
            killfeed_shown: (0, 0.0),
            chatlog: by_id(document, "chatlog")?,
            spectating: by_id(document, "spectating")?,
            watching: Text::find(document, "watching")?,
            minimap: by_id(document, "minimap")?,
            blips_shown: None,
            motion_shown: String::new(),
            scoreboard: by_id(document, "scoreboard")?,
            scorerows: by_id(document, "scorerows")?,
            scorerows_shown: Vec::new(),
            results: by_id(document, "results")?,
            winner: Text::find(document, "winner")?,
            nextmap: Text::find(document, "nextmap")?,
            resultrows: by_id(document, "resultrows")?,
            resultrows_shown: Vec::new(),
            document: document.clone(),
        })
    }

    /// Shows the network overlay with `text`, or hides it (`None`).
    pub fn set_netstats(&mut self, text: Option<String>) {
        self.netstats.el.set_hidden(text.is_none());
        if let Some(text) = text {
            self.netstats.set(text);
        }
    }

    /// A new element with a class and, optionally, text.
    fn element(&self, tag: &str, class: &str, text: Option<&str>) -> Element {
        // `createElement` only fails for invalid tag names; ours are literals. Not `expect`: its
        // message would format the error, and that code costs the page's download 100 bytes.
        let el = self.document.create_element(tag).unwrap_or_else(|_| wasm_bindgen::throw_str("invalid tag name"));
        if !class.is_empty() {
            el.set_class_name(class);
        }
        if text.is_some() {
            el.set_text_content(text);
        }
        el
    }

    /// A `<span>` of `text` in a player's colour.
    fn name_span(&self, class: &str, name: &str, colour: u32) -> Element {
        let span = self.element("span", class, Some(name));
        let _ = span.set_attribute("style", &format!("color:{}", hud::css_colour(colour)));
        span
    }

    /// Appends one chat line to `#chatlog`:
    /// `<div class=line><span class=who>NAME</span>: <span class=text>TEXT</span></div>`,
    /// or `<div class="line system"><span class=text>TEXT</span></div>` for the server's lines.
    pub fn add_chat(&self, entry: &ChatEntry) {
        let line = self.element("div", if entry.from.is_some() { "line" } else { "line system" }, None);
        if let Some(from) = &entry.from {
            let _ = line.append_child(&self.name_span("who", from, entry.colour));
            let _ = line.insert_adjacent_text("beforeend", ": ");
        }
        let _ = line.append_child(&self.element("span", "text", Some(&entry.text)));
        let _ = self.chatlog.append_child(&line);
        while self.chatlog.child_element_count() > CHAT_LINES {
            if let Some(old) = self.chatlog.first_element_child() {
                old.remove();
            }
        }
    }

    /// Empties the chat log and kill feed (a new connection starts a new log).
    pub fn clear_logs(&mut self) {
        self.chatlog.set_text_content(None);
        self.killfeed.set_text_content(None);
        self.killfeed_shown = (0, 0.0);
    }

    pub fn set_muted(&self, muted: bool) {
        // Plain text, not an emoji: not every desktop has an emoji font.
        self.mute.set_text_content(Some(if muted { "♪ off" } else { "♪ on" }));
        let _ = self.mute.set_attribute("aria-pressed", if muted { "true" } else { "false" });
    }

    /// Points the Invite panel at `room` (the room we are in), or at the lobby (`None`).
    pub fn set_invite(&mut self, room: Option<&str>) {
        let _ = self.invitecode.set_attribute("src", &room::invite_src(room));
        self.invitetitle.set(room::invite_title(room));
    }

    /// The status line, the player id tests read, and the Reconnect button.
    pub fn set_connection(&self, client: &Client) {
        let me = client.my_id();
        // The roster holds the name as the server accepted it.
        let name = me.and_then(|id| client.roster().get(&id)).map_or("", |info| info.name.as_str());
        let status = hud::status_text(client.state(), name, client.room_name(), client.is_spectator());
        self.set_status(&status);
        let _ = match me {
            Some(id) => self.status.set_attribute("data-player-id", &id.to_string()),
            None => self.status.remove_attribute("data-player-id"),
        };
        let closed = matches!(client.state(), ConnState::Closed { .. });
        self.reconnect.set_hidden(!closed);
        // Closed for cause (a kick, a ban, a full room), the page is back in the lobby: the form,
        // its room list and quick play are the ways on (it had none but the address bar).
        let cause =
            matches!(client.state(), ConnState::Closed { code, reason } if !crate::reconnect::retries(*code, reason));
        if let Some(body) = self.document.body() {
            body.set_class_name(if cause {
                "lobby closed"
            } else if closed {
                "closed"
            } else {
                ""
            });
        }
    }

    /// Puts `text` in the status line, only if it differs: it is a live region, and every join
    /// or leave in the room read the same line out again (an outside screen-reader test).
    pub fn set_status(&self, text: &str) {
        if self.status.text_content().as_deref() != Some(text) {
            self.status.set_text_content(Some(text));
        }
    }

    /// The page's document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// Brings everything but the chat log up to date for this frame.
    pub fn update(&mut self, client: &Client, frame: &FrameInfo) {
        // A spectator's HUD is the followed player's: its ship, and its score line as the room
        // holds it (as on the scoreboard).
        let shown = if client.is_spectator() { client.subject() } else { client.my_id() };
        let state = if client.is_spectator() { client.subject_state() } else { client.my_state() };
        self.set_health(state);
        self.score.set(hud::score_text(shown.and_then(|id| client.scores().get(&id))));
        let (phase, ms_left) = client.phase();
        self.clock.set(hud::clock_text(phase, ms_left));
        self.ping.set(hud::ping_text(client.ping_ms(frame.now_ms)));
        self.fps.set(hud::fps_text(frame.fps));
        let players = client.roster().values().filter(|p| !p.spectator).count();
        self.players.set(hud::players_text(players));
        self.banner.set(hud::banner_text(phase, ms_left, state));
        self.banner.el.set_hidden(self.banner.shown.is_empty());
        match frame.watching {
            Some(name) => {
                self.watching.set(format!("Spectating {name}"));
                self.spectating.set_hidden(false);
            }
            None => self.spectating.set_hidden(true),
        }
        self.update_killfeed(client, frame.now_ms);
        self.update_results(client, phase);
        self.scoreboard.set_hidden(!frame.scoreboard_held || phase == Phase::Results);
        // Kept current while hidden too: a caster's stream shows it with its own CSS, and a
        // reader of the hook gets the score now (from an outside test of a caster: the rows
        // were those of the last Tab, through two matches and an empty room).
        let rows = hud::scoreboard(client.scores(), client.roster(), client.roster_complete(), client.my_id());
        if rows != self.scorerows_shown {
            self.fill_rows(&self.scorerows, &rows);
            self.scorerows_shown = rows;
        }
    }

    /// `#status[data-motion]` (see the module docs) for our ship drawn at `x`.
    pub fn set_motion(&mut self, x: Option<f32>, client: &Client) {
        let (sent, acked) = client.input_seqs();
        let motion = x.map_or_else(String::new, |x| format!("{} {sent} {acked}", x.max(0.0) as u32));
        if motion != self.motion_shown {
            let _ = self.status.set_attribute("data-motion", &motion);
            self.motion_shown = motion;
        }
    }

    /// `#minimap[data-blips-outside-view]`: the number of radar blips drawn outside the view, or
    /// no attribute while there is no radar.
    pub fn set_minimap_blips(&mut self, blips: Option<usize>) {
        if blips == self.blips_shown {
            return;
        }
        let _ = match blips {
            Some(n) => self.minimap.set_attribute("data-blips-outside-view", &n.to_string()),
            None => self.minimap.remove_attribute("data-blips-outside-view"),
        };
        self.blips_shown = blips;
    }

    /// `#health` and the width and colour of its bar (`#healthfill`).
    pub fn set_health(&mut self, me: Option<&PlayerState>) {
        self.health.set(hud::health_text(me));
        let health = me.map(|s| s.health);
        if health != self.health_shown {
            let h = health.unwrap_or(0);
            let style = self.healthfill.style();
            let _ = style.set_property("width", &format!("{}%", h.min(100)));
            self.healthfill.set_class_name(if h < LOW_HEALTH { "low" } else { "" });
            self.health_shown = health;
        }
    }

    fn update_killfeed(&mut self, client: &Client, now_ms: f64) {
        let recent: Vec<_> = client.kill_feed().filter(|(_, at)| now_ms - at < KILL_SHOW_MS).collect();
        let recent = &recent[recent.len().saturating_sub(KILLS_SHOWN)..];
        let shown = (recent.len(), recent.last().map_or(0.0, |(_, at)| *at));
        if shown == self.killfeed_shown {
            return;
        }
        self.killfeed_shown = shown;
        self.killfeed.set_text_content(None);
        let name = |id: PlayerId| {
            client.player(id).map_or_else(|| (format!("#{id}"), 0xffffff), |p| (p.name.clone(), p.colour))
        };
        // A spectator's feed marks the watched player's kills, as its HUD is that player's.
        let whose = if client.is_spectator() { client.subject() } else { client.my_id() };
        for (kill, _) in recent {
            let mine = Some(kill.killer) == whose || Some(kill.victim) == whose;
            let line = self.element("div", if mine { "kill mine" } else { "kill" }, None);
            let (victim, victim_colour) = name(kill.victim);
            if kill.killer != kill.victim {
                let (killer, killer_colour) = name(kill.killer);
                let _ = line.append_child(&self.name_span("killer", &killer, killer_colour));
            }
            let _ = line.append_child(&self.element("span", "verb", Some("✕")));
            let _ = line.append_child(&self.name_span("victim", &victim, victim_colour));
            let _ = self.killfeed.append_child(&line);
        }
    }

    fn update_results(&mut self, client: &Client, phase: Phase) {
        let results = client.results().filter(|_| phase == Phase::Results);
        self.results.set_hidden(results.is_none());
        let Some(results) = results else { return };
        self.winner.set(hud::winner_text(results, client.my_id()));
        self.nextmap.set(format!("Next map: {}", results.next_map));
        // Our line of the score table, when we play (a spectator has none): current at the end.
        let me = client.my_id().filter(|id| client.roster().get(id).is_some_and(|p| !p.spectator));
        let mine = me.map(|id| client.scores().get(&id).copied().unwrap_or(ScoreLine { id, kills: 0, deaths: 0 }));
        let rows = hud::results_rows(results, client.roster(), client.my_id(), mine);
        if rows != self.resultrows_shown {
            self.fill_rows(&self.resultrows, &rows);
            self.resultrows_shown = rows;
        }
    }

    /// Replaces the rows of a `<tbody>`: `<tr data-player-id class=me?><td class=rank>…
    /// <td class=name>…<td class=kills>…<td class=deaths>…` per player.
    fn fill_rows(&self, body: &HtmlElement, rows: &[Row]) {
        body.set_text_content(None);
        for row in rows {
            let tr = self.element("tr", if row.me { "me" } else { "" }, None);
            let _ = tr.set_attribute("data-player-id", &row.id.to_string());
            let _ = tr.append_child(&self.element("td", "rank", Some(&hud::rank_text(row.rank, rows.len()))));
            let name = self.element("td", "name", None);
            let dot = self.element("span", "dot", None);
            let _ = dot.set_attribute("style", &format!("background:{}", hud::css_colour(row.colour)));
            let _ = name.append_child(&dot);
            let _ = name.insert_adjacent_text("beforeend", &row.name);
            let _ = tr.append_child(&name);
            let _ = tr.append_child(&self.element("td", "kills", Some(&row.kills.to_string())));
            let _ = tr.append_child(&self.element("td", "deaths", Some(&row.deaths.to_string())));
            let _ = body.append_child(&tr);
        }
    }
}
