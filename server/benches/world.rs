//! Criterion bench of `World::step`, the simulation half of the 30 Hz tick, at 100, 1000 and 5000
//! ships on `expanse` (16000×16000, the built-in map for big rooms).
//!
//! Ships join at the map's spawn points, then wander for 10 s of seeded inputs before measuring
//! (each holding a slowly turning heading, a quarter of them firing), so they are spread out and
//! bullets are in flight as in a real match. The whole tick with snapshot building has its own
//! bench. Run: `cargo bench -p skirmish-server --bench world`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use skirmish_server::maps::MapList;
use skirmish_server::match_flow::MatchSettings;
use skirmish_server::world::World;
use skirmish_shared::delta::Frame;
use skirmish_shared::{Input, PlayerId, PlayerState};

const SIZES: [u32; 3] = [100, 1000, 5000];
/// Ticks flown before measuring (10 s).
const WARM_UP_TICKS: u32 = 300;
/// Input batches cycled through while measuring.
const BATCHES: u32 = 64;

/// A tiny deterministic generator, so the bench needs no rng crate of its own.
struct Lcg(u64);

impl Lcg {
    /// Uniform in -1..1.
    fn unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Every ship's stick heading (radians); each tick it turns a little at random.
struct Pilots {
    headings: Vec<f32>,
    rng: Lcg,
}

impl Pilots {
    fn new(n: u32) -> Self {
        let mut rng = Lcg(42);
        let headings = (0..n).map(|_| rng.unit() * std::f32::consts::PI).collect();
        Self { headings, rng }
    }

    /// One tick of inputs: full stick along each heading, aim anywhere, every fourth ship firing.
    fn inputs(&mut self, seq: u32) -> Vec<(PlayerId, Input)> {
        let rng = &mut self.rng;
        self.headings
            .iter_mut()
            .zip(1..)
            .map(|(heading, id)| {
                *heading += rng.unit() * 0.15;
                let buttons = if id % 4 == 0 { Input::FIRE } else { 0 };
                let mv = Vec2::new(heading.cos(), heading.sin());
                (id, Input { seq, mv, aim: rng.unit() * 3.0, buttons, ..Input::default() })
            })
            .collect()
    }
}

/// A world with `n` ships that have been playing for a while, and their pilots.
fn warmed_world(n: u32) -> (World, Pilots) {
    let maps = Arc::new(MapList::load(None, Some("expanse")).expect("the built-in maps, expanse among them, load"));
    let settings = MatchSettings::new(Duration::ZERO, Duration::from_secs(3600), Duration::ZERO, 0, 1);
    let mut world = World::new(7, maps, settings);
    for id in 1..=n {
        world.add_player(id, &format!("bot{id}"));
    }
    let mut pilots = Pilots::new(n);
    for seq in 1..=WARM_UP_TICKS {
        let tick_inputs = pilots.inputs(seq);
        world.step(&tick_inputs);
    }
    (world, pilots)
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("world_step");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    for n in SIZES {
        let (mut world, mut pilots) = warmed_world(n);
        let mut frame = Frame::default();
        world.frame_into(&mut frame);
        let alive = frame.ships.iter().filter(|s| s.flags & PlayerState::ALIVE != 0).count();
        eprintln!("world_step/{n}: {alive} ships alive, {} bullets in flight", frame.bullets.len());
        let batches: Vec<_> = (0..BATCHES).map(|i| pilots.inputs(WARM_UP_TICKS + 1 + i)).collect();
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

criterion_group!(benches, step);
criterion_main!(benches);
