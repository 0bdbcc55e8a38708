//! Criterion benches of the 30 Hz hot path: one `World::step` and building the snapshot every
//! player receives (fill + MessagePack encode, done once per tick), at 100, 1000 and 5000 ships.
//!
//! Ships spawn on the arena map, then fly 5 s of seeded random inputs (a quarter of them firing)
//! before measuring, so they are spread out and bullets are in flight as in a real match.
//! Run: `cargo bench -p skirmish-server --bench world`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use skirmish_server::maps::MapList;
use skirmish_server::match_flow::MatchSettings;
use skirmish_server::world::World;
use skirmish_shared::{Input, PlayerId, ServerMsg, Snapshot, encode_server};

const SIZES: [u32; 3] = [100, 1000, 5000];

/// A tiny deterministic generator, so the bench needs no rng crate of its own.
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn inputs(n: u32, seq: u32, rng: &mut Lcg) -> Vec<(PlayerId, Input)> {
    (1..=n)
        .map(|id| {
            let buttons = if id % 4 == 0 { Input::FIRE } else { 0 };
            (id, Input { seq, mv: Vec2::new(rng.unit(), rng.unit()), aim: rng.unit() * 3.0, buttons })
        })
        .collect()
}

/// A world with `n` ships that have been playing for a while.
fn warmed_world(n: u32) -> (World, Lcg) {
    let maps = Arc::new(MapList::load(None, Some("arena")).expect("built-in maps load"));
    let settings = MatchSettings::new(Duration::ZERO, Duration::from_secs(3600), Duration::ZERO, 0, 1);
    let mut world = World::new(7, maps, settings);
    for id in 1..=n {
        world.add_player(id, &format!("bot{id}"));
    }
    let mut rng = Lcg(42);
    for seq in 1..=150 {
        let tick_inputs = inputs(n, seq, &mut rng);
        world.step(&tick_inputs);
    }
    (world, rng)
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("world_step");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let (mut world, mut rng) = warmed_world(n);
        let batches: Vec<_> = (0..64).map(|i| inputs(n, 1000 + i, &mut rng)).collect();
        let mut i = 0;
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                world.step(black_box(&batches[i % batches.len()]));
                i += 1;
            })
        });
    }
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_build");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let (world, _) = warmed_world(n);
        let mut snap = Snapshot::default();
        world.snapshot_into(1, &mut snap);
        let bytes = encode_server(&ServerMsg::Snapshot(snap.clone())).len();
        eprintln!(
            "snapshot_build/{n}: {bytes} bytes for {} ships, {} bullets, {} pickups ({:.1} B per ship)",
            snap.players.len(),
            snap.bullets.len(),
            snap.pickups.len(),
            bytes as f64 / f64::from(n)
        );
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                // What the room does each tick: fill the reused snapshot, encode it once.
                world.snapshot_into(black_box(2), &mut snap);
                let msg = ServerMsg::Snapshot(std::mem::take(&mut snap));
                let out = encode_server(&msg);
                if let ServerMsg::Snapshot(s) = msg {
                    snap = s;
                }
                black_box(out)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step, snapshot);
criterion_main!(benches);
