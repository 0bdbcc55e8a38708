//! Rules of the game, driven tick by tick with a seeded world on small hand-made maps.

use skirmish_shared::consts::{RESULTS_MAX_LINES, SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS, TICK_DT};
use skirmish_shared::tuning::{
    BULLET_DAMAGE, BULLET_LIFETIME_TICKS, BULLET_SPEED, FIRE_COOLDOWN_TICKS, PICKUP_HEALTH_AMOUNT,
    PICKUP_SPAWN_INTERVAL_TICKS, RAPID_FIRE_COOLDOWN_TICKS, RAPID_FIRE_TICKS, RESPAWN_DELAY_TICKS, SHIP_RADIUS,
    SPAWN_CLEARANCE,
};
use skirmish_shared::{Kill, Rect};

use super::*;

const A: PlayerId = 1;
const B: PlayerId = 2;
const C: PlayerId = 3;

/// Match settings for rules tests: no countdown, a long match, a short results phase.
fn settings(min_players: usize) -> MatchSettings {
    MatchSettings { countdown_ticks: 0, match_ticks: 9000, results_ticks: 30, score_limit: 20, min_players }
}

/// 1000×600, no obstacles, a spawn at each end and one pickup spot at the top.
fn duel(name: &str) -> Map {
    Map {
        name: name.into(),
        size: Vec2::new(1000.0, 600.0),
        obstacles: Vec::new(),
        spawns: vec![Vec2::new(200.0, 300.0), Vec2::new(800.0, 300.0)],
        pickups: vec![Vec2::new(500.0, 60.0)],
    }
}

fn world(map: Map, settings: MatchSettings) -> World {
    World::new(7, Arc::new(MapList::single(map)), settings)
}

/// A playing world with ships A and B placed at `a` and `b`.
fn duel_world(a: Vec2, b: Vec2) -> World {
    let mut w = world(duel("duel"), settings(2));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Playing);
    w.place(A, a);
    w.place(B, b);
    w.events.clear();
    w
}

fn input(seq: u32, mv: Vec2, aim: f32, fire: bool) -> Input {
    Input { seq, mv, aim, buttons: if fire { Input::FIRE } else { 0 }, ..Input::default() }
}

/// The world as v2 snapshots showed it, for rules tests that read every ship, bullet and pickup.
#[derive(Debug, Default)]
struct Snapshot {
    tick: u64,
    phase: Phase,
    time_left_ms: u32,
    players: Vec<PlayerState>,
    bullets: Vec<Bullet>,
    pickups: Vec<Pickup>,
}

impl World {
    /// Puts a ship at `pos`, at rest.
    fn place(&mut self, id: PlayerId, pos: Vec2) {
        let i = self.ships.binary_search_by_key(&id, |s| s.id).unwrap();
        self.ships[i].motion = ShipMotion::at(pos);
        self.ship_grid_fresh = false;
    }

    fn snapshot_into(&self, tick: u64, out: &mut Snapshot) {
        out.tick = tick;
        out.phase = self.phase();
        out.time_left_ms = self.time_left_ms();
        out.players = self.ships.iter().map(Ship::state).collect();
        out.bullets = self.bullets.clone();
        out.pickups = self.pickups.clone();
    }

    fn ship_mut(&mut self, id: PlayerId) -> &mut Ship {
        let i = self.ships.binary_search_by_key(&id, |s| s.id).unwrap();
        &mut self.ships[i]
    }

    fn state(&self, id: PlayerId) -> PlayerState {
        self.player_state(id).unwrap()
    }

    fn drain(&mut self) -> Vec<GameEvent> {
        let mut out = Vec::new();
        self.take_events(&mut out);
        out
    }

    fn shots_fired(&self) -> u32 {
        self.next_bullet_id - 1
    }
}

/// A holds fire aimed at +x (at B in `duel_world`) for `ticks` ticks.
fn a_fires(w: &mut World, ticks: u32, seq: &mut u32) {
    for _ in 0..ticks {
        *seq += 1;
        w.step(&[(A, input(*seq, Vec2::ZERO, 0.0, true))]);
    }
}

#[test]
fn inputs_move_their_own_ship_only() {
    let mut w = world(duel("duel"), settings(3));
    let a0 = w.add_player(A, "Ada");
    let b0 = w.add_player(B, "Bob");
    for seq in 1..=10 {
        w.step(&[(A, input(seq, Vec2::new(0.0, 1.0), 0.0, false))]);
    }
    assert!(w.position(A).unwrap().y > a0.y);
    assert_eq!(w.position(B).unwrap(), b0);
}

#[test]
fn input_persists_and_ack_is_the_last_consumed() {
    let mut w = world(duel("duel"), settings(3));
    let start = w.add_player(5, "Eve");
    w.step(&[(5, Input { seq: 3, mv: Vec2::new(0.0, 1.0), aim: 0.5, buttons: 0, ..Input::default() })]);
    let after_one = w.position(5).unwrap();
    w.step(&[]);
    assert!(w.position(5).unwrap().y > after_one.y, "input stays in force");
    let mut snap = Snapshot::default();
    w.snapshot_into(9, &mut snap);
    assert_eq!(snap.tick, 9);
    assert_eq!(snap.players.len(), 1);
    let me = snap.players[0];
    assert_eq!((me.ack, me.aim, me.health, me.flags), (3, 0.5, SHIP_MAX_HEALTH, PlayerState::ALIVE));
    assert!(me.pos.y > start.y);
    assert_eq!((snap.phase, snap.time_left_ms), (Phase::Waiting, 0));
}

#[test]
fn snapshots_are_sorted_and_removal_works() {
    let mut w = world(duel("duel"), settings(9));
    for id in [5, 1, 3] {
        w.add_player(id, "x");
    }
    w.remove_player(3);
    w.remove_player(42);
    let mut snap = Snapshot::default();
    w.snapshot_into(0, &mut snap);
    assert_eq!(snap.players.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 5]);
}

#[test]
fn spawns_are_map_points_free_first_and_seeded() {
    let map = Map { spawns: (0..8).map(|i| Vec2::new(100.0 + 100.0 * i as f32, 300.0)).collect(), ..duel("wide") };
    let (mut a, mut b) = (world(map.clone(), settings(99)), world(map.clone(), settings(99)));
    for id in 0..30 {
        let p = a.add_player(id, "x");
        assert_eq!(p, b.add_player(id, "x"), "same seed, same spawns");
        assert!(map.spawns.contains(&p), "{p} is a spawn point");
    }
    // Two spawn points 400 apart: the second ship always gets the one away from the first.
    for seed in 0..20 {
        let mut w = World::new(seed, Arc::new(MapList::single(duel("duel"))), settings(99));
        let first = w.add_player(A, "Ada");
        let second = w.add_player(B, "Bob");
        assert!(first.distance(second) >= SPAWN_CLEARANCE, "seed {seed}: {first} and {second}");
    }
}

#[test]
fn when_every_spawn_is_taken_the_freest_is_chosen() {
    let map = Map {
        spawns: vec![Vec2::new(100.0, 300.0), Vec2::new(160.0, 300.0), Vec2::new(400.0, 300.0)],
        ..duel("crowded")
    };
    let mut w = world(map, settings(99));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.place(A, Vec2::new(100.0, 300.0));
    w.place(B, Vec2::new(400.0, 300.0));
    // Every point has a living ship within the clearance; 160 is farthest from both (60 and 240
    // away vs 0), so it wins.
    let p = w.pick_spawn();
    assert_eq!(p, Vec2::new(160.0, 300.0));
}

#[test]
fn firing_follows_the_cooldown_and_bullets_leave_the_nose_along_the_aim() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(900.0, 500.0));
    let aim = std::f32::consts::FRAC_PI_2; // straight down the screen (+y)
    w.step(&[(A, input(1, Vec2::ZERO, aim, true))]);
    assert_eq!(w.shots_fired(), 1);
    let bullet = w.bullets[0];
    assert_eq!(bullet.owner(), A);
    let vel = bullet.launch.vel_f();
    assert!((vel - Vec2::new(0.0, BULLET_SPEED)).length() < 1e-2, "{vel}");
    // Spawned at the nose, then moved one tick.
    let expected = Vec2::new(300.0, 300.0 + SHIP_RADIUS + BULLET_SPEED * TICK_DT);
    assert!((bullet.pos - expected).length() < 1e-2, "{} vs {expected}", bullet.pos);
    for _ in 0..(FIRE_COOLDOWN_TICKS * 4 - 1) {
        w.step(&[]);
    }
    assert_eq!(w.shots_fired(), 4, "one shot every {FIRE_COOLDOWN_TICKS} ticks while fire is held");
}

#[test]
fn bullets_damage_kill_and_credit_the_shooter() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(600.0, 300.0));
    let mut seq = 0;
    let mut last_health = SHIP_MAX_HEALTH;
    let mut hits = 0;
    while w.state(B).alive() {
        assert!(seq < 200, "B never died");
        a_fires(&mut w, 1, &mut seq);
        let health = w.state(B).health;
        if health != last_health {
            assert_eq!(health, last_health.saturating_sub(BULLET_DAMAGE), "one bullet, one hit");
            hits += 1;
            last_health = health;
        }
    }
    assert_eq!(hits, SHIP_MAX_HEALTH.div_ceil(BULLET_DAMAGE));
    let (a, b) = (w.state(A), w.state(B));
    assert_eq!((a.kills, a.deaths), (1, 0));
    assert_eq!((b.kills, b.deaths, b.health, b.flags), (0, 1, 0, 0));
    let at = w.position(B).unwrap();
    assert_eq!(w.drain(), [GameEvent::Kill(Kill { killer: A, victim: B }, at)], "where B died");
}

#[test]
fn the_dead_respawn_after_the_delay_at_a_spawn_point() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(600.0, 300.0));
    let mut seq = 0;
    while w.state(B).alive() {
        a_fires(&mut w, 1, &mut seq);
    }
    w.place(A, Vec2::new(500.0, 500.0));
    // Dead: inputs are acknowledged but move nothing, and the gun stays silent.
    let dead_at = w.position(B).unwrap();
    w.step(&[(A, input(seq + 1, Vec2::ZERO, 0.0, false))]);
    let fired = w.shots_fired();
    for i in 2..RESPAWN_DELAY_TICKS {
        w.step(&[(B, input(100 + i, Vec2::new(1.0, 0.0), 3.0, true))]);
        let b = w.state(B);
        assert!(!b.alive(), "still dead after {i} ticks");
        assert_eq!(b.ack, 100 + i, "acknowledged while dead");
        assert_eq!(b.pos, dead_at, "dead ships do not move");
    }
    assert_eq!(w.shots_fired(), fired, "dead ships do not fire");
    w.step(&[]);
    let b = w.state(B);
    assert!(b.alive(), "back after {RESPAWN_DELAY_TICKS} ticks");
    assert_eq!(b.health, SHIP_MAX_HEALTH);
    assert!(w.map.spawns.iter().any(|s| s.distance(b.pos) < 12.0), "at a spawn point: {}", b.pos);
    assert_eq!(b.deaths, 1, "the death still counts");
}

#[test]
fn nothing_is_scored_while_waiting() {
    let mut w = world(duel("duel"), settings(3));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.place(A, Vec2::new(300.0, 300.0));
    w.place(B, Vec2::new(600.0, 300.0));
    let mut seq = 0;
    while w.state(B).alive() {
        assert!(seq < 200);
        a_fires(&mut w, 1, &mut seq);
    }
    assert_eq!(w.phase(), Phase::Waiting);
    assert_eq!((w.state(A).kills, w.state(B).deaths), (0, 0), "no score outside a match");
    let at = w.position(B).unwrap();
    assert_eq!(w.drain(), [GameEvent::Kill(Kill { killer: A, victim: B }, at)], "the kill feed still shows it");
}

#[test]
fn bullets_stop_at_obstacles() {
    let wall = Rect { min: Vec2::new(440.0, 200.0), max: Vec2::new(460.0, 400.0) };
    let mut w = world(Map { obstacles: vec![wall], ..duel("walled") }, settings(2));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    w.place(A, Vec2::new(300.0, 300.0));
    w.place(B, Vec2::new(600.0, 300.0));
    w.step(&[(A, input(1, Vec2::ZERO, 0.0, true))]);
    w.step(&[(A, input(2, Vec2::ZERO, 0.0, false))]);
    let mut max_x: f32 = 0.0;
    for _ in 0..10 {
        w.step(&[]);
        max_x = w.bullets.iter().map(|b| b.pos.x).fold(max_x, f32::max);
    }
    assert!(w.bullets.is_empty(), "the bullet died at the wall, long before its lifetime");
    assert!(max_x < 440.0, "never past the wall's face: {max_x}");
    assert_eq!(w.state(B).health, SHIP_MAX_HEALTH, "B, behind the wall, is unhurt");
}

#[test]
fn bullets_fade_after_their_lifetime_and_die_at_the_edge() {
    let big = Map { size: Vec2::new(3000.0, 600.0), ..duel("long") };
    let mut w = world(big, settings(2));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    w.place(A, Vec2::new(100.0, 300.0));
    w.place(B, Vec2::new(2900.0, 100.0));
    w.step(&[(A, input(1, Vec2::ZERO, 0.0, true))]);
    w.step(&[(A, input(2, Vec2::ZERO, 0.0, false))]);
    let start = w.bullets[0].pos.x;
    let mut ticks = 2;
    while !w.bullets.is_empty() {
        w.step(&[]);
        ticks += 1;
        assert!(ticks <= BULLET_LIFETIME_TICKS);
    }
    assert_eq!(ticks, BULLET_LIFETIME_TICKS, "alive for exactly its lifetime");
    assert!(start < 200.0);

    // Aimed at the edge from close by, a bullet dies there instead.
    w.place(A, Vec2::new(100.0, 100.0));
    w.step(&[(A, input(3, Vec2::ZERO, -std::f32::consts::FRAC_PI_2, true))]);
    for _ in 0..3 {
        w.step(&[(A, input(4, Vec2::ZERO, 0.0, false))]);
    }
    assert!(w.bullets.is_empty(), "gone through the top edge");
}

#[test]
fn ships_slide_along_obstacles_through_the_shared_sim() {
    let wall = Rect { min: Vec2::new(500.0, 100.0), max: Vec2::new(540.0, 500.0) };
    let mut w = world(Map { obstacles: vec![wall], ..duel("walled") }, settings(9));
    w.add_player(A, "Ada");
    w.place(A, Vec2::new(400.0, 300.0));
    for seq in 1..=60 {
        w.step(&[(A, input(seq, Vec2::new(1.0, 0.0), 0.0, false))]);
    }
    let p = w.position(A).unwrap();
    assert!((p.x - (500.0 - SHIP_RADIUS)).abs() < 1e-3, "stopped at the wall: {p}");
}

#[test]
fn pickups_appear_on_free_spots_on_the_interval() {
    let mut w = world(duel("duel"), settings(9));
    w.add_player(A, "Ada");
    for _ in 0..PICKUP_SPAWN_INTERVAL_TICKS - 1 {
        w.step(&[]);
    }
    assert!(w.pickups.is_empty());
    w.step(&[]);
    assert_eq!(w.pickups.len(), 1);
    assert_eq!(w.pickups[0].pos, w.map.pickups[0]);
    for _ in 0..PICKUP_SPAWN_INTERVAL_TICKS * 2 {
        w.step(&[]);
    }
    assert_eq!(w.pickups.len(), 1, "one pickup per spot");
    let mut snap = Snapshot::default();
    w.snapshot_into(0, &mut snap);
    assert_eq!(snap.pickups.len(), 1);
}

#[test]
fn health_pickups_heal_up_to_the_cap_and_wait_for_someone_hurt() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(800.0, 300.0));
    let spot = Vec2::new(500.0, 60.0);
    w.pickups.push(Pickup { id: 1, kind: PickupKind::Health, spot: 0, pos: spot });
    w.place(B, spot);
    w.step(&[]);
    assert_eq!(w.pickups.len(), 1, "a ship at full health leaves it");
    w.ship_mut(B).health = SHIP_MAX_HEALTH - 10;
    w.step(&[]);
    assert!(w.pickups.is_empty(), "taken");
    assert_eq!(w.state(B).health, SHIP_MAX_HEALTH, "capped, not {}", SHIP_MAX_HEALTH - 10 + PICKUP_HEALTH_AMOUNT);
    w.pickups.push(Pickup { id: 2, kind: PickupKind::Health, spot: 0, pos: spot });
    w.ship_mut(B).health = 20;
    w.step(&[]);
    assert_eq!(w.state(B).health, 20 + PICKUP_HEALTH_AMOUNT);
}

#[test]
fn rapid_fire_shortens_the_cooldown_for_a_while() {
    let mut w = duel_world(Vec2::new(300.0, 100.0), Vec2::new(800.0, 500.0));
    let mut seq = 0;
    a_fires(&mut w, 20, &mut seq);
    let normal = w.shots_fired();
    assert_eq!(normal, 20 / FIRE_COOLDOWN_TICKS);
    w.pickups.push(Pickup { id: 1, kind: PickupKind::RapidFire, spot: 0, pos: Vec2::new(300.0, 100.0) });
    w.step(&[(A, input(99, Vec2::ZERO, 0.0, false))]);
    assert!(w.pickups.is_empty());
    assert_eq!(w.state(A).flags, PlayerState::ALIVE | PlayerState::RAPID_FIRE);
    let before = w.shots_fired();
    a_fires(&mut w, 20, &mut seq);
    assert_eq!(w.shots_fired() - before, 20 / RAPID_FIRE_COOLDOWN_TICKS);
    for _ in 0..RAPID_FIRE_TICKS {
        w.step(&[]);
    }
    assert_eq!(w.state(A).flags, PlayerState::ALIVE, "rapid fire wears off");
}

#[test]
fn a_match_runs_waiting_countdown_playing_results_then_the_next_map() {
    let maps = MapList::new(vec![duel("one"), duel("two")], None).unwrap();
    let settings =
        MatchSettings { countdown_ticks: 3, match_ticks: 30, results_ticks: 6, score_limit: 20, min_players: 2 };
    let mut w = World::new(3, Arc::new(maps), settings);
    w.add_player(A, "Ada");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Waiting);
    assert!(w.drain().is_empty());

    w.add_player(B, "Bob");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Countdown);
    let events = w.drain();
    assert!(matches!(&events[..], [GameEvent::Match(m)] if m.phase == Phase::Countdown && m.map.name == "one"));
    let mut snap = Snapshot::default();
    w.snapshot_into(0, &mut snap);
    assert_eq!((snap.phase, snap.time_left_ms), (Phase::Countdown, 100));

    // Frozen: inputs are taken (and acknowledged) but nothing moves or fires.
    let a0 = w.position(A).unwrap();
    for seq in 1..=2 {
        w.step(&[(A, input(seq, Vec2::new(1.0, 1.0), 0.0, true))]);
        assert_eq!(w.position(A).unwrap(), a0, "frozen during the countdown");
        assert_eq!(w.state(A).ack, seq, "acknowledged during the countdown");
    }
    assert_eq!(w.shots_fired(), 0);
    w.step(&[(A, input(3, Vec2::ZERO, 0.0, false))]);
    assert_eq!(w.phase(), Phase::Playing);
    assert!(matches!(&w.drain()[..], [GameEvent::Match(m)] if m.phase == Phase::Playing && m.match_secs == 1));
    w.snapshot_into(0, &mut snap);
    assert_eq!((snap.phase, snap.time_left_ms), (Phase::Playing, 1000));

    // The clock ends the match.
    for _ in 0..29 {
        w.step(&[]);
    }
    assert_eq!(w.phase(), Phase::Playing);
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Results);
    let events = w.drain();
    assert!(matches!(&events[0], GameEvent::Match(m) if m.phase == Phase::Results && m.map.name == "one"));
    let GameEvent::Results(results) = &events[1] else { panic!("results after the phase change: {events:?}") };
    assert_eq!(results.next_map, "two");
    assert_eq!(results.scores.iter().map(|s| s.id).collect::<Vec<_>>(), [A, B], "a 0-0 tie: who joined first");
    assert_eq!(results.winner, None, "nobody killed: no winner");

    // Results: frozen, inputs still acknowledged.
    let a1 = w.position(A).unwrap();
    for seq in 10..15 {
        w.step(&[(A, input(seq, Vec2::new(1.0, 0.0), 0.0, true))]);
        assert_eq!((w.position(A).unwrap(), w.state(A).ack), (a1, seq));
    }
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Countdown, "enough players: the next countdown");
    assert_eq!(w.map().name, "two");
    assert!(matches!(&w.drain()[..], [GameEvent::Match(m)] if m.phase == Phase::Countdown && m.map.name == "two"));
}

#[test]
fn the_score_limit_ends_the_match_with_the_winner_first() {
    let mut w = world(duel("duel"), MatchSettings { score_limit: 1, ..settings(2) });
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.add_player(C, "Cy");
    w.step(&[]);
    w.place(A, Vec2::new(300.0, 300.0));
    w.place(B, Vec2::new(600.0, 300.0));
    w.place(C, Vec2::new(900.0, 550.0));
    w.drain();
    let mut seq = 0;
    while w.phase() == Phase::Playing {
        assert!(seq < 200, "the match never ended");
        a_fires(&mut w, 1, &mut seq);
    }
    assert_eq!(w.phase(), Phase::Results);
    let events = w.drain();
    assert!(matches!(events[0], GameEvent::Kill(Kill { killer: A, victim: B }, _)), "{events:?}");
    let GameEvent::Results(results) = &events[2] else { panic!("{events:?}") };
    assert_eq!(results.winner, Some(A));
    let order: Vec<_> = results.scores.iter().map(|s| (s.name.as_str(), s.kills, s.deaths)).collect();
    assert_eq!(order, [("Ada", 1, 0), ("Cy", 0, 0), ("Bob", 0, 1)], "kills, then fewer deaths");
    assert!(w.bullets.is_empty(), "no shot lands after the end");
}

#[test]
fn acks_keep_coming_in_every_phase_and_state() {
    let settings =
        MatchSettings { countdown_ticks: 5, match_ticks: 60, results_ticks: 5, score_limit: 1, min_players: 2 };
    let mut w = world(duel("duel"), settings);
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    let mut seq = 0;
    let mut phases = Vec::new();
    let mut b_dead = false;
    for tick in 0..400 {
        seq += 1;
        if w.phase() == Phase::Playing && w.state(B).alive() {
            w.place(A, Vec2::new(300.0, 300.0));
            w.place(B, Vec2::new(600.0, 300.0));
        }
        w.step(&[(A, input(seq, Vec2::ZERO, 0.0, true)), (B, input(seq, Vec2::ZERO, 0.0, false))]);
        b_dead |= !w.state(B).alive();
        assert_eq!((w.state(A).ack, w.state(B).ack), (seq, seq), "tick {tick} in {:?}", w.phase());
        if phases.last() != Some(&w.phase()) {
            phases.push(w.phase());
        }
    }
    assert!(b_dead, "B was acknowledged while dead");
    assert!(phases.starts_with(&[Phase::Countdown, Phase::Playing, Phase::Results, Phase::Countdown]), "{phases:?}");
}

#[test]
fn joiners_mid_match_play_at_once_and_leavers_stay_in_the_results() {
    let mut w = world(duel("duel"), MatchSettings { match_ticks: 10, ..settings(2) });
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Playing);
    w.add_player(C, "Cy");
    assert!(w.state(C).alive());
    let c0 = w.position(C).unwrap();
    w.step(&[(C, input(1, Vec2::new(0.0, 1.0), 0.0, false))]);
    assert_ne!(w.position(C).unwrap(), c0, "moves at once");
    w.ship_mut(B).kills = 3;
    w.place(B, Vec2::new(500.0, 450.0));
    w.step(&[(B, input(1, Vec2::ZERO, 0.0, true))]);
    assert!(!w.bullets.is_empty());
    w.remove_player(B);
    assert!(w.bullets.is_empty(), "a leaver's bullets go with them");
    while w.phase() == Phase::Playing {
        w.step(&[]);
    }
    let Some(GameEvent::Results(results)) = w.drain().pop() else { panic!("results last") };
    assert_eq!(results.winner, Some(B), "the leader who left still wins");
    assert_eq!(results.scores.len(), 3);
    assert_eq!(results.scores[0].name, "Bob");
}

#[test]
fn leavers_kept_for_the_results_are_bounded_and_the_best_of_them_stay() {
    let mut w = world(duel("duel"), MatchSettings { match_ticks: 10, ..settings(2) });
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Playing);
    // A storm of short visits: most never scored, some died once, one killed twice.
    for id in 100..100 + 3 * MAX_DEPARTED as u32 {
        w.add_player(id, "Visitor");
        let ship = w.ship_mut(id);
        ship.deaths = u16::from(id % 2 == 0);
        ship.kills = if id == 250 { 2 } else { 0 };
        w.remove_player(id);
    }
    assert_eq!(w.departed.len(), MAX_DEPARTED, "bounded");
    assert!(w.departed.iter().all(|d| d.score.kills > 0 || d.score.deaths > 0), "nobody who never scored");
    assert!(w.departed.iter().any(|d| d.score.id == 250), "the best leaver stays");
    while w.phase() == Phase::Playing {
        w.step(&[]);
    }
    let Some(GameEvent::Results(results)) = w.drain().pop() else { panic!("results last") };
    // The two players and the kept leavers compete for the results' lines; the best win.
    assert_eq!(results.scores.len(), RESULTS_MAX_LINES.min(MAX_DEPARTED + 2));
    assert_eq!(results.scores[0].id, 250);
}

/// Found by an outside attack: a player about to die could drop its connection, and its ship,
/// taken out of the world while the seat waited, let the killing bullets through; the player
/// came back at the same place with the same health. The ship now stays while its player is
/// away: it coasts to rest, holds its fire, and is hit and killed like any other.
#[test]
fn a_ship_whose_player_is_away_stays_in_the_world_and_can_be_killed() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(600.0, 300.0));
    let mut seq = 0;
    // A fires; B, moving and firing too, drops its connection with the bullets on their way.
    w.step(&[(A, input(1, Vec2::ZERO, 0.0, true)), (B, input(1, Vec2::new(0.0, 0.3), 3.0, true))]);
    seq += 1;
    assert!(w.leave_seat(B), "B has a ship");
    assert_eq!(w.ship_mut(B).input, Input { aim: 3.0, ..Input::default() }, "its aim, no stick, no fire");
    let fired_by_b = |w: &World| w.bullets.iter().filter(|b| b.owner() == B).count();
    let b_bullets = fired_by_b(&w);
    while w.state(B).alive() {
        assert!(seq < 200, "B was never killed while away");
        a_fires(&mut w, 1, &mut seq);
        assert!(fired_by_b(&w) <= b_bullets, "an away ship holds its fire");
    }
    let (a, b) = (w.state(A), w.state(B));
    assert_eq!((a.kills, b.deaths), (1, 1), "the kill counts");
    assert!(w.drain().iter().any(|e| matches!(e, GameEvent::Kill(Kill { killer: A, victim: B }, _))));
    // Dead and away, it waits for its player, past the respawn delay.
    for _ in 0..RESPAWN_DELAY_TICKS * 2 {
        w.step(&[]);
    }
    assert!(!w.state(B).alive(), "no respawn while its player is away");
    w.return_to_seat(B);
    w.step(&[]);
    let b = w.state(B);
    assert!(b.alive() && b.health == SHIP_MAX_HEALTH && b.deaths == 1, "back, it respawns: {b:?}");
    assert!(w.map.spawns.iter().any(|s| s.distance(b.pos) < 12.0), "at a spawn point: {}", b.pos);
}

/// An away ship alive coasts to rest under drag where it was, and its player takes it back as
/// it is then, with no input in force until the new connection's first.
#[test]
fn an_away_ship_coasts_to_rest_and_its_player_takes_it_back_as_it_is() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(640.0, 420.0));
    let b = w.ship_mut(B);
    (b.health, b.cooldown, b.rapid_ticks, b.kills, b.deaths) = (BULLET_DAMAGE, 3, 40, 1, 2);
    b.motion.vel = IVec2::new(160, -80);
    b.input = input(9, Vec2::X, 1.25, true);
    w.leave_seat(B);
    for _ in 0..90 {
        w.step(&[]);
    }
    let away = w.state(B);
    assert_eq!(away.vel, Vec2::ZERO, "drag brought it to rest");
    assert!(away.alive() && away.health == BULLET_DAMAGE && (away.kills, away.deaths) == (1, 2), "{away:?}");
    w.return_to_seat(B);
    w.step(&[]);
    let back = w.state(B);
    assert_eq!((back.pos, back.health, back.ack), (away.pos, BULLET_DAMAGE, 0), "as it was, nothing acknowledged");
    assert_eq!(w.ship_mut(B).input, Input { aim: 1.25, ..Input::default() }, "facing as it did, under no input");
    w.step(&[(B, input(1, Vec2::X, 1.25, false))]);
    assert_eq!(w.own_state(B).expect("B plays").ack, 1, "the new connection's inputs from seq 1");
    assert!(!w.leave_seat(999), "no ship, no seat");
    w.return_to_seat(999);
}

#[test]
fn a_connection_taking_over_a_ship_starts_with_no_input_in_force() {
    let mut w = duel_world(Vec2::new(300.0, 300.0), Vec2::new(640.0, 420.0));
    w.step(&[(B, input(30, Vec2::X, -0.5, true))]);
    assert_eq!(w.own_state(B).expect("B plays").ack, 30);
    w.reset_input(B);
    assert_eq!(w.ship_mut(B).input, Input { aim: -0.5, ..Input::default() }, "its aim, no stick, no fire");
    let bullets = w.bullets.len();
    for _ in 0..60 {
        w.step(&[]);
    }
    let b = w.own_state(B).expect("B plays");
    assert_eq!((b.ack, b.vel), (0, IVec2::ZERO), "nothing acknowledged yet, and drag brought it to rest");
    assert!(w.bullets.len() <= bullets, "it held its fire");
    w.reset_input(999);
}

/// A playing world where the first kill ends the match, A at (300, 300) aiming along +x at B at
/// (600, 300), and the next match follows a tick after the results.
fn one_kill_match() -> World {
    let mut w = world(duel("duel"), MatchSettings { results_ticks: 1, score_limit: 1, ..settings(2) });
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    w.place(A, Vec2::new(300.0, 300.0));
    w.place(B, Vec2::new(600.0, 300.0));
    w
}

/// A ship whose player is away makes no match (the room waits as without it), and a match that
/// begins without its player leaves it dead, waiting, with the new match's score of 0.
#[test]
fn an_away_player_makes_no_match_and_a_new_match_leaves_its_ship_waiting() {
    let mut w = one_kill_match();
    w.ship_mut(B).kills = 3;
    w.leave_seat(B);
    let mut seq = 0;
    w.add_player(C, "Cy");
    w.place(C, Vec2::new(600.0, 300.0));
    while w.phase() == Phase::Playing {
        a_fires(&mut w, 1, &mut seq);
    }
    while w.phase() != Phase::Playing {
        w.step(&[]);
    }
    let b = w.state(B);
    assert!(!b.alive() && (b.kills, b.deaths) == (0, 0), "dead, waiting, scored afresh: {b:?}");
    assert!(w.state(C).alive(), "the others respawned");

    let mut w = world(duel("duel"), settings(2));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.leave_seat(B);
    for _ in 0..10 {
        w.step(&[]);
    }
    assert_eq!(w.phase(), Phase::Waiting, "one player here, one away: not enough");
    w.return_to_seat(B);
    w.step(&[]);
    assert_ne!(w.phase(), Phase::Waiting, "both here: the match begins");
}

/// Found by an outside attack: a player lost during the countdown (after it had respawned
/// everyone) left its ship alive at its spawn point for the whole match, a free kill. The match
/// begins with it dead, waiting; and a player back during a countdown stands fresh at a spawn
/// point like everyone else, rather than dead until play begins.
#[test]
fn a_match_never_begins_with_an_away_ship_alive_and_one_back_in_the_countdown_stands_fresh() {
    let countdown = MatchSettings { countdown_ticks: 5, ..settings(2) };
    let mut w = world(duel("duel"), countdown);
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.add_player(C, "Cy");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Countdown);
    w.leave_seat(B);
    assert!(w.state(B).alive(), "respawned when the countdown began, before it left");
    while w.phase() == Phase::Countdown {
        w.step(&[]);
    }
    assert!(!w.state(B).alive(), "taken out of play as the match begins");
    for _ in 0..RESPAWN_DELAY_TICKS * 2 {
        w.step(&[]);
    }
    assert!(!w.state(B).alive() && w.state(B).deaths == 0, "waiting for its player, no death counted");

    // Away through the next countdown, back during it: it stands fresh at a spawn point.
    let mut w = world(duel("duel"), countdown);
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.leave_seat(B);
    w.add_player(C, "Cy");
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Countdown, "two players here");
    assert!(!w.state(B).alive(), "away as the countdown began: dead, waiting");
    w.return_to_seat(B);
    let b = w.state(B);
    assert!(b.alive() && b.health == SHIP_MAX_HEALTH && w.map.spawns.contains(&b.pos), "{b:?}");
}

#[test]
fn a_new_match_resets_scores_and_respawns_everyone() {
    let mut w = one_kill_match();
    let mut seq = 0;
    while w.phase() == Phase::Playing {
        a_fires(&mut w, 1, &mut seq);
    }
    assert_eq!(w.state(A).kills, 1);
    w.step(&[]);
    assert_eq!(w.phase(), Phase::Playing, "results over, zero countdown: playing again");
    for id in [A, B] {
        let s = w.state(id);
        assert_eq!((s.kills, s.deaths, s.health), (0, 0, SHIP_MAX_HEALTH));
        assert!(s.alive() && w.map.spawns.contains(&s.pos), "{id} fresh at a spawn point");
    }
}

#[test]
fn the_same_seed_and_inputs_replay_the_same_game() {
    let run = || {
        let mut w = world(duel("duel"), settings(2));
        let mut snap = Snapshot::default();
        let mut trace = Vec::new();
        for id in 1..=4 {
            w.add_player(id, "x");
        }
        for seq in 1..=900u32 {
            let inputs: Vec<_> = (1..=4u32)
                .map(|id| {
                    let t = (seq * id) as f32 * 0.05;
                    (id, input(seq, Vec2::new(t.sin(), t.cos()), t, (seq + id) % 3 == 0))
                })
                .collect();
            w.step(&inputs);
            w.snapshot_into(u64::from(seq), &mut snap);
            trace.push(format!("{snap:?}"));
        }
        trace
    };
    assert_eq!(run(), run());
}

#[test]
fn score_lines_go_out_a_chunk_at_a_time() {
    let mut w = world(duel("duel"), settings(2));
    for id in 1..=10 {
        w.add_player(id, "x");
    }
    let (mut shared, mut own) = (Vec::new(), Vec::new());
    w.publish_scores(4, &mut shared, &mut own);
    assert_eq!(shared.len(), 4, "at most the chunk");
    assert_eq!(own.len(), 6, "the others hear of their own line at once");
    w.publish_scores(4, &mut shared, &mut own);
    w.publish_scores(4, &mut shared, &mut own);
    assert_eq!(shared.len(), 10, "the rest over the next calls");
    let mut ids: Vec<_> = shared.iter().map(|l| l.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10, "each line once");
    w.publish_scores(4, &mut shared, &mut own);
    assert_eq!((shared.len(), own.len()), (10, 6), "nothing left");
}

/// One client's score table, kept as the client core keeps it: lines replaced as they come,
/// dropped when their player leaves, zeroed when a match restarts.
struct Table {
    id: PlayerId,
    lines: std::collections::HashMap<PlayerId, (u16, u16)>,
}

impl Table {
    /// What a newcomer receives: its own line as it stands, the others' as the room holds them.
    fn join(w: &World, id: PlayerId) -> Self {
        let mut lines: std::collections::HashMap<_, _> =
            w.ships.iter().filter_map(|s| w.shown_score(s.id)).map(|l| (l.id, (l.kills, l.deaths))).collect();
        let me = w.score(id).unwrap();
        lines.insert(id, (me.kills, me.deaths));
        Self { id, lines }
    }

    fn apply(&mut self, shared: &[ScoreLine], own: &[ScoreLine]) {
        for l in shared.iter().chain(own.iter().filter(|l| l.id == self.id)) {
            self.lines.insert(l.id, (l.kills, l.deaths));
        }
    }

    /// The board's top as this client ranks it (a player without a line has no kills or deaths).
    fn top(&self, w: &World) -> Vec<ScoreLine> {
        top_of(w.ships.iter().map(|s| {
            let (kills, deaths) = self.lines.get(&s.id).copied().unwrap_or((0, 0));
            ScoreLine { id: s.id, kills, deaths }
        }))
    }
}

fn top_of(lines: impl Iterator<Item = ScoreLine>) -> Vec<ScoreLine> {
    let mut all: Vec<ScoreLine> = lines.collect();
    all.sort_by_key(ScoreLine::rank_key);
    all.truncate(SCOREBOARD_TOP);
    all
}

/// What happens to the room between two ticks (indices pick among the ships there).
#[derive(Debug, Clone)]
enum ScoreOp {
    Kill(usize, usize),
    Join,
    Leave(usize),
    Restart,
}

fn score_op() -> impl proptest::strategy::Strategy<Value = ScoreOp> {
    use proptest::prelude::*;
    prop_oneof![
        40 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| ScoreOp::Kill(a, b)),
        2 => Just(ScoreOp::Join),
        2 => any::<usize>().prop_map(ScoreOp::Leave),
        1 => Just(ScoreOp::Restart),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Over random histories around the size where a room stops sending everyone every line,
    /// every client's board shows the true top, line for line, and its own line is true: the
    /// score lines a big room leaves out never reach a board.
    #[test]
    fn every_board_shows_the_true_top_and_its_own_line(
        start in (SCORES_ALL_MAX_PLAYERS - 8)..(SCORES_ALL_MAX_PLAYERS + 24),
        ticks in proptest::collection::vec(proptest::collection::vec(score_op(), 0..8), 1..60),
    ) {
        let mut w = world(duel("duel"), settings(1));
        let mut next_id = 1;
        for _ in 0..start {
            w.add_player(next_id, "x");
            next_id += 1;
        }
        let (mut shared, mut own) = (Vec::new(), Vec::new());
        w.publish_scores(usize::MAX, &mut shared, &mut own);
        let mut clients: Vec<Table> = [1, 2, 3].iter().map(|&id| Table::join(&w, id)).collect();
        for ops in ticks {
            for op in ops {
                let n = w.ships.len();
                match op {
                    ScoreOp::Kill(a, b) if n > 1 => {
                        let (killer, victim) = (w.ships[a % n].id, w.ships[b % n].id);
                        let k = w.ship_mut(killer);
                        (k.kills, k.score_changed) = (k.kills + 1, true);
                        let v = w.ship_mut(victim);
                        (v.deaths, v.score_changed) = (v.deaths + 1, true);
                    }
                    ScoreOp::Kill(..) => {}
                    ScoreOp::Join => {
                        w.add_player(next_id, "x");
                        clients.push(Table::join(&w, next_id));
                        next_id += 1;
                    }
                    ScoreOp::Leave(i) if n > 1 => {
                        let id = w.ships[i % n].id;
                        w.remove_player(id);
                        clients.retain(|c| c.id != id);
                        for c in &mut clients {
                            c.lines.remove(&id);
                        }
                    }
                    ScoreOp::Leave(_) => {}
                    ScoreOp::Restart => {
                        w.reset_match();
                        for c in &mut clients {
                            c.lines.values_mut().for_each(|l| *l = (0, 0));
                        }
                    }
                }
            }
            shared.clear();
            own.clear();
            w.publish_scores(usize::MAX, &mut shared, &mut own);
            let truth = top_of(w.ships.iter().map(|s| w.score(s.id).unwrap()));
            for c in &mut clients {
                c.apply(&shared, &own);
                proptest::prop_assert_eq!(c.top(&w), truth.clone(), "client {}'s board, {} ships", c.id, w.ships.len());
                let mine = w.score(c.id).unwrap();
                proptest::prop_assert_eq!(c.lines.get(&c.id).copied(), Some((mine.kills, mine.deaths)));
            }
        }
    }
}

#[test]
fn a_big_room_sends_everyone_the_top_and_each_player_its_own_line() {
    let mut w = world(duel("duel"), settings(1));
    let n = SCORES_ALL_MAX_PLAYERS as u32 + 20;
    for id in 1..=n {
        w.add_player(id, "x");
    }
    let (mut shared, mut own) = (Vec::new(), Vec::new());
    w.publish_scores(usize::MAX, &mut shared, &mut own);
    assert_eq!(shared.len(), SCOREBOARD_TOP, "a big room sends only the top's lines: {shared:?}");
    assert_eq!(own.len(), n as usize - SCOREBOARD_TOP, "and each of the others its own");

    // A kill far down the board: the killer enters the top, the victim's death reaches only it.
    let (killer, victim) = (n, n - 1);
    w.ship_mut(killer).kills = 1;
    w.ship_mut(killer).score_changed = true;
    w.ship_mut(victim).deaths = 1;
    w.ship_mut(victim).score_changed = true;
    shared.clear();
    own.clear();
    w.publish_scores(usize::MAX, &mut shared, &mut own);
    assert_eq!(shared, [ScoreLine { id: killer, kills: 1, deaths: 0 }], "the new leader, for everyone");
    assert_eq!(own, [ScoreLine { id: victim, kills: 0, deaths: 1 }], "the victim's death, for it alone");
    assert_eq!(w.shown_score(victim), None, "the room never held the victim's line");
}

#[test]
fn the_top_players_are_the_best_lines_in_board_order() {
    let mut w = world(duel("duel"), settings(1));
    for id in 1..=30 {
        w.add_player(id, "x");
    }
    assert_eq!(w.top_players(3), [1, 2, 3], "no scores yet: who joined first");
    (w.ship_mut(30).kills, w.ship_mut(30).deaths) = (2, 1);
    (w.ship_mut(10).kills, w.ship_mut(10).deaths) = (2, 0);
    w.ship_mut(1).deaths = 1;
    assert_eq!(w.top_players(4), [10, 30, 2, 3], "kills, then fewer deaths, then joining order");
    assert_eq!(w.top_players(40).len(), 30, "no more than there are");
    assert_eq!(w.top_players(0), Vec::<PlayerId>::new());
}

#[test]
fn results_list_only_the_best() {
    let mut w = world(duel("duel"), settings(2));
    let n = RESULTS_MAX_LINES as u32 + 5;
    for id in 1..=n {
        w.add_player(id, "x");
    }
    // The last to join has the most kills: the ranking, not the joining order, decides who is in.
    let last = w.ships.len() - 1;
    w.ships[last].kills = 3;
    let results = w.results();
    assert_eq!(results.scores.len(), RESULTS_MAX_LINES);
    assert_eq!((results.winner, results.scores[0].id), (Some(n), n));
}

/// Ticks between the tick a shooter was showing and the tick its shot is applied, in the lag
/// compensation tests: 4 ticks, 133 ms, what a view about 120 ms old names (ticks are whole).
const SHOWN_TICKS_AGO: u64 = 4;

/// B flies down at full speed along x = 260 from y = 150 for 15 ticks (A waits at the left).
/// Returns the world and where B was at each tick (index = tick).
fn b_flies_down(map: Map) -> (World, Vec<Vec2>) {
    let mut w = world(map, settings(2));
    w.add_player(A, "Ada");
    w.add_player(B, "Bob");
    w.step(&[]);
    w.place(A, Vec2::new(100.0, 300.0));
    w.place(B, Vec2::new(260.0, 150.0));
    let mut seen = vec![Vec2::new(260.0, 150.0); w.tick() as usize + 1];
    for seq in 1..=15 {
        w.step(&[(B, input(seq, Vec2::Y, 0.0, false))]);
        seen.push(w.position(B).unwrap());
    }
    (w, seen)
}

/// The tick the next step applies, the tick a shooter then shows, and where B will be at the
/// next step (it flies straight at full speed).
fn shot_ticks(w: &World, seen: &[Vec2]) -> (u64, u64, Vec2) {
    let next = w.tick() + 1;
    let last = seen[w.tick() as usize];
    (next, next - SHOWN_TICKS_AGO, last + (last - seen[w.tick() as usize - 1]))
}

/// A, moved to `from`, fires once at `target` having been shown tick `view_tick`, while B flies
/// on; B's health once the bullet is gone.
fn a_shoots(w: &mut World, from: Vec2, target: Vec2, view_tick: u64) -> u8 {
    w.place(A, from);
    let aim = (target - from).to_angle();
    let fire = Input { view_tick, ..input(1, Vec2::ZERO, aim, true) };
    w.step(&[(A, fire), (B, input(16, Vec2::Y, 0.0, false))]);
    for _ in 0..10 {
        w.step(&[(A, input(2, Vec2::ZERO, aim, false))]);
    }
    w.state(B).health
}

/// 45 units left of `target`, level with it: a shot at it is a straight line across B's path.
fn level_with(target: Vec2) -> Vec2 {
    target - Vec2::new(45.0, 0.0)
}

#[test]
fn a_shot_at_where_the_target_was_shown_hits() {
    let (mut w, seen) = b_flies_down(duel("open"));
    let (_, shown, now) = shot_ticks(&w, &seen);
    let was = seen[shown as usize];
    assert!(now.distance(was) > 40.0, "B moved two ship radii from where it was shown");
    assert_eq!(a_shoots(&mut w, level_with(was), was, shown), SHIP_MAX_HEALTH - BULLET_DAMAGE, "a hit");
    // Without compensation the same shot misses: B has moved on.
    let (mut w, _) = b_flies_down(duel("open"));
    assert_eq!(a_shoots(&mut w, level_with(was), was, 0), SHIP_MAX_HEALTH, "uncompensated, a miss");
}

#[test]
fn a_shot_at_where_the_target_is_now_misses_when_it_was_shown_elsewhere() {
    let (mut w, seen) = b_flies_down(duel("open"));
    let (_, shown, now) = shot_ticks(&w, &seen);
    assert_eq!(a_shoots(&mut w, level_with(now), now, shown), SHIP_MAX_HEALTH, "the shooter saw B elsewhere");
    // The control: a shooter showing the present (no compensation) hits it.
    let (mut w, _) = b_flies_down(duel("open"));
    assert_eq!(a_shoots(&mut w, level_with(now), now, 0), SHIP_MAX_HEALTH - BULLET_DAMAGE, "uncompensated, a hit");
}

#[test]
fn obstacles_block_a_compensated_shot() {
    let wall = Rect { min: Vec2::new(225.0, 0.0), max: Vec2::new(230.0, 600.0) };
    let (mut w, seen) = b_flies_down(Map { obstacles: vec![wall], ..duel("walled") });
    let (_, shown, _) = shot_ticks(&w, &seen);
    let was = seen[shown as usize];
    assert_eq!(a_shoots(&mut w, was - Vec2::new(60.0, 0.0), was, shown), SHIP_MAX_HEALTH, "the wall took it");
    assert!(w.bullets.is_empty());
    // The same shot with no wall hits.
    let (mut w, _) = b_flies_down(duel("open"));
    assert_eq!(a_shoots(&mut w, was - Vec2::new(60.0, 0.0), was, shown), SHIP_MAX_HEALTH - BULLET_DAMAGE);
}

#[test]
fn a_claimed_view_older_than_the_cap_is_clamped_to_it_and_none_or_the_future_is_not_rewound() {
    use skirmish_shared::consts::LAG_COMP_MAX_TICKS;
    let launched = |view_tick: u64| {
        let (mut w, _) = b_flies_down(duel("open"));
        // Aimed up, away from B: the bullet stays in flight to be looked at.
        w.step(&[(A, Input { view_tick, ..input(1, Vec2::ZERO, -std::f32::consts::FRAC_PI_2, true) })]);
        let bullet = w.bullets.iter().find(|b| b.owner() == A).expect("in flight");
        (w.tick(), bullet.launch.tick)
    };
    let (now, start) = launched(3);
    assert_eq!(start, now - 1 - LAG_COMP_MAX_TICKS, "a view 14 ticks old starts the shot at the cap");
    let (now, start) = launched(now - 1 - 2);
    assert_eq!(start, now - 1 - 2, "within the cap: the tick shown");
    for view_tick in [0, now - 1, now, now + 5] {
        let (now, start) = launched(view_tick);
        assert_eq!(start, now - 1, "view {view_tick}: not rewound");
    }
}

/// From an outside test of a competitive player: a hand-made client claiming, for every shot,
/// the tick its first shot was made at started each bullet at that tick, so rapid fire put four
/// bullets in one target in the same tick. A ship's shots start at least its cooldown apart.
#[test]
fn shots_claiming_an_old_shown_tick_still_start_a_cooldown_apart() {
    use skirmish_shared::tuning::FIRE_COOLDOWN_TICKS;
    let (mut w, _) = b_flies_down(duel("open"));
    let first_shown = w.tick() - 2;
    let mut starts = Vec::new();
    for _ in 0..4 * FIRE_COOLDOWN_TICKS {
        // Aimed up, away from B: the bullets stay in flight to be looked at.
        w.step(&[(A, Input { view_tick: first_shown, ..input(1, Vec2::ZERO, -std::f32::consts::FRAC_PI_2, true) })]);
        for b in w.bullets.iter().filter(|b| b.owner() == A) {
            if !starts.contains(&b.launch.tick) {
                starts.push(b.launch.tick);
            }
        }
    }
    assert_eq!(starts.len(), 4, "{starts:?}");
    assert_eq!(starts[0], first_shown, "the first within the cap starts at the tick claimed");
    for pair in starts.windows(2) {
        assert_eq!(pair[1] - pair[0], u64::from(FIRE_COOLDOWN_TICKS), "{starts:?}");
    }
    // An honest client's shown tick moves on with the room: its shots keep their rewind.
    let (mut w, _) = b_flies_down(duel("honest"));
    let mut rewinds = Vec::new();
    for _ in 0..3 * FIRE_COOLDOWN_TICKS {
        let shown = w.tick() - 3;
        w.step(&[(A, Input { view_tick: shown, ..input(1, Vec2::ZERO, -std::f32::consts::FRAC_PI_2, true) })]);
        for b in w.bullets.iter().filter(|b| b.owner() == A) {
            if !rewinds.iter().any(|(_, start)| *start == b.launch.tick) {
                // Seen in the step that fired it.
                rewinds.push((w.tick() - 1 - b.launch.tick, b.launch.tick));
            }
        }
    }
    assert_eq!(rewinds.len(), 3, "{rewinds:?}");
    assert!(rewinds.iter().all(|(r, _)| *r == rewinds[0].0 && *r > 0), "{rewinds:?}");
}

#[test]
fn a_shot_is_not_rewound_into_the_previous_match() {
    let (mut w, _) = b_flies_down(duel("open"));
    let at = w.tick();
    w.reset_match();
    w.step(&[(A, Input { view_tick: at - 2, ..input(1, Vec2::ZERO, std::f32::consts::PI, true) })]);
    let bullet = w.bullets.iter().find(|b| b.owner() == A).expect("in flight");
    assert_eq!(bullet.launch.tick, w.tick() - 1, "the ships were elsewhere then");
}
