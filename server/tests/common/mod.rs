//! Test helpers: a real WebSocket client driving the real client core against a real server.

#![allow(dead_code)] // Each test file uses a different subset.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use skirmish_client::{Client, ConnState, Event};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// Generous: these bound a hang, they do not measure speed.
pub const WAIT: Duration = Duration::from_secs(20);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts a real server on 127.0.0.1:0 with test defaults.
pub fn server() -> skirmish_server::ServerHandle {
    skirmish_server::spawn_in_thread(skirmish_server::Config::for_tests()).expect("server starts")
}

/// Opens a raw WebSocket.
pub async fn raw(url: &str) -> Ws {
    connect_async(url).await.expect("websocket connects").0
}

/// A player: a socket plus the client core that players' browsers run.
pub struct TestClient {
    pub ws: Ws,
    pub core: Client,
    start: Instant,
}

impl TestClient {
    /// Connects, says Hello and waits for Welcome.
    pub async fn join(url: &str, name: &str, room: Option<&str>) -> Self {
        let mut ws = raw(url).await;
        let mut core = Client::new(name, room.map(Into::into));
        ws.send(Message::binary(core.on_open())).await.expect("send Hello");
        let mut client = Self { ws, core, start: Instant::now() };
        client.wait_for(|c| c.core.state() == &ConnState::Playing).await;
        client
    }

    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    pub fn id(&self) -> u32 {
        self.core.my_id().expect("welcomed")
    }

    /// Reads one message and feeds it to the core; panics on close or timeout.
    pub async fn next_event(&mut self) -> Event {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("message within the wait");
            match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    let now = self.now_ms();
                    return self.core.on_message(&bytes, now).expect("valid server message");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Reads until `done` holds for this client.
    pub async fn wait_for(&mut self, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            assert!(Instant::now() < deadline, "condition not met within {WAIT:?}");
            self.next_event().await;
        }
    }

    /// Sends one input through the core.
    pub async fn send_input(&mut self, mv: Vec2) {
        let now = self.now_ms();
        let bytes = self.core.input(mv, 0.0, 0, now).expect("playing");
        self.ws.send(Message::binary(bytes)).await.expect("send input");
    }

    /// Position of player `id` in the newest snapshot.
    pub fn position_of(&self, id: u32) -> Option<Vec2> {
        self.core.latest()?.players.iter().find(|p| p.id == id).map(|p| p.pos)
    }

    /// Ids in the newest snapshot.
    pub fn ids(&self) -> Vec<u32> {
        self.core.latest().map(|s| s.players.iter().map(|p| p.id).collect()).unwrap_or_default()
    }
}

/// Reads until the server closes; returns the close code and reason.
pub async fn expect_close(ws: &mut Ws) -> (u16, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await.expect("closed within the wait") {
            Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
            Some(Ok(Message::Close(None))) => return (u16::from(CloseCode::Status), String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before a close frame: {e}"),
            None => panic!("stream ended without a close frame"),
        }
    }
}
