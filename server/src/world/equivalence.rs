//! The grids change no outcome: on a crowded field, bullets, pickups and spawn points come out
//! exactly as scanning every ship and obstacle (the code before the grids, kept here) has them.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use skirmish_shared::Rect;
use skirmish_shared::sim::bullet_pos;
use skirmish_shared::tuning::{BULLET_RADIUS, PICKUP_RADIUS, SHIP_RADIUS, SPAWN_CLEARANCE};

use super::combat::{segment_hits_circle, segment_hits_rect};
use super::*;

const FIELD: Vec2 = Vec2::new(2000.0, 1200.0);

/// A 2000×1200 field with walls and blocks (some overlapping), `spawns` spawn points and 30
/// pickup spots, none touching an obstacle.
fn field(rng: &mut SmallRng, spawns: usize) -> Map {
    let mut obstacles = Vec::new();
    for _ in 0..40 {
        let min = Vec2::new(rng.random_range(0.0..1900.0), rng.random_range(0.0..1100.0));
        let size = if rng.random_bool(0.5) {
            Vec2::new(rng.random_range(10.0..30.0), rng.random_range(60.0..300.0))
        } else {
            Vec2::splat(rng.random_range(20.0..120.0))
        };
        obstacles.push(Rect { min, max: (min + size).min(FIELD) });
    }
    let mut clear_points = |count: usize, radius: f32| {
        let mut points = Vec::new();
        while points.len() < count {
            let p = Vec2::new(rng.random_range(40.0..1960.0), rng.random_range(40.0..1160.0));
            if !obstacles.iter().any(|r| skirmish_shared::sim::circle_hits_rect(p, radius, r)) {
                points.push(p);
            }
        }
        points
    };
    let spawns = clear_points(spawns, SHIP_RADIUS);
    let pickups = clear_points(30, PICKUP_RADIUS);
    Map { name: "field".into(), size: FIELD, obstacles, spawns, pickups }
}

/// `n` ships on `field` that have flown and fired at random for `ticks` ticks.
fn crowded(seed: u64, n: u32, spawns: usize, ticks: u32) -> (World, SmallRng) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let map = field(&mut rng, spawns);
    let settings =
        MatchSettings { countdown_ticks: 0, match_ticks: 1_000_000, results_ticks: 30, score_limit: 0, min_players: 1 };
    let mut w = World::new(seed, Arc::new(MapList::single(map)), settings);
    for id in 1..=n {
        w.add_player(id, "x");
    }
    for _ in 0..ticks {
        random_step(&mut w, &mut rng);
    }
    (w, rng)
}

/// One tick with random stick and aim for every ship, half of them firing.
fn random_step(w: &mut World, rng: &mut SmallRng) {
    let seq = w.tick() as u32 + 1;
    let inputs: Vec<_> = w
        .ships
        .iter()
        .map(|s| {
            let mv = Vec2::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
            let buttons = if s.id % 2 == 0 { Input::FIRE } else { 0 };
            (s.id, Input { seq, mv, aim: rng.random_range(-3.2..3.2), buttons, ..Input::default() })
        })
        .collect();
    w.step(&inputs);
}

/// Everything the tested stages can change, to compare two worlds.
fn outcome(w: &World) -> String {
    format!("{:?}\n{:?}\n{:?}\n{:?}", w.ships, w.bullets, w.pickups, w.events)
}

/// `move_bullets` as it was before the grids: every bullet against every obstacle and ship.
fn move_bullets_by_scanning(w: &mut World) {
    let map = w.map.clone();
    for i in 0..w.bullets.len() {
        let bullet = w.bullets[i];
        let to = bullet_pos(bullet.launch.origin, bullet.launch.vel, (w.tick - bullet.launch.tick) as f32);
        let mut first_hit = f32::INFINITY;
        for rect in &map.obstacles {
            if let Some(t) = segment_hits_rect(bullet.pos, to, rect, BULLET_RADIUS) {
                first_hit = first_hit.min(t);
            }
        }
        let mut victim = None;
        for (j, ship) in w.ships.iter().enumerate() {
            if !ship.alive || ship.id == bullet.owner() {
                continue;
            }
            if let Some(t) = segment_hits_circle(bullet.pos, to, ship.pos(), SHIP_RADIUS + BULLET_RADIUS)
                && t < first_hit
            {
                first_hit = t;
                victim = Some(j);
            }
        }
        if let Some(j) = victim {
            w.hit(j, bullet.owner());
        }
        let outside = to.x < 0.0 || to.y < 0.0 || to.x > map.size.x || to.y > map.size.y;
        let bullet = &mut w.bullets[i];
        bullet.ticks_left = bullet.ticks_left.saturating_sub(1);
        if first_hit.is_finite() || outside {
            bullet.ticks_left = 0;
        }
        bullet.pos = to;
    }
    w.bullets.retain(|b| b.ticks_left > 0);
}

/// `collect_pickups` as it was: each pickup goes to the first ship in id order that may take it.
fn collect_pickups_by_scanning(w: &mut World) {
    let reach_sq = (SHIP_RADIUS + PICKUP_RADIUS) * (SHIP_RADIUS + PICKUP_RADIUS);
    let mut i = 0;
    while i < w.pickups.len() {
        let pickup = w.pickups[i];
        let taker = w.ships.iter_mut().find(|s| {
            s.alive
                && s.pos().distance_squared(pickup.pos) < reach_sq
                && (pickup.kind != PickupKind::Health || s.health < SHIP_MAX_HEALTH)
        });
        match taker {
            Some(ship) => {
                match pickup.kind {
                    PickupKind::Health => {
                        ship.health = ship.health.saturating_add(skirmish_shared::tuning::PICKUP_HEALTH_AMOUNT);
                        ship.health = ship.health.min(SHIP_MAX_HEALTH);
                    }
                    PickupKind::RapidFire => ship.rapid_ticks = skirmish_shared::tuning::RAPID_FIRE_TICKS,
                }
                w.pickups.swap_remove(i);
            }
            None => i += 1,
        }
    }
}

/// Squared distance from `p` to the nearest living ship, by scanning them all.
fn nearest_sq_by_scanning(w: &World, p: Vec2) -> f32 {
    w.ships.iter().filter(|s| s.alive).map(|s| s.pos().distance_squared(p)).fold(f32::INFINITY, f32::min)
}

/// Moves a few ships onto others, so that bullets meet exact ties and pickups contested reaches.
fn stack_some(w: &mut World, rng: &mut SmallRng) {
    for _ in 0..8 {
        let (i, j) = (rng.random_range(0..w.ships.len()), rng.random_range(0..w.ships.len()));
        w.ships[i].motion = w.ships[j].motion;
    }
    w.refresh_ship_grid();
}

#[test]
fn bullets_hit_what_scanning_every_ship_and_obstacle_hits() {
    let (mut w, mut rng) = crowded(1, 400, 40, 20);
    let (mut hits, mut ended) = (0, 0);
    for _ in 0..80 {
        random_step(&mut w, &mut rng);
        // Bullets about to move one more tick against the ships where they are now.
        let mut grid = w.clone();
        stack_some(&mut grid, &mut rng);
        grid.tick += 1;
        let mut scan = grid.clone();
        let before: Vec<u8> = grid.ships.iter().map(|s| s.health).collect();
        grid.move_bullets();
        move_bullets_by_scanning(&mut scan);
        assert_eq!(outcome(&grid), outcome(&scan), "tick {}", grid.tick);
        hits += grid.ships.iter().zip(&before).filter(|(s, h)| s.health != **h).count();
        ended += w.bullets.len() - scan.bullets.len();
    }
    assert!(hits > 50, "the crowd was hit ({hits} times)");
    assert!(ended > 50, "bullets ended on walls, edges, ships or age ({ended})");
}

#[test]
fn pickups_go_where_scanning_every_ship_sends_them() {
    let (mut w, mut rng) = crowded(2, 400, 40, 20);
    let mut taken = 0;
    for round in 0..80u32 {
        random_step(&mut w, &mut rng);
        let mut grid = w.clone();
        stack_some(&mut grid, &mut rng);
        // Pickups right by ships (some hurt, some not), so that several may reach one.
        grid.pickups.clear();
        for k in 0..30 {
            let near = grid.ships[rng.random_range(0..grid.ships.len())].pos();
            let pos = near + Vec2::new(rng.random_range(-30.0..30.0), rng.random_range(-30.0..30.0));
            let kind = if k % 2 == 0 { PickupKind::Health } else { PickupKind::RapidFire };
            grid.pickups.push(Pickup { id: round * 100 + k, kind, spot: k as usize, pos });
        }
        for ship in &mut grid.ships {
            ship.health = if rng.random_bool(0.5) { SHIP_MAX_HEALTH } else { rng.random_range(1..SHIP_MAX_HEALTH) };
        }
        let mut scan = grid.clone();
        grid.collect_pickups();
        collect_pickups_by_scanning(&mut scan);
        assert_eq!(outcome(&grid), outcome(&scan), "round {round}");
        taken += 30 - grid.pickups.len();
    }
    assert!(taken > 500, "pickups were taken ({taken})");
}

#[test]
fn a_free_spawn_point_is_clear_of_every_living_ship_else_the_freest_is_chosen() {
    // Few points and many ships: some picks find a free point, others must take the freest.
    let (mut free_picks, mut crowded_picks) = (0, 0);
    for seed in 0..6 {
        let (mut w, mut rng) = crowded(10 + seed, 150, 30, 10);
        for _ in 0..40 {
            random_step(&mut w, &mut rng);
            let p = w.pick_spawn();
            let clear_sq = SPAWN_CLEARANCE * SPAWN_CLEARANCE;
            let spawns = w.map.spawns.clone();
            let nearest: Vec<f32> = spawns.iter().map(|&s| nearest_sq_by_scanning(&w, s)).collect();
            if nearest.iter().any(|&d| d >= clear_sq) {
                assert!(nearest_sq_by_scanning(&w, p) >= clear_sq, "{p} is free");
                assert!(spawns.contains(&p));
                free_picks += 1;
            } else {
                // The first of the farthest-from-any-ship points (fewer than MAX_SPAWN_TRIES here).
                let best = nearest.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let first = nearest.iter().position(|&d| d == best).unwrap();
                assert_eq!(p, spawns[first]);
                crowded_picks += 1;
            }
        }
    }
    assert!(free_picks > 20 && crowded_picks > 20, "both cases met: {free_picks} free, {crowded_picks} crowded");
}

#[test]
fn ships_placed_in_one_pass_keep_clear_of_each_other() {
    // Eight points far apart and eight ships: each must get its own, whether they join one by
    // one (ids ascending or not) or all respawn together at a new match.
    let spawns: Vec<Vec2> = (0..8).map(|i| Vec2::new(150.0 + 240.0 * i as f32, 300.0)).collect();
    let map =
        Map { name: "row".into(), size: FIELD, obstacles: Vec::new(), spawns: spawns.clone(), pickups: Vec::new() };
    let settings =
        MatchSettings { countdown_ticks: 0, match_ticks: 9000, results_ticks: 30, score_limit: 0, min_players: 99 };
    for seed in 0..10 {
        for ids in [[1, 2, 3, 4, 5, 6, 7, 8], [8, 3, 6, 1, 7, 2, 5, 4]] {
            let mut w = World::new(seed, Arc::new(MapList::single(map.clone())), settings);
            let mut at: Vec<Vec2> = ids.iter().map(|&id| w.add_player(id, "x")).collect();
            at.sort_by(|a, b| a.x.total_cmp(&b.x));
            assert_eq!(at, spawns, "seed {seed}, joining {ids:?}");
            w.reset_match();
            let mut at: Vec<Vec2> = w.ships.iter().map(Ship::pos).collect();
            at.sort_by(|a, b| a.x.total_cmp(&b.x));
            assert_eq!(at, spawns, "seed {seed}, a new match");
        }
    }
}

#[test]
fn ties_for_the_freest_point_go_to_the_first_in_map_order() {
    // One ship at (250, 300) crowds every point; the first two are both 50 away from it, the
    // farthest any point is, so whatever order the draw tries them in, the first one wins.
    let spawns = vec![Vec2::new(300.0, 300.0), Vec2::new(200.0, 300.0), Vec2::new(260.0, 300.0)];
    let map =
        Map { name: "tie".into(), size: FIELD, obstacles: Vec::new(), spawns: spawns.clone(), pickups: Vec::new() };
    let settings =
        MatchSettings { countdown_ticks: 0, match_ticks: 9000, results_ticks: 30, score_limit: 0, min_players: 99 };
    for seed in 0..20 {
        let mut w = World::new(seed, Arc::new(MapList::single(map.clone())), settings);
        w.add_player(1, "x");
        w.ships[0].motion = ShipMotion::at(Vec2::new(250.0, 300.0));
        w.ship_grid_fresh = false;
        assert_eq!(w.pick_spawn(), spawns[0], "seed {seed}");
    }
}
