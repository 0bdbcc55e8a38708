//! The HTTP side against hostile clients, on the real server: one address holds only its share
//! of connections, all addresses together only the server's (the rest wait to be accepted), a
//! request body that never comes gets 408, a response nobody reads is cut by
//! the kernel, static files are never compressed per request, and a handshake the connection
//! layer does not take as an upgrade gets 400, not 500.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::{WAIT, http_get, http_request, server, server_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request head promising a body that never follows.
const BODY_PENDING: &[u8] = b"POST /admin/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n";

/// Connects to `addr` from the loopback address `source`.
async fn connect_from(addr: SocketAddr, source: Ipv4Addr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).expect("bind the source address");
    socket.connect(addr).await.expect("the kernel accepts TCP")
}

/// Everything the server sends on `s` until it closes the connection (a reset counts as a
/// close); panics after [`WAIT`].
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => panic!("still open after {WAIT:?}: {}", String::from_utf8_lossy(&got)),
            Ok(Ok(0) | Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A raw `GET path` with `headers` on a fresh connection: the status line and headers
/// (lower-cased) and the body, read to the close.
async fn get_with(addr: SocketAddr, path: &str, headers: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("the server accepts");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n");
    s.write_all(request.as_bytes()).await.expect("send the request");
    let raw = read_until_closed(&mut s).await;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
    (String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase(), raw[end..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_holds_only_its_share_of_http_connections() {
    let mut config = skirmish_server::Config::for_tests();
    config.max_http_connections_per_ip = 3;
    let srv = server_with(config);
    let greedy = Ipv4Addr::new(127, 0, 0, 7);
    // Three connections, each answered once (so each is counted) and kept alive.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from(srv.addr, greedy).await;
        served_once(&mut s).await;
        held.push(s);
    }
    // The fourth is closed at once, unanswered, whatever it sends.
    let mut over = connect_from(srv.addr, greedy).await;
    let _ = over.write_all(b"GET /livez HTTP/1.1\r\nHost: test\r\n\r\n").await;
    assert_eq!(read_until_closed(&mut over).await, b"", "closed without an answer");

    // Another address is served as usual, and the count says why the fourth went.
    let metrics = common::metrics(srv.addr).await;
    assert_eq!(metrics["skirmish_http_connections_refused_total"], 1.0);

    // A place given back is a place to take.
    held.pop();
    let deadline = Instant::now() + WAIT;
    loop {
        let mut s = connect_from(srv.addr, greedy).await;
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.expect("send");
        let answer = read_until_closed(&mut s).await;
        if answer.starts_with(b"HTTP/1.1 200") {
            break;
        }
        // The server notices the dropped connection a moment after we drop it.
        assert!(Instant::now() < deadline, "never served again: {}", String::from_utf8_lossy(&answer));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.stop();
}

/// Sends `GET /livez` on `s`, keeping it alive, and reads the answer: the server has
/// accepted the connection.
async fn served_once(s: &mut TcpStream) {
    s.write_all(b"GET /livez HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("send");
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\nok") {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(WAIT, s.read(&mut buf)).await.expect("an answer").expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
}

/// At `--max-http-connections` the server accepts no more, whatever their addresses: the next
/// connection waits in the listen queue, unanswered, not refused, and is served when one ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_in_all_a_connection_waits_for_a_place() {
    let mut config = skirmish_server::Config::for_tests();
    config.workers = Some(1);
    config.max_http_connections = 2;
    let srv = server_with(config);
    // Two addresses, one connection each, each accepted and then busy with a request whose
    // body is late (the server waits 10 s for it).
    let mut held = Vec::new();
    for source in [Ipv4Addr::new(127, 0, 0, 8), Ipv4Addr::new(127, 0, 0, 9)] {
        let mut s = connect_from(srv.addr, source).await;
        served_once(&mut s).await;
        s.write_all(BODY_PENDING).await.expect("send the head");
        held.push(s);
    }
    let mut waiting = connect_from(srv.addr, Ipv4Addr::new(127, 0, 0, 10)).await;
    waiting.write_all(b"GET /livez HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.expect("send");
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_secs(1), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "answered or closed while the server was full: {early:?}");

    // A place comes free: the waiting connection is accepted and served.
    drop(held.remove(0));
    let answer = read_until_closed(&mut waiting).await;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // The gauge counts what is open: the held connection and the metrics request itself.
    let deadline = Instant::now() + WAIT;
    loop {
        let open = common::metrics(srv.addr).await["skirmish_http_connections"];
        if open == 2.0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} connections counted, not 2");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.stop();
}

/// Whether the body was promised by length or in chunks, the 408 ends the connection, long
/// before `--http-connection-lifetime` (60 s; actix-http alone would read a chunked body on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_whose_body_never_comes_gets_408_and_the_connection_closes() {
    let srv = server_with(skirmish_server::Config::for_tests());
    let chunked = b"POST /admin/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nto";
    let (mut by_length, mut by_chunks) = (
        TcpStream::connect(srv.addr).await.expect("the server accepts"),
        TcpStream::connect(srv.addr).await.expect("the server accepts"),
    );
    by_length.write_all(BODY_PENDING).await.expect("send the head");
    by_chunks.write_all(chunked).await.expect("send the head");
    for s in [&mut by_length, &mut by_chunks] {
        let answer = read_until_closed(s).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    srv.stop();
}

/// A chunked body whose chunks never come, on a request answered at once (415: no content
/// type): actix-http keeps reading the body after the answer, with no timer of its own, so the
/// connection ends at `--http-connection-lifetime`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_stays_plain_http_only_for_its_lifetime() {
    let mut config = skirmish_server::Config::for_tests();
    config.http_connection_lifetime = Duration::from_secs(1);
    let srv = server_with(config);
    let mut s = TcpStream::connect(srv.addr).await.expect("the server accepts");
    let head = "POST /admin/login HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    s.write_all(head.as_bytes()).await.expect("send the head");
    read_until_closed(&mut s).await;
    // A WebSocket outlives it.
    let mut ws = common::TestClient::join(&srv.ws_url(), "Stays", None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    ws.next_snapshot().await;
    srv.stop();
}

/// True while the kernel holds an established TCP connection from local port `local` to remote
/// port `remote` on 127.0.0.1 (`/proc/net/tcp`: ports in hex, state `01` is ESTABLISHED).
fn established(local: u16, remote: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let port = |f: &str| f.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
        fields.len() > 3 && port(fields[1]) == Some(local) && port(fields[2]) == Some(remote) && fields[3] == "01"
    })
}

/// A client that asks for the wasm and reads none of it: the server's writes stall on a zero
/// window, and the kernel drops the connection after `TCP_USER_TIMEOUT` (twice the longer of
/// the send stall and client timeouts) instead of the server holding it, buffers and all, for as
/// long as the client likes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_nobody_reads_is_cut() {
    let mut config = skirmish_server::Config::for_tests();
    config.client_timeout = Duration::from_millis(500);
    config.send_stall_timeout = Duration::from_millis(500);
    let srv = server_with(config);
    let (_, whole) = get_with(srv.addr, "/pkg/skirmish_web_bg.wasm", "").await;
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    // A small window, so the server's writes stall long before the file is out.
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut s = socket.connect(srv.addr).await.expect("the server accepts");
    s.write_all(b"GET /pkg/skirmish_web_bg.wasm HTTP/1.1\r\nHost: test\r\n\r\n").await.expect("send");
    // Without reading (which would open the window), wait for the server's side to go. The
    // kernel sends nothing when it gives up, so only its table tells.
    let client_port = s.local_addr().expect("bound").port();
    let deadline = Instant::now() + WAIT;
    while established(srv.addr.port(), client_port) {
        assert!(Instant::now() < deadline, "the server still holds a connection nobody reads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What the client holds is all it gets: reading opens its window, and the answer to that
    // is a reset.
    let got = read_until_closed(&mut s).await;
    assert!(got.len() < whole.len(), "{} of {} bytes", got.len(), whole.len());
    srv.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_never_compressed_per_request_and_nothing_with_brotli() {
    let srv = server_with(skirmish_server::Config::for_tests());
    let (plain_head, plain) = get_with(srv.addr, "/pkg/skirmish_web_bg.wasm", "").await;
    assert!(!plain_head.contains("content-encoding"), "{plain_head}");
    for path in ["/pkg/skirmish_web_bg.wasm", "/", "/style.css"] {
        // Brotli alone (or deflate) is not made on the fly: the plain bytes go out.
        let (head, _) = get_with(srv.addr, path, "Accept-Encoding: br, deflate\r\n").await;
        assert!(head.starts_with("http/1.1 200") && !head.contains("content-encoding"), "{path}: {head}");
        // gzip comes from the copy the build made.
        let (head, _) = get_with(srv.addr, path, "Accept-Encoding: gzip, br\r\n").await;
        assert!(head.contains("content-encoding: gzip"), "{path}: {head}");
    }
    let (_, body) = get_with(srv.addr, "/pkg/skirmish_web_bg.wasm", "Accept-Encoding: br\r\n").await;
    assert_eq!(body, plain, "the same bytes");
    // The answers made per request are compressed with gzip, never brotli, whatever the client
    // prefers. Found by an outside attack: brotli made per request cost 400–700 µs of CPU
    // against about 30 µs plain, so anyone asking for `/admin`'s login page or the QR code in a
    // loop took the workers that write players' snapshots (153 % of a core from one address).
    for path in ["/metrics", "/admin", "/invite.svg", "/api/rooms"] {
        let (head, _) = get_with(srv.addr, path, "Accept-Encoding: br\r\n").await;
        assert!(!head.contains("content-encoding"), "{path}: {head}");
        let (head, _) = get_with(srv.addr, path, "Accept-Encoding: br, gzip\r\n").await;
        assert!(!head.contains("content-encoding: br"), "{path}: {head}");
    }
    let (head, _) = get_with(srv.addr, "/metrics", "Accept-Encoding: br, gzip\r\n").await;
    assert!(head.contains("content-encoding: gzip"), "{head}");
    srv.stop();
}

/// actix-http takes `Upgrade: websocket` alone, on a request without a body, as an upgrade; a
/// handshake that is otherwise valid but not that reaches the route, which says so with 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_the_server_cannot_take_gets_400() {
    let srv = server_with(skirmish_server::Config::for_tests());
    let handshake =
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    for upgrade in ["websockets", "foo, websocket", "websocket, foo"] {
        let (head, _) = get_with(srv.addr, "/ws", &format!("Upgrade: {upgrade}\r\n{handshake}")).await;
        assert!(head.starts_with("http/1.1 400"), "{upgrade}: {head}");
    }
    // Found by an outside attack: an upgrade with a `Content-Length` body got 101, and its body
    // was read as the client's first frames (a `Hello` in it joined).
    for body in ["Content-Length: 5\r\n\r\nabcde", "Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n"] {
        let mut s = TcpStream::connect(srv.addr).await.expect("the server accepts");
        let request = format!("GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n{handshake}{body}");
        s.write_all(request.as_bytes()).await.expect("send the request");
        let answer = String::from_utf8_lossy(&read_until_closed(&mut s).await).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 400") && answer.contains("no request body"), "{body:?}: {answer}");
    }
    assert_eq!(http_get(srv.addr, "/livez").await, "ok");
    srv.stop();
}

/// Found by an outside attack: `HEAD /livez` and `/readyz` got 404 (a health checker using HEAD
/// saw a dead server), other pages 405. Every page answers HEAD as GET, with no body, and a
/// known path asked with a method it does not take gets 405 with `Allow`.
#[tokio::test]
async fn every_page_answers_head_and_a_wrong_method_gets_405() {
    let srv = server();
    for path in ["/livez", "/readyz", "/api/rooms", "/metrics", "/invite.svg", "/", "/index.html", "/admin"] {
        let (get, _, body) = http_request(srv.addr, "GET", path, &[], "").await;
        let (head, _, nothing) = http_request(srv.addr, "HEAD", path, &[], "").await;
        assert_eq!((head, nothing.as_str()), (get, ""), "HEAD {path}");
        assert!(!body.is_empty(), "GET {path} has a body");
    }
    let (status, head, _) = http_request(srv.addr, "HEAD", "/r/main", &[], "").await;
    assert!(status == 303 && head.contains("/?room=main"), "{head}");
    for (method, path) in
        [("POST", "/livez"), ("PUT", "/readyz"), ("POST", "/r/main"), ("GET", "/admin/api/kick"), ("HEAD", "/ws")]
    {
        let (status, head, _) = http_request(srv.addr, method, path, &[], "").await;
        assert!(status == 405 && head.to_ascii_lowercase().contains("\nallow: "), "{method} {path}: {head}");
    }
    let (status, _, _) = http_request(srv.addr, "HEAD", "/no-such-page", &[], "").await;
    assert_eq!(status, 404);
}
