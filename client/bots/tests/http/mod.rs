//! Plain HTTP/1.0 reads of the in-process server for the bots' tests: a page's body, and
//! `/metrics` as `series → value`.

#![allow(dead_code)] // Each test file uses a different subset.

use std::collections::HashMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The body of `GET path`, which must answer 200 (HTTP/1.0: the whole body, then the end).
pub async fn get(addr: SocketAddr, path: &str) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("the server accepts");
    socket.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("headers end");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "{head}");
    body.to_owned()
}

/// `GET /metrics` as `series → value`, from the Prometheus text format.
pub async fn metrics(addr: SocketAddr) -> HashMap<String, f64> {
    get(addr, "/metrics")
        .await
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("series value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}
