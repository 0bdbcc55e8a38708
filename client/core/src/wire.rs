//! A compact decoder for server messages: the MessagePack format of `PROTOCOL.md`, read with
//! `rmp`'s primitives (markers, lengths, numbers, strings, bin) and our own message structure.
//!
//! Why not `skirmish_shared::decode_server`? Every browser downloads this code, and rmp-serde's
//! generic decoder, instantiated for each protocol type, is about 60 KB of the gzipped wasm;
//! `rmp`, the crate under rmp-serde, reads one value at a time and costs a few. This decoder
//! accepts exactly what the shared one accepts for well-formed input and applies the same
//! validation (finite floats, names, rectangles, chat length, radar size, rejoin token, no nested
//! batch), and tests compare the two on every message shape and on thousands of corrupted frames.
//! A snapshot read by [`decode`] borrows its packed entity records from the frame: the 30 Hz path
//! copies nothing.

use glam::{IVec2, Vec2};
use rmp::Marker;
use rmp::decode::bytes::BytesReadError;
use rmp::decode::{
    Bytes, DecodeStringError, NumValueReadError, ValueReadError, read_array_len, read_bin_len, read_bool, read_f32,
    read_f64, read_int, read_marker, read_nil, read_str_from_slice,
};
use skirmish_shared::codec::{check_name, check_token, radar_ok};
use skirmish_shared::radar;
use skirmish_shared::tuning::MAX_CHAT_CHARS;
use skirmish_shared::{
    ChatLine, DecodeError, Kill, Left, MapInfo, MatchInfo, OwnState, Phase, Ping, PlayerInfo, Radar, Rect, Results,
    Score, ScoreLine, ServerMsg, Snapshot, Welcome,
};

/// The largest server frame accepted, as in the shared decoder: big rooms send big snapshots.
const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// A reason for rejecting bytes; static so that failing costs no formatting code.
type Result<T> = std::result::Result<T, &'static str>;

/// One server message as read from a frame. A snapshot at the top level (where the server sends
/// them) borrows the frame; everything else is owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg<'a> {
    /// A snapshot, its packed entity records still in the frame.
    Snapshot(SnapshotRef<'a>),
    /// Any other message (a `Batch` holds owned messages, snapshots included).
    Other(ServerMsg),
}

impl Msg<'_> {
    /// The message as the shared decoder returns it.
    pub fn into_owned(self) -> ServerMsg {
        match self {
            Msg::Snapshot(s) => ServerMsg::Snapshot(s.to_owned()),
            Msg::Other(msg) => msg,
        }
    }
}

/// A [`Snapshot`] whose packed entity records are borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotRef<'a> {
    /// See [`Snapshot::tick`].
    pub tick: u64,
    /// See [`Snapshot::base`].
    pub base: u64,
    /// See [`Snapshot::phase`].
    pub phase: Phase,
    /// See [`Snapshot::time_left_ms`].
    pub time_left_ms: u32,
    /// See [`Snapshot::me`].
    pub me: Option<OwnState>,
    /// See [`Snapshot::ents`].
    pub ents: &'a [u8],
}

impl<'a> SnapshotRef<'a> {
    /// Borrows an owned snapshot.
    pub fn of(s: &'a Snapshot) -> Self {
        Self { tick: s.tick, base: s.base, phase: s.phase, time_left_ms: s.time_left_ms, me: s.me, ents: &s.ents }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Snapshot {
        Snapshot {
            tick: self.tick,
            base: self.base,
            phase: self.phase,
            time_left_ms: self.time_left_ms,
            me: self.me,
            ents: self.ents.to_vec(),
        }
    }
}

/// Decodes and validates one server frame, borrowing a snapshot's records from it.
pub fn decode(bytes: &[u8]) -> std::result::Result<Msg<'_>, DecodeError> {
    if bytes.len() > MAX_SERVER_FRAME_BYTES {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_SERVER_FRAME_BYTES });
    }
    let mut r = Reader { rd: Bytes::new(bytes) };
    let msg = r.message(false).map_err(|e| match e {
        INVALID => DecodeError::Invalid("non-finite number or bad name from server"),
        NESTED => DecodeError::Invalid("nested batch"),
        e => DecodeError::Malformed(e.to_owned()),
    })?;
    match r.rd.remaining_slice().len() {
        0 => Ok(msg),
        rest => Err(DecodeError::TrailingBytes(rest)),
    }
}

/// Decodes and validates one server frame into an owned message: what
/// `skirmish_shared::decode_server` returns, for the same bytes.
pub fn decode_server(bytes: &[u8]) -> std::result::Result<ServerMsg, DecodeError> {
    decode(bytes).map(Msg::into_owned)
}

/// Well-formed but out of range (the shared decoder's `DecodeError::Invalid`).
const INVALID: &str = "invalid";

/// A batch inside a batch (also `DecodeError::Invalid`).
const NESTED: &str = "nested batch";

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

impl<'a> Reader<'a> {
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

    /// An integer that must fit `T`.
    fn num<T: TryFrom<i128>>(&mut self) -> Result<T> {
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

    fn ivec2(&mut self) -> Result<IVec2> {
        self.array(2)?;
        Ok(IVec2::new(self.num()?, self.num()?))
    }

    fn bool(&mut self) -> Result<bool> {
        read_bool(&mut self.rd).map_err(or_end("expected a boolean"))
    }

    fn str(&mut self) -> Result<&'a str> {
        let (s, rest) = read_str_from_slice(self.rd.remaining_slice()).map_err(|e| match e {
            DecodeStringError::TypeMismatch(_) => "expected a string",
            DecodeStringError::InvalidUtf8(..) => "string is not UTF-8",
            _ => END,
        })?;
        self.rd = Bytes::new(rest);
        Ok(s)
    }

    fn string(&mut self) -> Result<String> {
        self.str().map(str::to_owned)
    }

    /// MessagePack `bin`, borrowed.
    fn bin(&mut self) -> Result<&'a [u8]> {
        let len = read_bin_len(&mut self.rd).map_err(or_end("expected binary data"))? as usize;
        let rest = self.rd.remaining_slice();
        if rest.len() < len {
            return Err(END);
        }
        let (bin, rest) = rest.split_at(len);
        self.rd = Bytes::new(rest);
        Ok(bin)
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

    /// One message: a map of one entry, the variant's short name to its body. `in_batch` refuses
    /// a batch, which may not nest.
    fn message(&mut self, in_batch: bool) -> Result<Msg<'a>> {
        match read_marker(&mut self.rd) {
            Ok(Marker::FixMap(1)) => {}
            Ok(_) => return Err("expected a map with one entry"),
            Err(_) => return Err(END),
        }
        Ok(Msg::Other(match self.str()? {
            "w" => {
                self.array(8)?;
                let w = Welcome {
                    id: self.num()?,
                    arena: self.vec2()?,
                    tick_rate: self.num()?,
                    colour: self.num()?,
                    room: self.string()?,
                    players: self.list(Self::player_info)?,
                    spectator: self.bool()?,
                    rejoin: self.string()?,
                };
                if w.tick_rate == 0 || check_token(&w.rejoin).is_err() {
                    return Err(INVALID);
                }
                ServerMsg::Welcome(w)
            }
            "s" => {
                let snap = self.snapshot()?;
                return Ok(if in_batch {
                    Msg::Other(ServerMsg::Snapshot(snap.to_owned()))
                } else {
                    Msg::Snapshot(snap)
                });
            }
            "j" => ServerMsg::Joined(self.player_info()?),
            "n" => ServerMsg::Roster(self.list(Self::player_info)?),
            "l" => {
                self.array(1)?;
                ServerMsg::Left(Left { id: self.num()? })
            }
            "o" => {
                self.array(1)?;
                ServerMsg::Pong(Ping { id: self.num()? })
            }
            "c" => {
                self.array(2)?;
                let line = ChatLine { from: self.option(Self::num)?, text: self.string()? };
                if line.text.chars().count() > MAX_CHAT_CHARS {
                    return Err(INVALID);
                }
                ServerMsg::Chat(line)
            }
            "k" => {
                self.array(2)?;
                ServerMsg::Kill(Kill { killer: self.num()?, victim: self.num()? })
            }
            "m" => {
                self.array(4)?;
                ServerMsg::Match(MatchInfo {
                    phase: self.phase()?,
                    map: self.map_info()?,
                    score_limit: self.num()?,
                    match_secs: self.num()?,
                })
            }
            "r" => {
                self.array(3)?;
                ServerMsg::Results(Results {
                    winner: self.option(Self::num)?,
                    scores: self.list(Self::score)?,
                    next_map: self.string()?,
                })
            }
            "t" => ServerMsg::Scores(self.list(Self::score_line)?),
            "x" => ServerMsg::Obstacles(self.list(Self::rect)?),
            "d" => {
                self.array(3)?;
                let (width, height): (u8, u8) = (self.num()?, self.num()?);
                let mut cells = Vec::new();
                radar::unpack(self.bin()?, usize::from(width) * usize::from(height), &mut cells)?;
                let radar = Radar { width, height, cells };
                if !radar_ok(&radar) {
                    return Err(INVALID);
                }
                ServerMsg::Radar(radar)
            }
            "b" if in_batch => return Err(NESTED),
            "b" => ServerMsg::Batch(self.list(|r| r.message(true).map(Msg::into_owned))?),
            _ => return Err("unknown message"),
        }))
    }

    fn snapshot(&mut self) -> Result<SnapshotRef<'a>> {
        self.array(6)?;
        Ok(SnapshotRef {
            tick: self.num()?,
            base: self.num()?,
            phase: self.phase()?,
            time_left_ms: self.num()?,
            me: self.option(Self::own_state)?,
            ents: self.bin()?,
        })
    }

    fn own_state(&mut self) -> Result<OwnState> {
        self.array(9)?;
        Ok(OwnState {
            id: self.num()?,
            pos: self.ivec2()?,
            vel: self.ivec2()?,
            aim: self.num()?,
            ack: self.num()?,
            health: self.num()?,
            flags: self.num()?,
            cooldown: self.num()?,
            rapid_ticks: self.num()?,
        })
    }

    fn phase(&mut self) -> Result<Phase> {
        Ok(match self.str()? {
            "w" => Phase::Waiting,
            "c" => Phase::Countdown,
            "p" => Phase::Playing,
            "r" => Phase::Results,
            _ => return Err("unknown phase"),
        })
    }

    fn player_info(&mut self) -> Result<PlayerInfo> {
        self.array(4)?;
        let info = PlayerInfo { id: self.num()?, name: self.string()?, colour: self.num()?, spectator: self.bool()? };
        check_name(&info.name).map_err(|_| INVALID)?;
        Ok(info)
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
        Ok(Score { id: self.num()?, name: self.string()?, kills: self.num()?, deaths: self.num()? })
    }

    fn score_line(&mut self) -> Result<ScoreLine> {
        self.array(3)?;
        Ok(ScoreLine { id: self.num()?, kills: self.num()?, deaths: self.num()? })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde::Deserialize;
    use skirmish_shared::bits::BitWriter;
    use skirmish_shared::consts::{MAX_TOKEN_CHARS, RADAR_MAX_HEIGHT, RADAR_MAX_WIDTH};
    use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
    use skirmish_shared::encode_server;

    use super::*;

    fn info(id: u32, name: &str) -> PlayerInfo {
        PlayerInfo { id, name: name.into(), colour: 0xe8504d, spectator: id.is_multiple_of(2) }
    }

    /// Packed records of a few entities of each kind, as a full snapshot at tick 100.
    fn records() -> Vec<u8> {
        let frame = Frame {
            tick: 100,
            ships: vec![
                ShipEnt { id: 2, pos: IVec2::new(3000, 40), aim: 255, health: 100, flags: 3 },
                ShipEnt { id: 70_000, pos: IVec2::new(-1, 0), aim: 0, health: 0, flags: 0 },
            ],
            bullets: vec![BulletEnt {
                id: 9,
                owner: 2,
                origin: IVec2::new(800, 8),
                vel: IVec2::new(14_400, -3),
                tick: 95,
                seq: 12,
            }],
            pickups: vec![PickupEnt { id: 4, kind: 1, pos: IVec2::new(64, 64) }],
        };
        let mut w = BitWriter::new();
        delta::encode(&mut w, 100, Frame::default().lists(), frame.lists());
        w.as_bytes().to_vec()
    }

    fn own() -> OwnState {
        OwnState {
            id: u32::MAX,
            pos: IVec2::new(i32::MIN, i32::MAX),
            vel: IVec2::new(-5120, 0),
            aim: 255,
            ack: u32::MAX,
            health: 100,
            flags: 3,
            cooldown: 5,
            rapid_ticks: u16::MAX,
        }
    }

    fn welcome(rejoin: &str) -> Welcome {
        Welcome {
            id: 70_000,
            arena: Vec2::new(2400.0, 1600.0),
            tick_rate: 30,
            colour: 0xffffff,
            room: "lan-party_2".into(),
            players: vec![info(1, "Ada"), info(2, "Ünïcødé 🚀 name")],
            spectator: true,
            rejoin: rejoin.into(),
        }
    }

    /// Messages of every kind, with values at the edges of their types.
    fn samples() -> Vec<ServerMsg> {
        let map = MapInfo {
            name: "maze".into(),
            size: Vec2::new(3000.0, 2000.0),
            obstacles: vec![Rect { min: Vec2::new(1.0, 2.0), max: Vec2::new(1.0, 900.5) }],
        };
        let full_radar = Radar {
            width: RADAR_MAX_WIDTH as u8,
            height: RADAR_MAX_HEIGHT as u8,
            cells: (0..RADAR_MAX_WIDTH * RADAR_MAX_HEIGHT).map(|i| (i % 256) as u8).collect(),
        };
        let snapshot = Snapshot {
            tick: u64::MAX,
            base: u64::MAX - 1,
            phase: Phase::Playing,
            time_left_ms: 299_999,
            me: Some(own()),
            ents: records(),
        };
        vec![
            ServerMsg::Welcome(welcome("")),
            ServerMsg::Welcome(welcome(&"aZ09-_".repeat(10))),
            ServerMsg::Snapshot(snapshot.clone()),
            ServerMsg::Snapshot(Snapshot::default()),
            ServerMsg::Joined(info(3, "x")),
            ServerMsg::Roster(vec![info(4, "Dan"), info(u32::MAX, "Ünïcødé 🚀 name")]),
            ServerMsg::Roster(vec![]),
            ServerMsg::Obstacles(vec![Rect { min: Vec2::new(-5.5, 0.0), max: Vec2::new(7.25, 1e6) }]),
            ServerMsg::Obstacles(vec![]),
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
            ServerMsg::Scores(vec![
                ScoreLine { id: 1, kills: 0, deaths: u16::MAX },
                ScoreLine { id: u32::MAX, kills: 300, deaths: 0 },
            ]),
            ServerMsg::Scores(vec![]),
            ServerMsg::Radar(full_radar.clone()),
            ServerMsg::Radar(Radar { width: 3, height: 2, cells: vec![0, 1, 2, 255, 4, 5] }),
            ServerMsg::Radar(Radar { width: 0, height: 0, cells: vec![] }),
            ServerMsg::Batch(vec![
                ServerMsg::Roster(vec![info(6, "Fay")]),
                ServerMsg::Joined(info(5, "Eve")),
                ServerMsg::Chat(ChatLine { from: None, text: "Eve joined".into() }),
                ServerMsg::Kill(Kill { killer: 5, victim: 1 }),
                ServerMsg::Scores(vec![ScoreLine { id: 5, kills: 1, deaths: 0 }]),
                ServerMsg::Radar(full_radar),
                ServerMsg::Match(MatchInfo { phase: Phase::Results, map, score_limit: 5, match_secs: 60 }),
                ServerMsg::Obstacles(vec![Rect::default()]),
                ServerMsg::Snapshot(snapshot),
            ]),
            ServerMsg::Batch(vec![]),
        ]
    }

    /// The short name a message goes by on the wire. No `_` arm: a new `ServerMsg` variant does
    /// not compile until it is named here, and `the_samples_cover_every_variant` fails until it
    /// has a sample, which must then decode here as it does in the shared decoder.
    fn tag(msg: &ServerMsg) -> &'static str {
        match msg {
            ServerMsg::Welcome(_) => "w",
            ServerMsg::Snapshot(_) => "s",
            ServerMsg::Joined(_) => "j",
            ServerMsg::Roster(_) => "n",
            ServerMsg::Left(_) => "l",
            ServerMsg::Pong(_) => "o",
            ServerMsg::Chat(_) => "c",
            ServerMsg::Kill(_) => "k",
            ServerMsg::Match(_) => "m",
            ServerMsg::Results(_) => "r",
            ServerMsg::Scores(_) => "t",
            ServerMsg::Radar(_) => "d",
            ServerMsg::Obstacles(_) => "x",
            ServerMsg::Batch(_) => "b",
        }
    }

    /// Every variant name of an enum as serde knows it (the `#[serde(rename)]` names), read from
    /// its derived `Deserialize`, which hands the whole list to `deserialize_enum`: a variant added
    /// to the protocol shows up here without anyone listing it.
    fn serde_variants<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        #[derive(Debug)]
        struct Found(&'static [&'static str]);
        impl std::fmt::Display for Found {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl std::error::Error for Found {}
        impl serde::de::Error for Found {
            fn custom<M: std::fmt::Display>(_: M) -> Self {
                Found(&[])
            }
        }
        struct Probe;
        impl<'de> serde::Deserializer<'de> for Probe {
            type Error = Found;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Found> {
                Err(Found(&[]))
            }
            fn deserialize_enum<V: serde::de::Visitor<'de>>(
                self,
                _: &'static str,
                variants: &'static [&'static str],
                _: V,
            ) -> std::result::Result<V::Value, Found> {
                Err(Found(variants))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
                ignored_any
            }
        }
        match T::deserialize(Probe) {
            Err(Found(variants)) => variants,
            Ok(_) => panic!("the probe never yields a value"),
        }
    }

    /// The key of the one-entry map a message is encoded as.
    fn encoded_tag(bytes: &[u8]) -> String {
        let mut rd = bytes;
        assert_eq!(rmp::decode::read_map_len(&mut rd).expect("a map"), 1);
        let (tag, _) = read_str_from_slice(rd).expect("a string key");
        tag.to_owned()
    }

    #[test]
    fn the_samples_cover_every_variant() {
        let mut covered = BTreeSet::new();
        for msg in samples() {
            assert_eq!(tag(&msg), encoded_tag(&encode_server(&msg)), "{msg:?}");
            covered.insert(tag(&msg));
            if let ServerMsg::Batch(inner) = &msg {
                covered.extend(inner.iter().map(tag));
            }
        }
        let all: BTreeSet<_> = serde_variants::<ServerMsg>().iter().copied().collect();
        assert_eq!(covered, all, "every ServerMsg variant needs a sample that decodes here");
        // Phases are decoded by hand too.
        let phases: BTreeSet<_> = serde_variants::<Phase>().iter().copied().collect();
        assert_eq!(phases, ["c", "p", "r", "w"].into(), "every Phase needs a case in `Reader::phase`");
    }

    #[test]
    fn every_message_decodes_as_the_shared_decoder_does() {
        for msg in samples() {
            let bytes = encode_server(&msg);
            assert_eq!(decode_server(&bytes), Ok(msg.clone()));
            assert_eq!(skirmish_shared::decode_server(&bytes), Ok(msg));
        }
        for phase in [Phase::Waiting, Phase::Countdown, Phase::Playing, Phase::Results] {
            let msg = ServerMsg::Snapshot(Snapshot { phase, ..Default::default() });
            assert_eq!(decode_server(&encode_server(&msg)), Ok(msg));
        }
    }

    #[test]
    fn a_snapshot_borrows_its_records_from_the_frame() {
        let snap = Snapshot { tick: 7, base: 5, ents: records(), ..Default::default() };
        let bytes = encode_server(&ServerMsg::Snapshot(snap.clone()));
        let Ok(Msg::Snapshot(s)) = decode(&bytes) else { panic!("a snapshot") };
        assert_eq!(s, SnapshotRef::of(&snap));
        assert!(bytes.as_ptr_range().contains(&s.ents.as_ptr()), "records not copied");
        assert_eq!(s.to_owned(), snap);
    }

    #[test]
    fn the_protocol_doc_examples_decode() {
        let hex =
            |s: &str| -> Vec<u8> { s.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex")).collect() };
        let welcome = hex(
            "81 a1 77 98 01 92 ca 45 16 00 00 ca 44 c8 00 00 1e ce 00 e8 50 4d a3 6c 61 6e 91 94 01 a3 41 64 61 ce 00 e8 50 4d c2 c2 a0",
        );
        let Ok(ServerMsg::Welcome(w)) = decode_server(&welcome) else { panic!("Welcome example") };
        assert_eq!(
            (w.id, w.arena, w.room.as_str(), w.players[0].name.as_str(), w.rejoin.as_str()),
            (1, Vec2::new(2400.0, 1600.0), "lan", "Ada", "")
        );
        let matched = hex(
            "81 a1 6d 94 a1 63 93 a5 61 72 65 6e 61 92 ca 45 16 00 00 ca 44 c8 00 00 91 92 92 ca 44 89 80 00 ca 44 2f 00 00 92 ca 44 a2 80 00 ca 44 61 00 00 14 cd 01 2c",
        );
        let Ok(ServerMsg::Match(m)) = decode_server(&matched) else { panic!("Match example") };
        assert_eq!((m.phase, m.map.obstacles.len(), m.score_limit, m.match_secs), (Phase::Countdown, 1, 20, 300));
    }

    #[test]
    fn out_of_range_values_are_refused_like_the_shared_decoder_does() {
        let bad_radar = |width: u32, height: u32, cells: usize| {
            ServerMsg::Radar(Radar { width: width as u8, height: height as u8, cells: vec![1; cells] })
        };
        let bad = [
            ServerMsg::Joined(info(1, " padded")),
            ServerMsg::Joined(info(1, "bidi\u{202E}")),
            ServerMsg::Roster(vec![info(1, "Ada"), info(2, "")]),
            ServerMsg::Obstacles(vec![Rect { min: Vec2::ONE, max: Vec2::ZERO }]),
            ServerMsg::Obstacles(vec![Rect { min: Vec2::ZERO, max: Vec2::new(f32::INFINITY, 1.0) }]),
            ServerMsg::Chat(ChatLine { from: None, text: "x".repeat(MAX_CHAT_CHARS + 1) }),
            ServerMsg::Match(MatchInfo {
                phase: Phase::Playing,
                map: MapInfo { obstacles: vec![Rect { min: Vec2::ONE, max: Vec2::ZERO }], ..Default::default() },
                score_limit: 1,
                match_secs: 1,
            }),
            ServerMsg::Match(MatchInfo {
                phase: Phase::Playing,
                map: MapInfo { size: Vec2::new(f32::NAN, 1.0), ..Default::default() },
                score_limit: 1,
                match_secs: 1,
            }),
            ServerMsg::Welcome(Welcome { tick_rate: 0, ..welcome("") }),
            ServerMsg::Welcome(Welcome { arena: Vec2::new(f32::INFINITY, 1.0), ..welcome("") }),
            ServerMsg::Welcome(welcome("not a token")),
            ServerMsg::Welcome(welcome(&"x".repeat(MAX_TOKEN_CHARS + 1))),
            bad_radar(RADAR_MAX_WIDTH + 1, 1, RADAR_MAX_WIDTH as usize + 1),
            bad_radar(1, RADAR_MAX_HEIGHT + 1, RADAR_MAX_HEIGHT as usize + 1),
            ServerMsg::Batch(vec![ServerMsg::Pong(Ping { id: 1 }), ServerMsg::Batch(vec![])]),
            ServerMsg::Batch(vec![ServerMsg::Left(Left { id: 1 }), ServerMsg::Joined(info(1, ""))]),
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
        let huge = [0x81, 0xa1, b't', 0xdd, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(decode_server(&huge), Err(DecodeError::Malformed(_))));
        // So does a bin claiming four gigabytes.
        let huge_bin = [0x81, 0xa1, b'd', 0x93, 0x01, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00];
        assert!(matches!(decode_server(&huge_bin), Err(DecodeError::Malformed(_))));
        // Radar cells that do not fit their grid: 17 ships in a 4 × 4 one, in both decoders.
        let overfull = encode_server(&ServerMsg::Radar(Radar { width: 4, height: 4, cells: vec![1; 17] }));
        assert!(matches!(decode_server(&overfull), Err(DecodeError::Malformed(_))));
        assert!(matches!(skirmish_shared::decode_server(&overfull), Err(DecodeError::Malformed(_))));
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
        for round in 0..30_000 {
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
                // binary strings, records as a string or an array); refusing those is fine.
                (Err(_), Ok(_)) => {}
            }
        }
        assert!(
            both_ok > 1000 && both_err > 1000,
            "the corpus exercises both outcomes: {both_ok} ok, {both_err} refused"
        );
    }
}
