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
/// extended, supplement, for-symbols and half-mark blocks. One at the start of a name or line
/// draws onto whatever precedes it on screen ("X killed ◌́"), and many in a row stack into
/// other rows of the roster and the chat ("Zalgo" text). Written out for the size budget, as
/// [`FORBIDDEN`] is; the marks of particular scripts (Thai, Devanagari, Arabic…) are not here.
fn is_generic_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Generic combining marks allowed in a row: as many as any letter written with them needs
/// (polytonic Greek and Vietnamese, decomposed, stack up to three).
pub const MAX_MARKS_IN_A_ROW: usize = 3;

/// What is wrong with the characters of a name or chat line, if anything.
enum Misfit {
    /// An invisible or reordering character ([`is_forbidden_char`]).
    Forbidden,
    /// A generic combining mark first (after any spaces), or more than [`MAX_MARKS_IN_A_ROW`]
    /// of them in a row.
    Marks,
}

/// One pass over `text` for both rules (the browser client runs it too: one loop is smaller).
fn misfit(text: &str) -> Option<Misfit> {
    // The run of marks starts full until the first character that is not a space, so a mark
    // before it is refused as one past a full run would be.
    let (mut run, mut started, mut marks) = (MAX_MARKS_IN_A_ROW, false, false);
    for c in text.chars() {
        if is_forbidden_char(c) {
            return Some(Misfit::Forbidden);
        }
        if is_generic_mark(c) {
            marks |= run == MAX_MARKS_IN_A_ROW;
            run += 1;
        } else if started || !c.is_whitespace() {
            (run, started) = (0, true);
        }
    }
    marks.then_some(Misfit::Marks)
}

/// A display name: 1 to `MAX_NAME_CHARS` characters, no leading or trailing whitespace or blank,
/// nothing invisible or direction-changing, no combining mark first or stacked (see
/// [`is_generic_mark`]).
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
        Some(Misfit::Marks) => Err(DecodeError::Invalid("name has a combining mark first or over 3 in a row")),
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
        Some(Misfit::Marks) => Err(DecodeError::Invalid("chat line has a combining mark first or over 3 in a row")),
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
