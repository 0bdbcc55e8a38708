//! Fuzzes what clients do with every frame a server sends: whatever the client core's compact
//! decoder (`wire::decode_server`) accepts, the reference decoder must accept too and decode to
//! the same message (the compact one may be stricter: serde also takes a struct written as a
//! map, or `bin` written as an array, which no server sends), and the packed
//! entity records of any snapshot (v3 deltas) must decode or fail cleanly, against no baseline
//! and against a small one. Nothing may panic.

#![no_main]

use glam::IVec2;
use libfuzzer_sys::fuzz_target;
use skirmish_client::wire;
use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
use skirmish_shared::{ServerMsg, decode_server};

fuzz_target!(|data: &[u8]| {
    let reference = decode_server(data);
    if let Ok(ours) = wire::decode_server(data) {
        assert_eq!(Some(&ours), reference.as_ref().ok(), "the client accepted what the reference did not: {data:02x?}");
    }
    if let Ok(ServerMsg::Snapshot(s)) = reference {
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
});
