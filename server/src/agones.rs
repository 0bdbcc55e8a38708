//! Agones: running as a game server on Kubernetes under the orchestrator game studios use. When
//! the SDK server's port is known (`AGONES_SDK_HTTP_PORT`, which Agones sets in the pod, or
//! `--agones` for its default port), the server calls the SDK sidecar's local REST API over its
//! life: `ready` once it listens, `health` every 2 s while every room keeps ticking (an idle
//! server is healthy; a stalled tick stops the pings, and Agones replaces the pod), the player
//! count as a label when it changes, and `shutdown` once drained.
//!
//! The calls are best effort: a failed one is logged and the next goes on; the game never waits
//! on the sidecar.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::stats::Stats;

/// The SDK server's REST port when `--agones` is given without `AGONES_SDK_HTTP_PORT`.
pub const DEFAULT_SDK_PORT: u16 = 9358;
/// Between two health pings (Agones' default `periodSeconds` is 5: two pings fit in it).
pub const HEALTH_PERIOD: Duration = Duration::from_secs(2);
/// A room that has not ticked for this long is stalled (a tick is 33 ms; a busy machine may
/// catch up after a second, never after five).
pub const STALL: Duration = Duration::from_secs(5);
/// One call to the sidecar on loopback never takes this long unless it is wedged.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK sidecar's REST API.
pub struct Sdk {
    client: awc::Client,
    base: String,
}

impl Sdk {
    /// The sidecar on `127.0.0.1:port`.
    pub fn new(port: u16) -> Sdk {
        let client = awc::Client::builder().timeout(CALL_TIMEOUT).disable_redirects().finish();
        Sdk { client, base: format!("http://127.0.0.1:{port}") }
    }

    /// The server is listening: players may be sent to it.
    pub async fn ready(&self) {
        self.call(awc::http::Method::POST, "/ready", "{}".to_owned()).await;
    }

    /// Still alive and ticking.
    pub async fn health(&self) {
        self.call(awc::http::Method::POST, "/health", "{}".to_owned()).await;
    }

    /// Sets label `agones.dev/sdk-<key>` on the GameServer (for a matchmaker's selectors).
    pub async fn label(&self, key: &str, value: &str) {
        let body = serde_json::json!({ "key": key, "value": value }).to_string();
        self.call(awc::http::Method::PUT, "/metadata/label", body).await;
    }

    /// Drained: Agones may delete the pod.
    pub async fn shutdown(&self) {
        self.call(awc::http::Method::POST, "/shutdown", "{}".to_owned()).await;
    }

    async fn call(&self, method: awc::http::Method, path: &str, body: String) {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match request.content_type("application/json").send_body(body).await {
            Ok(response) if response.status().is_success() => tracing::debug!(path, "agones call"),
            Ok(response) => tracing::warn!(path, status = %response.status(), "agones SDK refused a call"),
            Err(e) => tracing::warn!(path, error = %e, "agones SDK unreachable"),
        }
    }
}

/// Says `ready`, then runs the watchdog until dropped: every `period`, a health ping unless a
/// room has gone `stall` without a tick, and the `players` label whenever the count changed.
pub async fn run(sdk: Rc<Sdk>, stats: Arc<Stats>, period: Duration, stall: Duration) {
    sdk.ready().await;
    let mut ticker = actix_web::rt::time::interval(period);
    let mut players = None;
    let mut stalled = false;
    loop {
        ticker.tick().await;
        let oldest = stats.heartbeats.oldest();
        match (oldest > stall, stalled) {
            (false, _) => sdk.health().await,
            (true, false) => tracing::error!(?oldest, "a room stopped ticking: no more health pings to Agones"),
            (true, true) => {}
        }
        if stalled && oldest <= stall {
            tracing::info!("every room ticks again: health pings resume");
        }
        stalled = oldest > stall;
        let now = Stats::get(&stats.players);
        if players != Some(now) {
            sdk.label("players", &now.to_string()).await;
            players = Some(now);
        }
    }
}
