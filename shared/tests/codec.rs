//! Round trips of every message, and hostile bytes that must come back as errors, never panics.
//! These run in debug builds too, where a deep recursion would overflow the 2 MiB test stack.

use glam::Vec2;
use skirmish_shared::consts::{MAX_FRAME_BYTES, PROTOCOL_VERSION};
use skirmish_shared::*;

fn all_client() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: "Ada".into(),
            room: Some("lan-1".into()),
            spectate: false,
        }),
        ClientMsg::Hello(Hello { version: PROTOCOL_VERSION, name: "Zoë 🚀".into(), room: None, spectate: true }),
        ClientMsg::Input(Input { seq: 42, mv: Vec2::new(-1.0, 0.5), aim: 1.25, buttons: Input::FIRE }),
        ClientMsg::Ping(Ping { id: u32::MAX }),
        ClientMsg::Chat(Chat { text: "gg <b>wp</b> ✨".into() }),
    ]
}

fn all_server() -> Vec<ServerMsg> {
    let info = PlayerInfo { id: 3, name: "Bob".into(), colour: 0x12ab34, spectator: false };
    let map = MapInfo {
        name: "arena".into(),
        size: Vec2::new(2400.0, 1600.0),
        obstacles: vec![Rect { min: Vec2::new(10.0, 20.0), max: Vec2::new(30.0, 40.0) }],
    };
    vec![
        ServerMsg::Welcome(Welcome {
            id: 3,
            arena: Vec2::new(1600.0, 1000.0),
            tick_rate: 30,
            colour: 0x12ab34,
            room: "main".into(),
            players: vec![info.clone()],
            spectator: false,
        }),
        ServerMsg::Snapshot(Snapshot {
            tick: 1 << 40,
            phase: Phase::Playing,
            time_left_ms: 299_000,
            players: vec![PlayerState {
                id: 3,
                pos: Vec2::new(1.0, 2.0),
                vel: Vec2::new(-3.0, 4.0),
                aim: -0.5,
                ack: 9,
                health: 80,
                flags: PlayerState::ALIVE,
                kills: 2,
                deaths: 1,
            }],
            bullets: vec![BulletState { id: 1, owner: 3, pos: Vec2::new(5.0, 6.0), vel: Vec2::new(900.0, 0.0) }],
            pickups: vec![PickupState { id: 2, kind: PickupKind::RapidFire, pos: Vec2::new(7.0, 8.0) }],
        }),
        ServerMsg::Joined(info),
        ServerMsg::Left(Left { id: 3 }),
        ServerMsg::Pong(Ping { id: 7 }),
        ServerMsg::Chat(ChatLine { from: Some(3), text: "<img src=x onerror=alert(1)>".into() }),
        ServerMsg::Chat(ChatLine { from: None, text: "Bob joined".into() }),
        ServerMsg::Kill(Kill { killer: 3, victim: 4 }),
        ServerMsg::Match(MatchInfo { phase: Phase::Countdown, map, score_limit: 20, match_secs: 300 }),
        ServerMsg::Results(Results {
            winner: Some(3),
            scores: vec![Score { id: 3, name: "Bob".into(), kills: 20, deaths: 3 }],
            next_map: "pillars".into(),
        }),
    ]
}

#[test]
fn every_client_message_round_trips() {
    for msg in all_client() {
        let bytes = encode_client(&msg);
        assert_eq!(decode_client(&bytes, MAX_FRAME_BYTES).unwrap(), msg);
    }
}

#[test]
fn every_server_message_round_trips() {
    for msg in all_server() {
        let bytes = encode_server(&msg);
        assert_eq!(decode_server(&bytes).unwrap(), msg);
    }
}

#[test]
fn structs_are_arrays_and_variants_short() {
    // {"p": [7]}: fixmap(1), fixstr "p", fixarray(1), 7
    assert_eq!(encode_client(&ClientMsg::Ping(Ping { id: 7 })), vec![0x81, 0xa1, b'p', 0x91, 0x07]);
}

#[test]
fn random_bytes_never_panic() {
    // A fixed xorshift so failures reproduce.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in 0..2000usize {
        let bytes: Vec<u8> = (0..len % 300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = decode_client(&bytes, MAX_FRAME_BYTES);
        let _ = decode_server(&bytes);
    }
}

#[test]
fn mutated_valid_messages_never_panic() {
    for msg in all_client() {
        let bytes = encode_client(&msg);
        for i in 0..bytes.len() {
            for v in [0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xca, 0xcb, 0xdc, 0xdd, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = decode_client(&b, MAX_FRAME_BYTES);
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // 100 000 nested one-element arrays.
    let bytes = vec![0x91u8; 100_000];
    assert!(matches!(decode_client(&bytes, usize::MAX), Err(DecodeError::Malformed(_))));
    assert!(decode_server(&bytes).is_err());
    // The same nesting inside a valid variant key.
    let mut nested = vec![0x81, 0xa1, b'h'];
    nested.extend(std::iter::repeat_n(0x91u8, 100_000));
    assert!(decode_client(&nested, usize::MAX).is_err());
}

#[test]
fn nesting_is_checked_even_within_the_frame_cap() {
    let bytes = vec![0x91u8; 2000];
    assert!(matches!(decode_client(&bytes, MAX_FRAME_BYTES), Err(DecodeError::Malformed(_))));
}

#[test]
fn huge_length_prefix_fails_fast() {
    // array32 claiming 4 294 967 295 items, with nothing behind it.
    let bytes = [0xdd, 0xff, 0xff, 0xff, 0xff];
    assert!(decode_client(&bytes, MAX_FRAME_BYTES).is_err());
    assert!(decode_server(&bytes).is_err());
    // The same claim where the snapshot's player list should be.
    let mut snap = vec![0x81, 0xa1, b's', 0x92, 0x01];
    snap.extend([0xdd, 0xff, 0xff, 0xff, 0xff]);
    assert!(decode_server(&snap).is_err());
    // And a str32 claiming 4 GiB as a name.
    let mut hello = vec![0x81, 0xa1, b'h', 0x93, 0x01];
    hello.extend([0xdb, 0xff, 0xff, 0xff, 0xff]);
    assert!(decode_client(&hello, MAX_FRAME_BYTES).is_err());
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = encode_client(&ClientMsg::Ping(Ping { id: 1 }));
    bytes.push(0xc0);
    assert_eq!(decode_client(&bytes, MAX_FRAME_BYTES), Err(DecodeError::TrailingBytes(1)));
    let mut bytes = encode_server(&ServerMsg::Left(Left { id: 1 }));
    bytes.extend([1, 2, 3]);
    assert_eq!(decode_server(&bytes), Err(DecodeError::TrailingBytes(3)));
}

#[test]
fn oversized_frames_are_rejected_unread() {
    let bytes = vec![0u8; MAX_FRAME_BYTES + 1];
    assert!(matches!(decode_client(&bytes, MAX_FRAME_BYTES), Err(DecodeError::TooLarge { .. })));
}

#[test]
fn non_finite_floats_are_rejected_everywhere() {
    let bad = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
    let base = Input { seq: 1, mv: Vec2::ZERO, aim: 0.0, buttons: 0 };
    for b in bad {
        for input in
            [Input { mv: Vec2::new(b, 0.0), ..base }, Input { mv: Vec2::new(0.0, b), ..base }, Input { aim: b, ..base }]
        {
            let bytes = encode_client(&ClientMsg::Input(input));
            assert!(matches!(decode_client(&bytes, MAX_FRAME_BYTES), Err(DecodeError::Invalid(_))), "{input:?}");
        }
        let state = PlayerState { id: 1, ..Default::default() };
        for s in [
            PlayerState { pos: Vec2::new(b, 0.0), ..state },
            PlayerState { pos: Vec2::new(0.0, b), ..state },
            PlayerState { vel: Vec2::new(b, 0.0), ..state },
            PlayerState { vel: Vec2::new(0.0, b), ..state },
            PlayerState { aim: b, ..state },
        ] {
            let bytes =
                encode_server(&ServerMsg::Snapshot(Snapshot { tick: 1, players: vec![s], ..Default::default() }));
            assert!(decode_server(&bytes).is_err(), "{s:?}");
        }
        let welcome = Welcome {
            id: 1,
            arena: Vec2::new(b, 1.0),
            tick_rate: 30,
            colour: 0,
            room: "main".into(),
            players: vec![],
            spectator: false,
        };
        assert!(decode_server(&encode_server(&ServerMsg::Welcome(welcome))).is_err());
        let bullet = BulletState { pos: Vec2::new(b, 0.0), ..Default::default() };
        let snap = Snapshot { bullets: vec![bullet], ..Default::default() };
        assert!(decode_server(&encode_server(&ServerMsg::Snapshot(snap))).is_err());
        let map = MapInfo { obstacles: vec![Rect { min: Vec2::ZERO, max: Vec2::new(b, 1.0) }], ..Default::default() };
        let info = MatchInfo { phase: Phase::Waiting, map, score_limit: 1, match_secs: 1 };
        assert!(decode_server(&encode_server(&ServerMsg::Match(info))).is_err());
    }
}

#[test]
fn out_of_range_input_is_rejected() {
    let input = Input { seq: 1, mv: Vec2::new(1.5, 0.0), aim: 0.0, buttons: 0 };
    assert!(decode_client(&encode_client(&ClientMsg::Input(input)), MAX_FRAME_BYTES).is_err());
    let input = Input { seq: 1, mv: Vec2::ZERO, aim: 100.0, buttons: 0 };
    assert!(decode_client(&encode_client(&ClientMsg::Input(input)), MAX_FRAME_BYTES).is_err());
}

#[test]
fn names_and_rooms_are_checked() {
    let hello = |name: &str, room: Option<&str>| {
        let msg = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
            room: room.map(Into::into),
            spectate: false,
        });
        decode_client(&encode_client(&msg), MAX_FRAME_BYTES)
    };
    assert!(hello("Ada", None).is_ok());
    assert!(hello("", None).is_err());
    assert!(hello("   ", None).is_err());
    assert!(hello(" Ada", None).is_err());
    assert!(hello("a\u{202E}evil", None).is_err());
    assert!(hello("zero\u{200B}width", None).is_err());
    assert!(hello("bell\u{7}", None).is_err());
    assert!(hello("seventeen chars!!", None).is_err());
    assert!(hello("Ada", Some("room 1")).is_err());
    assert!(hello("Ada", Some("")).is_err());
    assert!(hello("Ada", Some("r-1_ok")).is_ok());
}

#[test]
fn unknown_variants_are_rejected() {
    // {"z": [1]}
    assert!(decode_client(&[0x81, 0xa1, b'z', 0x91, 0x01], MAX_FRAME_BYTES).is_err());
}

#[test]
fn wrong_version_is_its_own_error() {
    let msg =
        ClientMsg::Hello(Hello { version: PROTOCOL_VERSION + 1, name: "\u{202E}".into(), room: None, spectate: false });
    assert_eq!(
        decode_client(&encode_client(&msg), MAX_FRAME_BYTES),
        Err(DecodeError::WrongVersion(PROTOCOL_VERSION + 1))
    );
}

#[test]
fn chat_lines_are_checked() {
    let chat =
        |text: &str| decode_client(&encode_client(&ClientMsg::Chat(Chat { text: text.into() })), MAX_FRAME_BYTES);
    assert!(chat("gg").is_ok());
    assert!(chat("<img src=x onerror=alert(1)>").is_ok(), "markup is just text");
    assert!(chat("").is_err());
    assert!(chat("   ").is_err());
    assert!(chat(&"x".repeat(201)).is_err());
    assert!(chat("bell\u{7}").is_err());
    assert!(chat("\u{202E}reversed").is_err());
}
