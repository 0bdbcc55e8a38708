//! Keeps PROTOCOL.md honest: every hex example decodes with the real codec (client examples with
//! the server's strict client decoder, server examples with the reference server decoder) and
//! re-encodes to exactly the same bytes; every message has an example; the annotated entity
//! records are the example snapshots' bytes, bit for bit, and decode to the entities the
//! document states; the numbers it quotes are the constants'.

use std::collections::BTreeSet;

use glam::{IVec2, Vec2};
use skirmish_shared::bits::BitWriter;
use skirmish_shared::consts::{
    AOI_HALF_EXTENT, FLOOD_KICK_DROPS, HISTORY_TICKS, MAP_CHUNK_OBSTACLES, MAX_CLIENT_MSGS_PER_SEC, MAX_DECODE_DEPTH,
    MAX_FRAME_BYTES, MAX_NAME_CHARS, MAX_ROOM_CHARS, MAX_TOKEN_CHARS, PROTOCOL_VERSION, RADAR_INTERVAL_TICKS,
    RADAR_MAX_HEIGHT, RADAR_MAX_WIDTH, RESULTS_MAX_LINES, ROSTER_CHUNK_PLAYERS, SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS,
    SCORES_CHUNK_LINES, TICK_DT, TICK_RATE_HZ, VIEW_MARGIN_UNITS, VIEW_WORLD_UNITS,
};
use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
use skirmish_shared::tuning::{BULLET_RADIUS, MAX_CHAT_CHARS, SHIP_RADIUS};
use skirmish_shared::{ClientMsg, ServerMsg, Snapshot, decode_client, decode_server, encode_client, encode_server};

/// What the examples of PROTOCOL.md hold.
struct Doc {
    /// The whole text.
    text: String,
    /// Hex examples under "## Client → server", in order.
    client: Vec<Vec<u8>>,
    /// Hex examples under "## Server → client", in order.
    server: Vec<Vec<u8>>,
    /// The bit strings of the ```bits blocks (annotated entity records), in order.
    bits: Vec<String>,
}

fn doc() -> Doc {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../PROTOCOL.md")).expect("read PROTOCOL.md");
    let (mut client, mut server, mut bits) = (Vec::new(), Vec::new(), Vec::new());
    let mut section = "";
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("## ") {
            section = line;
        }
        let fence = line.trim();
        if fence != "```hex" && fence != "```bits" {
            continue;
        }
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        if fence == "```bits" {
            // Each line: an optional label, the bits (the first token of only 0s and 1s), a note.
            let stream = body
                .iter()
                .map(|l| {
                    l.split_whitespace()
                        .find(|t| t.chars().all(|c| c == '0' || c == '1'))
                        .unwrap_or_else(|| panic!("no bits on line {l:?}"))
                })
                .collect();
            bits.push(stream);
            continue;
        }
        let hex = body.join(" ");
        let bytes: Vec<u8> = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex byte")).collect();
        match section {
            "## Client → server" => client.push(bytes),
            "## Server → client" => server.push(bytes),
            other => panic!("hex example outside the message sections, under {other:?}: {hex}"),
        }
    }
    Doc { text, client, server, bits }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The key of a client message. Exhaustive: a new variant fails the build here until it is
/// documented with an example.
fn client_key(msg: &ClientMsg) -> &'static str {
    match msg {
        ClientMsg::Hello(_) => "h",
        ClientMsg::Input(_) => "i",
        ClientMsg::Ping(_) => "p",
        ClientMsg::Chat(_) => "c",
        ClientMsg::Ack(_) => "a",
        ClientMsg::Follow(_) => "f",
    }
}

/// The key of a server message; see [`client_key`].
fn server_key(msg: &ServerMsg) -> &'static str {
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

fn client_examples(doc: &Doc) -> Vec<ClientMsg> {
    doc.client
        .iter()
        .map(|bytes| {
            let msg =
                decode_client(bytes, MAX_FRAME_BYTES).unwrap_or_else(|e| panic!("client example {}: {e}", hex(bytes)));
            assert_eq!(&encode_client(&msg), bytes, "client example {} does not match the encoder", hex(bytes));
            msg
        })
        .collect()
}

fn server_examples(doc: &Doc) -> Vec<ServerMsg> {
    doc.server
        .iter()
        .map(|bytes| {
            let msg = decode_server(bytes).unwrap_or_else(|e| panic!("server example {}: {e}", hex(bytes)));
            assert_eq!(&encode_server(&msg), bytes, "server example {} does not match the encoder", hex(bytes));
            msg
        })
        .collect()
}

/// The documented snapshots, in order: the full one, then the delta against it.
fn snapshots(doc: &Doc) -> Vec<Snapshot> {
    server_examples(doc)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Snapshot(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn every_hex_example_round_trips_through_its_own_decoder() {
    let doc = doc();
    let (client, server) = (client_examples(&doc), server_examples(&doc));
    // Two chat lines (a player's and a system one) and two snapshots (full and delta).
    assert_eq!((client.len(), server.len()), (6, 16), "examples per section");
}

#[test]
fn every_message_has_an_example() {
    let doc = doc();
    let client: BTreeSet<_> = client_examples(&doc).iter().map(client_key).collect();
    let server: BTreeSet<_> = server_examples(&doc).iter().map(server_key).collect();
    assert_eq!(client, BTreeSet::from(["h", "i", "p", "c", "a", "f"]));
    assert_eq!(server, BTreeSet::from(["w", "s", "j", "n", "l", "o", "c", "k", "m", "r", "t", "d", "x", "b"]));
}

#[test]
fn annotated_bits_are_the_example_snapshots_bytes() {
    let doc = doc();
    let snaps = snapshots(&doc);
    assert_eq!(doc.bits.len(), 3, "one annotation for the radar, the full snapshot and the delta");
    // The radar comes first in the document.
    let (radar, snapshot_bits) = doc.bits.split_first().expect("three annotations");
    assert_eq!(snaps.len(), snapshot_bits.len(), "one annotated snapshot per annotation");
    for (snap, bits) in snaps.iter().zip(snapshot_bits) {
        let actual: String = snap.ents.iter().map(|b| format!("{b:08b}")).collect();
        assert_eq!(bits, &actual, "annotation of the ents of tick {}", snap.tick);
    }
    // The radar example's packed cells, bit for bit, and what they stand for.
    let example = doc.server.iter().find(|b| b.starts_with(&[0x81, 0xa1, b'd'])).expect("a radar example");
    let packed = &example[example.len() - 3..];
    assert_eq!(example[example.len() - 5..example.len() - 3], [0xc4, 3], "a bin of 3 bytes ends the example");
    let actual: String = packed.iter().map(|b| format!("{b:08b}")).collect();
    assert_eq!(radar, &actual, "annotation of the radar's cells");
    let Ok(ServerMsg::Radar(decoded)) = decode_server(example) else { panic!("the radar example decodes") };
    let mut cells = vec![0u8; 24];
    (cells[9], cells[10], cells[17]) = (1, 2, 1);
    assert_eq!((decoded.width, decoded.height, decoded.cells), (6, 4, cells), "ships in (3, 1), (4, 1) twice, (5, 2)");
}

/// The packed records that turn `base` into `cur` at `tick`.
fn encode(tick: u64, base: &Frame, cur: &Frame) -> Vec<u8> {
    let mut w = BitWriter::new();
    delta::encode(&mut w, tick, base.lists(), cur.lists());
    w.as_bytes().to_vec()
}

#[test]
fn documented_ents_decode_to_the_documented_entities() {
    let doc = doc();
    let snaps = snapshots(&doc);
    let (full, next) = (&snaps[0], &snaps[1]);
    assert_eq!((full.tick, full.base, next.tick, next.base), (120, 0, 121, 120));

    // "Example: a full snapshot".
    let mut frame = Frame::default();
    delta::decode(&full.ents, full.tick, &Frame::default(), &mut frame).expect("the full example decodes");
    let ship = ShipEnt { id: 2, pos: IVec2::new(2001, 1224), aim: 128, health: 80, flags: 1 };
    let bullet =
        BulletEnt { id: 9, owner: 1, origin: IVec2::new(6528, 4000), vel: IVec2::new(14400, 0), tick: 118, seq: 6 };
    let pickup = PickupEnt { id: 4, kind: 0, pos: IVec2::new(9600, 6400) };
    let expected = Frame { tick: 120, ships: vec![ship], bullets: vec![bullet], pickups: vec![pickup] };
    assert_eq!(frame, expected);
    assert_eq!(encode(120, &Frame::default(), &expected), full.ents, "the encoder writes the documented bytes");
    assert_eq!(ship.pos_f(), Vec2::new(1000.5, 612.0));
    assert!((ship.aim_rad() - std::f32::consts::PI).abs() < 1e-6, "facing −x");
    assert_eq!(bullet.vel_f(), Vec2::new(900.0, 0.0));
    assert!((bullet.pos_at(120.0) - Vec2::new(876.0, 500.0)).length() < 1e-3, "{}", bullet.pos_at(120.0));
    let me = full.me.expect("the example has `me`");
    assert_eq!((me.id, me.pos, me.vel, me.aim, me.ack), (1, IVec2::new(6400, 4000), IVec2::ZERO, 20, 7));
    assert_eq!(delta::aim_to_byte(0.5), 20, "aim 0.5 rad is 20/256 of a turn");

    // "Example: a delta", against the frame above.
    let mut after = Frame::default();
    delta::decode(&next.ents, next.tick, &frame, &mut after).expect("the delta example decodes");
    let moved = ShipEnt { pos: IVec2::new(1997, 1224), ..ship };
    assert_eq!(after, Frame { tick: 121, ships: vec![moved], bullets: vec![bullet], pickups: vec![] });
    assert_eq!(encode(121, &frame, &after), next.ents, "the encoder writes the documented bytes");
    assert_eq!(moved.pos_f(), Vec2::new(998.5, 612.0));
    assert!((bullet.pos_at(121.0) - Vec2::new(906.0, 500.0)).length() < 1e-3);
}

#[test]
fn numbers_quoted_in_the_document_are_the_constants() {
    let doc = doc();
    // Line breaks and indentation are layout: compare with every run of whitespace as one space.
    let flat = doc.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = |s: String| assert!(flat.contains(&s), "PROTOCOL.md should say {s:?}");
    quoted(format!("# Skirmish wire protocol (version {PROTOCOL_VERSION})"));
    quoted(format!("`version: u16` (must be {PROTOCOL_VERSION})"));
    quoted(format!("capped at {MAX_FRAME_BYTES} bytes"));
    quoted(format!("name`: 1–{MAX_NAME_CHARS} characters"));
    quoted(format!("otherwise 1–{MAX_ROOM_CHARS} of"));
    quoted(format!("up to {MAX_TOKEN_CHARS} of"));
    quoted(format!("1–{MAX_CHAT_CHARS} characters"));
    quoted(format!("nesting deeper than {MAX_DECODE_DEPTH} levels"));
    quoted(format!("A bullet has a radius of {BULLET_RADIUS}: moving"));
    quoted(format!("grown by {BULLET_RADIUS} on every side"));
    quoted(format!("within {} ({SHIP_RADIUS} + {BULLET_RADIUS})", SHIP_RADIUS + BULLET_RADIUS));
    quoted(format!("ticks (and snapshots) per second, {TICK_RATE_HZ}"));
    quoted(format!("fitted into {RADAR_MAX_WIDTH} × {RADAR_MAX_HEIGHT}"));
    quoted(format!("`k = min({RADAR_MAX_WIDTH} / size.x, {RADAR_MAX_HEIGHT} / size.y)`"));
    quoted(format!("A `width` over {RADAR_MAX_WIDTH} or a `height` over {RADAR_MAX_HEIGHT} never comes"));
    quoted(format!("while it is younger than {HISTORY_TICKS} ticks"));
    quoted(format!("every {RADAR_INTERVAL_TICKS} ticks"));
    quoted(format!("`ROSTER_CHUNK_PLAYERS` = {ROSTER_CHUNK_PLAYERS} in all"));
    quoted(format!("by id, {ROSTER_CHUNK_PLAYERS} per message"));
    quoted(format!("a `Roster` of fewer than {ROSTER_CHUNK_PLAYERS} players"));
    quoted(format!("`SCORES_CHUNK_LINES` = {SCORES_CHUNK_LINES} lines a tick"));
    quoted(format!("at most {SCORES_CHUNK_LINES} a tick"));
    quoted(format!("`SCORES_ALL_MAX_PLAYERS` = {SCORES_ALL_MAX_PLAYERS} players with a ship"));
    quoted(format!("`SCOREBOARD_TOP` = {SCOREBOARD_TOP}, and sends you your own line"));
    quoted(format!(
        "in rooms of more than {SCORES_ALL_MAX_PLAYERS} players only the top {SCOREBOARD_TOP} and your own"
    ));
    quoted(format!("the room's true best {SCOREBOARD_TOP}"));
    quoted(format!("Up to {SCORES_ALL_MAX_PLAYERS} players, every line"));
    quoted(format!("more than {SCORES_ALL_MAX_PLAYERS} players with a ship, a fixed number"));
    quoted(format!("(the browser's board writes `{}+`)", SCOREBOARD_TOP + 1));
    quoted(format!("`RESULTS_MAX_LINES` = {RESULTS_MAX_LINES} who played"));
    quoted(format!("lists the best {RESULTS_MAX_LINES}, not everyone"));
    quoted(format!("`MAP_CHUNK_OBSTACLES` = {MAP_CHUNK_OBSTACLES} obstacles"));
    quoted(format!("(at most {MAP_CHUNK_OBSTACLES} obstacles)"));
    quoted(format!("more than {MAP_CHUNK_OBSTACLES} obstacles"));
    quoted(format!("then at most {} others", ROSTER_CHUNK_PLAYERS - 1));
    quoted(format!("`HISTORY_TICKS` = {HISTORY_TICKS} ticks"));
    quoted(format!("`MAX_CLIENT_MSGS_PER_SEC` = {MAX_CLIENT_MSGS_PER_SEC} messages per second"));
    quoted(format!("in bursts of up to {MAX_CLIENT_MSGS_PER_SEC}"));
    quoted(format!("`FLOOD_KICK_DROPS` = {FLOOD_KICK_DROPS} dropped within one second"));
    quoted(format!("`AOI_HALF_EXTENT` = {AOI_HALF_EXTENT} world units (half the {VIEW_WORLD_UNITS} units"));
    quoted(format!("plus a margin of {VIEW_MARGIN_UNITS})"));
    quoted(format!("0x{:08X}", TICK_DT.to_bits()));
}
