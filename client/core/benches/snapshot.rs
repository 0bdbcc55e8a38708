//! Criterion bench of what a client (a browser tab or one of a thousand bots) does per tick: decode
//! a delta snapshot of a full view against the tick it acknowledged, build the view, and encode
//! the next input (which carries the acknowledgement). Every tenth tick also brings a batch of
//! reliable messages (a kill and the changed scores), as in a busy big room.
//!
//! Two figures: one client alone, its state always in the cache (a browser tab), and a thousand
//! clients taking turns (a bot process), each one's state cold by its next turn; the gap is what
//! the cold state costs. A third times the radar message a client gets once a second.
//!
//! Run: `cargo bench -p skirmish-client --bench snapshot`. The bots' budget is about 250 CPU-µs
//! per bot-second, about 8 µs per tick for everything a bot does.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use glam::{IVec2, Vec2};
use skirmish_client::{Client, Event};
use skirmish_shared::bits::BitWriter;
use skirmish_shared::delta::{self, BulletEnt, Frame, PickupEnt, ShipEnt};
use skirmish_shared::{
    Kill, OwnState, Phase, PlayerId, PlayerInfo, Radar, ScoreLine, ServerMsg, Snapshot, Welcome, encode_server,
};

/// Ticks of play pre-encoded per run of the client (10 s).
const TICKS: u64 = 300;
/// Ships in view (the target for a full view is 20–40).
const SHIPS_IN_VIEW: u32 = 35;
/// Players in the room, for the size of the score table.
const ROOM_PLAYERS: u32 = 1000;
const ME: PlayerId = 1;

/// A tiny deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u32) -> i32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(n)) as i32
    }
}

/// The frames a server sends one player over `TICKS` ticks: ships moving up to full speed (21
/// half units a tick), one leaving and another entering every 10 ticks, a bullet fired into view
/// about every other tick and living a second, three pickups.
fn play() -> Vec<Vec<u8>> {
    let mut rng = Lcg(3);
    let ship = |id: u32, rng: &mut Lcg| ShipEnt {
        id,
        pos: IVec2::new(10_000 + rng.below(2800), 10_000 + rng.below(2800)),
        aim: rng.below(256) as u8,
        health: 100,
        flags: 1,
    };
    let mut ships: Vec<ShipEnt> = (0..SHIPS_IN_VIEW).map(|i| ship(2 + i * 37, &mut rng)).collect();
    let mut vels: Vec<IVec2> = ships.iter().map(|_| IVec2::new(rng.below(43) - 21, rng.below(43) - 21)).collect();
    let mut bullets: Vec<BulletEnt> = Vec::new();
    let pickups: Vec<PickupEnt> =
        (0..3).map(|i| PickupEnt { id: i, kind: (i % 2) as u8, pos: IVec2::new(40_000 + i as i32, 40_000) }).collect();
    let mut next_bullet = 1;
    let mut prev = Frame::default();
    let mut out = vec![welcome(), batch(0)];
    for tick in 1..=TICKS {
        for (s, v) in ships.iter_mut().zip(&mut vels) {
            s.pos += *v;
            if rng.below(10) == 0 {
                *v = IVec2::new(rng.below(43) - 21, rng.below(43) - 21);
                s.aim = s.aim.wrapping_add(rng.below(9) as u8);
            }
        }
        if tick % 10 == 0 {
            let gone = rng.below(ships.len() as u32) as usize;
            ships.remove(gone);
            vels.remove(gone);
            let id = 5000 + tick as u32;
            ships.push(ship(id, &mut rng));
            vels.push(IVec2::ZERO);
            ships[SHIPS_IN_VIEW as usize / 2].health = ships[SHIPS_IN_VIEW as usize / 2].health.wrapping_sub(20) % 101;
        }
        bullets.retain(|b| tick - b.tick < 30);
        if tick % 2 == 0 {
            bullets.push(BulletEnt {
                id: next_bullet,
                owner: 2,
                origin: IVec2::new(20_000, 20_000),
                vel: IVec2::new(14_400, 0),
                tick,
                seq: 0,
            });
            next_bullet += 1;
        }
        let mut cur = Frame { tick, ships: ships.clone(), bullets: bullets.clone(), pickups: pickups.clone() };
        cur.ships.sort_unstable_by_key(|s| s.id);
        let mut w = BitWriter::new();
        // The player acknowledged the previous tick (a fast link): deltas against it.
        delta::encode(&mut w, tick, prev.lists(), cur.lists());
        let me = OwnState {
            id: ME,
            pos: IVec2::new(80_000 + tick as i32 * 40, 80_000),
            vel: IVec2::new(5120, 0),
            aim: 3,
            ack: tick as u32,
            health: 100,
            flags: 1,
            cooldown: 0,
            rapid_ticks: 0,
        };
        out.push(encode_server(&ServerMsg::Snapshot(Snapshot {
            tick,
            base: prev.tick,
            phase: Phase::Playing,
            time_left_ms: 100_000,
            me: Some(me),
            ents: w.as_bytes().to_vec(),
        })));
        if tick % 10 == 0 {
            out.push(batch(tick));
        }
        prev = cur;
    }
    out
}

fn welcome() -> Vec<u8> {
    let players = (1..=ROOM_PLAYERS)
        .map(|id| PlayerInfo { id, name: format!("bot-{id}"), colour: 0xff0000, spectator: false })
        .collect();
    encode_server(&ServerMsg::Welcome(Welcome {
        id: ME,
        arena: Vec2::splat(16_000.0),
        tick_rate: 30,
        colour: 0xff0000,
        room: "main".into(),
        players,
        spectator: false,
        rejoin: String::new(),
    }))
}

/// After `Welcome`, the whole score table; later, a kill and the two changed lines.
fn batch(tick: u64) -> Vec<u8> {
    if tick == 0 {
        let table = (1..=ROOM_PLAYERS).map(|id| ScoreLine { id, kills: 0, deaths: 0 }).collect();
        return encode_server(&ServerMsg::Scores(table));
    }
    let (killer, victim) = (2 + (tick as u32 % 30) * 37, 3);
    encode_server(&ServerMsg::Batch(vec![
        ServerMsg::Kill(Kill { killer, victim }),
        ServerMsg::Scores(vec![
            ScoreLine { id: killer, kills: tick as u16, deaths: 0 },
            ScoreLine { id: victim, kills: 0, deaths: tick as u16 },
        ]),
    ]))
}

fn per_tick(c: &mut Criterion) {
    let frames = play();
    let snapshots = frames.len() as u64 - 2 - TICKS / 10;
    assert_eq!(snapshots, TICKS);
    c.bench_function("snapshot_and_input", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                // A fresh client per run of the recorded play (untimed): ticks only go forward.
                let mut client = Client::new("bench", None);
                client.on_open();
                let mut events: Vec<Event> = Vec::new();
                client.on_message(&frames[0], 0.0, &mut events).expect("welcome");
                client.on_message(&frames[1], 0.0, &mut events).expect("scores");
                let start = Instant::now();
                let mut now = 0.0;
                for frame in &frames[2..] {
                    events.clear();
                    client.on_message(frame, now, &mut events).expect("accepted");
                    if let Some(Event::Snapshot { .. }) = events.first() {
                        now += 1000.0 / 30.0;
                        black_box(client.input(Vec2::X, 0.5, 0, now));
                    }
                }
                spent += start.elapsed();
                done += TICKS;
            }
            // Per tick: the time of `done` ticks scaled to the `iters` asked for.
            spent.mul_f64(iters as f64 / done as f64)
        })
    });
}

/// The same play for `CLIENTS` clients in turn, each taking its tick before the next takes its
/// own, as a bot process's thousand clients do: every client's state is cold by its next turn.
/// The figure is per client and tick.
fn per_tick_in_a_crowd(c: &mut Criterion) {
    const CLIENTS: usize = 1000;
    let frames = play();
    c.bench_function("snapshot_and_input_1000_clients", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut clients: Vec<(Client, Vec<Event>)> = (0..CLIENTS)
                    .map(|_| {
                        let mut client = Client::new("bench", None);
                        client.on_open();
                        let mut events: Vec<Event> = Vec::new();
                        client.on_message(&frames[0], 0.0, &mut events).expect("welcome");
                        client.on_message(&frames[1], 0.0, &mut events).expect("scores");
                        (client, events)
                    })
                    .collect();
                let start = Instant::now();
                let mut now = 0.0;
                for frame in &frames[2..] {
                    let mut snapshot = false;
                    for (client, events) in &mut clients {
                        events.clear();
                        client.on_message(frame, now, events).expect("accepted");
                        if let Some(Event::Snapshot { .. }) = events.first() {
                            snapshot = true;
                            black_box(client.input(Vec2::X, 0.5, 0, now + 1000.0 / 30.0));
                        }
                    }
                    if snapshot {
                        now += 1000.0 / 30.0;
                    }
                }
                spent += start.elapsed();
                done += TICKS * CLIENTS as u64;
            }
            spent.mul_f64(iters as f64 / done as f64)
        })
    });
}

/// A radar message of a 1000-player room on `expanse` (40 × 40 cells, 930 living ships at
/// random), as the client handles it once a second: decoded, unpacked and kept.
fn radar(c: &mut Criterion) {
    let mut rng = Lcg(11);
    let mut cells = vec![0u8; 1600];
    for _ in 0..930 {
        let cell = &mut cells[rng.below(1600) as usize];
        *cell = cell.saturating_add(1);
    }
    let frame = encode_server(&ServerMsg::Radar(Radar { width: 40, height: 40, cells }));
    let mut client = Client::new("bench", None);
    client.on_open();
    let mut events: Vec<Event> = Vec::new();
    client.on_message(&play()[0], 0.0, &mut events).expect("welcome");
    c.bench_function("radar_message", |b| {
        b.iter(|| {
            events.clear();
            client.on_message(black_box(&frame), 0.0, &mut events).expect("accepted");
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = per_tick, per_tick_in_a_crowd, radar
}
criterion_main!(benches);
