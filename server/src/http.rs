//! HTTP routes and the server's life cycle: start, serve, drain on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, middleware, web};
use tokio_util::sync::CancellationToken;

use crate::admission::{Gate, Refusal};
use crate::config::Config;
use crate::lobby::{Drain, GameSetup, ListRooms, Lobby};
use crate::maps::MapList;
use crate::metrics::{self, Metrics};
use crate::player_session::{Connection, PlayerSession};
use crate::socket::{self, ConnSocket};
use crate::stats::Stats;
use crate::{assets, client_addr, invite, origin};

/// How long a finished connection waits for the client to close before closing it.
const CLIENT_LINGER: Duration = Duration::from_millis(200);

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
    /// `/invite.svg`: the QR code of the URL to invite players to, drawn once.
    invite_svg: String,
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
    let invite_svg = invite::svg(&invite::url(listener.local_addr()?, config.public_url.as_deref()));
    let config = Arc::new(config);
    let seed = config.seed.unwrap_or_else(rand::random);
    tracing::info!(seed, maps = ?maps.names(), first = %maps.get(maps.first()).name, "game set up");
    let setup = GameSetup {
        maps: Arc::new(maps),
        settings: config.match_settings(),
        seed,
        max_players_per_room: config.max_players_per_room,
        max_spectators_per_room: config.max_spectators_per_room,
        big_room_players: config.big_room_players,
    };
    let lobby = Lobby::new(setup, threads, stats.clone()).start();
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
        invite_svg,
    });
    let assets = assets::configure_from(config.assets.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            // Compress skips the WebSocket upgrade, so one wrapper covers everything.
            .wrap(middleware::Compress::default())
            .configure(routes)
            .configure(assets.clone())
    })
    .workers(config.workers.unwrap_or(threads))
    .on_connect(socket::on_connect(config.socket_send_buffer))
    .disable_signals()
    // After a WebSocket close handshake the client waits for us to close TCP (RFC 6455), while
    // actix lingers for this long waiting for the client to close first. The default 1 s made
    // every clean leave take a second; a short linger still absorbs the client's late bytes.
    .client_disconnect_timeout(CLIENT_LINGER)
    .shutdown_timeout(DRAIN_TIMEOUT.as_secs() + 1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let mut serving = actix_web::rt::spawn(server);

    tokio::select! {
        result = &mut serving => return result.unwrap_or_else(|e| Err(std::io::Error::other(e))),
        () = shutdown => {}
    }
    tracing::info!("shutting down: closing every connection with 1012");
    draining.store(true, Ordering::SeqCst);
    lobby.do_send(Drain);
    token.cancel();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while Stats::get(&stats.connections) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.stop(true).await;
    let result = serving.await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
    System::current().stop();
    result
}

/// The game's own routes (the static files come from [`assets::configure`]).
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws", web::get().to(ws_route))
        .route("/livez", web::get().to(livez))
        .route("/readyz", web::get().to(readyz))
        .route("/api/rooms", web::get().to(rooms))
        .route("/metrics", web::get().to(metrics))
        .route("/invite.svg", web::get().to(invite_svg));
}

/// The invite QR code. Not cached: `--public-url` or the network may differ after a restart.
async fn invite_svg(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(state.invite_svg.clone())
}

async fn ws_route(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if state.draining.load(Ordering::SeqCst) {
        return Ok(refuse(&state.stats, Refusal::Draining));
    }
    let headers = req.headers();
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("(not text)"));
    if let Err(refused) = origin::check(text(header::ORIGIN), text(header::HOST), &state.config.allowed_origins) {
        tracing::warn!(
            origin = %refused,
            peer = ?req.peer_addr(),
            "WebSocket refused: origin not allowed (see --allowed-origins)"
        );
        return Ok(refuse(&state.stats, Refusal::Origin));
    }
    let client = client_addr::client_ip(req.peer_addr(), headers, &state.config.trusted_proxies);
    let permit = match state.gate.admit(client) {
        Ok(permit) => permit,
        Err(refusal) => {
            tracing::debug!(client = ?client, reason = refusal.label(), "WebSocket refused");
            return Ok(refuse(&state.stats, refusal));
        }
    };
    let (response, ws, stream) = actix_ws::handle(&req, body)?;
    let stream = stream.max_frame_size(state.config.max_frame_bytes);
    let conn = Connection { socket: req.conn_data::<ConnSocket>().cloned(), peer: req.peer_addr(), permit };
    let session = PlayerSession::new(
        ws,
        conn,
        state.lobby.clone(),
        state.config.clone(),
        state.stats.clone(),
        state.shutdown.clone(),
    );
    PlayerSession::create(move |ctx| {
        ctx.add_stream(stream);
        session
    });
    Ok(response)
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
        .map(|r| serde_json::json!({"name": r.name, "players": r.players, "spectators": r.spectators}))
        .collect();
    Ok(HttpResponse::Ok().json(rooms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service};

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
        };
        let draining = Arc::new(AtomicBool::new(false));
        let state = web::Data::new(AppState {
            gate: Gate::new(config.connection_limits()),
            config,
            lobby: Lobby::new(setup, 1, stats.clone()).start(),
            stats: stats.clone(),
            draining: draining.clone(),
            shutdown: CancellationToken::new(),
            metrics: Metrics::new(stats),
            invite_svg: String::new(),
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
