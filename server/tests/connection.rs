//! Players joining, seeing each other, moving, leaving, and rooms staying apart.

mod common;

use common::{TestClient, server};
use glam::Vec2;
use skirmish_client::Event;

#[tokio::test]
async fn two_clients_see_both_players() {
    let srv = server();
    let mut a = TestClient::join(&srv.ws_url(), "Ada", None).await;
    let mut b = TestClient::join(&srv.ws_url(), "Bob", None).await;
    let (ida, idb) = (a.id(), b.id());
    assert_ne!(ida, idb);
    for c in [&mut a, &mut b] {
        c.wait_for(|c| {
            let ids = c.ids();
            ids.contains(&ida) && ids.contains(&idb)
        })
        .await;
        let names: Vec<_> = c.core.roster().values().map(|p| p.name.clone()).collect();
        assert_eq!(names, ["Ada", "Bob"]);
    }
    assert_ne!(a.core.roster()[&ida].colour, a.core.roster()[&idb].colour, "distinct colours");
}

#[tokio::test]
async fn snapshots_keep_arriving_with_increasing_ticks() {
    let srv = server();
    let mut c = TestClient::join(&srv.ws_url(), "Ticker", None).await;
    let mut ticks = Vec::new();
    while ticks.len() < 15 {
        if let Event::Snapshot { tick, .. } = c.next_event().await {
            ticks.push(tick);
        }
    }
    assert!(ticks.windows(2).all(|w| w[0] < w[1]), "ticks increase: {ticks:?}");
}

#[tokio::test]
async fn input_moves_the_player_and_is_acknowledged() {
    let srv = server();
    let mut c = TestClient::join(&srv.ws_url(), "Mover", None).await;
    c.wait_for(|c| c.core.latest().is_some()).await;
    let id = c.id();
    let start = c.position_of(id).expect("in snapshot");
    let mut acked = Vec::new();
    // Send inputs as snapshots arrive (one per snapshot, like a client at the tick rate) until
    // the ship has clearly moved right and some input came back acknowledged.
    for _ in 0..300 {
        c.send_input(Vec2::new(1.0, 0.0)).await;
        if let Event::Snapshot { acked_latency_ms, .. } = c.next_event().await {
            acked.extend(acked_latency_ms);
        }
        let pos = c.position_of(id).expect("in snapshot");
        if !acked.is_empty() && pos.x > start.x + 50.0 {
            break;
        }
    }
    let end = c.position_of(id).expect("in snapshot");
    assert!(end.x > start.x + 50.0, "moved right from {start} to {end}");
    assert!((end.y - start.y).abs() < 1e-3, "did not drift vertically");
    let ack = c.core.latest().unwrap().players.iter().find(|p| p.id == id).unwrap().ack;
    assert!(ack >= 1 && ack <= c.core.stats().inputs_sent as u32, "ack {ack} is a sequence we sent");
    assert!(!acked.is_empty(), "the core measured acknowledgement latency");
}

#[tokio::test]
async fn a_client_that_disconnects_is_gone_from_later_snapshots() {
    let srv = server();
    let mut stay = TestClient::join(&srv.ws_url(), "Stay", None).await;
    let mut leave = TestClient::join(&srv.ws_url(), "Leave", None).await;
    let gone = leave.id();
    stay.wait_for(|c| c.ids().contains(&gone)).await;
    leave.ws.close(None).await.expect("close");
    drop(leave);
    let mut saw_left = false;
    stay.wait_for(|c| !c.ids().contains(&gone)).await;
    while !saw_left {
        saw_left =
            matches!(stay.next_event().await, Event::Left(id) if id == gone) || !stay.core.roster().contains_key(&gone);
    }
    // And it stays gone.
    for _ in 0..10 {
        stay.next_event().await;
        assert!(!stay.ids().contains(&gone));
    }
}

#[tokio::test]
async fn two_room_names_are_isolated() {
    let srv = server();
    let mut red = TestClient::join(&srv.ws_url(), "Red", Some("red")).await;
    let mut blue = TestClient::join(&srv.ws_url(), "Blue", Some("blue")).await;
    let mut red2 = TestClient::join(&srv.ws_url(), "Red2", Some("red")).await;
    let (r1, r2, b) = (red.id(), red2.id(), blue.id());
    // Roommates know each other (they may be out of each other's view on the map).
    red.wait_for(|c| c.core.roster().contains_key(&r2)).await;
    red2.wait_for(|c| c.core.roster().contains_key(&r1)).await;
    // Welcome is followed by reliable messages (Match, a join line) before the first snapshot.
    blue.wait_for(|c| c.core.latest().is_some()).await;
    for _ in 0..10 {
        red.next_event().await;
        blue.next_event().await;
        assert!(!red.ids().contains(&b), "red room sees no blue player");
        assert_eq!(blue.ids(), vec![b], "blue room has only its own player");
    }
    assert_eq!(red.core.room_name(), "red");
    assert_eq!(blue.core.room_name(), "blue");
    assert!(!red.core.roster().contains_key(&b));
}

#[tokio::test]
async fn welcome_comes_in_one_batch_with_the_match_state_scores_radar_and_a_join_line() {
    use futures_util::{SinkExt, StreamExt};
    use skirmish_shared::consts::{PROTOCOL_VERSION, RADAR_INTERVAL_TICKS};
    use skirmish_shared::{ClientMsg, Hello, Phase, ServerMsg, decode_server, encode_client};
    use tokio_tungstenite::tungstenite::Message;

    let srv = server();
    let mut ws = common::raw(&srv.ws_url()).await;
    let hello = Hello {
        version: PROTOCOL_VERSION,
        name: "Early".into(),
        room: None,
        spectate: false,
        private: false,
        rejoin: None,
    };
    ws.send(Message::binary(encode_client(&ClientMsg::Hello(hello)))).await.unwrap();
    let mut next = async || loop {
        match tokio::time::timeout(common::WAIT, ws.next()).await.expect("a message").expect("open").unwrap() {
            Message::Binary(b) => return decode_server(&b).expect("valid"),
            _ => continue,
        }
    };
    // The tick's reliable messages come first, as one batch frame.
    let ServerMsg::Batch(batch) = next().await else { panic!("a batch first") };
    let ServerMsg::Welcome(welcome) = &batch[0] else { panic!("Welcome first: {batch:?}") };
    assert!(!welcome.spectator);
    let ServerMsg::Match(info) = &batch[1] else { panic!("Match right after Welcome") };
    assert_eq!(info.phase, Phase::Waiting, "alone: waiting for players");
    assert_eq!(info.map.size, welcome.arena);
    assert!(info.score_limit > 0 && info.match_secs > 0);
    let ServerMsg::Scores(scores) = &batch[2] else { panic!("then the score table") };
    assert_eq!(scores.iter().map(|s| (s.id, s.kills, s.deaths)).collect::<Vec<_>>(), [(welcome.id, 0, 0)]);
    // The newest radar comes with the welcome. It may have been drawn before our ship spawned
    // (the room ticked once before our join reached it), so it shows no ship or ours.
    let ships_on = |r: &skirmish_shared::Radar| r.cells.iter().map(|&c| u32::from(c)).sum::<u32>();
    let radar = batch.iter().find_map(|m| match m {
        ServerMsg::Radar(r) => Some(r),
        _ => None,
    });
    let radar = radar.expect("a radar in the welcome's batch");
    assert_eq!(radar.cells.len(), usize::from(radar.width) * usize::from(radar.height));
    assert!(ships_on(radar) <= 1, "one ship in the room: {radar:?}");
    assert!(batch.iter().any(|m| matches!(m, ServerMsg::Chat(l) if l.from.is_none() && l.text == "Early joined")));
    // Then the first snapshot: whole (no baseline yet), our ship in `me`.
    let ServerMsg::Snapshot(snap) = next().await else { panic!("then snapshots") };
    assert_eq!((snap.phase, snap.time_left_ms, snap.base), (Phase::Waiting, 0, 0));
    assert_eq!(snap.me.map(|m| m.id), Some(welcome.id));
    // Within a radar interval (a second) the radar shows our ship.
    let mut seen = 0;
    loop {
        match next().await {
            ServerMsg::Radar(r) if ships_on(&r) == 1 => break,
            ServerMsg::Batch(b) if b.iter().any(|m| matches!(m, ServerMsg::Radar(r) if ships_on(r) == 1)) => break,
            _ => seen += 1,
        }
        assert!(seen < 4 * RADAR_INTERVAL_TICKS, "no radar with our ship after {seen} messages");
    }
}

#[tokio::test]
async fn duplicate_names_are_made_distinct() {
    let srv = server();
    let a = TestClient::join(&srv.ws_url(), "Twin", Some("twins")).await;
    let mut b = TestClient::join(&srv.ws_url(), "Twin", Some("twins")).await;
    let (ida, idb) = (a.id(), b.id());
    b.wait_for(|c| c.core.roster().len() == 2).await;
    assert_eq!(b.core.roster()[&ida].name, "Twin");
    assert_eq!(b.core.roster()[&idb].name, "Twin#2");
    // A name that draws the same, with an invisible variation selector, is no way round it.
    let mut staying = Vec::new();
    // Nor with a zero-width joiner or non-joiner, allowed between letters for the scripts
    // that need them.
    for (i, lookalike) in
        ["Twin\u{FE0F}", "Tw\u{FE00}in", "Twin\u{E0100}", "Tw\u{200C}in", "T\u{200D}win"].into_iter().enumerate()
    {
        let c = TestClient::join(&srv.ws_url(), lookalike, Some("twins")).await;
        let name = &c.core.roster()[&c.id()].name;
        assert_eq!(*name, format!("{lookalike}#{}", i + 3), "{lookalike:?}");
        staying.push(c);
    }
    // Nor is any other way to draw it: Cyrillic letters, a no-break space, a decomposed accent,
    // the Kelvin sign (each against the plain name it copies, joined first).
    for (plain, copy) in
        [("Twin", "Tw\u{456}n"), ("Ada B", "Ada\u{A0}B"), ("José", "Jose\u{301}"), ("Kim", "\u{212A}im")]
    {
        if plain != "Twin" {
            staying.push(TestClient::join(&srv.ws_url(), plain, Some("twins")).await);
        }
        let c = TestClient::join(&srv.ws_url(), copy, Some("twins")).await;
        let name = c.core.roster()[&c.id()].name.clone();
        assert!(name.starts_with(copy) && name.contains('#'), "{copy:?} drawn like {plain:?} got {name:?}");
        staying.push(c);
    }
}

#[tokio::test]
async fn ping_gets_pong_and_health_endpoints_answer() {
    let srv = server();
    let mut c = TestClient::join(&srv.ws_url(), "Pinger", None).await;
    let now = c.now_ms();
    let ping = c.core.ping(now).expect("ping");
    futures_util::SinkExt::send(&mut c.ws, tokio_tungstenite::tungstenite::Message::binary(ping)).await.unwrap();
    c.wait_for(|c| c.core.rtt_ms().is_some()).await;

    let livez = http_get(srv.addr, "/livez").await;
    assert!(livez.starts_with("HTTP/1.1 200"), "{livez}");
    let readyz = http_get(srv.addr, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 200"), "{readyz}");
    let rooms = http_get(srv.addr, "/api/rooms").await;
    assert!(rooms.contains(r#""name":"main""#) && rooms.contains(r#""players":1"#), "{rooms}");
}

/// WebSocket pings count towards the message limit like binary messages (a flood of them closes
/// 1008: `bad_input.rs`), but a burst under it, far more than any keepalive, is answered in full.
#[tokio::test]
async fn websocket_pings_under_the_message_limit_are_all_answered() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let srv = server();
    let mut c = TestClient::join(&srv.ws_url(), "Pinger", None).await;
    // Half the burst of 60, sent at once.
    for i in 0..30_u32 {
        c.ws.feed(Message::Ping(i.to_be_bytes().to_vec().into())).await.unwrap();
    }
    c.ws.flush().await.unwrap();
    let mut answered = Vec::new();
    while answered.len() < 30 {
        match tokio::time::timeout(common::WAIT, c.ws.next()).await {
            Ok(Some(Ok(Message::Pong(payload)))) => answered.push(u32::from_be_bytes(payload[..].try_into().unwrap())),
            Ok(Some(Ok(Message::Binary(_)))) => {}
            other => panic!("{} pongs, then {other:?}", answered.len()),
        }
    }
    assert_eq!(answered, (0..30).collect::<Vec<_>>(), "every ping answered, in order");
    assert_eq!(skirmish_server::Stats::get(&srv.stats.inputs_dropped), 0, "nothing dropped over the limit");
    assert_eq!(srv.stats.protocol_disconnects(), 0);
}

/// A minimal HTTP/1.1 GET over a real socket.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn players_joining_and_leaving_together_keep_every_roster_right() {
    use futures_util::future::join_all;
    use std::collections::BTreeSet;

    let srv = server();
    let url = srv.ws_url();
    let join = |name: String| {
        let url = url.clone();
        async move { TestClient::join(&url, &name, Some("crowd")).await }
    };
    let roster = |c: &TestClient| c.core.roster().keys().copied().collect::<BTreeSet<u32>>();
    let mut watcher = join("Watcher".into()).await;
    // Eight arrive at once, so several join in the same tick: each must hear of those who
    // came after it and not of itself or those before it (its welcome lists them).
    let mut first = join_all((0..8).map(|i| join(format!("First{i}")))).await;
    let mut everyone: BTreeSet<u32> = first.iter().map(TestClient::id).collect();
    everyone.insert(watcher.id());
    for c in first.iter_mut().chain([&mut watcher]) {
        c.wait_for(|c| roster(c) == everyone).await;
    }
    // Half of them leave while eight more arrive, all at once: those who stay hear every
    // departure and arrival once, and no newcomer hears of a departure from before its welcome.
    let leaving = first.split_off(4);
    for c in &leaving {
        everyone.remove(&c.id());
    }
    let (mut second, ()) =
        tokio::join!(join_all((0..8).map(|i| join(format!("Second{i}")))), async move { drop(leaving) });
    everyone.extend(second.iter().map(TestClient::id));
    for c in first.iter_mut().chain(second.iter_mut()).chain([&mut watcher]) {
        c.wait_for(|c| roster(c) == everyone).await;
    }
}
