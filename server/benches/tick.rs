//! Criterion bench of a whole room tick as the server runs it for big rooms: step the world,
//! store the frame in the history ring, index it, and build every player's snapshot (area of
//! interest, delta against the tick it acknowledged, MessagePack envelope) into the tick's
//! shared buffer. At 1000 and 3000 players on the `expanse` map, every player acknowledging the
//! previous tick as a client on a fast link does.
//!
//! Run: `cargo bench -p skirmish-server --bench tick`. It prints, per size, the average snapshot
//! size and ships in view, so the figures can be checked against the byte budget, and the size of
//! the radar.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;
use skirmish_server::maps::MapList;
use skirmish_server::match_flow::MatchSettings;
use skirmish_server::view::{ClientView, Head, History, ViewBuilder};
use skirmish_server::world::World;
use skirmish_shared::consts::view_centre;
use skirmish_shared::sim::POS_SCALE;
use skirmish_shared::{Input, PlayerId, Radar, ServerMsg, encode_server};

/// The server binary's allocator (`src/main.rs`), so the bench measures the tick as it runs.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SIZES: [u32; 2] = [1000, 3000];
/// Ticks played before measuring, so ships are spread and bullets fly (10 s).
const WARM_UP_TICKS: u32 = 300;

/// Bot-like pilots: each holds a heading that drifts, and two in five hold fire (the capacity
/// benchmark's `wander=60,fight=40`).
struct Pilots {
    headings: Vec<f32>,
    seed: u64,
}

impl Pilots {
    fn unit(&mut self) -> f32 {
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn inputs(&mut self, seq: u32, tick: u64, out: &mut Vec<(PlayerId, Input)>) {
        out.clear();
        for i in 0..self.headings.len() {
            let turn = self.unit() * 0.2;
            let aim = self.unit() * 3.0;
            let heading = &mut self.headings[i];
            *heading += turn;
            let id = i as u32 + 1;
            let buttons = if id % 5 < 2 { Input::FIRE } else { 0 };
            let mv = Vec2::new(heading.cos(), heading.sin());
            out.push((id, Input { seq, mv, aim, buttons, ack: tick, view_tick: 0 }));
        }
    }
}

/// Everything one room keeps for its players' snapshots.
struct Room {
    world: World,
    history: History,
    builder: ViewBuilder,
    views: Vec<ClientView>,
    pilots: Pilots,
    inputs: Vec<(PlayerId, Input)>,
    seq: u32,
}

impl Room {
    fn new(n: u32) -> Self {
        let maps = Arc::new(MapList::load(None, Some("expanse")).expect("built-in maps load"));
        let settings = MatchSettings::new(Duration::ZERO, Duration::from_secs(3600), Duration::ZERO, 0, 1);
        let mut world = World::new(7, maps, settings);
        for id in 1..=n {
            world.add_player(id, &format!("bot{id}"));
        }
        let builder = ViewBuilder::new(world.arena());
        let headings = (0..n).map(|i| i as f32 * 2.4).collect();
        let mut room = Room {
            world,
            history: History::default(),
            builder,
            views: (0..n).map(|_| ClientView::default()).collect(),
            pilots: Pilots { headings, seed: 42 },
            inputs: Vec::new(),
            seq: 0,
        };
        for _ in 0..WARM_UP_TICKS {
            room.tick();
        }
        room
    }

    /// One tick; returns (snapshot bytes, ships in view) summed over players.
    fn tick(&mut self) -> (usize, usize) {
        self.seq += 1;
        let acked = self.world.tick();
        self.pilots.inputs(self.seq, acked, &mut self.inputs);
        for (view, (_, input)) in self.views.iter_mut().zip(&self.inputs) {
            view.ack(input.ack);
        }
        self.world.step(&self.inputs);
        let tick = self.world.tick();
        self.history.record(tick, |frame| self.world.frame_into(frame));
        let frame = self.history.get(tick).expect("just stored");
        let head = Head { phase: self.world.phase(), time_left_ms: self.world.time_left_ms() };
        self.builder.index(frame, self.world.arena(), self.views.len() * 192);
        let (mut bytes, mut in_view) = (0, 0);
        for (i, view) in self.views.iter_mut().enumerate() {
            let me = self.world.own_state(i as PlayerId + 1);
            let centre = me.map_or(Vec2::ZERO, |m| view_centre(m.pos.as_vec2() / POS_SCALE, self.world.arena()));
            let (snapshot, delta, _) = self.builder.build(frame, &self.history, view, centre, me, head);
            bytes += snapshot.len();
            in_view += (delta.ships.carried + delta.ships.changed + delta.ships.entered) as usize;
            black_box(snapshot);
        }
        (bytes, in_view)
    }
}

fn whole_tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    for n in SIZES {
        let mut room = Room::new(n);
        let (bytes, in_view) = room.tick();
        // The radar the room sends everyone once a second, as it goes on the wire.
        let (width, height) = room.world.radar_grid();
        let mut cells = Vec::new();
        room.world.radar_into(width, height, &mut cells);
        let radar = encode_server(&ServerMsg::Radar(Radar { width: width as u8, height: height as u8, cells }));
        eprintln!(
            "tick/{n}: {:.0} B per snapshot, {:.1} ships in view on average; radar {} B",
            bytes as f64 / f64::from(n),
            in_view as f64 / f64::from(n),
            radar.len()
        );
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| black_box(room.tick())));
    }
    group.finish();
}

criterion_group!(benches, whole_tick);
criterion_main!(benches);
