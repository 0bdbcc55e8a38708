//! Replays the committed `server_msg` fuzzing corpus (`fuzz/corpus/server_msg`) on stable with
//! the checks of that fuzz target: whatever the client's compact decoder accepts, the reference
//! decoder accepts as the same message, and any snapshot's packed records decode or fail
//! cleanly against no baseline and against a small one.

use std::path::PathBuf;

use glam::IVec2;
use skirmish_client::wire;
use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
use skirmish_shared::{ServerMsg, decode_server};

#[test]
fn the_server_message_corpus_decodes_alike_or_fails_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/server_msg");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "the corpus is there: {} files", paths.len());
    let (mut snapshots, mut accepted) = (0, 0);
    for path in &paths {
        let data = std::fs::read(path).expect("a corpus file");
        let reference = decode_server(&data);
        if let Ok(ours) = wire::decode_server(&data) {
            assert_eq!(Some(&ours), reference.as_ref().ok(), "{}: the client accepted more", path.display());
            accepted += 1;
        }
        if let Ok(ServerMsg::Snapshot(s)) = reference {
            snapshots += 1;
            let mut out = Frame::default();
            let _ = delta::decode(&s.ents, s.tick, &Frame::default(), &mut out);
            let base = Frame {
                tick: s.base,
                ships: vec![ShipEnt { id: 1, pos: IVec2::new(10, 10), aim: 0, health: 100, flags: 1 }],
                bullets: vec![BulletEnt { id: 2, owner: 1, ..BulletEnt::default() }],
                pickups: vec![PickupEnt { id: 3, kind: 0, pos: IVec2::ZERO }],
            };
            let _ = delta::decode(&s.ents, s.tick, &base, &mut out);
        }
    }
    assert!(accepted > 0 && snapshots > 0, "{accepted} messages and {snapshots} snapshots among the inputs");
}
