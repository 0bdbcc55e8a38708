//! Round trips of every message, and hostile bytes that must come back as errors, never panics.
//! These run in debug builds too, where a deep recursion would overflow the 2 MiB test stack.

use glam::{IVec2, Vec2};
use skirmish_shared::codec::{self, ROOM_LENGTH_RULE};
use skirmish_shared::consts::{MAX_FRAME_BYTES, MAX_ROOM_CHARS, MAX_TOKEN_CHARS, PROTOCOL_VERSION, RADAR_MAX_WIDTH};
use skirmish_shared::*;

fn hello(name: &str, room: Option<&str>) -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
        room: room.map(Into::into),
        spectate: false,
        private: false,
        rejoin: None,
    }
}

fn input() -> Input {
    Input { seq: 1, mv: Vec2::ZERO, aim: 0.0, buttons: 0, ack: 0, view_tick: 0 }
}

fn all_client() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Hello(hello("Ada", Some("lan-1"))),
        ClientMsg::Hello(Hello {
            spectate: true,
            private: true,
            rejoin: Some("tok-EN_1".into()),
            ..hello("Zoë 🚀", None)
        }),
        ClientMsg::Hello(hello("Quick", Some(""))),
        ClientMsg::Input(Input {
            seq: 42,
            mv: Vec2::new(-1.0, 0.5),
            aim: 1.25,
            buttons: Input::FIRE,
            ack: 1 << 40,
            view_tick: 77,
        }),
        ClientMsg::Ping(Ping { id: u32::MAX }),
        ClientMsg::Chat(Chat { text: "gg <b>wp</b> ✨".into() }),
        ClientMsg::Ack(Ack { tick: 123_456 }),
        ClientMsg::Follow(Follow { id: Some(3) }),
        ClientMsg::Follow(Follow { id: None }),
    ]
}

fn welcome() -> Welcome {
    Welcome {
        id: 3,
        arena: Vec2::new(1600.0, 1000.0),
        tick_rate: 30,
        colour: 0x12ab34,
        room: "main".into(),
        players: vec![PlayerInfo { id: 3, name: "Bob".into(), colour: 0x12ab34, spectator: false }],
        spectator: false,
        rejoin: "seat-7_x".into(),
    }
}

fn all_server() -> Vec<ServerMsg> {
    let info = PlayerInfo { id: 3, name: "Bob".into(), colour: 0x12ab34, spectator: false };
    let map = MapInfo {
        name: "arena".into(),
        size: Vec2::new(2400.0, 1600.0),
        obstacles: vec![Rect { min: Vec2::new(10.0, 20.0), max: Vec2::new(30.0, 40.0) }],
    };
    let own = OwnState {
        id: 3,
        pos: IVec2::new(6400, -8),
        vel: IVec2::new(-5120, 37),
        aim: 200,
        ack: 9,
        health: 80,
        flags: PlayerState::ALIVE | PlayerState::RAPID_FIRE,
        cooldown: 4,
        rapid_ticks: 299,
    };
    let chat = ServerMsg::Chat(ChatLine { from: None, text: "Bob joined".into() });
    vec![
        ServerMsg::Welcome(welcome()),
        ServerMsg::Snapshot(Snapshot {
            tick: 1 << 40,
            base: (1 << 40) - 3,
            phase: Phase::Playing,
            time_left_ms: 299_000,
            me: Some(own),
            ents: vec![0xa0, 0x70, 0x00, 0x03, 0x00],
        }),
        ServerMsg::Snapshot(Snapshot { me: None, ents: vec![], ..Default::default() }),
        ServerMsg::Joined(info.clone()),
        ServerMsg::Left(Left { id: 3 }),
        ServerMsg::Pong(Ping { id: 7 }),
        ServerMsg::Chat(ChatLine { from: Some(3), text: "<img src=x onerror=alert(1)>".into() }),
        chat.clone(),
        ServerMsg::Kill(Kill { killer: 3, victim: 4 }),
        ServerMsg::Match(MatchInfo { phase: Phase::Countdown, map, score_limit: 20, match_secs: 300 }),
        ServerMsg::Results(Results {
            winner: Some(3),
            scores: vec![Score { id: 3, name: "Bob".into(), kills: 20, deaths: 3 }],
            next_map: "pillars".into(),
        }),
        ServerMsg::Scores(vec![ScoreLine { id: 3, kills: 2, deaths: 1 }]),
        ServerMsg::Radar(Radar { width: 64, height: 40, cells: vec![1; 64 * 40] }),
        ServerMsg::Batch(vec![ServerMsg::Joined(info), chat, ServerMsg::Kill(Kill { killer: 1, victim: 2 })]),
        ServerMsg::Batch(vec![]),
    ]
}

fn server_ok(msg: &ServerMsg) -> bool {
    decode_server(&encode_server(msg)).is_ok()
}

fn client_result(msg: &ClientMsg) -> Result<ClientMsg, DecodeError> {
    decode_client(&encode_client(msg), MAX_FRAME_BYTES)
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
    // {"a": [300]}: the tick as the shortest integer form (u16).
    assert_eq!(encode_client(&ClientMsg::Ack(Ack { tick: 300 })), vec![0x81, 0xa1, b'a', 0x91, 0xcd, 0x01, 0x2c]);
    // Packed bytes are MessagePack bin, not an array of integers. The radar's: one occupied cell
    // (uvar 1: `0001 0`), none skipped before it (gamma 1: `1`), three ships (gamma 3: `011`).
    let radar = encode_server(&ServerMsg::Radar(Radar { width: 1, height: 1, cells: vec![3] }));
    assert_eq!(radar, vec![0x81, 0xa1, b'd', 0x93, 0x01, 0x01, 0xc4, 0x02, 0x15, 0x80]);
}

#[test]
fn float_fields_accept_float64_and_integers() {
    // PROTOCOL.md: a float field takes a float 32, a float 64 or any integer.
    // {"i": [7, [1, -1], 0.5 as float 64, 1, 120, 0]}
    let mut bytes = vec![0x81, 0xa1, b'i', 0x96, 0x07, 0x92, 0x01, 0xff, 0xcb];
    bytes.extend(0.5f64.to_be_bytes());
    bytes.extend([0x01, 0x78, 0x00]);
    let Ok(ClientMsg::Input(i)) = decode_client(&bytes, MAX_FRAME_BYTES) else { panic!("refused") };
    assert_eq!((i.mv, i.aim, i.ack), (Vec2::new(1.0, -1.0), 0.5, 120));
    // A float 64 beyond the f32 range becomes infinity, which is refused.
    let mut huge = vec![0x81, 0xa1, b'i', 0x96, 0x07, 0x92, 0x00, 0x00, 0xcb];
    huge.extend(1e300f64.to_be_bytes());
    huge.extend([0x01, 0x78, 0x00]);
    assert!(matches!(decode_client(&huge, MAX_FRAME_BYTES), Err(DecodeError::Invalid(_))));
}

#[test]
fn integer_fields_take_any_form_that_fits_and_nothing_else() {
    // seq 7 as a u64 is fine…
    let mut bytes = vec![0x81, 0xa1, b'i', 0x96, 0xcf];
    bytes.extend(7u64.to_be_bytes());
    bytes.extend([0x92, 0x00, 0x00, 0x00, 0x01, 0x78, 0x00]);
    assert!(matches!(decode_client(&bytes, MAX_FRAME_BYTES), Ok(ClientMsg::Input(Input { seq: 7, .. }))));
    // …but not as a float, nor buttons 256, nor a negative ping id, nor 0 for a bool.
    let float_seq = [0x81, 0xa1, b'i', 0x96, 0xca, 0x40, 0xe0, 0, 0, 0x92, 0x00, 0x00, 0x00, 0x01, 0x78, 0x00];
    let big_buttons = [0x81, 0xa1, b'i', 0x96, 0x07, 0x92, 0x00, 0x00, 0x00, 0xcd, 0x01, 0x00, 0x78, 0x00];
    let negative_id = [0x81, 0xa1, b'p', 0x91, 0xff];
    let int_bool = [0x81, 0xa1, b'h', 0x96, 0x03, 0xa3, b'A', b'd', b'a', 0xc0, 0x00, 0xc2, 0xc0];
    for bad in [&float_seq[..], &big_buttons, &negative_id, &int_bool] {
        assert!(matches!(decode_client(bad, MAX_FRAME_BYTES), Err(DecodeError::Malformed(_))), "{bad:02x?}");
    }
}

#[test]
fn wrong_field_counts_are_rejected() {
    // Input with five fields (a v2-shaped body plus ack) and with seven.
    let five = [0x81, 0xa1, b'i', 0x95, 0x07, 0x92, 0x00, 0x00, 0x00, 0x01, 0x78];
    let seven = [0x81, 0xa1, b'i', 0x97, 0x07, 0x92, 0x00, 0x00, 0x00, 0x01, 0x78, 0x00, 0x00];
    assert!(decode_client(&five, MAX_FRAME_BYTES).is_err());
    assert!(decode_client(&seven, MAX_FRAME_BYTES).is_err());
    // A v2 Hello (four fields) is not mistaken for v3: its version is refused (see
    // `another_versions_hello_is_told_the_version_whatever_its_shape`).
    let v2 = [0x81, 0xa1, b'h', 0x94, 0x02, 0xa3, b'A', b'd', b'a', 0xc0, 0xc2];
    assert_eq!(decode_client(&v2, MAX_FRAME_BYTES), Err(DecodeError::WrongVersion(2)));
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
    let mutate = |bytes: &[u8], check: &dyn Fn(&[u8])| {
        for i in 0..bytes.len() {
            for v in [0x00, 0x7f, 0x80, 0xc0, 0xc1, 0xc4, 0xca, 0xcb, 0xdc, 0xdd, 0xff] {
                let mut b = bytes.to_vec();
                b[i] = v;
                check(&b);
            }
        }
    };
    for msg in all_client() {
        mutate(&encode_client(&msg), &|b| {
            let _ = decode_client(b, MAX_FRAME_BYTES);
        });
    }
    // The full radar of `all_server` is mutated below in a smaller, varied one.
    let radar =
        ServerMsg::Radar(Radar { width: 5, height: 3, cells: vec![0, 0, 1, 4, 0, 0, 0, 0, 0, 2, 255, 0, 0, 0, 1] });
    for msg in all_server().into_iter().filter(|m| !matches!(m, ServerMsg::Radar(_))).chain([radar]) {
        mutate(&encode_server(&msg), &|b| {
            let _ = decode_server(b);
        });
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
    // And batches in batches, as deep as the bytes allow: {"b": [{"b": [{"b": […]}]}]}.
    let mut batches = Vec::new();
    for _ in 0..20_000 {
        batches.extend([0x81, 0xa1, b'b', 0x91]);
    }
    assert!(matches!(decode_server(&batches), Err(DecodeError::Malformed(_))));
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
    // A batch claiming as many messages.
    let batch = [0x81, 0xa1, b'b', 0xdd, 0xff, 0xff, 0xff, 0xff];
    assert!(decode_server(&batch).is_err());
    // A snapshot whose `ents` (bin32) claims 4 GiB.
    let mut snap = encode_server(&ServerMsg::Snapshot(Snapshot::default()));
    assert_eq!(snap[snap.len() - 2..], [0xc4, 0x00], "ents is the last field");
    snap.truncate(snap.len() - 2);
    snap.extend([0xc6, 0xff, 0xff, 0xff, 0xff]);
    assert!(decode_server(&snap).is_err());
    // The same for the radar's cells.
    let radar = [0x81, 0xa1, b'd', 0x93, 0x40, 0x28, 0xc6, 0xff, 0xff, 0xff, 0xff];
    assert!(decode_server(&radar).is_err());
    // And a str32 claiming 4 GiB as a name.
    let mut hello = vec![0x81, 0xa1, b'h', 0x96, 0x03];
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
    let mut bytes = encode_server(&ServerMsg::Batch(vec![ServerMsg::Left(Left { id: 1 })]));
    bytes.push(0x00);
    assert_eq!(decode_server(&bytes), Err(DecodeError::TrailingBytes(1)));
}

#[test]
fn oversized_frames_are_rejected_unread() {
    let bytes = vec![0u8; MAX_FRAME_BYTES + 1];
    assert!(matches!(decode_client(&bytes, MAX_FRAME_BYTES), Err(DecodeError::TooLarge { .. })));
}

#[test]
fn non_finite_floats_are_rejected_everywhere() {
    for b in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for bad in [
            Input { mv: Vec2::new(b, 0.0), ..input() },
            Input { mv: Vec2::new(0.0, b), ..input() },
            Input { aim: b, ..input() },
        ] {
            let result = client_result(&ClientMsg::Input(bad));
            assert!(matches!(result, Err(DecodeError::Invalid(_))), "{bad:?}: {result:?}");
        }
        for arena in [Vec2::new(b, 1.0), Vec2::new(1.0, b)] {
            assert!(!server_ok(&ServerMsg::Welcome(Welcome { arena, ..welcome() })), "arena {arena}");
        }
        let rect = |min: Vec2, max: Vec2| {
            let map = MapInfo { obstacles: vec![Rect { min, max }], ..Default::default() };
            ServerMsg::Match(MatchInfo { phase: Phase::Waiting, map, score_limit: 1, match_secs: 1 })
        };
        assert!(!server_ok(&rect(Vec2::ZERO, Vec2::new(b, 1.0))));
        assert!(!server_ok(&rect(Vec2::new(0.0, b), Vec2::ONE)));
        let size = MapInfo { size: Vec2::new(b, 1.0), ..Default::default() };
        assert!(!server_ok(&ServerMsg::Match(MatchInfo {
            phase: Phase::Waiting,
            map: size,
            score_limit: 1,
            match_secs: 1
        })));
        // Inside a batch too.
        let welcome = ServerMsg::Welcome(Welcome { arena: Vec2::new(b, 1.0), ..welcome() });
        assert!(!server_ok(&ServerMsg::Batch(vec![ServerMsg::Left(Left { id: 1 }), welcome])));
    }
}

#[test]
fn out_of_range_input_is_rejected_not_clamped() {
    for mv in [Vec2::new(1.5, 0.0), Vec2::new(0.0, -1.001)] {
        let result = client_result(&ClientMsg::Input(Input { mv, ..input() }));
        assert_eq!(result, Err(DecodeError::Invalid("movement out of range [-1, 1]")), "{mv}");
    }
    // The corners of the box are in range (the server scales them to length 1).
    assert!(client_result(&ClientMsg::Input(Input { mv: Vec2::new(1.0, -1.0), ..input() })).is_ok());
    for aim in [7.01, -7.01, 100.0] {
        let result = client_result(&ClientMsg::Input(Input { aim, ..input() }));
        assert_eq!(result, Err(DecodeError::Invalid("aim angle out of range")), "{aim}");
    }
    assert!(client_result(&ClientMsg::Input(Input { aim: -7.0, ..input() })).is_ok());
}

#[test]
fn names_and_rooms_are_checked() {
    let check = |name: &str, room: Option<&str>| client_result(&ClientMsg::Hello(hello(name, room)));
    assert!(check("Ada", None).is_ok());
    assert!(check("", None).is_err());
    assert!(check("   ", None).is_err());
    assert!(check(" Ada", None).is_err());
    assert!(check("a\u{202E}evil", None).is_err());
    assert!(check("zero\u{200B}width", None).is_err());
    assert!(check("bell\u{7}", None).is_err());
    assert!(check("seventeen chars!!", None).is_err());
    // Every invisible or reordering kind an outside attack tried, alone and inside a name.
    for bad in [
        '\u{061C}',  // Arabic letter mark
        '\u{E0041}', // a tag character
        '\u{034F}',  // combining grapheme joiner
        '\u{FFF9}',  // interlinear annotation anchor
        '\u{2028}',  // line separator
        '\u{3164}',  // Hangul filler
        '\u{115F}',  // Hangul choseong filler
        '\u{FFA0}',  // halfwidth Hangul filler
        '\u{180E}',  // Mongolian vowel separator
        '\u{2066}',  // left-to-right isolate
    ] {
        assert!(check(&bad.to_string(), None).is_err(), "{:04X} alone", u32::from(bad));
        assert!(check(&format!("A{bad}da"), None).is_err(), "{:04X} inside", u32::from(bad));
        let chat = client_result(&ClientMsg::Chat(Chat { text: format!("gg{bad}") }));
        assert!(chat.is_err(), "{:04X} in chat", u32::from(bad));
    }
    // Blank characters: not a name alone, nor at its edges; fine inside.
    assert!(check("\u{2800}", None).is_err(), "the braille blank alone draws nothing");
    assert!(check("\u{2800}Ada", None).is_err());
    assert!(check("\u{FE0F}", None).is_err(), "a variation selector alone draws nothing");
    assert!(client_result(&ClientMsg::Chat(Chat { text: "\u{2800}\u{2800}".into() })).is_err());
    // What real names hold: accents, other scripts, an emoji in its colour form.
    for good in ["Zoë", "Łukasz", "山田", "Алёна", "محمد", "\u{2764}\u{FE0F}", "a\u{2800}b"] {
        assert!(check(good, None).is_ok(), "{good:?}");
    }
    assert!(check("Ada", Some("room 1")).is_err());
    assert!(check("Ada", Some("r-1_ok")).is_ok());
    let longest = "r".repeat(MAX_ROOM_CHARS);
    assert!(check("Ada", Some(&longest)).is_ok());
    assert_eq!(check("Ada", Some(&format!("{longest}x"))), Err(DecodeError::Invalid(ROOM_LENGTH_RULE)));
}

#[test]
fn an_empty_room_is_quick_play_and_accepted() {
    assert_eq!(client_result(&ClientMsg::Hello(hello("Ada", Some("")))), Ok(ClientMsg::Hello(hello("Ada", Some("")))));
}

#[test]
fn the_room_length_rule_states_the_limit() {
    assert_eq!(ROOM_LENGTH_RULE, format!("room name must be 1 to {MAX_ROOM_CHARS} characters"));
    assert_eq!(codec::check_room(""), Err(DecodeError::Invalid(ROOM_LENGTH_RULE)));
}

#[test]
fn rejoin_tokens_are_checked() {
    let with =
        |token: &str| client_result(&ClientMsg::Hello(Hello { rejoin: Some(token.into()), ..hello("Ada", None) }));
    assert!(with("").is_ok(), "empty means none (what Welcome.rejoin holds today)");
    assert!(with(&"t".repeat(MAX_TOKEN_CHARS)).is_ok());
    assert_eq!(with(&"t".repeat(MAX_TOKEN_CHARS + 1)), Err(DecodeError::Invalid("rejoin token too long")));
    assert!(with("has space").is_err());
    assert!(with("ünï").is_err());
    // The server's token is held to the same rule.
    assert!(!server_ok(&ServerMsg::Welcome(Welcome { rejoin: "t".repeat(MAX_TOKEN_CHARS + 1), ..welcome() })));
    assert!(!server_ok(&ServerMsg::Welcome(Welcome { rejoin: "a/b".into(), ..welcome() })));
}

#[test]
fn nested_batches_are_refused() {
    let inner = ServerMsg::Batch(vec![ServerMsg::Left(Left { id: 1 })]);
    let nested = ServerMsg::Batch(vec![ServerMsg::Pong(Ping { id: 1 }), inner]);
    assert_eq!(decode_server(&encode_server(&nested)), Err(DecodeError::Invalid("nested batch")));
}

#[test]
fn radars_must_fit_their_grid_within_the_limits() {
    // The last of `cells` holds a ship, so the packed form lists it: past the grid if there
    // are more cells than width × height.
    let radar = |width: u8, height: u8, cells: usize| {
        let mut cells = vec![0; cells];
        if let Some(last) = cells.last_mut() {
            *last = 1;
        }
        ServerMsg::Radar(Radar { width, height, cells })
    };
    assert!(server_ok(&radar(6, 4, 24)));
    assert!(!server_ok(&radar(6, 4, 25)), "a ship past the grid");
    let too_wide = u8::try_from(RADAR_MAX_WIDTH + 1).expect("fits a byte");
    assert!(!server_ok(&radar(too_wide, 1, usize::from(too_wide))), "wider than the limit");
    assert!(!server_ok(&radar(1, 41, 41)), "taller than the limit");
    // Inside a batch as well.
    assert!(!server_ok(&ServerMsg::Batch(vec![radar(2, 2, 5)])));
}

#[test]
fn names_in_rosters_are_checked() {
    let bad = PlayerInfo { id: 1, name: "a\u{202E}b".into(), colour: 0, spectator: false };
    assert!(!server_ok(&ServerMsg::Joined(bad.clone())));
    assert!(!server_ok(&ServerMsg::Welcome(Welcome { players: vec![bad], ..welcome() })));
    let long_chat = ServerMsg::Chat(ChatLine { from: None, text: "x".repeat(201) });
    assert!(!server_ok(&long_chat));
}

#[test]
fn unknown_variants_are_rejected() {
    // {"z": [1]}
    assert!(decode_client(&[0x81, 0xa1, b'z', 0x91, 0x01], MAX_FRAME_BYTES).is_err());
    assert!(decode_server(&[0x81, 0xa1, b'z', 0x91, 0x01]).is_err());
    // A server message is not a client message: {"w": …} from a client.
    assert!(decode_client(&encode_server(&ServerMsg::Welcome(welcome())), MAX_FRAME_BYTES).is_err());
}

/// An error quoting the client's input (an unknown variant's name) escapes its control and
/// other forbidden characters: a close reason, and the server's log line of it, get no line
/// break, reordering or terminal escape from a client.
#[test]
fn errors_quoting_input_escape_its_control_characters() {
    // {"\nFAKE\u{1b}[2J": [1]}
    let key = "\nFAKE\u{1b}[2J";
    let mut bytes = vec![0x81, 0xa0 | key.len() as u8];
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(&[0x91, 0x01]);
    let Err(DecodeError::Malformed(why)) = decode_client(&bytes, MAX_FRAME_BYTES) else { panic!("malformed") };
    assert!(!why.chars().any(char::is_control), "{why:?}");
    assert!(why.contains("\\nFAKE\\u{1b}[2J"), "{why:?}");
    // Found by an outside attack: the line separator and the bidi override went through raw.
    let key = "\u{2028}FAKE\u{202E}x";
    let mut bytes = vec![0x81, 0xa0 | key.len() as u8];
    bytes.extend_from_slice(key.as_bytes());
    bytes.extend_from_slice(&[0x91, 0x01]);
    let Err(DecodeError::Malformed(why)) = decode_client(&bytes, MAX_FRAME_BYTES) else { panic!("malformed") };
    assert!(why.contains("\\u{2028}FAKE\\u{202e}x"), "{why:?}");
}

/// Found by an outside attack: a map of two entries, or none, was refused with rmp-serde's
/// "array had incorrect length, expected 2", which names neither the map nor its rule.
#[test]
fn a_message_that_is_not_one_entry_is_told_so() {
    let ping = encode_client(&ClientMsg::Ping(Ping { id: 7 }));
    let mut two = vec![0x82];
    two.extend_from_slice(&ping[1..]);
    two.extend_from_slice(&ping[1..]);
    for (bytes, entries) in [(vec![0x80], 0), (two, 2)] {
        let why = decode_client(&bytes, MAX_FRAME_BYTES).unwrap_err().to_string();
        assert!(why.contains(&format!("a message is a map of one entry, not {entries}")), "{why}");
    }
}

#[test]
fn wrong_version_is_its_own_error() {
    let msg = ClientMsg::Hello(Hello { version: PROTOCOL_VERSION + 1, ..hello("\u{202E}", None) });
    assert_eq!(client_result(&msg), Err(DecodeError::WrongVersion(PROTOCOL_VERSION + 1)));
    let v2 = ClientMsg::Hello(Hello { version: 2, ..hello("Ada", None) });
    assert_eq!(client_result(&v2), Err(DecodeError::WrongVersion(2)));
}

/// Another version's `Hello` has another shape, but its version is still read first: a v2
/// client's four fields, or a future one's seven, are told the version, not the field count.
#[test]
fn another_versions_hello_is_told_the_version_whatever_its_shape() {
    // {"h": [2, "A", nil, false]}: v2's Hello.
    let v2 = [0x81, 0xa1, b'h', 0x94, 0x02, 0xa1, b'A', 0xc0, 0xc2];
    assert_eq!(decode_client(&v2, MAX_FRAME_BYTES), Err(DecodeError::WrongVersion(2)));
    // {"h": [4, 1, 2, 3, 4, 5, 6]}: a later version's, with fields this one cannot read.
    let v4 = [0x81, 0xa1, b'h', 0x97, 0x04, 1, 2, 3, 4, 5, 6];
    assert_eq!(decode_client(&v4, MAX_FRAME_BYTES), Err(DecodeError::WrongVersion(4)));
    // This version with the wrong shape is malformed; so is a version that is no number.
    let v3 = [0x81, 0xa1, b'h', 0x94, PROTOCOL_VERSION as u8, 0xa1, b'A', 0xc0, 0xc2];
    assert!(matches!(decode_client(&v3, MAX_FRAME_BYTES), Err(DecodeError::Malformed(_))));
    let text = [0x81, 0xa1, b'h', 0x91, 0xa1, b'2'];
    assert!(matches!(decode_client(&text, MAX_FRAME_BYTES), Err(DecodeError::Malformed(_))));
    // Not a Hello at all: {"z": [2]}.
    assert!(matches!(decode_client(&[0x81, 0xa1, b'z', 0x91, 0x02], MAX_FRAME_BYTES), Err(DecodeError::Malformed(_))));
}

#[test]
fn chat_lines_are_checked() {
    let chat = |text: &str| client_result(&ClientMsg::Chat(Chat { text: text.into() }));
    assert!(chat("gg").is_ok());
    assert!(chat("<img src=x onerror=alert(1)>").is_ok(), "markup is just text");
    assert!(chat(&"x".repeat(200)).is_ok());
    assert!(chat("").is_err());
    assert!(chat("   ").is_err());
    assert!(chat(&"x".repeat(201)).is_err());
    assert!(chat("bell\u{7}").is_err());
    assert!(chat("\u{202E}reversed").is_err());
}

/// Found by an outside attack: names and lines of combining marks alone were accepted; they draw
/// onto whatever precedes them on screen, and stacked they run over other rows of the roster and
/// the chat.
#[test]
fn combining_marks_may_not_lead_nor_stack() {
    let name = |text: &str| client_result(&ClientMsg::Hello(hello(text, None)));
    let chat = |text: &str| client_result(&ClientMsg::Chat(Chat { text: text.into() }));
    const NAME_MARKS: &str = "name has a combining mark first or too many in a row";
    const CHAT_MARKS: &str = "chat line has a combining mark first or too many in a row";
    let acute = '\u{0301}';
    let marks = |n: usize| acute.to_string().repeat(n);
    assert_eq!(name(&marks(16)), Err(DecodeError::Invalid(NAME_MARKS)));
    assert_eq!(name(&format!("a{}", marks(15))), Err(DecodeError::Invalid(NAME_MARKS)));
    assert_eq!(chat(&marks(200)), Err(DecodeError::Invalid(CHAT_MARKS)));
    assert_eq!(chat(&format!("  {}a", marks(1))), Err(DecodeError::Invalid(CHAT_MARKS)));
    assert_eq!(chat(&format!("a{}", marks(199))), Err(DecodeError::Invalid(CHAT_MARKS)));
    // Each of the generic blocks counts: the extended, supplement, for-symbols and half marks.
    for mark in ['\u{1AB0}', '\u{1DC0}', '\u{20D0}', '\u{FE20}'] {
        assert!(name(&format!("{mark}a")).is_err(), "{:04X} first", u32::from(mark));
        assert!(chat(&format!("a{}", mark.to_string().repeat(4))).is_err(), "{:04X} stacked", u32::from(mark));
    }
    // What letters written with them need: decomposed Vietnamese (ệ: e, dot below, circumflex)
    // and polytonic Greek (ᾅ: alpha, rough breathing, acute, iota below); a mark after any
    // base, a space included.
    for good in ["Vie\u{0323}\u{0302}t", "\u{03B1}\u{0314}\u{0301}\u{0345}", "a \u{20DD}"] {
        assert!(name(good).is_ok(), "{good:?}");
        assert!(chat(good).is_ok(), "{good:?}");
    }
}

/// Found by an outside attack: only the generic marks counted, and a script's mark (Thai, Cyrillic,
/// Devanagari…) ended their run, so "a" and 99 pairs of an acute and a Thai tone mark stacked 198
/// marks on one letter, and names and lines of script marks alone were accepted. Now no mark of
/// any kind comes first, and no more than 4 of any kind (3 generic) follow one another.
#[test]
fn script_marks_may_not_lead_nor_stack_either() {
    let name = |text: &str| client_result(&ClientMsg::Hello(hello(text, None))).map(drop);
    let chat = |text: &str| client_result(&ClientMsg::Chat(Chat { text: text.into() })).map(drop);
    const NAME_MARKS: &str = "name has a combining mark first or too many in a row";
    const CHAT_MARKS: &str = "chat line has a combining mark first or too many in a row";
    let refused_line = Err(DecodeError::Invalid(CHAT_MARKS));
    assert_eq!(chat(&format!("a{}", "\u{0301}\u{0E49}".repeat(99))), refused_line);
    assert_eq!(chat(&"\u{0E49}".repeat(200)), refused_line);
    assert_eq!(chat(&"\u{0483}".repeat(200)), refused_line, "a Cyrillic combining mark");
    assert_eq!(chat("  \u{0E49}ok"), refused_line, "first after spaces");
    assert_eq!(name("\u{0E49}\u{0E49}\u{0E49}"), Err(DecodeError::Invalid(NAME_MARKS)));
    // First: a Thai tone mark, a Cyrillic titlo, a Devanagari vowel sign (a spacing mark), an
    // Arabic fatha, a Hebrew qamats, a Myanmar vowel sign, one from past the Basic Multilingual
    // Plane (Brahmi) and one of the latest Unicode's (Kawi).
    for mark in ['\u{0E49}', '\u{0483}', '\u{093F}', '\u{064E}', '\u{05B8}', '\u{102B}', '\u{11038}', '\u{11F00}'] {
        assert_eq!(name(&format!("{mark}ab")), Err(DecodeError::Invalid(NAME_MARKS)), "{:04X}", u32::from(mark));
        assert_eq!(chat(&format!("{mark}ab")), refused_line, "{:04X}", u32::from(mark));
    }
    // Stacked: 4 of any kind pass, a fifth does not; 3 generic among them pass, a fourth does not.
    assert!(chat(&format!("a{}", "\u{0E49}".repeat(4))).is_ok());
    assert_eq!(chat(&format!("a{}", "\u{0E49}".repeat(5))), refused_line);
    assert!(chat("a\u{0301}\u{0E49}\u{0301}\u{0301}").is_ok());
    assert_eq!(chat("a\u{0301}\u{0E49}\u{0301}\u{0301}\u{0301}"), refused_line);
    assert_eq!(chat("a\u{0E49}\u{0301}\u{0301}\u{0301}\u{0301}"), refused_line);
    // Real words keep working, names and lines alike: Thai (water, here, hello), Hindi (Hindi,
    // namaste, life: a nukta, a vowel sign and a nasal sign on one letter), fully pointed
    // Arabic (Muhammad, peace be upon you), Vietnamese composed and decomposed, pointed Hebrew
    // (shalom), Tibetan (a three-mark stack, tashi delek) and Burmese (mingalaba).
    let words = [
        "\u{0E19}\u{0E49}\u{0E33}",
        "\u{0E17}\u{0E35}\u{0E48}\u{0E19}\u{0E35}\u{0E48}",
        "สวัสดีครับ",
        "हिन्दी",
        "नमस्ते",
        "\u{091C}\u{093C}\u{093F}\u{0902}\u{0926}\u{0917}\u{0940}",
        "مُحَمَّدٌ",
        "السَّلَامُ عَلَيْكُمْ",
        "Tiếng Việt",
        "Vie\u{0323}\u{0302}t Nam",
        "שָׁלוֹם",
        "བསྐྱོང",
        "བཀྲ་ཤིས་བདེ་ལེགས",
        "မင်္ဂလာပါ",
        "ok 👍🏽 ❤️ #️⃣",
    ];
    for word in words {
        assert_eq!(chat(word), Ok(()), "{word:?}");
        if word.chars().count() <= 16 {
            assert_eq!(name(word), Ok(()), "{word:?}");
        }
    }
}

/// Found by an outside test: the zero-width non-joiner and joiner were refused everywhere, so
/// Persian, which needs the non-joiner in everyday words, Sinhala and Hindi conjuncts written
/// with the joiner, and joined emoji could not be sent (the page said "not sent"). They pass
/// between two characters they can join or keep apart, and nowhere else: not first, not last,
/// not next to a space or another joiner, not before a mark (where they would only hide a
/// difference between two names or stretch an invisible run).
#[test]
fn joiners_pass_between_characters_and_nowhere_else() {
    let name = |text: &str| client_result(&ClientMsg::Hello(hello(text, None))).map(drop);
    let chat = |text: &str| client_result(&ClientMsg::Chat(Chat { text: text.into() })).map(drop);
    // Persian "I want" and "books", Hindi "ksha" with an explicit half form, Sinhala "shri",
    // a shrugging man, a family, a heart on fire (after a variation selector).
    for word in [
        "می\u{200C}خواهم",
        "کتاب\u{200C}ها",
        "\u{0915}\u{094D}\u{200D}\u{0937}",
        "\u{0DC1}\u{0DCA}\u{200D}\u{0DBB}\u{0DD3}",
        "\u{1F937}\u{200D}\u{2642}\u{FE0F}",
        "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
        "\u{2764}\u{FE0F}\u{200D}\u{1F525}",
    ] {
        assert_eq!(chat(word), Ok(()), "{word:?}");
        assert_eq!(chat(&format!("gg {word} gg")), Ok(()), "{word:?}");
        assert_eq!(name(word), Ok(()), "{word:?}");
    }
    const NAME: &str = "name has control, bidi or zero-width characters";
    const CHAT: &str = "chat line has control, bidi or zero-width characters";
    for joiner in ['\u{200C}', '\u{200D}'] {
        for bad in [
            format!("{joiner}"),
            format!("{joiner}ab"),
            format!("ab{joiner}"),
            format!("a{joiner}{joiner}b"),
            format!("a {joiner}b"),
            format!("a{joiner} b"),
            format!("a{joiner}\u{0301}b"),
            format!("a{joiner}\u{200B}b"),
        ] {
            assert_eq!(chat(&bad), Err(DecodeError::Invalid(CHAT)), "{bad:?}");
            assert_eq!(name(&bad), Err(DecodeError::Invalid(NAME)), "{bad:?}");
        }
    }
}
