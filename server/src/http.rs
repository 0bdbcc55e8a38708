//! HTTP routes and the server's life cycle: start, serve, drain on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::{ConnectionType, HttpService, h1};
use actix_service::{Service, apply_fn_factory, map_config};
use actix_web::dev::{AppConfig, RequestHead, fn_service};
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, ResponseError, guard, middleware, web};
use bytes::Bytes;
use futures_util::SinkExt as _;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, Access};
use crate::admission::{Gate, Limits, Permit, Refusal};
use crate::config::Config;
use crate::invite::RoomCodes;
use crate::lobby::{
    AdminBans, AdminCloseRoom, AdminKick, AdminRooms, AdminUnban, Drain, GameSetup, ListRooms, Lobby, RoomExists,
};
use crate::maps::MapList;
use crate::metrics::{self, Metrics};
use crate::player_session::{Connection, PlayerSession};
use crate::socket::{self, ConnSocket};
use crate::stats::Stats;
use crate::ws_reader::WsReader;
use crate::{agones, assets, client_addr, invite, origin};

/// How long a finished connection waits for the client to close before closing it: actix-http's
/// for HTTP, [`WsReader`]'s for a WebSocket. After a WebSocket close handshake the client waits
/// for us to end TCP (RFC 6455), so this is how long a clean leave can take; 1 s made every one
/// take a second.
const CLIENT_LINGER: Duration = Duration::from_millis(200);

/// How long a request may take from its head to its answer (its body included) before it gets
/// 408 and its connection is closed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long sessions get to deliver their Close 1012 before the HTTP server stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// What every request handler can reach.
struct AppState {
    config: Arc<Config>,
    lobby: Addr<Lobby>,
    stats: Arc<Stats>,
    /// Set once shutdown starts: `/readyz` turns 503 and new WebSockets are refused.
    draining: Arc<AtomicBool>,
    /// Cancelled at shutdown; every session watches it and closes with 1012.
    shutdown: CancellationToken,
    /// This server's registry for `/metrics`.
    metrics: Metrics,
    /// The connection caps, checked before every upgrade.
    gate: Arc<Gate>,
    /// `/invite.svg`: the QR code of `invite_url`, drawn once.
    invite_svg: Bytes,
    /// `/invite.svg?room=NAME`: the rooms' codes, drawn when asked for.
    room_codes: RoomCodes,
    /// The admin token and its logged-in sessions.
    admin: Access,
    /// When the server started, for the admin page's uptime.
    started: Instant,
    /// Snapshot bytes sent over the last second, sampled every second.
    bytes_per_s: Arc<AtomicU64>,
    /// The second since `started` of the last refused origin logged at `WARN`: one a second at
    /// most, the rest at `DEBUG`, so refused upgrades (which no limit counts) cannot flood the
    /// log.
    origin_warned: AtomicU64,
    /// Likewise for refusals at the connection caps (and for want of file descriptors)…
    cap_warned: AtomicU64,
    /// …and for admin requests from another origin.
    admin_origin_warned: AtomicU64,
    /// An `X-Forwarded-For` from a peer that is no `--trusted-proxy` was logged (once: a host
    /// who forgot the option otherwise saw every player at the proxy's address, and raised the
    /// caps instead; from an outside test of a deployment).
    untrusted_forward_told: AtomicBool,
}

/// Serves on `listener` until `shutdown` resolves, then drains: `/readyz` answers 503, every
/// WebSocket gets Close 1012, and the HTTP server stops within a few seconds. `maps` come from
/// [`MapList::load`], done by the caller so a bad map stops it before it listens.
pub async fn run(
    config: Config,
    maps: MapList,
    listener: std::net::TcpListener,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    config.check().map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let invite_url = invite::url(listener.local_addr()?, config.public_url.as_deref());
    let invite_svg = Bytes::from(invite::svg(&invite_url));
    let config = Arc::new(config);
    let seed = config.seed.unwrap_or_else(rand::random);
    tracing::info!(seed, maps = ?maps.names(), first = %maps.get(maps.first()).name, "game set up");
    if config.simulates_latency() {
        tracing::warn!(
            round_trip = ?config.sim_latency,
            jitter = ?config.sim_jitter,
            "SIMULATED LATENCY IS ON: every connection is delayed on purpose (--sim-latency/--sim-jitter); \
             for development only, never for a real match"
        );
    }
    let setup = GameSetup {
        maps: Arc::new(maps),
        settings: config.match_settings(),
        seed,
        max_players_per_room: config.max_players_per_room,
        max_spectators_per_room: config.max_spectators_per_room,
        big_room_players: config.big_room_players,
        unacknowledged_limit: config.unacknowledged_limit(),
        max_rooms: config.max_rooms,
        max_rooms_per_ip: config.max_rooms_per_ip,
        max_kept_seats_per_ip: config.max_connections_per_ip as usize,
        empty_room_grace: config.empty_room_grace,
        seat_reservation: config.seat_reservation,
    };
    let lobby = Lobby::new(setup, threads, config.room_nice, config.room_realtime, stats.clone());
    let lobby_failed = lobby.failure();
    let lobby = lobby.start();
    let draining = Arc::new(AtomicBool::new(false));
    let token = CancellationToken::new();
    let state = web::Data::new(AppState {
        config: config.clone(),
        lobby: lobby.clone(),
        stats: stats.clone(),
        draining: draining.clone(),
        shutdown: token.clone(),
        metrics: Metrics::new(stats.clone()),
        gate: Gate::new(config.connection_limits()),
        room_codes: RoomCodes::new(invite_url),
        invite_svg,
        admin: Access::new(config.admin_token.as_deref()),
        started: Instant::now(),
        bytes_per_s: Arc::new(AtomicU64::new(0)),
        origin_warned: AtomicU64::new(0),
        cap_warned: AtomicU64::new(0),
        admin_origin_warned: AtomicU64::new(0),
        untrusted_forward_told: AtomicBool::new(false),
    });
    actix_web::rt::spawn(sample_bytes_per_s(stats.clone(), state.bytes_per_s.clone()));
    let assets = assets::configure_from(config.assets.clone());
    let addr = listener.local_addr()?;
    let send_buffer = config.socket_send_buffer;
    let user_timeout = socket::user_timeout(&config);
    let workers = config.workers.unwrap_or(threads);
    let sockets = Sockets::new(&config, stats.clone(), workers);
    // actix-web's `HttpServer` has no hook for the WebSocket upgrade, so the HTTP service is
    // put together here as `HttpServer` would, plus [`upgrade`]: actix-http hands every
    // WebSocket upgrade request to it with the connection, instead of to the app.
    let server = actix_web::dev::Server::build()
        .workers(workers)
        .max_concurrent_connections(http_connections_per_worker(config.max_http_connections, workers))
        .disable_signals()
        .shutdown_timeout(DRAIN_TIMEOUT.as_secs() + 1)
        .listen("skirmish", listener, move || {
            let app_state = state.clone();
            let assets = assets.clone();
            let app = App::new()
                .app_data(app_state)
                // actix-http times out only a request's head (`client_request_timeout`, 5 s):
                // a request whose body never comes would hold its connection for ever. After
                // the 408 actix-http would still read the rest of that body, with no timer: the
                // end of our reading side ends the connection instead, at once rather than at
                // `--http-connection-lifetime`, which gives its place under the caps back.
                .wrap_fn(|req, app| {
                    let socket = req.conn_data::<ConnSocket>().cloned();
                    let served = app.call(req);
                    async move {
                        tokio::time::timeout(REQUEST_TIMEOUT, served).await.unwrap_or_else(|_| {
                            if let Some(socket) = socket {
                                socket.stop_reading();
                            }
                            Err(actix_web::error::ErrorRequestTimeout("the request's body did not come in time"))
                        })
                    }
                })
                .configure(routes)
                .configure(assets);
            let state = state.clone();
            let http = HttpService::build()
                // An HTTP connection we close lingers this long for the client to close first,
                // absorbing its late bytes (the default is 1 s).
                .client_disconnect_timeout(CLIENT_LINGER)
                .local_addr(addr)
                .on_connect_ext(socket::on_connect(send_buffer, user_timeout))
                .upgrade(fn_service(move |upgraded| upgrade(state.clone(), upgraded)))
                .finish(map_config(app, |()| AppConfig::default()))
                .tcp();
            let sockets = sockets.clone();
            apply_fn_factory(http, move |io: TcpStream, http: &_| sockets.serve(io, http))
        })?
        .run();
    let handle = server.handle();
    let mut serving = actix_web::rt::spawn(server);
    // Listening: tell Agones (if it runs us) and keep it informed until the drain.
    let agones = config.agones_port().map(|port| std::rc::Rc::new(agones::Sdk::new(port)));
    let watchdog = agones.clone().map(|sdk| {
        tracing::info!("running under Agones: ready, health every 2 s, shutdown when drained");
        actix_web::rt::spawn(agones::run(sdk, stats.clone(), agones::HEALTH_PERIOD, agones::STALL))
    });

    let lobby_failed = tokio::select! {
        result = &mut serving => return result.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        () = shutdown => false,
        () = lobby_failed.cancelled() => true,
    };
    tracing::info!("shutting down: closing every connection with 1012");
    draining.store(true, Ordering::SeqCst);
    lobby.do_send(Drain);
    token.cancel();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while Stats::get(&stats.connections) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(sdk) = agones {
        watchdog.into_iter().for_each(|w| w.abort());
        sdk.shutdown().await;
    }
    handle.stop(true).await;
    let result = serving.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
    System::current().stop();
    if lobby_failed {
        // A non-zero exit status, for a supervisor (systemd, Docker, Kubernetes) to restart it.
        return Err(std::io::Error::other("the lobby failed (a panic, logged above): the server stopped"));
    }
    result
}

/// actix-server's limit of connections per worker when `--max-http-connections` is 0.
const ACTIX_CONNECTIONS_PER_WORKER: usize = 25_000;

/// `--max-http-connections` as actix-server takes it: per worker, rounded up (0: its own).
/// actix-server counts a connection from accept until its service ends, which for a WebSocket
/// is the hand-over to its session ([`upgrade`]): the plain HTTP connections, as the flag says.
fn http_connections_per_worker(total: u32, workers: usize) -> usize {
    match usize::try_from(total) {
        Ok(0) | Err(_) => ACTIX_CONNECTIONS_PER_WORKER,
        Ok(total) => total.div_ceil(workers.max(1)),
    }
}

/// Every TCP connection's place under `--max-http-connections-per-ip`, from accept until its
/// HTTP service ends (for a WebSocket, when the upgrade hands it to its session, which counts
/// under the WebSocket caps instead). Without it, one address could hold every descriptor the
/// process may open with idle requests, and nobody could join. (The cap in all,
/// `--max-http-connections`, is actix-server's own: it stops accepting, see
/// [`http_connections_per_worker`]; this counts the connections for the metrics and the log.)
/// It also ends a connection still plain HTTP after `--http-connection-lifetime`.
#[derive(Clone)]
struct Sockets {
    gate: Arc<Gate>,
    trusted: Arc<[client_addr::TrustedProxy]>,
    stats: Arc<Stats>,
    /// `None`: no limit.
    lifetime: Option<Duration>,
    /// The connections at which actix-server stops accepting; `None` for no cap of ours.
    cap: Option<u64>,
    /// When the cap was last reported at `WARN` (milliseconds since `started`; `u64::MAX`:
    /// never): once a minute at most.
    cap_warned: Arc<AtomicU64>,
    /// The second since `started` (plus one) when an address's refusal was last logged at
    /// `WARN`: once a second at most, the rest at `DEBUG`.
    refused_warned: Arc<AtomicU64>,
    started: Instant,
}

impl Sockets {
    fn new(config: &Config, stats: Arc<Stats>, workers: usize) -> Self {
        let limits =
            Limits { per_ip: config.max_http_connections_per_ip, global: 0, per_ip_per_sec: 0, chat_per_ip: 0 };
        let lifetime = Some(config.http_connection_lifetime).filter(|l| !l.is_zero());
        let cap = (config.max_http_connections > 0)
            .then(|| (http_connections_per_worker(config.max_http_connections, workers) * workers.max(1)) as u64);
        Self {
            gate: Gate::new(limits),
            trusted: config.trusted_proxies.clone().into(),
            stats,
            lifetime,
            cap,
            cap_warned: Arc::new(AtomicU64::new(u64::MAX)),
            refused_warned: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        }
    }

    /// Counts a connection in `skirmish_http_connections` until the returned guard drops, and
    /// says so once a minute when that fills the cap: the server then accepts no more until
    /// some end, and a host who sees it often should look at who holds them (or raise it).
    fn open(&self, peer: Option<std::net::IpAddr>) -> HttpOpen {
        let open = self.stats.http_connections.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(cap) = self.cap.filter(|&cap| open >= cap) {
            let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
            let last = self.cap_warned.load(Ordering::Relaxed);
            let due = last == u64::MAX || now.saturating_sub(last) >= 60_000;
            // One worker wins the exchange, so a burst at the cap logs one line.
            if due && self.cap_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
                tracing::warn!(
                    open,
                    ?peer,
                    "HTTP connections at --max-http-connections ({cap}): new ones wait in the listen queue until some end"
                );
            }
        }
        HttpOpen(self.stats.clone())
    }

    /// Serves `io` with `http`, or closes it at once, unanswered, when its address holds its
    /// share: answering would mean reading its request, the very thing it has too many of.
    fn serve<S: Service<TcpStream>>(
        &self,
        io: TcpStream,
        http: &S,
    ) -> impl Future<Output = Result<S::Response, S::Error>> + use<S>
    where
        S::Response: Default,
    {
        // A trusted proxy carries everyone's connections: it is not counted (`None`).
        let peer = io.peer_addr().ok().map(|a| a.ip().to_canonical());
        let key = peer.filter(|ip| !client_addr::is_trusted(*ip, &self.trusted));
        let call = match self.gate.admit(key) {
            Ok(permit) => Some(((permit, self.open(peer)), http.call(io))),
            Err(_) => {
                Stats::inc(&self.stats.http_refused);
                // At WARN once a second, naming the address and the option: a household whose
                // page loads fail for it left its host nothing to read (an outside test).
                let client = peer.map(tracing::field::display);
                if !warn_this_second(&self.refused_warned, self.started) {
                    tracing::debug!(
                        client,
                        "connection closed unanswered: its address has all its HTTP connections open"
                    );
                } else {
                    tracing::warn!(
                        client,
                        "connection closed unanswered: its address has all its HTTP connections open (see --max-http-connections-per-ip)"
                    );
                }
                None
            }
        };
        let lifetime = self.lifetime;
        async move {
            let Some((permit, call)) = call else { return Ok(S::Response::default()) };
            let Some(lifetime) = lifetime else { return call.await };
            // Dropping actix-http's connection task closes the socket.
            let served = tokio::time::timeout(lifetime, call).await.unwrap_or_else(|_| {
                tracing::debug!(?peer, "HTTP connection closed: open for --http-connection-lifetime");
                Ok(S::Response::default())
            });
            drop(permit);
            served
        }
    }
}

/// One connection counted in `skirmish_http_connections`, until it drops.
struct HttpOpen(Arc<Stats>);

impl Drop for HttpOpen {
    fn drop(&mut self) {
        Stats::dec(&self.0.http_connections);
    }
}

/// The game's own routes (the static files come from [`assets::configure`]).
fn routes(cfg: &mut web::ServiceConfig) {
    // The answers made per request that can be long (the room list, the metrics, the admin's
    // pages and status, the QR code) are compressed with gzip when the client takes it; the
    // static files never are (see `assets`). Never brotli: made per request it cost 15–23 times
    // the answer itself, which anyone could ask for in a loop (actix-web is built without it).
    let compressed = |path: &str| web::resource(path).wrap(middleware::Compress::default());
    // Every page answers HEAD as GET (actix-http sends the head alone), as HTTP asks of a
    // server and health checkers and proxies expect; a known path asked with a method it does
    // not take gets 405 with `Allow`, not the 404 of an unknown path.
    // The admin's calls are a line of JSON; their bodies are read whole before the login is
    // checked (see `admin_call`), so keep what anyone may make the server buffer small.
    let admin_api = |path: &str| web::resource(path).app_data(web::PayloadConfig::new(4096));
    let get = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.service(web::resource("/ws").route(web::get().to(ws_route)))
        .service(web::resource("/livez").route(get().to(livez)))
        .service(web::resource("/readyz").route(get().to(readyz)))
        .service(compressed("/api/rooms").route(get().to(rooms)))
        .service(compressed("/metrics").route(get().to(metrics)))
        .service(compressed("/invite.svg").route(get().to(invite_svg)))
        .service(web::resource("/r/{room}").route(get().to(room_link)))
        .service(compressed("/admin").route(get().to(admin_page)))
        .service(compressed("/admin/login").route(web::post().to(admin_login)))
        .service(web::resource("/admin/logout").route(web::post().to(admin_logout)))
        .service(compressed("/admin/api/status").route(get().to(admin_status)))
        .service(admin_api("/admin/api/kick").route(web::post().to(admin_kick)))
        .service(admin_api("/admin/api/unban").route(web::post().to(admin_unban)))
        .service(admin_api("/admin/api/close-room").route(web::post().to(admin_close_room)));
}

/// Every second, the snapshot bytes sent in the last second (the admin page's rate).
async fn sample_bytes_per_s(stats: Arc<Stats>, rate: Arc<AtomicU64>) {
    let mut ticker = actix_web::rt::time::interval(Duration::from_secs(1));
    let mut last = Stats::get(&stats.snapshot_bytes);
    loop {
        ticker.tick().await;
        let now = Stats::get(&stats.snapshot_bytes);
        rate.store(now.saturating_sub(last), Ordering::Relaxed);
        last = now;
    }
}

/// `/admin`: the page for a logged-in admin, else 401 with only the login form.
async fn admin_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.admin.logged_in(&req) { admin::admin_page() } else { admin::login_page(StatusCode::UNAUTHORIZED, None) }
}

/// `POST /admin/login` (a form with the token): a session cookie, or the form again saying why
/// (401 a wrong token, 429 too many). Logged with the client's address, never the token: a
/// login at info, a wrong token at warn, a lockout at warn once (not per refused request).
async fn admin_login(req: HttpRequest, form: web::Form<admin::LoginForm>, state: web::Data<AppState>) -> HttpResponse {
    if !admin::same_origin(&req) {
        return cross_origin_refused(&req, &state);
    }
    let client = client_addr::client_ip(req.peer_addr(), req.headers(), &state.config.trusted_proxies);
    match state.admin.log_in(&form.token, client.map(client_addr::cap_key)) {
        Ok(session) => {
            tracing::info!(client = client.map(display), "admin logged in");
            admin::logged_in_response(&session, admin::over_https(&req, &state.config.trusted_proxies))
        }
        Err(admin::LoginRefused::WrongToken) => {
            tracing::warn!(client = client.map(display), "admin login refused: wrong token");
            admin::wrong_token_page()
        }
        Err(admin::LoginRefused::TooManyWrong { retry_after, first }) => {
            if first {
                tracing::warn!(
                    client = client.map(display),
                    retry_after_s = retry_after.as_secs(),
                    "admin logins locked out for this address: too many wrong tokens"
                );
            }
            admin::locked_out_page(retry_after)
        }
    }
}

/// `POST /admin/logout` (the page's Log out): ends the session and clears its cookie; from the
/// page's own origin only, like every write, so another site cannot log the admin out.
async fn admin_logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !admin::same_origin(&req) {
        return cross_origin_refused(&req, &state);
    }
    if state.admin.log_out(&req) {
        let client = client_addr::client_ip(req.peer_addr(), req.headers(), &state.config.trusted_proxies);
        tracing::info!(client = client.map(display), "admin logged out");
    }
    admin::logged_out_response(admin::over_https(&req, &state.config.trusted_proxies))
}

/// Refuses an API call without a session (401), or a write from another origin (403).
fn admin_refusal(req: &HttpRequest, state: &AppState, write: bool) -> Option<HttpResponse> {
    if !state.admin.logged_in(req) {
        return Some(admin::json_error(StatusCode::UNAUTHORIZED, "log in at /admin"));
    }
    if write && !admin::same_origin(req) {
        return Some(cross_origin_refused(req, state));
    }
    None
}

/// The 403 to an admin write whose `Origin` is not this server's `Host`, logged (at WARN once a
/// second at most): behind a proxy that drops the port from `Host`, every admin action was
/// refused with no line in the log (from an outside test of a deployment).
fn cross_origin_refused(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let text = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("(not text)")).unwrap_or_default();
    let (origin, host, path) = (text(header::ORIGIN), text(header::HOST), req.path());
    let client = client_addr::client_ip(req.peer_addr(), req.headers(), &state.config.trusted_proxies)
        .map(tracing::field::display);
    if warn_this_second(&state.admin_origin_warned, state.started) {
        tracing::warn!(
            origin = ?origin, host = ?host, path, client,
            "admin request refused: its Origin is not this server's Host (behind a reverse proxy, pass the \
             browser's Host, port included)"
        );
    } else {
        tracing::debug!(origin = ?origin, host = ?host, path, client, "admin request refused: cross-origin");
    }
    admin::json_error(StatusCode::FORBIDDEN, "cross-origin request refused")
}

/// An API call that acts: the caller is checked first (401, 403), and only then its body read
/// as JSON (400 with the reason), so a stranger learns nothing from a body's parse error.
fn admin_call<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> Result<T, actix_web::Error> {
    let refuse = |answer: HttpResponse| -> actix_web::Error {
        actix_web::error::InternalError::from_response("", answer).into()
    };
    if let Some(refused) = admin_refusal(req, state, true) {
        return Err(refuse(refused));
    }
    if !req.content_type().eq_ignore_ascii_case("application/json") {
        return Err(refuse(admin::json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the body must be application/json")));
    }
    serde_json::from_slice(body)
        .map_err(|e| refuse(admin::json_error(StatusCode::BAD_REQUEST, &format!("bad request body: {e}"))))
}

async fn admin_status(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, actix_web::Error> {
    if let Some(refused) = admin_refusal(&req, &state, false) {
        return Ok(refused);
    }
    let rooms = state.lobby.send(AdminRooms).await.map_err(actix_web::error::ErrorInternalServerError)?;
    let bans = state.lobby.send(AdminBans).await.map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(serde_json::json!({
        "uptime_s": state.started.elapsed().as_secs_f64(),
        "connections": Stats::get(&state.stats.connections),
        "players": Stats::get(&state.stats.players),
        "spectators": Stats::get(&state.stats.spectators),
        "bytes_per_s": state.bytes_per_s.load(Ordering::Relaxed),
        "rooms": rooms,
        "bans": bans,
    })))
}

async fn admin_kick(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let body: admin::KickRequest = admin_call(&req, &state, &body)?;
    let kick = AdminKick {
        room: body.room.clone(),
        id: body.id,
        reason: admin::KICK_REASON,
        all_from_address: body.all_from_address,
    };
    let done = state.lobby.send(kick).await.map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(if done > 0 {
        HttpResponse::Ok().json(serde_json::json!({ "kicked": body.id, "connections_and_seats": done }))
    } else {
        admin::json_error(StatusCode::NOT_FOUND, "no such player in that room")
    })
}

async fn admin_unban(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let body: admin::UnbanRequest = admin_call(&req, &state, &body)?;
    let unban = AdminUnban { room: body.room.clone(), address: body.address };
    let done = state.lobby.send(unban).await.map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(if done {
        HttpResponse::Ok().json(serde_json::json!({ "unbanned": body.address, "room": body.room }))
    } else {
        admin::json_error(StatusCode::NOT_FOUND, "no such ban: that address is not banned from that room")
    })
}

async fn admin_close_room(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let body: admin::CloseRoomRequest = admin_call(&req, &state, &body)?;
    let close = AdminCloseRoom { room: body.room.clone(), reason: admin::CLOSE_ROOM_REASON };
    let done = state.lobby.send(close).await.map_err(actix_web::error::ErrorInternalServerError)?;
    Ok(if done {
        HttpResponse::Ok().json(serde_json::json!({ "closed": body.room }))
    } else {
        admin::json_error(StatusCode::NOT_FOUND, "no such room")
    })
}

/// `/r/NAME`, the link to share for a room: the page, joining that room (`/?room=NAME`). A
/// redirect rather than the page itself, so the page's relative asset paths stay right. A name
/// that is not valid goes there too (encoded as a query value), for the page to say why and
/// offer the lobby: the person who followed a mistyped or cut-off link sees the game, not a
/// bare error.
async fn room_link(req: HttpRequest, room: web::Path<String>) -> HttpResponse {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("room", &room);
    // A caster's link, `/r/NAME?spectate`, opens the page watching.
    if url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(key, value)| key == "spectate" && value != "0")
    {
        query.append_pair("spectate", "1");
    }
    HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/?{}", query.finish()))).finish()
}

/// `/invite.svg`'s query: the room to invite to, if any.
#[derive(serde::Deserialize)]
struct InviteQuery {
    room: Option<String>,
}

/// The invite QR code: of the server's page, or with `?room=NAME` of that room's link
/// (`/r/NAME`), which a friend scanning it from a private room needs. A room's code is drawn
/// only while the room is open (404 otherwise: the page asks for the code of the room it is
/// in), so names made up by the thousand cannot spend the drawing rate that pages need. A code
/// not drawn yet costs the address one of its new connections' tokens (429 past that rate:
/// whether a private room is open is no quicker to find out here than by joining), and 429
/// too while open rooms' new codes are asked for faster than [`RoomCodes`] draws them. Not
/// cached by the browser: `--public-url` or the network may differ after a restart.
async fn invite_svg(req: HttpRequest, query: web::Query<InviteQuery>, state: web::Data<AppState>) -> HttpResponse {
    let svg = match query.into_inner().room {
        None => state.invite_svg.clone(),
        Some(room) => match room_code(&req, &state, room).await {
            Ok(svg) => svg,
            Err(refused) => return refused,
        },
    };
    HttpResponse::Ok().content_type("image/svg+xml").insert_header((header::CACHE_CONTROL, "no-cache")).body(svg)
}

/// Room `room`'s invite code for [`invite_svg`], or the answer refusing it.
async fn room_code(req: &HttpRequest, state: &AppState, room: String) -> Result<Bytes, HttpResponse> {
    let retry = |why: &'static str| HttpResponse::TooManyRequests().insert_header((header::RETRY_AFTER, "1")).body(why);
    if let Err(e) = skirmish_shared::codec::check_room(&room) {
        return Err(HttpResponse::BadRequest().body(format!("no invite to that room: {e}")));
    }
    if let Some(svg) = state.room_codes.kept(&room) {
        return Ok(svg);
    }
    // Whether a room is open is what a join would tell, so asking costs the address what a
    // join does: private rooms' names are not found out faster.
    let client = client_addr::client_ip(req.head().peer_addr, req.headers(), &state.config.trusted_proxies);
    if !state.gate.charge(client) {
        return Err(retry("asking for rooms' invite codes too fast from your address: try again in a second"));
    }
    if !state.lobby.send(RoomExists(room.clone())).await.unwrap_or(false) {
        return Err(HttpResponse::NotFound().body("no room of that name is open: no invite to it"));
    }
    state
        .room_codes
        .get(&room)
        .ok_or_else(|| retry("too many new rooms' invite codes asked for: try again in a second"))
}

/// `/ws` reached the app: a request without the WebSocket upgrade (those go to [`upgrade`]).
/// It gets the answer an upgrade would, refusal first, else why it is not a handshake.
async fn ws_route(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(why) = admit(&state, req.head()) {
        return refuse(&state.stats, why);
    }
    match actix_http::ws::verify_handshake(req.head()) {
        Err(e) => e.error_response(),
        // The handshake's checks passed, yet the connection layer did not take it as an
        // upgrade: it takes `Upgrade: websocket` alone, on a request without a body, while the
        // checks accept any `Upgrade` that mentions websocket (`websocket, foo`, `websockets`).
        Ok(()) => HttpResponse::BadRequest()
            .body("not a WebSocket upgrade: send `Upgrade: websocket` alone, and no request body"),
    }
}

/// A WebSocket upgrade request and its connection, as actix-http hands them over.
type Upgrade = (actix_http::Request, Framed<TcpStream, h1::Codec>);

/// Every WebSocket upgrade request, with its connection, from actix-http: refused with an HTTP
/// answer, or answered `101 Switching Protocols` and the socket handed to a new
/// [`PlayerSession`] that reads and writes it itself (`crate::ws_reader`, `crate::ws_writer`).
/// Either way actix-http's connection task ends here, and its buffers with it.
async fn upgrade(state: web::Data<AppState>, (req, mut framed): Upgrade) -> Result<(), actix_web::Error> {
    // Never an error: each way out is logged here (actix-http would log an error as a fault).
    let head = req.head();
    let refused = if head.uri.path() == "/ws" {
        match admit(&state, head) {
            Err(why) => refuse(&state.stats, why),
            Ok(_) if declares_body(head) => HttpResponse::BadRequest()
                .body("not a WebSocket upgrade: send `Upgrade: websocket` alone, and no request body"),
            // The writer's descriptor is the one `socket::on_connect` made for every connection.
            // Taken before the 101: a server out of descriptors used to switch protocols and then
            // drop the connection with no reason, logging a line per connection (from a chaos
            // test of a host).
            Ok(permit) => match (req.conn_data::<ConnSocket>().cloned(), actix_http::ws::handshake(head)) {
                (None, _) => out_of_descriptors(&state, head),
                (_, Err(e)) => e.error_response(),
                (Some(socket), Ok(mut switching)) => {
                    let switching = switching.finish().drop_body();
                    hand_over(&state, (req, framed), permit, socket, switching).await;
                    return Ok(());
                }
            },
        }
    } else {
        HttpResponse::NotFound().body("WebSocket connections are served at /ws")
    };
    if let Err(e) = respond(&mut framed, refused).await {
        tracing::debug!(peer = head.peer_addr.map(display), error = %e, "refused WebSocket gone before its answer");
    }
    Ok(())
}

/// An upgrade request that says a body follows. actix-http hands it over as an upgrade all the
/// same (it ignores `Content-Length` there), and the body would be read as the client's first
/// frames: a proxy that honours the header would see another stream than the server.
fn declares_body(head: &RequestHead) -> bool {
    let headers = head.headers();
    headers.get(header::CONTENT_LENGTH).is_some_and(|len| len.as_bytes() != b"0")
        || headers.contains_key(header::TRANSFER_ENCODING)
}

/// The answer to a WebSocket whose socket could not be duplicated (the process is out of file
/// descriptors), logged at WARN once a second at most with the limit to raise.
fn out_of_descriptors(state: &AppState, head: &RequestHead) -> HttpResponse {
    let peer = head.peer_addr.map(tracing::field::display);
    if warn_this_second(&state.cap_warned, state.started) {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        tracing::warn!(
            peer,
            open_file_limit = limit.map(tracing::field::display),
            "WebSocket refused: the server is out of file descriptors (each player holds two); \
             raise the open-file limit (`ulimit -n`, or LimitNOFILE= in a systemd unit)"
        );
    } else {
        tracing::debug!(peer, "WebSocket refused: out of file descriptors");
    }
    state.stats.refused(Refusal::OutOfFiles);
    HttpResponse::ServiceUnavailable().insert_header((header::RETRY_AFTER, "5")).body(Refusal::OutOfFiles.message())
}

/// Writes `switching` (the 101) and starts the connection's session on its socket (`socket`,
/// the writer's descriptor).
async fn hand_over(
    state: &AppState,
    (req, mut framed): Upgrade,
    permit: Permit,
    socket: ConnSocket,
    switching: actix_http::Response<()>,
) {
    let peer = req.head().peer_addr;
    if let Err(e) = framed.send(h1::Message::Item((switching, BodySize::None))).await {
        tracing::debug!(peer = peer.map(display), error = %e, "WebSocket gone during its upgrade");
        return;
    }
    if let Err(e) = socket.limit_unsent(socket::UNSENT_LIMIT) {
        tracing::debug!(peer = peer.map(display), error = %e, "cannot set TCP_NOTSENT_LOWAT");
    }
    let parts = framed.into_parts();
    // What the client sent right after its request (its first frames, if it did not wait for
    // our answer) was read into actix-http's buffer: it goes first.
    let reader = WsReader::new(parts.io, &parts.read_buf, state.config.max_frame_bytes, CLIENT_LINGER);
    // The client's own address, when a trusted proxy forwarded one: the logs name it beside
    // the peer (the proxy), or a host behind one could not tell its players apart.
    let client = client_addr::client_ip(peer, req.headers(), &state.config.trusted_proxies)
        .filter(|ip| peer.is_some_and(|p| p.ip().to_canonical() != *ip));
    let conn = Connection { socket, peer, client, permit };
    let session = PlayerSession::new(
        conn,
        state.lobby.clone(),
        state.config.clone(),
        state.stats.clone(),
        state.shutdown.clone(),
    );
    PlayerSession::create(move |ctx| {
        ctx.add_stream(reader);
        session
    });
}

/// Whether a refusal logged now goes at `WARN`: the first in each second since `started`, whose
/// number (plus one) `last` keeps; the rest go at `DEBUG`, so refusals cannot flood the log.
fn warn_this_second(last: &AtomicU64, started: Instant) -> bool {
    let second = started.elapsed().as_secs() + 1;
    last.swap(second, Ordering::Relaxed) != second
}

/// The checks before a WebSocket is accepted (draining, origin, connection caps): the
/// connection's place under the caps, or why it is refused (see [`refuse`]).
fn admit(state: &AppState, head: &RequestHead) -> Result<Permit, Refusal> {
    if state.draining.load(Ordering::SeqCst) {
        return Err(Refusal::Draining);
    }
    let headers = &head.headers;
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    if let Err(refused) = origin::check(text(header::ORIGIN), text(header::HOST), &state.config.allowed_origins) {
        // The `Host` it was compared with, and who asked: behind a proxy that drops the port
        // from `Host`, that is what a host must see (from an outside test of a deployment).
        let (host, peer) = (text(header::HOST).unwrap_or_default(), head.peer_addr.map(tracing::field::display));
        let client =
            client_addr::client_ip(head.peer_addr, headers, &state.config.trusted_proxies).map(tracing::field::display);
        if !warn_this_second(&state.origin_warned, state.started) {
            tracing::debug!(origin = ?refused, host = ?host, peer, client, "WebSocket refused: origin not allowed");
        } else {
            tracing::warn!(
                origin = ?refused, host = ?host, peer, client,
                "WebSocket refused: origin not allowed (behind a reverse proxy, pass the browser's Host, port \
                 included; else see --allowed-origins)"
            );
        }
        return Err(Refusal::Origin);
    }
    let client = client_addr::client_ip(head.peer_addr, headers, &state.config.trusted_proxies);
    if headers.contains_key(client_addr::FORWARDED_FOR)
        && head
            .peer_addr
            .is_some_and(|p| !client_addr::is_trusted(p.ip().to_canonical(), &state.config.trusted_proxies))
        && !state.untrusted_forward_told.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            peer = head.peer_addr.map(display),
            "X-Forwarded-For ignored: it came from an address that is not a --trusted-proxy, so the \
             connection counts as that address's (behind a reverse proxy, give its address to \
             --trusted-proxy; said once)"
        );
    }
    state.gate.admit(client).inspect_err(|refusal| {
        // At WARN once a second at most: a browser cannot read a 429's status (its page says
        // only that the connection was lost), so the log is where a host whose players share
        // an address learns of the cap (an outside test of a LAN host found none).
        let (client, reason) = (client.map(tracing::field::display), refusal.label());
        if !warn_this_second(&state.cap_warned, state.started) {
            tracing::debug!(client, reason = %reason, "WebSocket refused");
        } else {
            let cap = match refusal {
                Refusal::PerIp => "--max-connections-per-ip",
                Refusal::PerIpRate => "--connections-per-ip-per-sec",
                _ => "--max-connections",
            };
            tracing::warn!(client, reason = %reason, "WebSocket refused: {} (see {cap})", refusal.message());
        }
    })
}

/// Writes `response` on a connection actix-http handed over, then ends the connection.
async fn respond(framed: &mut Framed<TcpStream, h1::Codec>, response: HttpResponse) -> std::io::Result<()> {
    let (mut head, body) = actix_http::Response::from(response).into_parts();
    head.head_mut().set_connection_type(ConnectionType::Close);
    let body = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let length = BodySize::Sized(body.len() as u64);
    framed.feed(h1::Message::Item((head, length))).await?;
    framed.feed(h1::Message::Chunk(Some(body))).await?;
    framed.feed(h1::Message::Chunk(None)).await?;
    // actix-codec's `close` shuts the socket without writing what `feed` buffered: flush first.
    framed.flush().await?;
    framed.close().await
}

/// The response to a refused upgrade, counted by reason.
fn refuse(stats: &Stats, why: Refusal) -> HttpResponse {
    stats.refused(why);
    let status = StatusCode::from_u16(why.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::TOO_MANY_REQUESTS {
        response.insert_header((header::RETRY_AFTER, "1"));
    }
    response.body(why.message())
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type(metrics::CONTENT_TYPE).body(state.metrics.render())
}

async fn livez() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(Ordering::SeqCst) {
        HttpResponse::ServiceUnavailable().body("draining")
    } else {
        HttpResponse::Ok().body("ready")
    }
}

async fn rooms(state: web::Data<AppState>) -> Result<HttpResponse, actix_web::Error> {
    let rooms = state.lobby.send(ListRooms).await.map_err(actix_web::error::ErrorInternalServerError)?;
    let rooms: Vec<_> = rooms
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "players": r.players,
                "kept": r.kept,
                "spectators": r.spectators,
                "capacity": r.capacity,
                "map": r.map,
                "phase": crate::lobby::phase_name(r.phase),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(rooms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service};

    #[test]
    fn the_cap_on_http_connections_is_split_between_the_workers_rounded_up() {
        assert_eq!(http_connections_per_worker(2048, 2), 1024);
        assert_eq!(http_connections_per_worker(5, 2), 3);
        assert_eq!(http_connections_per_worker(5, 0), 5);
        assert_eq!(http_connections_per_worker(0, 4), ACTIX_CONNECTIONS_PER_WORKER);
    }

    #[actix_web::test]
    async fn draining_turns_readyz_and_new_websockets_away() {
        let stats = Arc::new(Stats::default());
        let config = Arc::new(Config::for_tests());
        let setup = GameSetup {
            maps: Arc::new(MapList::load(None, None).expect("built-in maps load")),
            settings: config.match_settings(),
            seed: 1,
            max_players_per_room: 10,
            max_spectators_per_room: 10,
            big_room_players: 50,
            unacknowledged_limit: 150,
            max_rooms: 10,
            max_rooms_per_ip: 0,
            max_kept_seats_per_ip: 0,
            empty_room_grace: Duration::ZERO,
            seat_reservation: Duration::ZERO,
        };
        let draining = Arc::new(AtomicBool::new(false));
        let state = web::Data::new(AppState {
            gate: Gate::new(config.connection_limits()),
            config,
            lobby: Lobby::new(setup, 1, 0, 0, stats.clone()).start(),
            stats: stats.clone(),
            draining: draining.clone(),
            shutdown: CancellationToken::new(),
            metrics: Metrics::new(stats),
            invite_svg: Bytes::new(),
            room_codes: RoomCodes::new(String::new()),
            admin: Access::new(None),
            started: Instant::now(),
            bytes_per_s: Arc::new(AtomicU64::new(0)),
            origin_warned: AtomicU64::new(0),
            cap_warned: AtomicU64::new(0),
            admin_origin_warned: AtomicU64::new(0),
            untrusted_forward_told: AtomicBool::new(false),
        });
        let app = init_service(App::new().app_data(state).configure(routes)).await;
        let get = |uri: &str| {
            TestRequest::get()
                .uri(uri)
                .insert_header(("connection", "upgrade"))
                .insert_header(("upgrade", "websocket"))
                .insert_header(("sec-websocket-version", "13"))
                .insert_header(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="))
                .to_request()
        };
        assert_eq!(call_service(&app, get("/readyz")).await.status(), StatusCode::OK);
        assert_eq!(call_service(&app, get("/livez")).await.status(), StatusCode::OK);

        draining.store(true, Ordering::SeqCst);
        assert_eq!(call_service(&app, get("/readyz")).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(call_service(&app, get("/ws")).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(call_service(&app, get("/livez")).await.status(), StatusCode::OK, "alive while draining");
    }
}
