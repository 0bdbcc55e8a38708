//! Unit tests of the client core, driven with encoded server messages and a fake clock.

use super::*;
use skirmish_shared::{BulletState, Left, PlayerState, Welcome, decode_client, encode_server};
use skirmish_shared::{ChatLine, Kill, MatchInfo, Phase, Results};

fn welcome(id: PlayerId) -> Vec<u8> {
    encode_server(&ServerMsg::Welcome(Welcome {
        id,
        arena: Vec2::new(1600.0, 1000.0),
        tick_rate: 30,
        colour: 0xff0000,
        room: "main".into(),
        players: vec![PlayerInfo { id, name: "me".into(), colour: 0xff0000, spectator: false }],
        spectator: false,
    }))
}

fn snapshot(tick: u64, players: &[(PlayerId, f32, u32)]) -> Vec<u8> {
    let players = players
        .iter()
        .map(|&(id, x, ack)| PlayerState {
            id,
            pos: Vec2::new(x, 100.0),
            ack,
            flags: PlayerState::ALIVE,
            health: 100,
            ..Default::default()
        })
        .collect();
    encode_server(&ServerMsg::Snapshot(Snapshot { tick, players, ..Default::default() }))
}

fn joined() -> Client {
    let mut c = Client::new("me", Some("lan".into()));
    let hello = c.on_open();
    match decode_client(&hello, MAX_FRAME_BYTES).unwrap() {
        ClientMsg::Hello(h) => {
            assert_eq!(h.version, PROTOCOL_VERSION);
            assert_eq!(h.room.as_deref(), Some("lan"));
        }
        other => panic!("expected Hello, got {other:?}"),
    }
    assert_eq!(c.on_message(&welcome(7), 0.0).unwrap(), Event::Welcome { id: 7 });
    c
}

#[test]
fn states_follow_the_handshake() {
    let mut c = Client::new("me", None);
    assert_eq!(c.state(), &ConnState::Connecting);
    assert!(c.input(Vec2::X, 0.0, 0, 0.0).is_none(), "no input before Welcome");
    c.on_open();
    assert_eq!(c.state(), &ConnState::Joining);
    assert!(c.on_message(&snapshot(1, &[]), 0.0).is_err(), "snapshot before Welcome");
    c.on_message(&welcome(1), 0.0).unwrap();
    assert_eq!(c.state(), &ConnState::Playing);
    assert!(c.on_message(&welcome(1), 0.0).is_err(), "second Welcome");
    c.on_close(1012, "restart");
    assert_eq!(c.state(), &ConnState::Closed { code: 1012, reason: "restart".into() });
}

#[test]
fn inputs_are_sequenced_and_clamped() {
    let mut c = joined();
    let a = decode_client(&c.input(Vec2::new(5.0, f32::NAN), 100.0, 1, 0.0).unwrap(), MAX_FRAME_BYTES);
    let b = decode_client(&c.input(Vec2::new(-0.5, 0.5), 1.0, 0, 0.0).unwrap(), MAX_FRAME_BYTES);
    match (a.unwrap(), b.unwrap()) {
        (ClientMsg::Input(a), ClientMsg::Input(b)) => {
            assert_eq!((a.seq, b.seq), (1, 2));
            assert_eq!(a.mv, Vec2::ZERO, "NaN stick becomes no input");
            assert!(a.aim.abs() <= std::f32::consts::PI + 1e-4, "aim wrapped: {}", a.aim);
            assert_eq!(b.mv, Vec2::new(-0.5, 0.5));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.stats().inputs_sent, 2);
}

#[test]
fn acks_give_latency_once_per_input() {
    let mut c = joined();
    c.input(Vec2::X, 0.0, 0, 1000.0);
    c.input(Vec2::X, 0.0, 0, 1033.0);
    c.input(Vec2::X, 0.0, 0, 1066.0);
    let ev = c.on_message(&snapshot(10, &[(7, 0.0, 2)]), 1070.0).unwrap();
    assert_eq!(ev, Event::Snapshot { tick: 10, tick_gap: 1, acked_latency_ms: vec![70.0, 37.0] });
    // The same ack again measures nothing new.
    let ev = c.on_message(&snapshot(11, &[(7, 0.0, 2)]), 1100.0).unwrap();
    assert_eq!(ev, Event::Snapshot { tick: 11, tick_gap: 1, acked_latency_ms: vec![] });
    let ev = c.on_message(&snapshot(14, &[(7, 0.0, 3)]), 1166.0).unwrap();
    assert_eq!(ev, Event::Snapshot { tick: 14, tick_gap: 3, acked_latency_ms: vec![100.0] });
    assert_eq!(c.stats().snapshots, 3);
    assert_eq!(c.stats().ticks_missed, 2);
}

#[test]
fn roster_follows_joins_and_leaves() {
    let mut c = joined();
    let bob = PlayerInfo { id: 9, name: "bob".into(), colour: 0x00ff00, spectator: false };
    assert_eq!(c.on_message(&encode_server(&ServerMsg::Joined(bob.clone())), 0.0).unwrap(), Event::Joined(bob));
    assert_eq!(c.roster().len(), 2);
    c.on_message(&snapshot(1, &[(7, 10.0, 0), (9, 20.0, 0)]), 0.0).unwrap();
    let ships = c.ships(0.0);
    assert_eq!(ships.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["me", "bob"]);
    assert!(ships[0].me && !ships[1].me);
    assert_eq!(c.on_message(&encode_server(&ServerMsg::Left(Left { id: 9 })), 0.0).unwrap(), Event::Left(9));
    assert_eq!(c.roster().len(), 1);
}

#[test]
fn pong_measures_round_trip() {
    let mut c = joined();
    let ping = c.ping(500.0).unwrap();
    assert!(c.ping(600.0).is_none(), "one ping outstanding at a time");
    let ClientMsg::Ping(p) = decode_client(&ping, MAX_FRAME_BYTES).unwrap() else { panic!("not a ping") };
    let ev = c.on_message(&encode_server(&ServerMsg::Pong(p)), 542.0).unwrap();
    assert_eq!(ev, Event::Pong { rtt_ms: 42.0 });
    assert_eq!(c.rtt_ms(), Some(42.0));
    let stray = encode_server(&ServerMsg::Pong(Ping { id: 999 }));
    assert!(c.on_message(&stray, 600.0).is_err());
}

#[test]
fn interpolates_between_snapshots() {
    let mut c = joined();
    let tick_ms = 1000.0 / 30.0;
    for (i, x) in [0.0f32, 30.0, 60.0, 90.0].iter().enumerate() {
        c.on_message(&snapshot(i as u64, &[(7, *x, 0)]), i as f64 * tick_ms).unwrap();
    }
    // At the newest arrival the draw time is 2 ticks back: tick 1, x = 30.
    let at_newest = c.ships(3.0 * tick_ms)[0].pos.x;
    assert!((at_newest - 30.0).abs() < 1e-3, "{at_newest}");
    // Half a tick later: halfway between ticks 1 and 2.
    let half = c.ships(3.5 * tick_ms)[0].pos.x;
    assert!((half - 45.0).abs() < 1e-3, "{half}");
    // Long after the last snapshot it holds the newest position instead of running off.
    assert_eq!(c.ships(10_000.0)[0].pos.x, 90.0);
}

#[test]
fn garbage_from_the_server_is_an_error() {
    let mut c = joined();
    assert!(matches!(c.on_message(&[0xc1, 0xff], 0.0), Err(ClientError::Decode(_))));
    assert!(c.on_message(&vec![0x91; 10_000], 0.0).is_err());
}

#[test]
fn chat_lines_resolve_names_and_are_bounded() {
    let mut c = joined();
    let line = ServerMsg::Chat(ChatLine { from: Some(7), text: "<b>hi</b>".into() });
    let Event::Chat(entry) = c.on_message(&encode_server(&line), 0.0).unwrap() else { panic!("not chat") };
    assert_eq!(entry, ChatEntry { from: Some("me".into()), colour: 0xff0000, text: "<b>hi</b>".into() });
    let system = ServerMsg::Chat(ChatLine { from: None, text: "bob joined".into() });
    for _ in 0..MAX_CHAT_LOG + 5 {
        c.on_message(&encode_server(&system), 0.0).unwrap();
    }
    assert_eq!(c.chat_log().len(), MAX_CHAT_LOG);
    assert_eq!(c.chat_log().back().unwrap().from, None);
}

#[test]
fn outgoing_chat_is_trimmed_cut_and_checked() {
    let mut c = joined();
    let ClientMsg::Chat(chat) = decode_client(&c.chat("  hello  ").unwrap(), MAX_FRAME_BYTES).unwrap() else {
        panic!("not chat")
    };
    assert_eq!(chat.text, "hello");
    let long = c.chat(&"y".repeat(500)).unwrap();
    let ClientMsg::Chat(chat) = decode_client(&long, MAX_FRAME_BYTES).unwrap() else { panic!("not chat") };
    assert_eq!(chat.text.chars().count(), MAX_CHAT_CHARS);
    assert!(c.chat("   ").is_none());
    assert!(c.chat("bad\u{202E}").is_none());
}

#[test]
fn kills_feed_and_results_are_kept() {
    let mut c = joined();
    for victim in 0..20 {
        c.on_message(&encode_server(&ServerMsg::Kill(Kill { killer: 7, victim })), f64::from(victim)).unwrap();
    }
    assert_eq!(c.kill_feed().count(), MAX_KILL_FEED);
    let results = Results { winner: Some(7), scores: vec![], next_map: "x".into() };
    c.on_message(&encode_server(&ServerMsg::Results(results.clone())), 0.0).unwrap();
    assert_eq!(c.results(), Some(&results));
    let info = MatchInfo { phase: Phase::Countdown, map: Default::default(), score_limit: 20, match_secs: 300 };
    c.on_message(&encode_server(&ServerMsg::Match(info)), 0.0).unwrap();
    assert_eq!(c.results(), None, "a new match clears the results");
}

#[test]
fn bullets_advance_along_their_path() {
    let mut c = joined();
    let tick_ms = 1000.0 / 30.0;
    for tick in 0..3u64 {
        let bullet =
            BulletState { id: 1, owner: 7, pos: Vec2::new(30.0 * tick as f32, 0.0), vel: Vec2::new(900.0, 0.0) };
        let snap = Snapshot { tick, bullets: vec![bullet], ..Default::default() };
        c.on_message(&encode_server(&ServerMsg::Snapshot(snap)), tick as f64 * tick_ms).unwrap();
    }
    // Draw time is tick 0.5 at the newest arrival + half a tick: halfway from 0 to 30.
    let b = c.bullets(2.5 * tick_ms);
    assert_eq!(b.len(), 1);
    assert!((b[0].pos.x - 15.0).abs() < 1e-3, "{:?}", b[0]);
    assert_eq!(b[0].colour, 0xff0000);
}
