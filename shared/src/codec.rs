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
const FORBIDDEN: [(char, char); 27] = [
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
    ('\u{200B}', '\u{200B}'),   // zero-width space (the joiners between: see `is_joiner`)
    ('\u{200E}', '\u{200F}'),   // LRM, RLM
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

/// The zero-width non-joiner and joiner (format characters): allowed only between two
/// characters they can join or keep apart (see [`misfit`]). Persian needs the non-joiner in
/// everyday words (می‌خواهم), the Indic scripts both for their conjuncts (क्‍ष), and emoji
/// the joiner for their sequences (🤷‍♂️); anywhere else they would only hide a difference.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

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
pub fn is_combining_mark(c: char) -> bool {
    let c = u32::from(c);
    // Below the first mark (U+0300) at once: most text is ASCII.
    c >= 0x300 && mark_ranges().take_while(|&(first, _)| first <= c).any(|(_, last)| c <= last)
}

/// The ranges of [`MARKS`], first and last code point, in order.
fn mark_ranges() -> impl Iterator<Item = (u32, u32)> {
    let (mut bytes, mut next) = (MARKS.iter(), 0u32);
    std::iter::from_fn(move || {
        let (mut gap, mut shift) = (0u32, 0);
        loop {
            let byte = *bytes.next()?;
            gap |= u32::from(byte & 0x7F) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        let first = next + gap;
        let last = first + u32::from(*bytes.next()?);
        next = last + 1;
        Some((first, last))
    })
}

/// The combining marks: Unicode 14's general category M, with the marks Unicode 15 to 17 added
/// (by their grapheme classes). Each range is the code points skipped since the last one (a
/// LEB128 number) and how many follow its first (a byte). Written out rather than taken from a
/// Unicode crate, as [`FORBIDDEN`] is, and packed so: 326 ranges, about 0.6 KB of the page
/// gzipped.
#[rustfmt::skip]
const MARKS: &[u8] =
    b"\x80\x06\x6F\x93\x02\x06\x87\x02\x2C\x01\x00\x01\x01\x01\x01\x01\x00\x48\x0A\x30\x14\x10\x00\x65\x06\x02\x05\
      \x02\x01\x01\x03\x23\x00\x1E\x1A\x5B\x0A\x3A\x08\x09\x00\x18\x03\x01\x08\x01\x02\x01\x04\x2B\x02\x3B\x08\x2A\
      \x17\x01\x20\x36\x02\x01\x11\x01\x06\x0A\x01\x1D\x02\x38\x00\x01\x06\x02\x01\x02\x02\x09\x00\x0A\x01\x1A\x00\
      \x02\x02\x38\x00\x01\x04\x04\x01\x02\x02\x03\x00\x1E\x01\x03\x00\x0B\x02\x38\x00\x01\x07\x01\x02\x01\x02\x14\
      \x01\x16\x05\x01\x02\x38\x00\x01\x06\x02\x01\x02\x02\x07\x02\x0A\x01\x1E\x00\x3B\x04\x03\x02\x01\x03\x09\x00\
      \x28\x04\x37\x00\x01\x06\x01\x02\x01\x03\x07\x01\x0B\x01\x1D\x02\x38\x00\x01\x06\x01\x02\x01\x03\x07\x01\x0B\
      \x01\x0F\x00\x0C\x03\x37\x01\x01\x06\x01\x02\x01\x03\x09\x00\x0A\x01\x1D\x02\x46\x00\x04\x05\x01\x00\x01\x07\
      \x12\x01\x3D\x00\x02\x06\x0C\x07\x62\x00\x02\x08\x0B\x05\x4A\x01\x1B\x00\x01\x00\x01\x00\x04\x01\x31\x13\x01\
      \x01\x05\x0A\x01\x23\x09\x00\x64\x13\x17\x03\x04\x02\x01\x02\x02\x06\x03\x03\x0D\x0B\x01\x00\x0A\x03\xBF\x05\
      \x02\xB2\x07\x03\x1C\x02\x1D\x01\x1E\x01\x40\x1F\x09\x00\x2D\x02\x01\x00\x75\x01\x22\x00\x76\x0B\x04\x0B\xDB\
      \x01\x04\x39\x09\x01\x1C\x02\x00\x30\x2D\x02\x0B\x14\x04\x2F\x10\x26\x08\x0C\x02\x1E\x0C\x38\x0D\x30\x13\x98\
      \x01\x02\x01\x14\x04\x00\x06\x00\x02\x02\xC6\x01\x3F\xD0\x05\x20\xFE\x17\x02\x8D\x01\x00\x60\x1F\xAA\x04\x05\
      \x69\x01\xD4\xEB\x01\x03\x01\x09\x20\x01\x50\x01\x90\x02\x00\x03\x00\x04\x00\x17\x04\x04\x00\x53\x01\x32\x11\
      \x1A\x11\x0D\x00\x26\x07\x19\x0C\x2C\x03\x2F\x0D\x24\x00\x43\x0D\x0C\x00\x08\x01\x2D\x02\x32\x00\x01\x02\x02\
      \x01\x05\x01\x01\x00\x29\x04\x05\x01\xEC\x01\x07\x01\x01\xB0\x9E\x01\x00\xE1\x05\x0F\x10\x0F\xCD\x07\x00\xE2\
      \x01\x00\x95\x01\x04\x86\x0D\x02\x01\x01\x05\x03\x28\x02\x04\x00\xA5\x01\x01\xBD\x04\x03\x41\x04\xBD\x02\x01\
      \x4D\x05\x46\x0A\x31\x03\x7A\x02\x35\x0E\x29\x00\x02\x01\x0A\x03\x2D\x0A\x07\x00\x3D\x02\x24\x0D\x10\x01\x2C\
      \x00\x0C\x02\x30\x0D\x08\x03\x01\x01\x5C\x0B\x06\x00\x02\x00\x9D\x01\x0B\x15\x03\x37\x01\x01\x06\x02\x01\x02\
      \x02\x09\x00\x0A\x01\x02\x06\x03\x04\x43\x00\x02\x05\x04\x00\x01\x03\x01\x04\x01\x00\x0E\x01\x52\x11\x17\x00\
      \x51\x13\xEB\x01\x06\x02\x08\x1B\x01\x52\x10\x6A\x0C\x65\x0E\x80\x02\x0E\xF5\x01\x05\x01\x01\x02\x03\x01\x00\
      \x01\x01\x8D\x01\x06\x02\x06\x03\x00\x1C\x09\x28\x06\x01\x03\x08\x00\x09\x0A\x2E\x0F\xC6\x01\x07\xC7\x01\x07\
      \x01\x07\x52\x15\x01\x0D\x7A\x05\x03\x00\x01\x01\x01\x06\x01\x00\x42\x04\x01\x01\x01\x04\xDB\x02\x03\x09\x01\
      \x01\x00\x30\x06\x03\x04\x17\x00\xE5\x29\x00\x06\x0E\xD4\x59\x02\xC3\x13\x04\x3B\x06\x98\x08\x00\x01\x36\x07\
      \x03\x51\x00\x0B\x01\xAB\x99\x01\x01\xE1\x24\x2D\x02\x16\x9E\x04\x04\x03\x05\x08\x07\x02\x06\x1E\x03\x94\x01\
      \x02\xBB\x0F\x36\x04\x31\x08\x00\x0E\x00\x16\x04\x01\x0E\xD0\x0A\x06\x01\x10\x02\x06\x01\x01\x01\x04\x64\x00\
      \xA0\x01\x06\xF7\x02\x00\x3D\x03\xFC\x03\x03\xF3\x03\x00\x02\x00\x07\x01\x05\x00\xDA\x03\x06\x6D\x06\xB5\xAF\
      \x30\xEF";

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
    // A joiner may come only between two characters: after one that is not a space nor a
    // joiner (a mark will do: a virama, a variation selector), before one that is none of those
    // nor a mark. `spaced` (the last was whitespace) starts true, so one first is refused.
    let (mut started, mut marks, mut joined, mut spaced) = (false, false, false, true);
    for c in text.chars() {
        let mark = is_combining_mark(c);
        if is_forbidden_char(c) || (is_joiner(c) && (spaced || joined)) || (joined && (c.is_whitespace() || mark)) {
            return Some(Misfit::Forbidden);
        }
        (joined, spaced) = (is_joiner(c), c.is_whitespace());
        if mark {
            let is_generic = is_generic_mark(c);
            marks |= run >= MAX_MARKS_IN_A_ROW || (is_generic && generic >= MAX_GENERIC_MARKS_IN_A_ROW);
            run += 1;
            generic += usize::from(is_generic);
        } else if started || !c.is_whitespace() {
            (run, generic, started) = (0, 0, true);
        }
    }
    if joined {
        return Some(Misfit::Forbidden);
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

    /// The ranges come in order, apart, and each is all marks with no mark either side of it.
    #[test]
    fn the_marks_table_is_ordered_and_its_ranges_are_apart() {
        let ranges: Vec<(u32, u32)> = mark_ranges().collect();
        assert_eq!((ranges.len(), ranges[0], ranges[325]), (326, (0x300, 0x36F), (0xE0100, 0xE01EF)));
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
