//! MessagePack encoding of the protocol, and strict decoding of untrusted bytes.
//!
//! Decoding is where hostile input arrives, so it checks everything before anything else looks
//! at a message: the frame size, the nesting depth (rmp-serde's default of 1024 overflows a
//! thread stack), trailing bytes, non-finite floats, value ranges and string contents. Every
//! failure is a [`DecodeError`] whose text fits a WebSocket close reason.

use glam::Vec2;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::consts::{
    AIM_LIMIT_RAD, MAX_DECODE_DEPTH, MAX_FRAME_BYTES, MAX_NAME_CHARS, MAX_ROOM_CHARS, MAX_TOKEN_CHARS,
    PROTOCOL_VERSION, RADAR_MAX_HEIGHT, RADAR_MAX_WIDTH,
};
use crate::protocol::{ClientMsg, PlayerInfo, Radar, Rect, ServerMsg};

/// The room-name length rule as a close reason; the number is `MAX_ROOM_CHARS` (checked by a
/// test, since `concat!` cannot format a constant).
pub const ROOM_LENGTH_RULE: &str = "room name must be 1 to 32 characters";
use crate::tuning::MAX_CHAT_CHARS;

/// Why bytes were not accepted as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is bigger than the cap; it was not even looked at.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not MessagePack of the expected shape (includes too-deep nesting).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A valid message followed by more bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
    /// A `Hello` for another protocol version (checked before anything else in it).
    #[error("protocol version {0} is not supported; expected {PROTOCOL_VERSION}")]
    WrongVersion(u16),
    /// Well-formed but out of range: NaN, infinity, bad name, and so on.
    #[error("invalid message: {0}")]
    Invalid(&'static str),
}

/// Encodes a server message (structs as arrays).
pub fn encode_server(msg: &ServerMsg) -> Vec<u8> {
    encode(msg)
}

/// Encodes a client message (structs as arrays).
pub fn encode_client(msg: &ClientMsg) -> Vec<u8> {
    encode(msg)
}

fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // Serialising our protocol types into a Vec cannot fail: no maps with non-string keys, no
    // custom serialisers, and writes to a Vec are infallible.
    rmp_serde::to_vec(msg).expect("protocol types always serialise")
}

/// Decodes and validates a message from a client; `max_len` is the frame cap in bytes.
pub fn decode_client(bytes: &[u8], max_len: usize) -> Result<ClientMsg, DecodeError> {
    // rmp-serde would say "array had incorrect length, expected 2" of a map of two entries.
    if let Ok(entries) = rmp::decode::read_map_len(&mut &bytes[..])
        && entries != 1
    {
        return Err(DecodeError::Malformed(format!("a message is a map of one entry, not {entries}")));
    }
    let msg: ClientMsg = match decode(bytes, max_len) {
        Ok(msg) => msg,
        // Another version's `Hello` may have another shape: its version still comes first.
        Err(e @ DecodeError::Malformed(_)) => {
            return Err(hello_version(bytes).filter(|v| *v != PROTOCOL_VERSION).map_or(e, DecodeError::WrongVersion));
        }
        Err(e) => return Err(e),
    };
    validate_client(&msg)?;
    Ok(msg)
}

/// The version of a frame shaped like a `Hello` of any version, `{"h": [version, …]}`: the
/// version stays the first field in every version, so a client of another one is told so
/// rather than that its `Hello` has the wrong number of fields.
fn hello_version(bytes: &[u8]) -> Option<u16> {
    let mut rd = bytes;
    if rmp::decode::read_map_len(&mut rd).ok()? != 1 {
        return None;
    }
    let mut key = [0u8; 1];
    if rmp::decode::read_str(&mut rd, &mut key).ok()? != "h" || rmp::decode::read_array_len(&mut rd).ok()? == 0 {
        return None;
    }
    rmp::decode::read_int(&mut rd).ok()
}

/// Decodes and validates a message from the server: the reference decoder. The server's tests,
/// the protocol-doc test and fuzzing use it; the clients decode with `client/core`'s smaller
/// `wire` module, which tests hold to the same results.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, DecodeError> {
    // Snapshots of big rooms are far larger than client frames; 16 MiB bounds the damage.
    let msg: ServerMsg = decode(bytes, 16 * 1024 * 1024)?;
    validate_server(&msg)?;
    Ok(msg)
}

/// The default cap for client frames, re-exported for callers that have no config.
pub const DEFAULT_MAX_CLIENT_BYTES: usize = MAX_FRAME_BYTES;

fn decode<T: DeserializeOwned>(bytes: &[u8], max_len: usize) -> Result<T, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: max_len });
    }
    let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(bytes));
    de.set_max_depth(MAX_DECODE_DEPTH);
    let value = T::deserialize(&mut de).map_err(|e| DecodeError::Malformed(short(&e)))?;
    // `position` never exceeds the slice length, so the cast and subtraction are exact.
    let rest = bytes.len() - de.position() as usize;
    if rest != 0 {
        return Err(DecodeError::TrailingBytes(rest));
    }
    Ok(value)
}

/// rmp-serde's messages can quote input (an unknown variant's name): what a name may not hold
/// (controls, line and paragraph separators, bidi overrides, invisibles) is escaped, so a client
/// cannot put a line break, a reordering or a terminal escape into the close reason and the
/// server's log line of it; and it is kept short enough for a close reason.
fn short(e: &rmp_serde::decode::Error) -> String {
    let mut s = String::new();
    for c in e.to_string().chars() {
        if is_forbidden_char(c) {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    if s.len() > 80 {
        let mut cut = 80;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn validate_client(msg: &ClientMsg) -> Result<(), DecodeError> {
    match msg {
        ClientMsg::Hello(h) => {
            if h.version != PROTOCOL_VERSION {
                return Err(DecodeError::WrongVersion(h.version));
            }
            check_name(&h.name)?;
            if let Some(room) = h.room.as_deref().filter(|r| !r.is_empty()) {
                check_room(room)?;
            }
            if let Some(token) = &h.rejoin {
                check_token(token)?;
            }
        }
        ClientMsg::Input(i) => {
            if !finite_vec(i.mv) || !i.aim.is_finite() {
                return Err(DecodeError::Invalid("non-finite number in input"));
            }
            if i.mv.x.abs() > 1.0 || i.mv.y.abs() > 1.0 {
                return Err(DecodeError::Invalid("movement out of range [-1, 1]"));
            }
            if i.aim.abs() > AIM_LIMIT_RAD {
                return Err(DecodeError::Invalid("aim angle out of range"));
            }
        }
        ClientMsg::Ping(_) | ClientMsg::Ack(_) | ClientMsg::Follow(_) => {}
        ClientMsg::Chat(c) => check_chat(&c.text)?,
    }
    Ok(())
}

fn validate_server(msg: &ServerMsg) -> Result<(), DecodeError> {
    if let ServerMsg::Batch(msgs) = msg {
        if msgs.iter().any(|m| matches!(m, ServerMsg::Batch(_))) {
            return Err(DecodeError::Invalid("nested batch"));
        }
        return msgs.iter().try_for_each(validate_server);
    }
    let rect_ok = |r: &Rect| finite_vec(r.min) && finite_vec(r.max) && r.min.x <= r.max.x && r.min.y <= r.max.y;
    let ok = match msg {
        ServerMsg::Welcome(w) => {
            finite_vec(w.arena) && w.tick_rate > 0 && w.players.iter().all(info_ok) && check_token(&w.rejoin).is_ok()
        }
        // The entity records are checked as they are applied (`delta::decode`).
        ServerMsg::Snapshot(_) => true,
        ServerMsg::Radar(r) => radar_ok(r),
        ServerMsg::Joined(p) => info_ok(p),
        ServerMsg::Roster(players) => players.iter().all(info_ok),
        ServerMsg::Match(m) => finite_vec(m.map.size) && m.map.obstacles.iter().all(rect_ok),
        ServerMsg::Obstacles(rects) => rects.iter().all(rect_ok),
        // Chat and result names come from players but were checked by the server; a client
        // shows them as text whatever they hold, so only their size matters here.
        ServerMsg::Chat(c) => c.text.chars().count() <= MAX_CHAT_CHARS,
        ServerMsg::Results(_)
        | ServerMsg::Kill(_)
        | ServerMsg::Left(_)
        | ServerMsg::Pong(_)
        | ServerMsg::Scores(_)
        | ServerMsg::Batch(_) => true,
    };
    if ok { Ok(()) } else { Err(DecodeError::Invalid("non-finite number or bad name from server")) }
}

/// A radar no bigger than the limits, with exactly one byte per cell (as decoded).
pub fn radar_ok(r: &Radar) -> bool {
    u32::from(r.width) <= RADAR_MAX_WIDTH
        && u32::from(r.height) <= RADAR_MAX_HEIGHT
        && r.cells.len() == usize::from(r.width) * usize::from(r.height)
}

fn info_ok(p: &PlayerInfo) -> bool {
    check_name(&p.name).is_ok()
}

fn finite_vec(v: Vec2) -> bool {
    v.x.is_finite() && v.y.is_finite()
}

/// Characters never allowed in a name or a chat line: they hide text, reorder it or break
/// layout. Controls (Cc); every format character (Cf: bidi marks, embeddings, overrides and
/// isolates, zero-width characters, invisible operators, tags, interlinear annotations, and the
/// rest of the category as of Unicode 15); the line and paragraph separators; and every other
/// Default_Ignorable_Code_Point (the combining grapheme joiner, the Hangul fillers, Mongolian
/// and Khmer invisibles, unassigned ignorables) except the variation selectors, which only pick
/// how the character before them looks (an emoji's colour form). Written out rather than taken
/// from a Unicode crate: the tables would cost the browser client more than its size budget has.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() || FORBIDDEN.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// The ranges of [`is_forbidden_char`] besides the controls. The browser client runs this check
/// too (`client/web/src/name.rs`): the whole of it costs the page about 0.4 KB gzipped.
const FORBIDDEN: [(char, char); 26] = [
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{0600}', '\u{0605}'),   // Arabic number signs (format)
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark (bidi)
    ('\u{06DD}', '\u{06DD}'),   // Arabic end of ayah
    ('\u{070F}', '\u{070F}'),   // Syriac abbreviation mark
    ('\u{0890}', '\u{0891}'),   // Arabic pound and piastre marks above
    ('\u{08E2}', '\u{08E2}'),   // Arabic disputed end of ayah
    ('\u{115F}', '\u{1160}'),   // Hangul choseong and jungseong fillers: blank
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian free variation selectors, vowel separator
    ('\u{200B}', '\u{200F}'),   // zero-width space and joiners, LRM, RLM
    ('\u{2028}', '\u{2029}'),   // line and paragraph separators
    ('\u{202A}', '\u{202E}'),   // bidi embeddings and overrides
    ('\u{2060}', '\u{206F}'),   // word joiner, invisible operators, bidi isolates, deprecated format
    ('\u{3164}', '\u{3164}'),   // Hangul filler: blank
    ('\u{FEFF}', '\u{FEFF}'),   // zero-width no-break space
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler: blank
    ('\u{FFF0}', '\u{FFFB}'),   // unassigned ignorables, interlinear annotations
    ('\u{110BD}', '\u{110BD}'), // Kaithi number sign
    ('\u{110CD}', '\u{110CD}'), // Kaithi number sign above
    ('\u{13430}', '\u{1343F}'), // Egyptian hieroglyph format controls
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls
    ('\u{1D173}', '\u{1D17A}'), // musical format controls
    ('\u{E0000}', '\u{E00FF}'), // tags and unassigned ignorables
    ('\u{E01F0}', '\u{E0FFF}'), // unassigned ignorables after the variation selectors supplement
];

/// Characters that draw nothing but are not whitespace: the braille blank, and the variation
/// selectors (allowed, but only after a character they modify). A name or chat line may not
/// start with one, nor a name end with the braille blank, so none is all blanks.
fn is_blank(c: char) -> bool {
    matches!(c, '\u{2800}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Combining marks of no script of their own: the Combining Diacritical Marks and their
/// extended, supplement, for-symbols and half-mark blocks. Several letters of Vietnamese and
/// polytonic Greek, written decomposed, stack three; nothing written needs more, while a pile of
/// them runs into other rows of the roster and the chat ("Zalgo" text).
fn is_generic_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Every combining mark (general category M: the generic ones, and those of particular scripts,
/// Thai tone marks, Devanagari vowel signs, Arabic harakat, Hebrew points, the variation
/// selectors…). One at the start of a name or line draws onto whatever precedes it on screen ("X
/// killed ◌้"), so none may come first; and script marks stack as generic ones do, so they count
/// in a run too (see [`MAX_MARKS_IN_A_ROW`]).
fn is_combining_mark(c: char) -> bool {
    let c = u32::from(c);
    // The last range that starts at or before `c`, if `c` is within it.
    let i = MARKS.partition_point(|&range| range >> 8 <= c);
    i.checked_sub(1).is_some_and(|i| c - (MARKS[i] >> 8) <= MARKS[i] & 0xFF)
}

/// A range of [`MARKS`]: its first code point shifted past a byte, holding how many follow.
const fn m(first: u32, last: u32) -> u32 {
    first << 8 | (last - first)
}

/// The combining marks, as ranges by first code point: Unicode 14's general category M, with
/// the marks Unicode 15 to 17 added (their grapheme classes). Written out rather than taken from
/// a Unicode crate, as [`FORBIDDEN`] is; 4 bytes a range, about 1 KB of the page gzipped.
#[rustfmt::skip]
const MARKS: [u32; 326] = [
    m(0x0300, 0x036F), m(0x0483, 0x0489), m(0x0591, 0x05BD), m(0x05BF, 0x05BF), m(0x05C1, 0x05C2), m(0x05C4, 0x05C5),
    m(0x05C7, 0x05C7), m(0x0610, 0x061A), m(0x064B, 0x065F), m(0x0670, 0x0670), m(0x06D6, 0x06DC), m(0x06DF, 0x06E4),
    m(0x06E7, 0x06E8), m(0x06EA, 0x06ED), m(0x0711, 0x0711), m(0x0730, 0x074A), m(0x07A6, 0x07B0), m(0x07EB, 0x07F3),
    m(0x07FD, 0x07FD), m(0x0816, 0x0819), m(0x081B, 0x0823), m(0x0825, 0x0827), m(0x0829, 0x082D), m(0x0859, 0x085B),
    m(0x0897, 0x089F), m(0x08CA, 0x08E1), m(0x08E3, 0x0903), m(0x093A, 0x093C), m(0x093E, 0x094F), m(0x0951, 0x0957),
    m(0x0962, 0x0963), m(0x0981, 0x0983), m(0x09BC, 0x09BC), m(0x09BE, 0x09C4), m(0x09C7, 0x09C8), m(0x09CB, 0x09CD),
    m(0x09D7, 0x09D7), m(0x09E2, 0x09E3), m(0x09FE, 0x09FE), m(0x0A01, 0x0A03), m(0x0A3C, 0x0A3C), m(0x0A3E, 0x0A42),
    m(0x0A47, 0x0A48), m(0x0A4B, 0x0A4D), m(0x0A51, 0x0A51), m(0x0A70, 0x0A71), m(0x0A75, 0x0A75), m(0x0A81, 0x0A83),
    m(0x0ABC, 0x0ABC), m(0x0ABE, 0x0AC5), m(0x0AC7, 0x0AC9), m(0x0ACB, 0x0ACD), m(0x0AE2, 0x0AE3), m(0x0AFA, 0x0AFF),
    m(0x0B01, 0x0B03), m(0x0B3C, 0x0B3C), m(0x0B3E, 0x0B44), m(0x0B47, 0x0B48), m(0x0B4B, 0x0B4D), m(0x0B55, 0x0B57),
    m(0x0B62, 0x0B63), m(0x0B82, 0x0B82), m(0x0BBE, 0x0BC2), m(0x0BC6, 0x0BC8), m(0x0BCA, 0x0BCD), m(0x0BD7, 0x0BD7),
    m(0x0C00, 0x0C04), m(0x0C3C, 0x0C3C), m(0x0C3E, 0x0C44), m(0x0C46, 0x0C48), m(0x0C4A, 0x0C4D), m(0x0C55, 0x0C56),
    m(0x0C62, 0x0C63), m(0x0C81, 0x0C83), m(0x0CBC, 0x0CBC), m(0x0CBE, 0x0CC4), m(0x0CC6, 0x0CC8), m(0x0CCA, 0x0CCD),
    m(0x0CD5, 0x0CD6), m(0x0CE2, 0x0CE3), m(0x0CF3, 0x0CF3), m(0x0D00, 0x0D03), m(0x0D3B, 0x0D3C), m(0x0D3E, 0x0D44),
    m(0x0D46, 0x0D48), m(0x0D4A, 0x0D4D), m(0x0D57, 0x0D57), m(0x0D62, 0x0D63), m(0x0D81, 0x0D83), m(0x0DCA, 0x0DCA),
    m(0x0DCF, 0x0DD4), m(0x0DD6, 0x0DD6), m(0x0DD8, 0x0DDF), m(0x0DF2, 0x0DF3), m(0x0E31, 0x0E31), m(0x0E34, 0x0E3A),
    m(0x0E47, 0x0E4E), m(0x0EB1, 0x0EB1), m(0x0EB4, 0x0EBC), m(0x0EC8, 0x0ECD), m(0x0F18, 0x0F19), m(0x0F35, 0x0F35),
    m(0x0F37, 0x0F37), m(0x0F39, 0x0F39), m(0x0F3E, 0x0F3F), m(0x0F71, 0x0F84), m(0x0F86, 0x0F87), m(0x0F8D, 0x0F97),
    m(0x0F99, 0x0FBC), m(0x0FC6, 0x0FC6), m(0x102B, 0x103E), m(0x1056, 0x1059), m(0x105E, 0x1060), m(0x1062, 0x1064),
    m(0x1067, 0x106D), m(0x1071, 0x1074), m(0x1082, 0x108D), m(0x108F, 0x108F), m(0x109A, 0x109D), m(0x135D, 0x135F),
    m(0x1712, 0x1715), m(0x1732, 0x1734), m(0x1752, 0x1753), m(0x1772, 0x1773), m(0x17B4, 0x17D3), m(0x17DD, 0x17DD),
    m(0x180B, 0x180D), m(0x180F, 0x180F), m(0x1885, 0x1886), m(0x18A9, 0x18A9), m(0x1920, 0x192B), m(0x1930, 0x193B),
    m(0x1A17, 0x1A1B), m(0x1A55, 0x1A5E), m(0x1A60, 0x1A7C), m(0x1A7F, 0x1A7F), m(0x1AB0, 0x1ADD), m(0x1AE0, 0x1AEB),
    m(0x1B00, 0x1B04), m(0x1B34, 0x1B44), m(0x1B6B, 0x1B73), m(0x1B80, 0x1B82), m(0x1BA1, 0x1BAD), m(0x1BE6, 0x1BF3),
    m(0x1C24, 0x1C37), m(0x1CD0, 0x1CD2), m(0x1CD4, 0x1CE8), m(0x1CED, 0x1CED), m(0x1CF4, 0x1CF4), m(0x1CF7, 0x1CF9),
    m(0x1DC0, 0x1DFF), m(0x20D0, 0x20F0), m(0x2CEF, 0x2CF1), m(0x2D7F, 0x2D7F), m(0x2DE0, 0x2DFF), m(0x302A, 0x302F),
    m(0x3099, 0x309A), m(0xA66F, 0xA672), m(0xA674, 0xA67D), m(0xA69E, 0xA69F), m(0xA6F0, 0xA6F1), m(0xA802, 0xA802),
    m(0xA806, 0xA806), m(0xA80B, 0xA80B), m(0xA823, 0xA827), m(0xA82C, 0xA82C), m(0xA880, 0xA881), m(0xA8B4, 0xA8C5),
    m(0xA8E0, 0xA8F1), m(0xA8FF, 0xA8FF), m(0xA926, 0xA92D), m(0xA947, 0xA953), m(0xA980, 0xA983), m(0xA9B3, 0xA9C0),
    m(0xA9E5, 0xA9E5), m(0xAA29, 0xAA36), m(0xAA43, 0xAA43), m(0xAA4C, 0xAA4D), m(0xAA7B, 0xAA7D), m(0xAAB0, 0xAAB0),
    m(0xAAB2, 0xAAB4), m(0xAAB7, 0xAAB8), m(0xAABE, 0xAABF), m(0xAAC1, 0xAAC1), m(0xAAEB, 0xAAEF), m(0xAAF5, 0xAAF6),
    m(0xABE3, 0xABEA), m(0xABEC, 0xABED), m(0xFB1E, 0xFB1E), m(0xFE00, 0xFE0F), m(0xFE20, 0xFE2F),
    m(0x101FD, 0x101FD), m(0x102E0, 0x102E0), m(0x10376, 0x1037A), m(0x10A01, 0x10A03), m(0x10A05, 0x10A06),
    m(0x10A0C, 0x10A0F), m(0x10A38, 0x10A3A), m(0x10A3F, 0x10A3F), m(0x10AE5, 0x10AE6), m(0x10D24, 0x10D27),
    m(0x10D69, 0x10D6D), m(0x10EAB, 0x10EAC), m(0x10EFA, 0x10EFF), m(0x10F46, 0x10F50), m(0x10F82, 0x10F85),
    m(0x11000, 0x11002), m(0x11038, 0x11046), m(0x11070, 0x11070), m(0x11073, 0x11074), m(0x1107F, 0x11082),
    m(0x110B0, 0x110BA), m(0x110C2, 0x110C2), m(0x11100, 0x11102), m(0x11127, 0x11134), m(0x11145, 0x11146),
    m(0x11173, 0x11173), m(0x11180, 0x11182), m(0x111B3, 0x111C0), m(0x111C9, 0x111CC), m(0x111CE, 0x111CF),
    m(0x1122C, 0x11237), m(0x1123E, 0x1123E), m(0x11241, 0x11241), m(0x112DF, 0x112EA), m(0x11300, 0x11303),
    m(0x1133B, 0x1133C), m(0x1133E, 0x11344), m(0x11347, 0x11348), m(0x1134B, 0x1134D), m(0x11357, 0x11357),
    m(0x11362, 0x11363), m(0x11366, 0x1136C), m(0x11370, 0x11374), m(0x113B8, 0x113B8), m(0x113BB, 0x113C0),
    m(0x113C5, 0x113C5), m(0x113C7, 0x113CA), m(0x113CC, 0x113D0), m(0x113D2, 0x113D2), m(0x113E1, 0x113E2),
    m(0x11435, 0x11446), m(0x1145E, 0x1145E), m(0x114B0, 0x114C3), m(0x115AF, 0x115B5), m(0x115B8, 0x115C0),
    m(0x115DC, 0x115DD), m(0x11630, 0x11640), m(0x116AB, 0x116B7), m(0x1171D, 0x1172B), m(0x1182C, 0x1183A),
    m(0x11930, 0x11935), m(0x11937, 0x11938), m(0x1193B, 0x1193E), m(0x11940, 0x11940), m(0x11942, 0x11943),
    m(0x119D1, 0x119D7), m(0x119DA, 0x119E0), m(0x119E4, 0x119E4), m(0x11A01, 0x11A0A), m(0x11A33, 0x11A39),
    m(0x11A3B, 0x11A3E), m(0x11A47, 0x11A47), m(0x11A51, 0x11A5B), m(0x11A8A, 0x11A99), m(0x11B60, 0x11B67),
    m(0x11C2F, 0x11C36), m(0x11C38, 0x11C3F), m(0x11C92, 0x11CA7), m(0x11CA9, 0x11CB6), m(0x11D31, 0x11D36),
    m(0x11D3A, 0x11D3A), m(0x11D3C, 0x11D3D), m(0x11D3F, 0x11D45), m(0x11D47, 0x11D47), m(0x11D8A, 0x11D8E),
    m(0x11D90, 0x11D91), m(0x11D93, 0x11D97), m(0x11EF3, 0x11EF6), m(0x11F00, 0x11F01), m(0x11F03, 0x11F03),
    m(0x11F34, 0x11F3A), m(0x11F3E, 0x11F42), m(0x11F5A, 0x11F5A), m(0x13440, 0x13440), m(0x13447, 0x13455),
    m(0x1612A, 0x1612C), m(0x16AF0, 0x16AF4), m(0x16B30, 0x16B36), m(0x16F4F, 0x16F4F), m(0x16F51, 0x16F87),
    m(0x16F8F, 0x16F92), m(0x16FE4, 0x16FE4), m(0x16FF0, 0x16FF1), m(0x1BC9D, 0x1BC9E), m(0x1CF00, 0x1CF2D),
    m(0x1CF30, 0x1CF46), m(0x1D165, 0x1D169), m(0x1D16D, 0x1D172), m(0x1D17B, 0x1D182), m(0x1D185, 0x1D18B),
    m(0x1D1AA, 0x1D1AD), m(0x1D242, 0x1D244), m(0x1DA00, 0x1DA36), m(0x1DA3B, 0x1DA6C), m(0x1DA75, 0x1DA75),
    m(0x1DA84, 0x1DA84), m(0x1DA9B, 0x1DA9F), m(0x1DAA1, 0x1DAAF), m(0x1E000, 0x1E006), m(0x1E008, 0x1E018),
    m(0x1E01B, 0x1E021), m(0x1E023, 0x1E024), m(0x1E026, 0x1E02A), m(0x1E08F, 0x1E08F), m(0x1E130, 0x1E136),
    m(0x1E2AE, 0x1E2AE), m(0x1E2EC, 0x1E2EF), m(0x1E4EC, 0x1E4EF), m(0x1E6E3, 0x1E6E3), m(0x1E6E6, 0x1E6E6),
    m(0x1E6EE, 0x1E6EF), m(0x1E6F5, 0x1E6F5), m(0x1E8D0, 0x1E8D6), m(0x1E944, 0x1E94A), m(0xE0100, 0xE01EF),
];

/// Combining marks allowed in a row, of any kind: what real text needs, with one to spare. A
/// Thai syllable holds two (a vowel above and a tone mark), Hindi three at most (a nukta, a
/// vowel sign and a nasal sign: ज़िं), fully pointed Arabic two (a shadda and a vowel), a Tibetan
/// stack three or four.
pub const MAX_MARKS_IN_A_ROW: usize = 4;

/// Generic combining marks allowed in a row (see [`is_generic_mark`]): as many as any letter
/// written with them needs (polytonic Greek and Vietnamese, decomposed, stack up to three).
pub const MAX_GENERIC_MARKS_IN_A_ROW: usize = 3;

/// What is wrong with the characters of a name or chat line, if anything.
enum Misfit {
    /// An invisible or reordering character ([`is_forbidden_char`]).
    Forbidden,
    /// A combining mark of any kind first (after any spaces), or more than
    /// [`MAX_MARKS_IN_A_ROW`] of them in a row, or more than [`MAX_GENERIC_MARKS_IN_A_ROW`]
    /// generic ones in one run.
    Marks,
}

/// One pass over `text` for both rules (the browser client runs it too: one loop is smaller).
fn misfit(text: &str) -> Option<Misfit> {
    // The runs of marks start full until the first character that is not a space, so a mark
    // before it is refused as one past a full run would be. A script mark does not end a run of
    // generic ones: alternating the two kinds piled up 198 marks on one letter.
    let (mut run, mut generic) = (MAX_MARKS_IN_A_ROW, MAX_GENERIC_MARKS_IN_A_ROW);
    let (mut started, mut marks) = (false, false);
    for c in text.chars() {
        if is_forbidden_char(c) {
            return Some(Misfit::Forbidden);
        }
        if is_combining_mark(c) {
            let is_generic = is_generic_mark(c);
            marks |= run >= MAX_MARKS_IN_A_ROW || (is_generic && generic >= MAX_GENERIC_MARKS_IN_A_ROW);
            run += 1;
            generic += usize::from(is_generic);
        } else if started || !c.is_whitespace() {
            (run, generic, started) = (0, 0, true);
        }
    }
    marks.then_some(Misfit::Marks)
}

/// A display name: 1 to `MAX_NAME_CHARS` characters, no leading or trailing whitespace or blank,
/// nothing invisible or direction-changing, no combining mark first or stacked (see
/// [`is_combining_mark`]).
pub fn check_name(name: &str) -> Result<(), DecodeError> {
    let chars = name.chars().count();
    if chars == 0 || name.trim().is_empty() {
        return Err(DecodeError::Invalid("empty name"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(DecodeError::Invalid("name too long"));
    }
    let mut ends = name.chars();
    if name.trim() != name || ends.next().is_some_and(is_blank) || ends.next_back() == Some('\u{2800}') {
        return Err(DecodeError::Invalid("name starts or ends with a space or blank"));
    }
    match misfit(name) {
        Some(Misfit::Forbidden) => Err(DecodeError::Invalid("name has control, bidi or zero-width characters")),
        Some(Misfit::Marks) => Err(DecodeError::Invalid("name has a combining mark first or too many in a row")),
        None => Ok(()),
    }
}

/// A chat line: 1 to `MAX_CHAT_CHARS` characters, not only spaces, not starting with a blank,
/// nothing invisible or direction-changing, no combining mark first or stacked.
pub fn check_chat(text: &str) -> Result<(), DecodeError> {
    let text_proper = text.trim();
    if text_proper.is_empty() {
        return Err(DecodeError::Invalid("empty chat line"));
    }
    if text_proper.chars().next().is_some_and(is_blank) {
        return Err(DecodeError::Invalid("chat line starts with a blank character"));
    }
    if text.chars().count() > MAX_CHAT_CHARS {
        return Err(DecodeError::Invalid("chat line too long"));
    }
    match misfit(text) {
        Some(Misfit::Forbidden) => Err(DecodeError::Invalid("chat line has control, bidi or zero-width characters")),
        Some(Misfit::Marks) => Err(DecodeError::Invalid("chat line has a combining mark first or too many in a row")),
        None => Ok(()),
    }
}

/// A rejoin token: empty, or up to `MAX_TOKEN_CHARS` of ASCII letters, digits, `-` and `_`.
pub fn check_token(token: &str) -> Result<(), DecodeError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(DecodeError::Invalid("rejoin token too long"));
    }
    if !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(DecodeError::Invalid("rejoin token may hold only A-Z a-z 0-9 - _"));
    }
    Ok(())
}

/// A room name: 1 to `MAX_ROOM_CHARS` of ASCII letters, digits, `-` and `_`.
pub fn check_room(room: &str) -> Result<(), DecodeError> {
    if room.is_empty() || room.len() > MAX_ROOM_CHARS {
        return Err(DecodeError::Invalid(ROOM_LENGTH_RULE));
    }
    if !room.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(DecodeError::Invalid("room name may hold only A-Z a-z 0-9 - _"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary search needs the ranges in order, apart, and each within its byte of length.
    #[test]
    fn the_marks_table_is_ordered_and_its_ranges_are_apart() {
        let ranges: Vec<(u32, u32)> = MARKS.iter().map(|&r| (r >> 8, (r >> 8) + (r & 0xFF))).collect();
        for pair in ranges.windows(2) {
            assert!(pair[0].1 + 1 < pair[1].0, "{:X?} then {:X?}", pair[0], pair[1]);
        }
        for &(first, last) in &ranges {
            assert!(char::from_u32(first).is_some_and(is_combining_mark), "{first:X}");
            assert!(char::from_u32(last).is_some_and(is_combining_mark), "{last:X}");
            assert!(char::from_u32(first - 1).is_some_and(|c| !is_combining_mark(c)), "{first:X} - 1");
            assert!(char::from_u32(last + 1).is_none_or(|c| !is_combining_mark(c)), "{last:X} + 1");
        }
        assert!(!is_combining_mark('\0') && !is_combining_mark('a') && !is_combining_mark(char::MAX));
        // The generic marks are combining marks too.
        assert!(
            ['\u{0300}', '\u{036F}', '\u{1AB0}', '\u{1DFF}', '\u{20D0}', '\u{FE2F}'].into_iter().all(is_combining_mark)
        );
    }
}
