//! A client written from `PROTOCOL.md` alone plays against the real server, and everything it
//! decoded must equal what the reference decoders in `skirmish_shared` make of the same bytes.
//!
//! `clean_room/client.py` was written by someone who read the protocol document and nothing
//! else (Python, standard library only: its own MessagePack, WebSocket, bit reader and delta
//! decoder). Three of them play in one room for a few seconds, firing, one of them
//! acknowledging badly on purpose (stalled, never-sent, zero and too-old acknowledgements), and
//! a fourth watches as a spectator. The match on a small map ends after 9 s, and the next one is
//! on `expanse`, whose obstacles come in chunks.
//! Each logs every message as received (hex) with its decoding; this test decodes the same
//! bytes with the shared crate, following baselines as a client does, and compares message by
//! message: snapshot frames and `me` to the integer, radar cells, scores, roster, kills. A
//! mismatch is a place where the document and the server disagree, or where the document is
//! not precise enough to write a client from. The client's own messages must decode too.
//!
//! Needs `python3` (3.8 or newer) on the PATH, as CI installs it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use skirmish_shared::delta::{self, Frame};
use skirmish_shared::{ClientMsg, OwnState, Phase, PlayerInfo, ServerMsg, decode_client, decode_server};

/// The first match: past the first pickup's appearance (`PICKUP_SPAWN_INTERVAL_TICKS`, 8 s after
/// the match starts). A second of results follows, then a match on `expanse`, whose 498
/// obstacles come as `Match` and `Obstacles` chunks.
const MATCH_SECONDS: u64 = 9;
/// How long each client plays: into the match on `expanse`.
const PLAY_SECONDS: u32 = 13;
/// Smaller than a view (`AOI_HALF_EXTENT` 850 each way from the ship), so every ship, bullet and
/// pickup is in every client's view and each kind of record is decoded; an obstacle in the
/// middle, a spawn in each corner, two pickup spots.
const COURT: &str = r#"{"name": "court", "size": [800, 800], "obstacles": [[360, 360, 80, 80]],
    "spawns": [[100, 100], [700, 100], [100, 700], [700, 700]], "pickups": [[400, 150], [400, 650]]}"#;

#[test]
fn a_client_written_from_the_protocol_document_decodes_what_the_reference_decodes() {
    let mut config = skirmish_server::Config::for_tests();
    config.min_players = 1;
    config.maps = Some(common::maps_dir("clean-room", &[("court.json", COURT)]));
    config.map = Some("court".to_owned());
    config.rotation = vec!["court".to_owned(), "expanse".to_owned()];
    config.match_duration = Duration::from_secs(MATCH_SECONDS);
    config.results_duration = Duration::from_secs(1);
    let srv = common::server_with(config);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clean_room/client.py");
    // Its codec against its author's copies of the document's examples, before it plays.
    let selftest = Command::new("python3")
        .arg(&script)
        .arg("--selftest")
        .output()
        .expect("python3 runs (the clean-room client needs it on the PATH)");
    assert!(selftest.status.success(), "the self-test failed:\n{}", String::from_utf8_lossy(&selftest.stdout));
    // Sam watches: a spectator acknowledges with `Ack`, and its snapshots are another's view.
    let clients = [("Ada", "normal", 1), ("Bob", "normal", 2), ("Eve", "hostile", 3), ("Sam", "spectate", 4)];
    let runs: Vec<(&str, &str, bool, PathBuf, std::process::Child)> = clients
        .iter()
        .map(|&(name, acks, seed)| {
            let (acks, spectate) = if acks == "spectate" { ("normal", true) } else { (acks, false) };
            let out =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("clean-room-{}-{name}.jsonl", std::process::id()));
            let child = Command::new("python3")
                .arg(&script)
                .args(["--url", &srv.ws_url(), "--name", name, "--room", "clean-room", "--acks", acks])
                .args(["--seconds", &PLAY_SECONDS.to_string(), "--seed", &seed.to_string()])
                .args(spectate.then_some("--spectate"))
                .arg("--out")
                .arg(&out)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("python3 runs (the clean-room client needs it on the PATH)");
            (name, acks, spectate, out, child)
        })
        .collect();

    for (name, acks, spectate, out, child) in runs {
        let output = wait_bounded(child, Duration::from_secs(u64::from(PLAY_SECONDS) + 60));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}'s client failed ({}):\n{stdout}\n{}\nits log: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            out.display()
        );
        let log = std::fs::read_to_string(&out).expect("the client wrote its log");
        let totals = check_log(name, &log);
        eprintln!("{name} ({acks}): {totals:?}; the client said: {}", stdout.trim());
        assert!(totals.snapshots >= 60, "{name}: {totals:?}");
        // The court is smaller than a view: everyone sees every ship, shot and pickup.
        let kinds = [totals.other_ships, totals.bullets, totals.pickups, totals.radars, totals.scores];
        assert!(kinds.iter().all(|&n| n > 0), "{name} saw ships, shots, pickups, radars and scores: {totals:?}");
        // The first match ended, and the next map came in chunks.
        let ends = [totals.results, totals.expanse, totals.obstacle_chunks];
        assert!(ends.iter().all(|&n| n > 0), "{name} saw the results, the next map and its chunks: {totals:?}");
        assert!(totals.deltas > totals.full, "{name} mostly gets deltas: {totals:?}");
        if spectate {
            assert!(totals.spectator && totals.acks_sent > 0, "{name} watches and acknowledges with Ack: {totals:?}");
            // Until a player comes, nobody is there to follow.
            assert!(totals.others_view > 0, "{name} sees through a player's eyes: {totals:?}");
            assert_eq!(totals.others_view + totals.no_me, totals.snapshots, "{name} never has a ship: {totals:?}");
        } else {
            assert!(!totals.spectator && totals.others_view == 0 && totals.no_me == 0, "{name} plays: {totals:?}");
        }
        if acks == "hostile" {
            // Joining, then in each cycle a never-sent, a zero and a too-old acknowledgement.
            assert!(totals.full >= 4, "{name}'s bad acknowledgements bring full snapshots: {totals:?}");
        }
        let _ = std::fs::remove_file(&out);
    }
    assert_eq!(srv.stats.protocol_disconnects(), 0, "the server took every message of theirs");
    srv.stop();
}

/// What one client's log held, counted while checking it.
#[derive(Debug, Default)]
struct Totals {
    snapshots: u32,
    full: u32,
    deltas: u32,
    other_ships: u32,
    bullets: u32,
    pickups: u32,
    radars: u32,
    scores: u32,
    results: u32,
    /// `Obstacles` messages, and `Match` messages of `expanse`.
    obstacle_chunks: u32,
    expanse: u32,
    sent: u32,
    /// `Ack` messages among those sent.
    acks_sent: u32,
    /// From `Welcome`.
    id: u32,
    spectator: bool,
    /// Snapshots whose `me` is another player's (a spectator's view), and with no `me` at all
    /// (a spectator with nobody to follow yet).
    others_view: u32,
    no_me: u32,
}

/// Checks one client's log line by line against the reference decoders; panics at the first
/// disagreement.
fn check_log(name: &str, log: &str) -> Totals {
    let mut t = Totals::default();
    // Every decoded frame by tick: more than a client must keep, as the clean-room client does.
    let mut frames: BTreeMap<u64, Frame> = BTreeMap::new();
    for (n, line) in log.lines().enumerate() {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{name} line {n}: {e}: {line}"));
        assert!(entry.get("error").is_none(), "{name} line {n}: the client reported an error: {line}");
        let bytes = unhex(entry["hex"].as_str().unwrap_or_else(|| panic!("{name} line {n}: no hex")));
        let at = format!("{name} line {n}");
        match entry["dir"].as_str() {
            Some("in") => {
                let msg = decode_server(&bytes).unwrap_or_else(|e| panic!("{at}: the reference rejects it: {e}"));
                compare(&at, &msg, &entry["msg"], &mut frames, &mut t);
            }
            Some("out") => {
                let msg = decode_client(&bytes, usize::MAX)
                    .unwrap_or_else(|e| panic!("{at}: the server's decoder rejects what it sent: {e}"));
                t.sent += 1;
                t.acks_sent += u32::from(matches!(msg, ClientMsg::Ack(_)));
            }
            other => panic!("{at}: unknown dir {other:?}"),
        }
    }
    t
}

/// `msg` (the reference's reading) against `theirs` (the clean-room client's).
fn compare(at: &str, msg: &ServerMsg, theirs: &Value, frames: &mut BTreeMap<u64, Frame>, t: &mut Totals) {
    let key = serde_json::to_value(msg).expect("a message serialises");
    let key = key.as_object().and_then(|o| o.keys().next().cloned()).expect("one key");
    assert_eq!(theirs["type"].as_str(), Some(key.as_str()), "{at}: the message's type; theirs: {theirs}");
    let eq = |what: &str, ours: Value| assert_eq!(theirs[what], ours, "{at}: {what} of {key}; theirs: {theirs}");
    match msg {
        ServerMsg::Batch(items) => {
            let list = theirs["items"].as_array().unwrap_or_else(|| panic!("{at}: a batch without items"));
            assert_eq!(list.len(), items.len(), "{at}: the batch's length");
            for (i, (m, v)) in items.iter().zip(list).enumerate() {
                compare(&format!("{at}, batch item {i}"), m, v, frames, t);
            }
        }
        ServerMsg::Snapshot(s) => {
            eq("tick", s.tick.into());
            eq("base", s.base.into());
            eq("phase", phase(s.phase).into());
            eq("time_left_ms", s.time_left_ms.into());
            eq("me", s.me.map_or(Value::Null, own_state));
            t.others_view += u32::from(s.me.is_some_and(|m| m.id != t.id));
            t.no_me += u32::from(s.me.is_none());
            let empty = Frame::default();
            let base = if s.base == 0 {
                &empty
            } else {
                frames.get(&s.base).unwrap_or_else(|| panic!("{at}: base {} was never decoded", s.base))
            };
            let mut frame = Frame::default();
            delta::decode(&s.ents, s.tick, base, &mut frame).unwrap_or_else(|e| panic!("{at}: ents: {e}"));
            eq("frame", frame_json(&frame));
            t.snapshots += 1;
            if s.base == 0 {
                t.full += 1;
            } else {
                t.deltas += 1;
            }
            t.other_ships += frame.ships.len() as u32;
            t.bullets += frame.bullets.len() as u32;
            t.pickups += frame.pickups.len() as u32;
            frames.insert(s.tick, frame);
            // Bounded like the client's own store.
            while frames.len() > 200 {
                frames.pop_first();
            }
        }
        ServerMsg::Radar(r) => {
            // The reference decoder unpacks the cells (one byte per cell, row by row).
            eq("width", r.width.into());
            eq("height", r.height.into());
            eq("cells", r.cells.clone().into());
            t.radars += 1;
        }
        ServerMsg::Scores(lines) => {
            eq("lines", lines.iter().map(|l| Value::from(vec![l.id, l.kills.into(), l.deaths.into()])).collect());
            t.scores += 1;
        }
        ServerMsg::Welcome(w) => {
            (t.id, t.spectator) = (w.id, w.spectator);
            eq("id", w.id.into());
            eq("room", w.room.as_str().into());
            eq("colour", w.colour.into());
            eq("spectator", w.spectator.into());
            eq("players", w.players.iter().map(player).collect());
        }
        ServerMsg::Roster(players) => eq("players", players.iter().map(player).collect()),
        ServerMsg::Joined(p) => eq("player", player(p)),
        ServerMsg::Left(l) => eq("id", l.id.into()),
        ServerMsg::Kill(k) => {
            eq("killer", k.killer.into());
            eq("victim", k.victim.into());
        }
        ServerMsg::Chat(c) => {
            eq("from", c.from.map_or(Value::Null, Value::from));
            eq("text", c.text.as_str().into());
        }
        ServerMsg::Match(m) => {
            eq("phase", phase(m.phase).into());
            eq("map_name", m.map.name.as_str().into());
            eq("obstacles", m.map.obstacles.len().into());
            t.expanse += u32::from(m.map.name == "expanse");
        }
        ServerMsg::Obstacles(rects) => {
            eq("count", rects.len().into());
            t.obstacle_chunks += 1;
        }
        ServerMsg::Pong(p) => eq("id", p.id.into()),
        ServerMsg::Results(r) => {
            t.results += 1;
            eq("winner", r.winner.map_or(Value::Null, Value::from));
            eq("next_map", r.next_map.as_str().into());
        }
    }
}

fn phase(p: Phase) -> &'static str {
    match p {
        Phase::Waiting => "w",
        Phase::Countdown => "c",
        Phase::Playing => "p",
        Phase::Results => "r",
    }
}

fn player(p: &PlayerInfo) -> Value {
    serde_json::json!([p.id, p.name, p.colour, p.spectator])
}

fn own_state(m: OwnState) -> Value {
    serde_json::json!({
        "id": m.id, "pos": [m.pos.x, m.pos.y], "vel": [m.vel.x, m.vel.y], "aim": m.aim, "ack": m.ack,
        "health": m.health, "flags": m.flags, "cooldown": m.cooldown, "rapid_ticks": m.rapid_ticks,
    })
}

/// A frame as the clean-room client logs it: integers as on the wire, lists by id.
fn frame_json(f: &Frame) -> Value {
    serde_json::json!({
        "ships": f.ships.iter().map(|s| serde_json::json!([s.id, s.pos.x, s.pos.y, s.aim, s.health, s.flags]))
            .collect::<Vec<_>>(),
        "bullets": f.bullets.iter()
            .map(|b| serde_json::json!([b.id, b.owner, b.origin.x, b.origin.y, b.vel.x, b.vel.y, b.tick, b.seq]))
            .collect::<Vec<_>>(),
        "pickups": f.pickups.iter().map(|p| serde_json::json!([p.id, p.kind, p.pos.x, p.pos.y])).collect::<Vec<_>>(),
    })
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex: {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits")).collect()
}

/// The child's output once it exits; killed (and the test failed) if it outlives `limit`.
fn wait_bounded(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().expect("wait for the client").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("the killed client's output");
            panic!("the clean-room client ran past {limit:?}:\n{}", String::from_utf8_lossy(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("the client's output")
}
