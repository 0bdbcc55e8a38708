//! Test helpers: a real WebSocket client driving the real client core against a real server.

#![allow(dead_code)] // Each test file uses a different subset.

pub mod fds;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use glam::Vec2;
use skirmish_client::{Client, ConnState, Event};
use skirmish_shared::consts::PROTOCOL_VERSION;
use skirmish_shared::{ClientMsg, Hello, PlayerState, encode_client};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// Generous: these bound a hang, they do not measure speed.
pub const WAIT: Duration = Duration::from_secs(20);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts a real server on 127.0.0.1:0 with test defaults.
pub fn server() -> skirmish_server::ServerHandle {
    server_with(skirmish_server::Config::for_tests())
}

/// Starts a real server with `config` (start from `Config::for_tests()`).
pub fn server_with(config: skirmish_server::Config) -> skirmish_server::ServerHandle {
    skirmish_server::spawn_in_thread(config).expect("server starts")
}

/// A fresh directory holding `files` (name, contents), for `--maps`; unique per process and test.
pub fn maps_dir(test: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skirmish-maps-{}-{test}", std::process::id()));
    // A leftover from an earlier run with the same pid is harmless to remove.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the maps dir");
    for (name, contents) in files {
        std::fs::write(dir.join(name), contents).expect("write a map");
    }
    dir
}

/// Opens a raw WebSocket.
pub async fn raw(url: &str) -> Ws {
    connect_async(url).await.expect("websocket connects").0
}

/// The encoded `Hello` of a client of this protocol version joining `room` as `name`, as a
/// spectator with `spectate`: for the tests that drive a raw socket.
pub fn hello(name: &str, room: &str, spectate: bool) -> Vec<u8> {
    encode_client(&ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
        room: Some(room.into()),
        spectate,
        private: false,
        rejoin: None,
    }))
}

/// Opens a raw WebSocket to `srv` whose socket reads through a receive buffer of `bytes`: a
/// client that reads slowly then backs the server's writes up within seconds.
pub async fn raw_small_buffer(srv: &skirmish_server::ServerHandle, bytes: u32) -> Ws {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(bytes).expect("a receive buffer size");
    let stream = socket.connect(srv.addr).await.expect("the server accepts");
    let (ws, _) = tokio_tungstenite::client_async(srv.ws_url(), MaybeTlsStream::Plain(stream)).await.expect("upgraded");
    ws
}

/// Writes `bytes` straight to the socket under `ws` (frames no WebSocket library would make);
/// an error if the server already closed it.
pub async fn write_raw(ws: &mut Ws, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let MaybeTlsStream::Plain(socket) = ws.get_mut() else { unreachable!("the tests use plain ws://") };
    socket.write_all(bytes).await
}

/// Opens a WebSocket to `srv` from the local address `source` (any 127.x.y.z is loopback)
/// with extra request `headers`; `Err` holds the HTTP status of a refused upgrade.
pub async fn upgrade_from(
    srv: &skirmish_server::ServerHandle,
    source: std::net::IpAddr,
    headers: &[(&str, &str)],
) -> Result<Ws, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    let mut request = srv.ws_url().into_client_request().expect("a valid url");
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        request.headers_mut().append(name, HeaderValue::from_str(value).expect("a header value"));
    }
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind(std::net::SocketAddr::new(source, 0)).expect("bind the source address");
    let stream = socket.connect(srv.addr).await.expect("the server accepts TCP");
    match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("handshake failed without an HTTP status: {e}"),
    }
}

/// The body of `GET path`, which must answer 200 (HTTP/1.0: the whole body, then the end).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let raw = http_get_raw(addr, path).await;
    let (head, body) = raw.split_once("\r\n\r\n").expect("an http response");
    assert!(head.contains(" 200 "), "{head}");
    body.to_owned()
}

/// The whole response to `GET path` (status line, headers and body), whatever its status.
pub async fn http_get_raw(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("the server accepts");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes()).await.expect("send the request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.expect("read the response");
    raw
}

/// One HTTP/1.0 request; the status, the head and the body of the answer (empty for `HEAD`).
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.expect("the server accepts");
    let mut text = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text += &format!("{name}: {value}\r\n");
    }
    text += "\r\n";
    text += body;
    s.write_all(text.as_bytes()).await.expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status");
    (status, head.to_owned(), body.to_owned())
}

/// A public room's players (with a connection) and kept seats, as `/api/rooms` lists them
/// (`None`: not listed).
pub async fn room_seats(addr: std::net::SocketAddr, room: &str) -> Option<(u64, u64)> {
    let rooms: serde_json::Value = serde_json::from_str(&http_get(addr, "/api/rooms").await).expect("JSON");
    let listed = rooms.as_array()?.iter().find(|r| r["name"] == room)?;
    Some((listed["players"].as_u64()?, listed["kept"].as_u64()?))
}

/// Waits until `room` lists `kept` seats kept for lost players (a lost player's ship stays in
/// the world, so no event tells its peers).
pub async fn wait_for_kept_seats(addr: std::net::SocketAddr, room: &str, kept: u64) {
    let deadline = Instant::now() + WAIT;
    while room_seats(addr, room).await.map(|(_, k)| k) != Some(kept) {
        assert!(Instant::now() < deadline, "{room} never had {kept} seats kept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The real binary (`skirmish`) on 127.0.0.1 and a free port; returns the child and the port
/// from its banner.
pub fn start_binary() -> (std::process::Child, u16) {
    start_binary_with(&[])
}

/// [`start_binary`] with more options.
pub fn start_binary_with(args: &[&str]) -> (std::process::Child, u16) {
    start_binary_under(&[], args)
}

/// [`start_binary_with`] run by `wrapper` (a command and its arguments, which runs the binary
/// in its own place, such as `nohup`), or directly when `wrapper` is empty.
pub fn start_binary_under(wrapper: &[&str], args: &[&str]) -> (std::process::Child, u16) {
    use std::io::BufRead as _;
    let binary = env!("CARGO_BIN_EXE_skirmish");
    let mut command = match wrapper {
        [program, rest @ ..] => {
            let mut command = std::process::Command::new(program);
            command.args(rest).arg(binary);
            command
        }
        [] => std::process::Command::new(binary),
    };
    let mut child = command
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("server binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let port = loop {
        let line = lines.next().expect("banner line before exit").expect("utf-8 banner");
        if let Some(url) = line.trim().strip_prefix("Local:") {
            let port = url.trim().trim_end_matches('/').rsplit(':').next().expect("port in URL");
            break port.parse().expect("numeric port");
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

/// Scrapes `/metrics`: `series → value`.
pub async fn metrics(addr: std::net::SocketAddr) -> std::collections::HashMap<String, f64> {
    http_get(addr, "/metrics")
        .await
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// A player: a socket plus the client core that players' browsers run.
pub struct TestClient {
    pub ws: Ws,
    pub core: Client,
    start: Instant,
    /// Events of frames already fed to the core that `next_event` has not returned yet (a
    /// batch frame gives several).
    queue: VecDeque<Event>,
}

impl TestClient {
    /// Connects, says Hello and waits for Welcome.
    pub async fn join(url: &str, name: &str, room: Option<&str>) -> Self {
        Self::join_as(url, name, room, false).await
    }

    /// Connects, says Hello (asking to spectate or not) and waits for Welcome.
    pub async fn join_as(url: &str, name: &str, room: Option<&str>, spectate: bool) -> Self {
        Self::join_with(url, Client::new(name, room.map(Into::into)).ask_to_spectate(spectate)).await
    }

    /// Connects, says the Hello of `core` (set up by the caller: private, a rejoin token…) and
    /// waits for Welcome.
    pub async fn join_with(url: &str, core: Client) -> Self {
        Self::try_join_with(url, core).await.expect("websocket connects")
    }

    /// [`TestClient::join_with`], or the error of a connection the server refused (an HTTP
    /// answer instead of the upgrade) or dropped.
    pub async fn try_join_with(url: &str, mut core: Client) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let (mut ws, _) = connect_async(url).await?;
        ws.send(Message::binary(core.on_open())).await?;
        let mut client = Self::from_parts(ws, core);
        client.wait_for(|c| c.core.state() == &ConnState::Playing).await;
        Ok(client)
    }

    /// Connects from the local address `source` (any 127.x.y.z is loopback), says the Hello of
    /// `core` and waits for Welcome: for tests of what the server does by client address.
    pub async fn join_from(srv: &skirmish_server::ServerHandle, source: &str, mut core: Client) -> Self {
        let ws = upgrade_from(srv, source.parse().expect("an address"), &[]).await.expect("upgraded");
        let hello = core.on_open();
        let mut client = Self::from_parts(ws, core);
        client.ws.send(Message::binary(hello)).await.expect("send Hello");
        client.wait_for(|c| c.core.state() == &ConnState::Playing).await;
        client
    }

    /// Joins `room` as `name`, then loses the connection (the socket ends with no WebSocket
    /// close, so the seat is kept) and waits until `self`, in the same room, hears it left.
    /// Returns the lost player's id and rejoin token.
    pub async fn see_lost(&mut self, url: &str, name: &str, room: &str) -> (skirmish_shared::PlayerId, String) {
        let addr = url.strip_prefix("ws://").and_then(|u| u.strip_suffix("/ws")).and_then(|a| a.parse().ok());
        let addr = addr.expect("a ws://ADDR/ws URL");
        let kept = async || room_seats(addr, room).await.map_or(0, |(_, kept)| kept);
        let before = kept().await;
        let mut lost = Self::join(url, name, Some(room)).await;
        lost.hold_token().await;
        let (id, token) = (lost.id(), lost.core.rejoin_token().to_owned());
        drop(lost);
        // Taken in once its seat is kept (its ship stays in the world, so the others hear
        // nothing of it) or, with no seat kept, once they hear it left.
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "the loss of {id} was never taken in");
            match self.next_event().await {
                Event::Left(left) if left == id => break,
                Event::Snapshot { .. } if kept().await > before => break,
                _ => {}
            }
        }
        (id, token)
    }

    /// A client on `ws` driven by `core`, which the caller set up (and sent `Hello` with).
    pub fn from_parts(ws: Ws, core: Client) -> Self {
        Self { ws, core, start: Instant::now(), queue: VecDeque::new() }
    }

    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    pub fn id(&self) -> u32 {
        self.core.my_id().expect("welcomed")
    }

    /// The next event: from the frame last read if it held more, else from reading frames;
    /// panics on close or timeout.
    pub async fn next_event(&mut self) -> Event {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return event;
            }
            self.read_frame().await;
        }
    }

    /// Reads until the next snapshot; its tick.
    pub async fn next_snapshot(&mut self) -> u64 {
        loop {
            if let Event::Snapshot { tick, .. } = self.next_event().await {
                return tick;
            }
        }
    }

    /// Reads one binary frame (skipping pings), feeds it to the core and queues its events. A
    /// spectator sends no inputs, which would carry the acknowledgement of each snapshot, so it
    /// acknowledges every snapshot here at once, as the browser client does; players acknowledge
    /// only with the inputs a test sends (without them the server sends full snapshots).
    async fn read_frame(&mut self) {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("message within the wait");
            match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    let now = self.now_ms();
                    let mut events = Vec::new();
                    self.core.on_message(&bytes, now, &mut events).expect("valid server message");
                    let snapshot = events.iter().any(|e| matches!(e, Event::Snapshot { .. }));
                    self.queue.extend(events);
                    if snapshot
                        && self.core.is_spectator()
                        && let Some(ack) = self.core.ack_frame()
                    {
                        self.ws.send(Message::binary(ack)).await.expect("send Ack");
                    }
                    return;
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

    /// Acknowledges a snapshot (in an input, as a player does) and waits until the room has
    /// taken that input: from then on the server knows this client read its `Welcome` and holds
    /// its rejoin token, so a lost connection keeps its seat.
    pub async fn hold_token(&mut self) {
        self.next_snapshot().await;
        self.send_input(Vec2::ZERO).await;
        let (seq, _) = self.core.input_seqs();
        self.wait_for(|c| c.core.my_state().is_some_and(|s| s.ack >= seq)).await;
    }

    /// Sends one input through the core.
    pub async fn send_input(&mut self, mv: Vec2) {
        let now = self.now_ms();
        let bytes = self.core.input(mv, 0.0, 0, now).expect("playing");
        self.ws.send(Message::binary(bytes)).await.expect("send input");
    }

    /// Sends one input with aim and buttons through the core.
    pub async fn send_controls(&mut self, mv: Vec2, aim: f32, buttons: u8) {
        let now = self.now_ms();
        let bytes = self.core.input(mv, aim, buttons, now).expect("playing");
        self.ws.send(Message::binary(bytes)).await.expect("send input");
    }

    /// Sends one chat line through the core.
    pub async fn send_chat(&mut self, text: &str) {
        let bytes = self.core.chat(text).expect("a sendable line");
        self.ws.send(Message::binary(bytes)).await.expect("send chat");
    }

    /// Player `id` in the newest snapshot (if in view).
    pub fn state_of(&self, id: u32) -> Option<PlayerState> {
        self.core.latest()?.player(id).copied()
    }

    /// Chat lines received so far as (sender name or None, text).
    pub fn chat_lines(&self) -> Vec<(Option<String>, String)> {
        self.core.chat_log().iter().map(|e| (e.from.clone(), e.text.clone())).collect()
    }

    /// Position of player `id` in the newest snapshot (if in view).
    pub fn position_of(&self, id: u32) -> Option<Vec2> {
        self.core.latest()?.player(id).map(|p| p.pos)
    }

    /// Ids of the ships in the newest snapshot (in view, ours included), ascending.
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
