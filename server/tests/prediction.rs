//! Client-side prediction against the real server world: the client core's `Predictor` steps
//! its inputs through `shared::sim::step_ship` over the whole map, the server's `World` through
//! its obstacle grid; after every reconciliation the prediction must equal, to the bit, the
//! state the server reaches once it has applied the same inputs.
//!
//! The link is modelled tick by tick: inputs reach the server a constant number of ticks after
//! they are sent (so it applies exactly one per tick, as on a clean link), snapshots come back
//! after a random delay or not at all, in order (a snapshot overtaken by a newer one is
//! dropped, as latest-wins does).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use glam::{IVec2, Vec2};
use proptest::prelude::*;
use skirmish_client::predict::{Predictor, Terrain};
use skirmish_server::maps::MapList;
use skirmish_server::match_flow::MatchSettings;
use skirmish_server::world::World;
use skirmish_shared::delta::Frame;
use skirmish_shared::sim::ShipMotion;
use skirmish_shared::{Input, OwnState};

const ME: u32 = 1;
const TICK_MS: f64 = 1000.0 / 30.0;

/// What one run saw: every reconciled prediction with the seq of the newest input it includes,
/// the server's state after each seq, the corrections the client counted, and the shots: each
/// predicted one (by the input that fired it, as first predicted) and each bullet of ours the
/// server's frames showed.
struct Run {
    predictions: Vec<(u32, ShipMotion)>,
    server_after: BTreeMap<u32, ShipMotion>,
    corrections: u64,
    predicted_shots: BTreeMap<u32, (IVec2, IVec2)>,
    server_shots: BTreeMap<u32, (IVec2, IVec2)>,
    /// The first input sent while predicting (prediction starts with the first snapshot).
    predicting_from: u32,
}

/// One input: stick, aim, trigger.
type Control = (Vec2, f32, bool);

/// Plays `sticks` (one input per tick) over a link with `up` more ticks of constant latency and
/// per-snapshot downlink delays (`None`: lost).
fn play(sticks: &[Control], up: u64, down: &[Option<u64>]) -> Run {
    let maps = Arc::new(MapList::load(None, Some("expanse")).expect("built-in maps load"));
    let map = maps.get(maps.first()).clone();
    let settings = MatchSettings::new(Duration::ZERO, Duration::from_secs(3600), Duration::ZERO, 0, 1);
    let mut world = World::new(3, maps, settings);
    world.add_player(ME, "me");
    let terrain = Terrain { arena: map.size, obstacles: &map.obstacles };
    let mut predictor = Predictor::default();
    let mut in_flight_inputs: BTreeMap<u64, Input> = BTreeMap::new(); // by arrival tick
    let mut in_flight_snaps: Vec<(u64, OwnState)> = Vec::new(); // (arrival tick, state), in send order
    let mut newest_delivered = 0_u64;
    let mut run = Run {
        predictions: Vec::new(),
        server_after: BTreeMap::new(),
        corrections: 0,
        predicted_shots: BTreeMap::new(),
        server_shots: BTreeMap::new(),
        predicting_from: u32::MAX,
    };
    let mut frame = Frame::default();
    let mut last_sent = 0_u32;
    // The run ends with the last input: were the client to stop sending while the server goes
    // on, the server would (rightly) repeat its last input and the client would be corrected.
    for tick in 1..=sticks.len() as u64 {
        // The server's tick: the input due now (one per tick), then a snapshot.
        let inputs: Vec<_> = in_flight_inputs.remove(&tick).map(|i| (ME, i)).into_iter().collect();
        world.step(&inputs);
        let own = world.own_state(ME).expect("in the world");
        if let Some((_, input)) = inputs.first() {
            run.server_after.insert(input.seq, ShipMotion { pos: own.pos, vel: own.vel });
        }
        world.frame_into(&mut frame);
        for b in frame.bullets.iter().filter(|b| b.owner == ME) {
            run.server_shots.entry(b.seq).or_insert((b.origin, b.vel));
        }
        if let Some(Some(delay)) = down.get(tick as usize % down.len().max(1)) {
            in_flight_snaps.push((tick + delay, own));
        }
        // The client: snapshots arriving now (in order; overtaken ones dropped), then its input.
        let now_ms = tick as f64 * TICK_MS;
        let mut arrived: Vec<_> = in_flight_snaps.iter().filter(|(at, _)| *at <= tick).map(|(_, s)| *s).collect();
        in_flight_snaps.retain(|(at, _)| *at > tick);
        arrived.sort_by_key(|s| s.ack);
        if let Some(own) = arrived.last().filter(|s| u64::from(s.ack) >= newest_delivered) {
            newest_delivered = u64::from(own.ack);
            predictor.reconcile(own, |_| false, true, now_ms, terrain);
            run.predictions.push((last_sent, predictor.state().expect("predicting")));
        }
        if let Some(&(mv, aim, fire)) = sticks.get(tick as usize - 1) {
            let seq = tick as u32;
            let input = Input { seq, mv, aim, buttons: if fire { Input::FIRE } else { 0 }, ack: 0, view_tick: 0 };
            if predictor.state().is_some() {
                run.predicting_from = run.predicting_from.min(seq);
            }
            predictor.on_input(&input, now_ms, terrain);
            last_sent = seq;
            // Sent after this tick's step: the earliest a tick can apply it is the next.
            in_flight_inputs.insert(tick + 1 + up, input);
        }
        for shot in predictor.shots() {
            run.predicted_shots.entry(shot.seq).or_insert((shot.origin, shot.vel));
        }
    }
    run.corrections = predictor.corrections;
    run
}

fn control() -> impl Strategy<Value = Control> {
    let stick = prop_oneof![
        Just(Vec2::ZERO),
        (-1.0f32..=1.0, -1.0f32..=1.0).prop_map(|(x, y)| Vec2::new(x, y)),
        (0..8).prop_map(|k| Vec2::from_angle(k as f32 * std::f32::consts::FRAC_PI_4)),
    ];
    (stick, -3.2f32..3.2, prop::bool::weighted(0.4))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reconciled_prediction_equals_the_server_to_the_bit(
        sticks in prop::collection::vec(control(), 30..240),
        up in 0u64..8,
        down in prop::collection::vec(prop_oneof![3 => (0u64..10).prop_map(Some), 1 => Just(None)], 1..40),
    ) {
        let run = play(&sticks, up, &down);
        let mut compared = 0;
        // Predictions that include inputs the server had not applied when the run ended can't
        // be checked; all the others are.
        for (seq, predicted) in &run.predictions {
            if let Some(server) = run.server_after.get(seq) {
                prop_assert_eq!(predicted, server, "after input {}", seq);
                compared += 1;
            }
        }
        prop_assert!(compared > 0 || run.predictions.len() < 2, "{} predictions, none checked", run.predictions.len());
        // One input a tick, applied in order: the replay always lands on the prediction.
        prop_assert_eq!(run.corrections, 0);
        // Every bullet of ours the server showed was predicted, from the same input, exactly.
        for (seq, launch) in run.server_shots.range(run.predicting_from..) {
            prop_assert_eq!(run.predicted_shots.get(seq), Some(launch), "shot of input {}", seq);
        }
        // And every shot predicted for an input the server applied, it fired (unless the
        // bullet hit a wall within its first tick, before any frame could show it).
        let applied = run.server_after.keys().copied().max().unwrap_or(0);
        let unseen = run.predicted_shots.keys().filter(|s| **s <= applied && !run.server_shots.contains_key(s)).count();
        prop_assert!(unseen <= run.predicted_shots.len() / 10 + 1, "{} predicted shots never fired", unseen);
    }
}

#[test]
fn constant_latency_without_loss_makes_no_corrections() {
    let sticks: Vec<Control> =
        (0..600).map(|i| (Vec2::from_angle(i as f32 * 0.05), i as f32 * 0.1, i % 3 == 0)).collect();
    let run = play(&sticks, 3, &[Some(3)]);
    assert!(run.predictions.len() > 500, "{}", run.predictions.len());
    assert_eq!(run.corrections, 0);
    let checked = run.predictions.iter().filter(|(seq, p)| run.server_after.get(seq) == Some(p)).count();
    assert!(checked > 500, "{checked}");
    assert!(run.server_shots.len() > 50, "{}", run.server_shots.len());
    for (seq, launch) in run.server_shots.range(run.predicting_from..) {
        assert_eq!(run.predicted_shots.get(seq), Some(launch), "shot of input {seq}");
    }
}

#[test]
fn an_input_the_server_never_applied_is_corrected() {
    // The server misses input 10 (lost to a full buffer): from then on it is one input short
    // and the client's replay, which still counts it, must be corrected back.
    let sticks = vec![Vec2::X; 60];
    let maps = Arc::new(MapList::load(None, Some("arena")).expect("built-in maps load"));
    let map = maps.get(maps.first()).clone();
    let settings = MatchSettings::new(Duration::ZERO, Duration::from_secs(3600), Duration::ZERO, 0, 1);
    let mut world = World::new(3, maps, settings);
    world.add_player(ME, "me");
    let terrain = Terrain { arena: map.size, obstacles: &map.obstacles };
    let mut predictor = Predictor::default();
    world.step(&[]);
    predictor.reconcile(&world.own_state(ME).unwrap(), |_| false, true, 0.0, terrain);
    for (i, mv) in sticks.iter().enumerate() {
        let seq = i as u32 + 1;
        predictor.on_input(&Input { seq, mv: *mv, ..Input::default() }, 0.0, terrain);
        let inputs = if seq == 10 { vec![] } else { vec![(ME, Input { seq, mv: *mv, ..Input::default() })] };
        world.step(&inputs);
        predictor.reconcile(&world.own_state(ME).unwrap(), |_| false, true, 0.0, terrain);
    }
    assert!(predictor.corrections >= 1);
    let server = world.own_state(ME).unwrap();
    assert_eq!(predictor.state(), Some(ShipMotion { pos: server.pos, vel: server.vel }));
}
