//! One client address holds at most `--max-connections-per-ip` seats, its players connected and
//! its lost players' kept seats together: dropping connections holds no more seats than keeping
//! them open would: a player who joins past that share frees the address's oldest kept seat
//! (and a seat lost past it is not kept).

mod common;

use std::time::Duration;

use common::{TestClient, room_seats, server_with};
use skirmish_client::Client;

const ROOM: &str = "share";

/// Waits until the room lists `want` players and kept seats.
async fn wait_for_seats(addr: std::net::SocketAddr, want: (u64, u64)) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while room_seats(addr, ROOM).await != Some(want) {
        let now = room_seats(addr, ROOM).await;
        assert!(std::time::Instant::now() < deadline, "never {want:?}, still {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Joins as `name` from 127.0.0.2.
async fn join(srv: &skirmish_server::ServerHandle, name: &str) -> TestClient {
    TestClient::join_from(srv, "127.0.0.2", Client::new(name, Some(ROOM.into()))).await
}

/// Joins as `name` from 127.0.0.2, holds the token, then loses the connection (no Close):
/// returns its id and token.
async fn lose(srv: &skirmish_server::ServerHandle, name: &str) -> (u32, String) {
    let mut lost = join(srv, name).await;
    lost.hold_token().await;
    let lost_id = (lost.id(), lost.core.rejoin_token().to_owned());
    drop(lost);
    lost_id
}

/// Found by an outside attack: open connections and kept seats were capped apart, so an
/// address held twice its share (31 players open and 32 seats kept by closing with 4000 and
/// rejoining, 63 ships of a 100-player room, for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_holds_no_more_seats_by_dropping_connections_than_by_keeping_them() {
    let mut config = skirmish_server::Config::for_tests();
    config.seat_reservation = Duration::from_secs(30);
    config.max_connections_per_ip = 3;
    let srv = server_with(config);
    let _keeper = TestClient::join(&srv.ws_url(), "Keeper", Some(ROOM)).await;
    // Three players lost one by one: each seat is kept, the address's share of three.
    let mut lost = Vec::new();
    for (n, name) in ["One", "Two", "Three"].into_iter().enumerate() {
        lost.push(lose(&srv, name).await);
        wait_for_seats(srv.addr, (1, n as u64 + 1)).await;
    }
    // Three new players of the address: each frees its oldest kept seat, so it never holds
    // more than three.
    let mut open = Vec::new();
    for (n, name) in ["Four", "Five", "Six"].into_iter().enumerate() {
        open.push(join(&srv, name).await);
        wait_for_seats(srv.addr, (2 + n as u64, 2 - n as u64)).await;
    }
    // The freed seats' tokens lead nowhere: their players come back as newcomers (from
    // another address, whose share is its own).
    let mut back = Vec::new();
    for ((id, token), name) in lost.into_iter().zip(["One", "Two", "Three"]) {
        let hello = Client::new(name, Some(ROOM.into())).rejoin(&token);
        back.push(TestClient::join_from(&srv, "127.0.0.3", hello).await);
        assert_ne!(back.last().map(TestClient::id), Some(id), "{name}'s seat was freed");
    }
    wait_for_seats(srv.addr, (7, 0)).await;
    // A player lost within the share is kept as before.
    let mut six = open.pop().expect("three");
    six.hold_token().await;
    drop(six);
    wait_for_seats(srv.addr, (6, 1)).await;
}
