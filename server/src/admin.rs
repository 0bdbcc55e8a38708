//! The admin page (`/admin`) and the JSON API behind it: what is running (rooms, players, each
//! room's tick time, uptime, bytes sent per second, the kicks' bans running) and three actions:
//! kick a player (close 1008 with a reason, its rejoin token revoked, its address banned from
//! the room for `lobby::KICK_BAN`), lift such a ban, and close a room.
//!
//! Access: the token comes from `--admin-token` or is generated and printed at start. Logging in
//! is a form POST of the token (compared in constant time; [`WRONG_LOGINS_PER_MINUTE`] wrong
//! tries per client address, while right ones never count: it slows a guesser down, but one
//! with many addresses tries that many times faster, so a token chosen by hand must be long) that sets an `HttpOnly`, `SameSite=Strict` session cookie; the
//! token never travels in a URL. A session lasts [`SESSION_LIFETIME`] and ends sooner with Log
//! out (`POST /admin/logout`). Without a valid session,
//! `/admin` answers 401 with only the login form and the API 401 with no data. Every POST must
//! come from this server's own page (`Origin` host and port equal to `Host`), so another site
//! cannot make a logged-in browser act.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

/// The session cookie's name.
pub const COOKIE: &str = "skirmish_admin";
/// The reason a kicked player reads.
pub const KICK_REASON: &str = "kicked by the host";
/// The reason the players of a closed room read.
pub const CLOSE_ROOM_REASON: &str = "room closed by the host";

/// Wrong tokens one client address may send in a minute; past them it is refused (429), the
/// right token too, until its oldest wrong try is a minute old. Enough for a host who mistypes;
/// a guesser gets 14 400 tries a day. Right tokens never count, so a script that logs in in a
/// loop does not lock its host out.
pub const WRONG_LOGINS_PER_MINUTE: usize = 10;
/// How long a wrong try counts against its address.
const WRONG_LOGIN_WINDOW: Duration = Duration::from_secs(60);
/// How long a session lasts from its login (its cookie's `Max-Age` too): a day's LAN party, so a
/// cookie left in a borrowed browser is not an admin's for ever.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// Sessions kept at most: a login past them ends the one nearest its end, so logins in a loop
/// cannot grow the set.
pub const MAX_SESSIONS: usize = 64;

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// Not the token (401).
    WrongToken,
    /// The address sent [`WRONG_LOGINS_PER_MINUTE`] wrong tokens within the minute (429).
    TooManyWrong {
        /// When it may try again: its oldest wrong try a minute old.
        retry_after: Duration,
        /// The first refusal of this lockout, the one to log (not every request).
        first: bool,
    },
}

/// An address's wrong tries within the last minute.
#[derive(Debug, Default)]
struct WrongTries {
    /// When each was made, oldest first; at most [`WRONG_LOGINS_PER_MINUTE`] are kept.
    at: VecDeque<Instant>,
    /// Whether this lockout's first refusal was reported.
    reported: bool,
}

/// The admin token and the sessions logged in with it.
pub struct Access {
    token: String,
    /// Session cookie values and when each ends; at most [`MAX_SESSIONS`], none ended at a login.
    sessions: Mutex<HashMap<String, Instant>>,
    /// Wrong tries per client address (all unknown addresses share one); only addresses with
    /// one in the last minute are kept.
    wrong: Mutex<HashMap<IpAddr, WrongTries>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

/// The admin token `--admin-token` really sets: an empty or blank one is none (a stray space in
/// an env file must not become a token anyone can guess), and one is made for the run.
pub fn configured(token: Option<&str>) -> Option<&str> {
    token.filter(|t| !t.trim().is_empty())
}

impl Access {
    /// Access with `token`, or a fresh random one when none is configured ([`configured`]).
    pub fn new(token: Option<&str>) -> Access {
        let token = configured(token).map_or_else(|| format!("{:032x}", rand::random::<u128>()), str::to_owned);
        Access { token, sessions: Mutex::default(), wrong: Mutex::default() }
    }

    /// The token, for the start-up banner.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Checks `given`, from the client address `client` (as the connection caps count it),
    /// against the token in time independent of where they differ, and opens a session (its
    /// cookie value) when it matches. An address past its wrong tries is refused without a look
    /// at the token, so a guesser learns nothing while locked out.
    pub fn log_in(&self, given: &str, client: Option<IpAddr>) -> Result<String, LoginRefused> {
        self.log_in_at(given, client, Instant::now())
    }

    fn log_in_at(&self, given: &str, client: Option<IpAddr>, now: Instant) -> Result<String, LoginRefused> {
        let key = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut wrong = lock(&self.wrong);
        // Keeps the table to the addresses with a wrong try in the last minute.
        wrong.retain(|_, tries| {
            while tries.at.front().is_some_and(|&t| now.duration_since(t) >= WRONG_LOGIN_WINDOW) {
                tries.at.pop_front();
            }
            !tries.at.is_empty()
        });
        if let Some(tries) = wrong.get_mut(&key)
            && tries.at.len() >= WRONG_LOGINS_PER_MINUTE
        {
            let oldest = tries.at.front().copied().unwrap_or(now);
            let retry_after = WRONG_LOGIN_WINDOW.saturating_sub(now.duration_since(oldest));
            let first = !std::mem::replace(&mut tries.reported, true);
            return Err(LoginRefused::TooManyWrong { retry_after, first });
        }
        if !constant_time_eq(given.as_bytes(), self.token.as_bytes()) {
            let tries = wrong.entry(key).or_default();
            tries.at.push_back(now);
            // Reaching the limit again starts a new lockout, reported again.
            tries.reported = false;
            return Err(LoginRefused::WrongToken);
        }
        drop(wrong);
        let session = format!("{:032x}", rand::random::<u128>());
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, ends| *ends > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, ends)| **ends).map(|(s, _)| s.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(session.clone(), now + SESSION_LIFETIME);
        Ok(session)
    }

    /// The session whose cookie value is `given`, if it is ours and has not ended; each session
    /// is compared in full, so the time taken tells nothing about any of them.
    fn session_at(&self, given: &str, now: Instant) -> Option<String> {
        let sessions = lock(&self.sessions);
        let mut found = None;
        for (session, ends) in sessions.iter() {
            if constant_time_eq(session.as_bytes(), given.as_bytes()) && *ends > now {
                found = Some(session.clone());
            }
        }
        found
    }

    /// Ends the request's session (Log out); whether it had one.
    pub fn log_out(&self, req: &HttpRequest) -> bool {
        let Some(cookie) = req.cookie(COOKIE) else { return false };
        let Some(session) = self.session_at(cookie.value(), Instant::now()) else { return false };
        lock(&self.sessions).remove(&session).is_some()
    }

    /// Whether the request carries the cookie of a session of ours that has not ended.
    pub fn logged_in(&self, req: &HttpRequest) -> bool {
        req.cookie(COOKIE).is_some_and(|cookie| self.session_at(cookie.value(), Instant::now()).is_some())
    }
}

/// The guarded value even if a thread panicked holding the lock: these tables are consistent
/// between any two of their statements.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Equal bytes, compared without an early exit, so the time taken does not tell an attacker how
/// much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A write from this server's own page: an `Origin` whose host and port are the request's
/// `Host`. A missing `Origin` is refused too (browsers send it on every POST).
pub fn same_origin(req: &HttpRequest) -> bool {
    let headers = req.headers();
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) else { return false };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
    let origin = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    origin.is_some_and(|o| o.eq_ignore_ascii_case(host))
}

/// The login form (and nothing else) with `status`: 401 before a login or after a wrong token,
/// 429 past the wrong tries; `why` (our own text, never the client's) says which above it.
pub fn login_page(status: StatusCode, why: Option<&str>) -> HttpResponse {
    let why = why.map_or_else(String::new, |why| format!(r#"<p class="why" role="alert">{why}</p>"#));
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(LOGIN_HTML.replace("<!--why-->", &why))
}

/// The 401 answer to a wrong token.
pub fn wrong_token_page() -> HttpResponse {
    login_page(StatusCode::UNAUTHORIZED, Some("wrong token"))
}

/// The 429 answer past the wrong tries, with when to try again (whole seconds, rounded up).
pub fn locked_out_page(retry_after: Duration) -> HttpResponse {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let why = format!("too many wrong tries from your address: try again in {seconds} s");
    let mut page = login_page(StatusCode::TOO_MANY_REQUESTS, Some(&why));
    page.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    page
}

/// The admin page (its data comes from the API).
pub fn admin_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(ADMIN_HTML)
}

/// The login form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    /// The admin token.
    pub token: String,
}

/// `POST /admin/api/kick`.
#[derive(Debug, serde::Deserialize)]
pub struct KickRequest {
    /// The room the player is in.
    pub room: String,
    /// The player.
    pub id: u32,
    /// Every other player and spectator of its address in that room goes too (default false).
    #[serde(default)]
    pub all_from_address: bool,
}

/// `POST /admin/api/unban`.
#[derive(Debug, serde::Deserialize)]
pub struct UnbanRequest {
    /// The room the address was banned from.
    pub room: String,
    /// The address, as the status lists it.
    pub address: std::net::IpAddr,
}

/// `POST /admin/api/close-room`.
#[derive(Debug, serde::Deserialize)]
pub struct CloseRoomRequest {
    /// The room.
    pub room: String,
}

/// The response to a successful login: the session cookie, for as long as the session lasts,
/// and back to `/admin`. `secure`: the browser reached us over https (through a trusted proxy,
/// see [`over_https`]), so the cookie is marked `Secure` and never sent over plain http.
pub fn logged_in_response(session: &str, secure: bool) -> HttpResponse {
    let lifetime =
        actix_web::cookie::time::Duration::try_from(SESSION_LIFETIME).expect("12 h fits in a time::Duration");
    back_to_admin(session, lifetime, secure)
}

/// The response to a logout: the cookie cleared, and back to `/admin` (its login form).
pub fn logged_out_response(secure: bool) -> HttpResponse {
    back_to_admin("", actix_web::cookie::time::Duration::ZERO, secure)
}

/// Whether the browser reached us over https: the server speaks plain http itself, so only a
/// trusted proxy can say so, with `X-Forwarded-Proto: https` (from an outside test of a
/// deployment behind nginx: the session cookie was never `Secure`). From anyone else the
/// header is ignored, as `X-Forwarded-For` is.
pub fn over_https(req: &HttpRequest, trusted: &[crate::client_addr::TrustedProxy]) -> bool {
    let from_proxy = req.peer_addr().is_some_and(|p| crate::client_addr::is_trusted(p.ip().to_canonical(), trusted));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// 303 to `/admin`, setting the session cookie to `value` for `max_age`.
fn back_to_admin(value: &str, max_age: actix_web::cookie::time::Duration, secure: bool) -> HttpResponse {
    let cookie = actix_web::cookie::Cookie::build(COOKIE, value.to_owned())
        .path("/admin")
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .secure(secure)
        .max_age(max_age)
        .finish();
    HttpResponse::SeeOther().cookie(cookie).insert_header((header::LOCATION, "/admin")).finish()
}

/// An API error: `{"error": why}` with `status`, and no data.
pub fn json_error(status: StatusCode, why: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": why }))
}

const LOGIN_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Skirmish admin: log in</title>
<style>body{font:16px system-ui,sans-serif;background:#07090f;color:#e6ebf5;display:grid;place-items:center;min-height:90vh}
form{display:flex;flex-direction:column;gap:10px;padding:24px;border:1px solid #243049;border-radius:12px;background:#0d1424}
input,button{font:inherit;padding:8px}.why{color:#ff8a8a;margin:0}</style></head>
<body><form method="post" action="/admin/login">
<h1>Skirmish admin</h1><!--why-->
<label for="token">Admin token (printed by the server at start, or as set by
SKIRMISH_ADMIN_TOKEN, admin-token in the config file, or --admin-token)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button>
</form></body></html>"#;

const ADMIN_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Skirmish admin</title>
<style>body{font:15px system-ui,sans-serif;background:#07090f;color:#e6ebf5;margin:24px}
table{border-collapse:collapse;margin:8px 0 24px}td,th{padding:4px 10px;border-bottom:1px solid #243049;text-align:left}
button{font:inherit;padding:2px 10px}#summary{color:#9aa7bd}#notice{min-height:1.3em}.ok{color:#7ee2a8}.error{color:#ff8a8a}
#conn:empty{display:none}#logout{float:right}#conn{color:#ffcf6e;font-weight:600}.stale #summary,.stale #rooms{opacity:.45}</style></head>
<body><form method="post" action="/admin/logout" id="logout"><button type="submit">Log out</button></form>
<h1>Skirmish admin</h1><p id="conn" role="alert"></p><p id="summary">loading…</p><p id="notice" role="status"></p><div id="rooms"></div>
<section id="bans" hidden><h2>Kick bans</h2><table><thead><tr><th>Address</th><th>Room</th><th>Left</th><th></th></tr></thead><tbody></tbody></table></section>
<script>
// Everything from the server enters the page as textContent.
const el = (tag, text) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; };
// The status line (#notice): what the last action did, or why it failed, with the time.
function notice(text, kind) {
  const line = document.getElementById("notice");
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  line.className = kind;
}
// An action (`what`, e.g. "Kick Ada from main"): the answer's status decides what the status line
// says, `done` or the server's own reason ("no such player in that room" when the player has
// rejoined with a new id).
async function post(path, body, what, done) {
  notice(`${what}…`, "");
  try {
    const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (res.ok) {
      notice(typeof done === "function" ? done(await res.json()) : done, "ok");
    } else {
      const why = await res.json().then((answer) => answer.error, () => null);
      notice(`${what} failed: ${res.status} ${why || res.statusText}`, "error");
    }
  } catch (e) {
    notice(`${what} failed: the server cannot be reached (${e.message})`, "error");
  }
  refresh();
}
// The connection line (#conn): empty while the server answers; else that it cannot be reached,
// since when, and that the numbers below (dimmed) are those of its last answer.
let lastAnswer = null;
let downSince = null;
function reachable(why) {
  const line = document.getElementById("conn");
  if (why === null) {
    lastAnswer = new Date();
    downSince = null;
    line.textContent = "";
    document.body.classList.remove("stale");
    return;
  }
  downSince = downSince || new Date();
  const last = lastAnswer ? `its last answer, at ${lastAnswer.toLocaleTimeString()}` : "no answer yet";
  line.textContent = `The server cannot be reached since ${downSince.toLocaleTimeString()} (${why}): ` +
    `the numbers below are from ${last}. Trying again every 2 s.`;
  document.body.classList.add("stale");
}
// Only the newest refresh's answer is shown (an action's refresh can overtake the timer's).
let asked = 0;
async function refresh() {
  const mine = ++asked;
  let s;
  try {
    // A server that takes the connection but never answers counts as down too.
    const res = await fetch("/admin/api/status", { cache: "no-store", signal: AbortSignal.timeout(5000) });
    if (res.status === 401) { location.reload(); return; }
    if (!res.ok) throw new Error(`it answered ${res.status} ${res.statusText}`);
    s = await res.json();
  } catch (e) {
    if (mine === asked) reachable(e.name === "TimeoutError" ? "no answer within 5 s" : e instanceof TypeError ? "no connection" : e.message);
    return;
  }
  if (mine !== asked) return;
  reachable(null);
  render(s);
}
// The rooms on the page by name, each with its elements and its players' rows by id: a refresh
// changes only the text that changed, so a button is never replaced under a click (a click
// whose press and release spanned a rebuild was lost) and a selection stays.
const shown = new Map();
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
// Puts `children` in `parent` in that order, moving only those out of place.
function place(parent, children) {
  children.forEach((child, i) => {
    if (parent.children[i] !== child) parent.insertBefore(child, parent.children[i] || null);
  });
  while (parent.children.length > children.length) parent.lastElementChild.remove();
}
function roomView(room) {
  const view = { section: el("section"), title: el("span"), ticks: el("span"), table: el("table"), rows: new Map() };
  const close = el("button", "Close room");
  close.onclick = () => confirm(`Close ${room}?`) && post("/admin/api/close-room", { room }, `Close room ${room}`, `room ${room} closed`);
  const head = el("h2");
  head.append(view.title, view.ticks, " ", close);
  view.section.append(head, view.table);
  return view;
}
function playerRow(room, id) {
  const row = { tr: el("tr"), cells: [el("td"), el("td"), el("td"), el("td")], name: "", address: "", many: 0 };
  const kick = el("button", "Kick");
  kick.onclick = () => confirm(`Kick ${row.name} from ${room}?`) &&
    post("/admin/api/kick", { room, id }, `Kick ${row.name} from ${room}`, `${row.name} kicked from ${room}`);
  // Shown when its address has others in the room: one griefer's many ships go in one kick.
  row.all = el("button", "Kick all from address");
  row.all.onclick = () => confirm(`Kick all ${row.many} from ${row.address} out of ${room}?`) &&
    post("/admin/api/kick", { room, id, all_from_address: true }, `Kick all from ${row.address} out of ${room}`,
      (answer) => `${answer.connections_and_seats} connections and seats of ${row.address} kicked from ${room}`);
  const action = el("td");
  action.append(kick, " ", row.all);
  row.tr.append(...row.cells, action);
  return row;
}
// Keeps `views` (a Map) to the keys in `keep`.
function prune(views, keep) {
  for (const key of [...views.keys()]) if (!keep.has(key)) views.delete(key);
}
// The two largest units: "3 d 4 h", "2 h 5 min", "7 min", "42 s".
function duration(seconds) {
  const units = [["d", 86400, Infinity], ["h", 3600, 24], ["min", 60, 60], ["s", 1, 60]];
  const parts = units.map(([name, size, wrap]) => [Math.floor(seconds / size) % wrap, name]);
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0 s";
  return parts.slice(first, first + 2).filter(([n], i) => i === 0 || n > 0).map(([n, name]) => `${n} ${name}`).join(" ");
}
function render(s) {
  setText(document.getElementById("summary"),
    `up ${duration(s.uptime_s)} · ${s.connections} ${s.connections === 1 ? "connection" : "connections"} · ${s.players - s.spectators} playing, ${s.spectators} watching · ${Math.round(s.bytes_per_s / 1024)} KiB/s out`);
  prune(shown, new Set(s.rooms.map((r) => r.name)));
  const sections = s.rooms.map((r) => {
    if (!shown.has(r.name)) shown.set(r.name, roomView(r.name));
    const view = shown.get(r.name);
    setText(view.title, `${r.name}${r.private ? " (private)" : ""}${r.opened_by ? ` · opened by ${r.opened_by}` : ""} · ${r.map} · ${r.phase}`);
    setText(view.ticks, ` · tick p50 ${r.tick_p50_ms.toFixed(2)} ms, p99 ${r.tick_p99_ms.toFixed(2)} ms`);
    prune(view.rows, new Set(r.players.map((p) => p.id)));
    const perAddress = new Map();
    for (const p of r.players) if (p.address) perAddress.set(p.address, (perAddress.get(p.address) || 0) + 1);
    place(view.table, r.players.map((p) => {
      if (!view.rows.has(p.id)) view.rows.set(p.id, playerRow(r.name, p.id));
      const row = view.rows.get(p.id);
      row.name = p.name;
      row.address = p.address || "";
      row.many = perAddress.get(p.address) || 0;
      row.all.hidden = row.many < 2;
      setText(row.cells[0], String(p.id));
      setText(row.cells[1], p.away ? `${p.name} (away: connection lost, seat kept)` : p.name);
      setText(row.cells[2], p.spectator ? "spectator" : `${p.kills}/${p.deaths}`);
      setText(row.cells[3], p.address || "");
      return row.tr;
    }));
    return view.section;
  });
  place(document.getElementById("rooms"), sections);
  renderBans(s.bans);
}
// The kicks' bans, by room and address, each with a button to lift it (a kick by mistake, or a
// housemate behind the griefer's address).
const bans = new Map();
function renderBans(list) {
  const box = document.getElementById("bans");
  box.hidden = list.length === 0;
  const key = (b) => `${b.room} ${b.address}`;
  prune(bans, new Set(list.map(key)));
  place(box.querySelector("tbody"), list.map((b) => {
    if (!bans.has(key(b))) {
      const row = { tr: el("tr"), cells: [el("td", b.address), el("td", b.room), el("td")] };
      const lift = el("button", "Lift ban");
      // Once: a second click would find the ban gone and say the lift failed.
      lift.onclick = () => { lift.disabled = true; post("/admin/api/unban", { room: b.room, address: b.address },
        `Lift the ban of ${b.address} from ${b.room}`, `${b.address} may join ${b.room} again`); };
      const action = el("td");
      action.append(lift);
      row.tr.append(...row.cells, action);
      bans.set(key(b), row);
    }
    const row = bans.get(key(b));
    setText(row.cells[2], `${duration(b.seconds_left)} left`);
    return row.tr;
  }));
}
// Every 2 s after the last refresh ended, so a slow server never has two pending.
(async function every2s() { await refresh(); setTimeout(every2s, 2000); })();
</script></body></html>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_blank_token_is_none_and_one_is_made() {
        for none in [None, Some(""), Some("  ")] {
            let token = Access::new(none).token().to_owned();
            assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{none:?}: {token:?}");
        }
        assert_eq!(Access::new(Some(" set ")).token(), " set ", "a token is kept as given");
    }

    #[test]
    fn the_token_is_compared_whole() {
        let access = Access::new(Some("s3cret-token"));
        assert!(access.log_in("s3cret-token", None).is_ok());
        for wrong in ["", "s3cret", "s3cret-tokeN", "s3cret-token-and-more"] {
            assert_eq!(access.log_in(wrong, None), Err(LoginRefused::WrongToken), "{wrong}");
        }
        assert_eq!(Access::new(None).token().len(), 32, "a generated token");
        assert_ne!(Access::new(None).token(), Access::new(None).token());
    }

    /// Right tokens never count; past its wrong tries an address is refused even the right
    /// token, until the oldest is a minute old; another address is not.
    #[test]
    fn only_wrong_tries_count_each_address_a_minute() {
        let access = Access::new(Some("s3cret-token"));
        let host = Some(IpAddr::from([192, 0, 2, 7]));
        let start = Instant::now();
        for _ in 0..3 * WRONG_LOGINS_PER_MINUTE {
            assert!(access.log_in_at("s3cret-token", host, start).is_ok());
        }
        for _ in 0..WRONG_LOGINS_PER_MINUTE {
            assert_eq!(access.log_in_at("guess", host, start), Err(LoginRefused::WrongToken));
        }
        let later = start + Duration::from_secs(15);
        let refused = |first| Err(LoginRefused::TooManyWrong { retry_after: Duration::from_secs(45), first });
        assert_eq!(access.log_in_at("s3cret-token", host, later), refused(true));
        assert_eq!(access.log_in_at("s3cret-token", host, later), refused(false), "reported once");
        assert!(access.log_in_at("s3cret-token", Some(IpAddr::from([192, 0, 2, 8])), later).is_ok());
        assert!(access.log_in_at("s3cret-token", host, start + WRONG_LOGIN_WINDOW).is_ok(), "a minute on");
        assert!(lock(&access.wrong).is_empty(), "and forgotten");
    }

    /// A session ends [`SESSION_LIFETIME`] after its login, and logins in a loop keep at most
    /// [`MAX_SESSIONS`], the newest.
    #[test]
    fn sessions_end_and_are_bounded() {
        let access = Access::new(Some("s3cret-token"));
        let start = Instant::now();
        let first = access.log_in_at("s3cret-token", None, start).expect("logs in");
        assert!(access.session_at(&first, start + SESSION_LIFETIME - Duration::from_secs(1)).is_some());
        assert!(access.session_at(&first, start + SESSION_LIFETIME).is_none(), "ended");
        let mut newest = String::new();
        for i in 0..2 * MAX_SESSIONS {
            let at = start + Duration::from_secs(u64::try_from(i).expect("small"));
            newest = access.log_in_at("s3cret-token", None, at).expect("logs in");
        }
        assert_eq!(lock(&access.sessions).len(), MAX_SESSIONS);
        assert!(access.session_at(&first, start).is_none(), "the oldest went first");
        assert!(access.session_at(&newest, start + Duration::from_secs(1000)).is_some());
        access.log_in_at("s3cret-token", None, start + 2 * SESSION_LIFETIME).expect("logs in");
        assert_eq!(lock(&access.sessions).len(), 1, "the ended ones are dropped");
    }

    #[test]
    fn writes_must_come_from_our_own_page() {
        let req = |origin: Option<&str>| {
            let mut r = actix_web::test::TestRequest::post().insert_header((header::HOST, "lan.party:8080"));
            if let Some(o) = origin {
                r = r.insert_header((header::ORIGIN, o));
            }
            r.to_http_request()
        };
        assert!(same_origin(&req(Some("http://lan.party:8080"))));
        assert!(!same_origin(&req(Some("http://evil.example"))));
        assert!(!same_origin(&req(Some("http://lan.party:9090"))));
        assert!(!same_origin(&req(None)));
    }
}
