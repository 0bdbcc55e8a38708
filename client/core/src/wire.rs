//! A compact decoder for server messages: the MessagePack format of `PROTOCOL.md`, read with
//! `rmp`'s primitives (markers, lengths, numbers, strings) and our own message structure.
//!
//! Why not `skirmish_shared::decode_server`? Every browser downloads this code, and rmp-serde's
//! generic decoder, instantiated for each protocol type, is about 60 KB of the gzipped wasm;
//! `rmp`, the crate under rmp-serde, reads one value at a time and costs a few. This decoder
//! accepts exactly what the shared one accepts for well-formed input and applies the same
//! validation (finite floats, names, rectangles, chat length), and tests compare the two on every
//! message shape and on thousands of corrupted frames.

use glam::Vec2;
use rmp::Marker;
use rmp::decode::bytes::BytesReadError;
use rmp::decode::{
    Bytes, DecodeStringError, NumValueReadError, ValueReadError, read_array_len, read_bool, read_f32, read_f64,
    read_int, read_marker, read_nil, read_str_from_slice,
};
use skirmish_shared::codec::check_name;
use skirmish_shared::tuning::MAX_CHAT_CHARS;
use skirmish_shared::{
    BulletState, ChatLine, DecodeError, Kill, Left, MapInfo, MatchInfo, Phase, PickupKind, PickupState, Ping,
    PlayerInfo, PlayerState, Rect, Results, Score, ServerMsg, Snapshot, Welcome,
};

/// The largest server frame accepted, as in the shared decoder: big rooms send big snapshots.
const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// A reason for rejecting bytes; static so that failing costs no formatting code.
type Result<T> = std::result::Result<T, &'static str>;

/// Decodes and validates one server frame.
pub fn decode_server(bytes: &[u8]) -> std::result::Result<ServerMsg, DecodeError> {
    if bytes.len() > MAX_SERVER_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_SERVER_FRAME_BYTES });
    }
    let mut r = Reader { rd: Bytes::new(bytes) };
    let msg = r.message().map_err(|e| match e {
        INVALID => DecodeError::Invalid("non-finite number or bad name from server"),
        e => DecodeError::Malformed(e.to_owned()),
    })?;
    match r.rd.remaining_slice().len() {
        0 => Ok(msg),
        rest => Err(DecodeError::TrailingBytes(rest)),
    }
}

/// Well-formed but out of range (the shared decoder's `DecodeError::Invalid`).
const INVALID: &str = "invalid";

/// The input ran out inside a value: rmp's only read error on a slice.
const END: &str = "unexpected end of message";

/// Maps an rmp error to `expected` if the value had another type, else to [`END`].
fn or_end(expected: &'static str) -> impl Fn(ValueReadError<BytesReadError>) -> &'static str {
    move |e| if let ValueReadError::TypeMismatch(_) = e { expected } else { END }
}

struct Reader<'a> {
    /// The bytes not read yet; `rmp`'s reader over a slice, which never allocates.
    rd: Bytes<'a>,
}

impl Reader<'_> {
    /// The marker of the next value, without reading it.
    fn peek(&self) -> Option<Marker> {
        self.rd.remaining_slice().first().map(|&b| Marker::from_u8(b))
    }

    /// Any MessagePack integer, as i128 so every form fits.
    fn int(&mut self) -> Result<i128> {
        read_int(&mut self.rd).map_err(|e| match e {
            NumValueReadError::TypeMismatch(_) => "expected an integer",
            NumValueReadError::OutOfRange => "integer out of range",
            _ => END,
        })
    }

    fn uint<T: TryFrom<i128>>(&mut self) -> Result<T> {
        T::try_from(self.int()?).map_err(|_| "integer out of range")
    }

    /// A finite float: float 32 or 64, or an integer (as serde accepts).
    fn f32(&mut self) -> Result<f32> {
        let v = match self.peek() {
            Some(Marker::F32) => read_f32(&mut self.rd).map_err(|_| END)?,
            Some(Marker::F64) => read_f64(&mut self.rd).map_err(|_| END)? as f32,
            _ => self.int()? as f32,
        };
        if v.is_finite() { Ok(v) } else { Err(INVALID) }
    }

    fn vec2(&mut self) -> Result<Vec2> {
        self.array(2)?;
        Ok(Vec2::new(self.f32()?, self.f32()?))
    }

    fn bool(&mut self) -> Result<bool> {
        read_bool(&mut self.rd).map_err(or_end("expected a boolean"))
    }

    fn string(&mut self) -> Result<String> {
        let (s, rest) = read_str_from_slice(self.rd.remaining_slice()).map_err(|e| match e {
            DecodeStringError::TypeMismatch(_) => "expected a string",
            DecodeStringError::InvalidUtf8(..) => "string is not UTF-8",
            _ => END,
        })?;
        self.rd = Bytes::new(rest);
        Ok(s.to_owned())
    }

    /// `nil`, or a value read by `f`.
    fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.peek() == Some(Marker::Null) {
            read_nil(&mut self.rd).map_err(|_| END)?;
            Ok(None)
        } else {
            f(self).map(Some)
        }
    }

    /// An array header; its length.
    fn array_len(&mut self) -> Result<usize> {
        Ok(read_array_len(&mut self.rd).map_err(or_end("expected an array"))? as usize)
    }

    /// A struct: an array of exactly `fields` values.
    fn array(&mut self, fields: usize) -> Result<()> {
        if self.array_len()? == fields { Ok(()) } else { Err("wrong number of fields") }
    }

    /// A list of values read by `f`.
    fn list<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let len = self.array_len()?;
        // Every element takes at least one byte: a hostile length cannot reserve more than that.
        let mut out = Vec::with_capacity(len.min(self.rd.remaining_slice().len()));
        for _ in 0..len {
            out.push(f(self)?);
        }
        Ok(out)
    }

    /// A unit enum variant: its short name as a string.
    fn tag(&mut self) -> Result<String> {
        self.string()
    }

    fn message(&mut self) -> Result<ServerMsg> {
        match read_marker(&mut self.rd) {
            Ok(Marker::FixMap(1)) => {}
            Ok(_) => return Err("expected a map with one entry"),
            Err(_) => return Err(END),
        }
        Ok(match self.tag()?.as_str() {
            "w" => {
                self.array(7)?;
                let w = Welcome {
                    id: self.uint()?,
                    arena: self.vec2()?,
                    tick_rate: self.uint()?,
                    colour: self.uint()?,
                    room: self.string()?,
                    players: self.list(Self::player_info)?,
                    spectator: self.bool()?,
                };
                if w.tick_rate == 0 {
                    return Err(INVALID);
                }
                ServerMsg::Welcome(w)
            }
            "s" => {
                self.array(6)?;
                ServerMsg::Snapshot(Snapshot {
                    tick: self.uint()?,
                    phase: self.phase()?,
                    time_left_ms: self.uint()?,
                    players: self.list(Self::player_state)?,
                    bullets: self.list(Self::bullet)?,
                    pickups: self.list(Self::pickup)?,
                })
            }
            "j" => ServerMsg::Joined(self.player_info()?),
            "l" => {
                self.array(1)?;
                ServerMsg::Left(Left { id: self.uint()? })
            }
            "o" => {
                self.array(1)?;
                ServerMsg::Pong(Ping { id: self.uint()? })
            }
            "c" => {
                self.array(2)?;
                let line = ChatLine { from: self.option(Self::uint)?, text: self.string()? };
                if line.text.chars().count() > MAX_CHAT_CHARS {
                    return Err(INVALID);
                }
                ServerMsg::Chat(line)
            }
            "k" => {
                self.array(2)?;
                ServerMsg::Kill(Kill { killer: self.uint()?, victim: self.uint()? })
            }
            "m" => {
                self.array(4)?;
                ServerMsg::Match(MatchInfo {
                    phase: self.phase()?,
                    map: self.map_info()?,
                    score_limit: self.uint()?,
                    match_secs: self.uint()?,
                })
            }
            "r" => {
                self.array(3)?;
                ServerMsg::Results(Results {
                    winner: self.option(Self::uint)?,
                    scores: self.list(Self::score)?,
                    next_map: self.string()?,
                })
            }
            _ => return Err("unknown message"),
        })
    }

    fn phase(&mut self) -> Result<Phase> {
        Ok(match self.tag()?.as_str() {
            "w" => Phase::Waiting,
            "c" => Phase::Countdown,
            "p" => Phase::Playing,
            "r" => Phase::Results,
            _ => return Err("unknown phase"),
        })
    }

    fn player_info(&mut self) -> Result<PlayerInfo> {
        self.array(4)?;
        let info = PlayerInfo { id: self.uint()?, name: self.string()?, colour: self.uint()?, spectator: self.bool()? };
        check_name(&info.name).map_err(|_| INVALID)?;
        Ok(info)
    }

    fn player_state(&mut self) -> Result<PlayerState> {
        self.array(9)?;
        Ok(PlayerState {
            id: self.uint()?,
            pos: self.vec2()?,
            vel: self.vec2()?,
            aim: self.f32()?,
            ack: self.uint()?,
            health: self.uint()?,
            flags: self.uint()?,
            kills: self.uint()?,
            deaths: self.uint()?,
        })
    }

    fn bullet(&mut self) -> Result<BulletState> {
        self.array(4)?;
        Ok(BulletState { id: self.uint()?, owner: self.uint()?, pos: self.vec2()?, vel: self.vec2()? })
    }

    fn pickup(&mut self) -> Result<PickupState> {
        self.array(3)?;
        let id = self.uint()?;
        let kind = match self.tag()?.as_str() {
            "h" => PickupKind::Health,
            "r" => PickupKind::RapidFire,
            _ => return Err("unknown pickup kind"),
        };
        Ok(PickupState { id, kind, pos: self.vec2()? })
    }

    fn map_info(&mut self) -> Result<MapInfo> {
        self.array(3)?;
        Ok(MapInfo { name: self.string()?, size: self.vec2()?, obstacles: self.list(Self::rect)? })
    }

    fn rect(&mut self) -> Result<Rect> {
        self.array(2)?;
        let rect = Rect { min: self.vec2()?, max: self.vec2()? };
        if rect.min.x <= rect.max.x && rect.min.y <= rect.max.y { Ok(rect) } else { Err(INVALID) }
    }

    fn score(&mut self) -> Result<Score> {
        self.array(4)?;
        Ok(Score { id: self.uint()?, name: self.string()?, kills: self.uint()?, deaths: self.uint()? })
    }
}

#[cfg(test)]
mod tests {
    use skirmish_shared::encode_server;

    use super::*;

    fn info(id: u32, name: &str) -> PlayerInfo {
        PlayerInfo { id, name: name.into(), colour: 0xe8504d, spectator: id.is_multiple_of(2) }
    }

    fn state(id: u32) -> PlayerState {
        PlayerState {
            id,
            pos: Vec2::new(1234.5, -0.25),
            vel: Vec2::new(-320.0, 1e-3),
            aim: -3.1,
            ack: u32::MAX,
            health: 255,
            flags: PlayerState::ALIVE | PlayerState::RAPID_FIRE,
            kills: 300,
            deaths: u16::MAX,
        }
    }

    /// One message of every kind, with values at the edges of their types.
    fn samples() -> Vec<ServerMsg> {
        let map = MapInfo {
            name: "maze".into(),
            size: Vec2::new(3000.0, 2000.0),
            obstacles: vec![Rect { min: Vec2::new(1.0, 2.0), max: Vec2::new(1.0, 900.5) }],
        };
        vec![
            ServerMsg::Welcome(Welcome {
                id: 70_000,
                arena: Vec2::new(2400.0, 1600.0),
                tick_rate: 30,
                colour: 0xffffff,
                room: "lan-party_2".into(),
                players: vec![info(1, "Ada"), info(2, "Ünïcødé 🚀 name")],
                spectator: true,
            }),
            ServerMsg::Snapshot(Snapshot {
                tick: u64::MAX,
                phase: Phase::Playing,
                time_left_ms: 299_999,
                players: (0..20).map(state).collect(),
                bullets: vec![BulletState { id: 9, owner: 1, pos: Vec2::ONE, vel: Vec2::new(900.0, -0.0) }],
                pickups: vec![
                    PickupState { id: 1, kind: PickupKind::Health, pos: Vec2::new(5.0, 6.0) },
                    PickupState { id: 2, kind: PickupKind::RapidFire, pos: Vec2::ZERO },
                ],
            }),
            ServerMsg::Snapshot(Snapshot::default()),
            ServerMsg::Joined(info(3, "x")),
            ServerMsg::Left(Left { id: 0 }),
            ServerMsg::Pong(Ping { id: 128 }),
            ServerMsg::Chat(ChatLine { from: Some(65_536), text: "<img src=x onerror=alert(1)>".into() }),
            ServerMsg::Chat(ChatLine { from: None, text: "é".repeat(MAX_CHAT_CHARS) }),
            ServerMsg::Kill(Kill { killer: 1, victim: 1 }),
            ServerMsg::Match(MatchInfo { phase: Phase::Countdown, map: map.clone(), score_limit: 0, match_secs: 300 }),
            ServerMsg::Match(MatchInfo {
                phase: Phase::Waiting,
                map: MapInfo::default(),
                score_limit: 20,
                match_secs: 1,
            }),
            ServerMsg::Results(Results {
                winner: Some(2),
                scores: vec![Score { id: 2, name: "Bob".into(), kills: 20, deaths: 3 }],
                next_map: "x".repeat(300),
            }),
            ServerMsg::Results(Results { winner: None, scores: vec![], next_map: String::new() }),
        ]
    }

    #[test]
    fn every_message_decodes_as_the_shared_decoder_does() {
        for msg in samples() {
            let bytes = encode_server(&msg);
            assert_eq!(decode_server(&bytes), Ok(msg.clone()));
            assert_eq!(skirmish_shared::decode_server(&bytes), Ok(msg));
        }
    }

    #[test]
    fn the_protocol_doc_examples_decode() {
        let hex =
            |s: &str| -> Vec<u8> { s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect() };
        let welcome = hex(
            "81 a1 77 97 01 92 ca 45 16 00 00 ca 44 c8 00 00 1e ce 00 e8 50 4d a3 6c 61 6e 91 94 01 a3 41 64 61 ce 00 e8 50 4d c2 c2",
        );
        let Ok(ServerMsg::Welcome(w)) = decode_server(&welcome) else { panic!("Welcome example") };
        assert_eq!(
            (w.id, w.arena, w.room.as_str(), w.players[0].name.as_str()),
            (1, Vec2::new(2400.0, 1600.0), "lan", "Ada")
        );
        let matched = hex(
            "81 a1 6d 94 a1 63 93 a5 61 72 65 6e 61 92 ca 45 16 00 00 ca 44 c8 00 00 91 92 92 ca 44 89 80 00 ca 44 2f 00 00 92 ca 44 a2 80 00 ca 44 61 00 00 14 cd 01 2c",
        );
        let Ok(ServerMsg::Match(m)) = decode_server(&matched) else { panic!("Match example") };
        assert_eq!((m.phase, m.map.obstacles.len(), m.score_limit, m.match_secs), (Phase::Countdown, 1, 20, 300));
    }

    #[test]
    fn out_of_range_values_are_refused_like_the_shared_decoder_does() {
        let mut nan = state(1);
        nan.pos.x = f32::NAN;
        let mut inf = state(1);
        inf.aim = f32::INFINITY;
        let bad = [
            ServerMsg::Snapshot(Snapshot { players: vec![nan], ..Default::default() }),
            ServerMsg::Snapshot(Snapshot { players: vec![inf], ..Default::default() }),
            ServerMsg::Joined(info(1, " padded")),
            ServerMsg::Joined(info(1, "bidi\u{202E}")),
            ServerMsg::Chat(ChatLine { from: None, text: "x".repeat(MAX_CHAT_CHARS + 1) }),
            ServerMsg::Match(MatchInfo {
                phase: Phase::Playing,
                map: MapInfo { obstacles: vec![Rect { min: Vec2::ONE, max: Vec2::ZERO }], ..Default::default() },
                score_limit: 1,
                match_secs: 1,
            }),
            ServerMsg::Welcome(Welcome {
                id: 1,
                arena: Vec2::ONE,
                tick_rate: 0,
                colour: 0,
                room: "r".into(),
                players: vec![],
                spectator: false,
            }),
        ];
        for msg in bad {
            let bytes = encode_server(&msg);
            assert!(matches!(skirmish_shared::decode_server(&bytes), Err(DecodeError::Invalid(_))), "{msg:?}");
            assert!(matches!(decode_server(&bytes), Err(DecodeError::Invalid(_))), "{msg:?}");
        }
    }

    #[test]
    fn framing_errors_are_refused() {
        let bytes = encode_server(&ServerMsg::Pong(Ping { id: 7 }));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode_server(&trailing), Err(DecodeError::TrailingBytes(1)));
        for cut in 0..bytes.len() {
            assert!(decode_server(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A list claiming four billion entries fails on the missing bytes, without reserving them.
        let huge = [0x81, 0xa1, b's', 0x96, 0x00, 0xa1, b'w', 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(decode_server(&huge), Err(DecodeError::Malformed(_))));
        // Wider integer forms are fine when the value fits; negative or too big is not.
        assert_eq!(
            decode_server(&[0x81, 0xa1, b'o', 0x91, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5]),
            Ok(ServerMsg::Pong(Ping { id: 5 }))
        );
        assert!(decode_server(&[0x81, 0xa1, b'o', 0x91, 0xff]).is_err());
        assert!(decode_server(&[0x81, 0xa1, b'o', 0x91, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(decode_server(&[0x81, 0xa1, b'z', 0x91, 0x01]).is_err(), "unknown variant");
        assert!(decode_server(&[0x82, 0xa1, b'o', 0x91, 0x01]).is_err(), "two entries");
    }

    /// A tiny deterministic generator for the corruption test.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % below.max(1) as u64) as usize
        }
    }

    #[test]
    fn corrupted_frames_never_panic_and_never_decode_differently() {
        let mut rng = Lcg(7);
        let originals: Vec<Vec<u8>> = samples().iter().map(encode_server).collect();
        let (mut both_ok, mut both_err) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = originals[round % originals.len()].clone();
            for _ in 0..=rng.next(3) {
                let at = rng.next(bytes.len());
                match rng.next(4) {
                    0 => bytes[at] = rng.next(256) as u8,
                    1 => bytes[at] ^= 1 << rng.next(8),
                    2 => bytes.truncate(at),
                    _ => bytes.insert(at, rng.next(256) as u8),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let ours = decode_server(&bytes);
            let reference = skirmish_shared::decode_server(&bytes);
            match (&ours, &reference) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "decoded differently: {bytes:02x?}");
                    both_ok += 1;
                }
                (Ok(a), Err(e)) => panic!("accepted what the shared decoder refuses ({e}): {a:?} from {bytes:02x?}"),
                (Err(_), Err(_)) => both_err += 1,
                // The shared decoder also takes forms the protocol does not use (structs as maps,
                // binary strings); refusing those is fine.
                (Err(_), Ok(_)) => {}
            }
        }
        assert!(
            both_ok > 1000 && both_err > 1000,
            "the corpus exercises both outcomes: {both_ok} ok, {both_err} refused"
        );
    }
}
