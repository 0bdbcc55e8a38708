//! The game world: plain Rust, no actix, no clock, no I/O. `Room` owns one and steps it at the
//! fixed tick; tests and benches drive it directly. Given the same seed, map list and inputs it
//! plays out exactly the same (one seeded `SmallRng`, ships kept in id order).
//!
//! One tick: store the new inputs (acknowledged whatever happens next), simulate unless the
//! phase freezes ships (respawns, movement through the shared `sim::step_ship`, fire, bullets,
//! pickups), then run the match clock and carry out any phase change. What players should hear
//! about (kills, phase changes, results) is queued as [`GameEvent`]s for the room to send.
//!
//! Nothing in a tick scans all pairs: ships move against the obstacles near them (a static grid
//! per map, `obstacles`), and bullets, pickups and spawn checks find ships through a grid of ship
//! positions rebuilt once per tick into reused buffers.
//!
//! Shots are lag-compensated (`combat`): the world keeps the ships as clients saw them over the
//! last `LAG_COMP_MAX_TICKS` ticks, and a shot starts at the tick its shooter was showing.

mod combat;
#[cfg(test)]
mod equivalence;
mod obstacles;
mod scores;
mod spawn;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use glam::{IVec2, Vec2};
use rand::{SeedableRng, rngs::SmallRng};
use skirmish_shared::consts::{LAG_COMP_MAX_TICKS, RADAR_MAX_HEIGHT, RADAR_MAX_WIDTH, RESULTS_MAX_LINES};
use skirmish_shared::delta::{BulletEnt, Frame, PickupEnt, ShipEnt, aim_to_byte, ship_wire_pos};
use skirmish_shared::sim::{ShipMotion, quantise_pos};
use skirmish_shared::tuning::SHIP_MAX_HEALTH;
use skirmish_shared::{
    Input, Kill, MatchInfo, OwnState, Phase, PickupKind, PlayerId, PlayerState, Results, Score, ScoreLine,
};

use self::obstacles::ObstacleGrid;
use crate::grid::Grid;
use crate::maps::{Map, MapList};
use crate::match_flow::{MatchFlow, MatchSettings, Transition};

/// Phase changes carried out in one tick at most; more would mean settings that loop (they are
/// clamped so they cannot), and the cap keeps a tick bounded regardless.
const MAX_TRANSITIONS_PER_TICK: usize = 4;

/// Cell side of the ship grid, in world units: a bullet's path or a pickup's reach spans one or
/// two cells each way, a spawn point's clearance two or three.
const SHIP_GRID_CELL: f32 = 128.0;

/// Slack in grid queries for `f32` rounding: a query box this much wider can only add
/// candidates, which the exact tests then reject.
const QUERY_MARGIN: f32 = 1.0;

/// Something the room must tell its players, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum GameEvent {
    /// A ship was destroyed (sent as `Kill`, plus a system chat line), at this position (for
    /// the "in your view" rule of big rooms' kill feeds).
    Kill(Kill, Vec2),
    /// The phase (and maybe the map) changed: the new state, as of that moment.
    Match(MatchInfo),
    /// A match ended: the final scores.
    Results(Results),
}

/// One player's ship.
#[derive(Debug, Clone)]
struct Ship {
    id: PlayerId,
    /// Kept for the results table, which outlives the player.
    name: String,
    /// Order of arrival in this room: the last tie-break for the winner.
    joined: u64,
    motion: ShipMotion,
    /// The input in force: the last one consumed (inputs persist until replaced).
    input: Input,
    alive: bool,
    health: u8,
    /// Ticks until a dead ship respawns.
    respawn_in: u32,
    /// Ticks until the gun may fire again.
    cooldown: u32,
    /// Ticks of rapid fire left.
    rapid_ticks: u32,
    /// The earliest tick its next shot may start at, lag compensation included: its last
    /// shot's start plus the cooldown that shot set (see `World::fire`).
    next_launch: u64,
    kills: u16,
    deaths: u16,
    /// Kills or deaths changed since the room last took the changes (`World::publish_scores`).
    score_changed: bool,
    /// Kills and deaths as last published to the whole room (`None`: never); see `scores`.
    shown: Option<(u16, u16)>,
    /// Its player's connection was lost and the room keeps its seat: see [`World::leave_seat`].
    away: bool,
}

impl Ship {
    /// Centre in world units.
    fn pos(&self) -> Vec2 {
        self.motion.pos_f()
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.alive {
            flags |= PlayerState::ALIVE;
        }
        if self.rapid_ticks > 0 {
            flags |= PlayerState::RAPID_FIRE;
        }
        flags
    }

    fn health_now(&self) -> u8 {
        if self.alive { self.health } else { 0 }
    }

    /// What other players receive of this ship.
    fn entity(&self) -> ShipEnt {
        ShipEnt {
            id: self.id,
            pos: ship_wire_pos(self.motion.pos),
            aim: aim_to_byte(self.input.aim),
            health: self.health_now(),
            flags: self.flags(),
        }
    }

    /// What the owner (and its spectators) receive: the whole state, in fixed point.
    fn own_state(&self) -> OwnState {
        OwnState {
            id: self.id,
            pos: self.motion.pos,
            vel: self.motion.vel,
            aim: aim_to_byte(self.input.aim),
            ack: self.input.seq,
            health: self.health_now(),
            flags: self.flags(),
            cooldown: u8::try_from(self.cooldown).unwrap_or(u8::MAX),
            rapid_ticks: u16::try_from(self.rapid_ticks).unwrap_or(u16::MAX),
        }
    }

    fn state(&self) -> PlayerState {
        PlayerState {
            id: self.id,
            pos: self.motion.pos_f(),
            vel: self.motion.vel_f(),
            aim: self.input.aim,
            ack: self.input.seq,
            health: if self.alive { self.health } else { 0 },
            flags: self.flags(),
            kills: self.kills,
            deaths: self.deaths,
        }
    }
}

/// A bullet in flight. `Copy` so the collision loop can read one while changing ships.
#[derive(Debug, Clone, Copy)]
struct Bullet {
    /// The launch record clients receive; the flight follows from it (`sim::bullet_pos`).
    launch: BulletEnt,
    /// Where it is now, in world units (`bullet_pos` at its age).
    pos: Vec2,
    /// Moves left before it fades.
    ticks_left: u32,
}

impl Bullet {
    fn owner(&self) -> PlayerId {
        self.launch.owner
    }
}

/// A pickup waiting on one of the map's spots.
#[derive(Debug, Clone, Copy)]
struct Pickup {
    id: u32,
    kind: PickupKind,
    /// Index into the map's pickup spots: one pickup per spot.
    spot: usize,
    pos: Vec2,
}

/// The ships at one past tick, as that tick's snapshots showed them (wire-quantised positions,
/// alive flags), by id: what a shooter saw, for lag compensation.
#[derive(Debug, Clone, Default)]
struct PastShips {
    tick: u64,
    ships: Vec<ShipEnt>,
}

/// Most leavers a match keeps for its results (see [`World::remove_player`]).
const MAX_DEPARTED: usize = 100;

/// Where a line goes in the results, smallest first: most kills, then fewest deaths, then who
/// joined first.
fn rank(score: &Score, joined: u64) -> (std::cmp::Reverse<u16>, u16, u64) {
    (std::cmp::Reverse(score.kills), score.deaths, joined)
}

/// A score kept for a player who left mid-match, so the results still list them.
#[derive(Debug, Clone)]
struct Departed {
    score: Score,
    joined: u64,
}

/// All the state of one room's game.
#[derive(Debug, Clone)]
pub struct World {
    maps: Arc<MapList>,
    /// Rotation counter: the current map is `maps.get(map_index)`.
    map_index: usize,
    /// The current map (an `Arc` clone, so the step can read it while changing ships).
    map: Arc<Map>,
    /// The current map's obstacles by cell, built with the map: ships and bullets test only
    /// the rectangles near them.
    obstacles: ObstacleGrid,
    /// Every ship by position (items are indices into `ships`), so bullets, pickups and spawn
    /// checks look only at ships near them. Rebuilt after ships move each tick; a respawn
    /// inserts its ship at the new place. Dead ships stay in it: users check `alive`.
    ship_grid: Grid,
    /// False once `ship_grid` no longer matches `ships` (a join or leave shifted the indices);
    /// then it is rebuilt before its next use.
    ship_grid_fresh: bool,
    /// Scratch for one ship's move: the obstacles near it.
    near: Vec<u32>,
    /// Scratch for spawn picking: spawn indices, shuffled a prefix at a time.
    spawn_order: Vec<u32>,
    /// Scratch for pickup spawning: which spots hold a pickup.
    spot_taken: Vec<bool>,
    flow: MatchFlow,
    /// Kept sorted by id so snapshots and every loop run in a stable order.
    ships: Vec<Ship>,
    /// In firing order, so by id (ids only grow; order is kept on removal).
    bullets: Vec<Bullet>,
    pickups: Vec<Pickup>,
    departed: Vec<Departed>,
    rng: SmallRng,
    next_bullet_id: u32,
    next_pickup_id: u32,
    /// Ticks since the last pickup appeared.
    pickup_timer: u32,
    next_join: u64,
    /// Ticks stepped so far: the tick number snapshots carry (the first step makes it 1).
    tick: u64,
    /// The ships of the last `LAG_COMP_MAX_TICKS` simulated ticks, oldest first, consecutive
    /// and ending at the newest (emptied when a match resets, and left behind by a freeze):
    /// where a lag-compensated shot looks for its targets. Kept here rather than read from the
    /// room's snapshot history so the world stays whole on its own (and testable): that ring
    /// holds only the ticks broadcast, while a stall steps several ticks per broadcast. It
    /// costs a copy of the ships' wire records per tick, a few microseconds at 1000 ships.
    past: VecDeque<PastShips>,
    /// Queued for the room; see [`World::take_events`].
    events: Vec<GameEvent>,
    /// Scratch for `publish_scores`: the best rank keys of the tick.
    score_top: Vec<u64>,
}

impl World {
    /// A world playing `maps` from their first map under `settings`; `seed` fixes every random
    /// choice (spawn points, pickups).
    pub fn new(seed: u64, maps: Arc<MapList>, settings: MatchSettings) -> Self {
        let map_index = maps.first();
        let map = maps.get(map_index).clone();
        Self {
            maps,
            map_index,
            obstacles: ObstacleGrid::new(&map),
            ship_grid: Grid::new(map.size, SHIP_GRID_CELL),
            ship_grid_fresh: false,
            near: Vec::new(),
            spawn_order: Vec::new(),
            spot_taken: Vec::new(),
            map,
            flow: MatchFlow::new(settings),
            ships: Vec::new(),
            bullets: Vec::new(),
            pickups: Vec::new(),
            departed: Vec::new(),
            rng: SmallRng::seed_from_u64(seed),
            next_bullet_id: 1,
            next_pickup_id: 1,
            pickup_timer: 0,
            next_join: 0,
            tick: 0,
            past: VecDeque::with_capacity(LAG_COMP_MAX_TICKS as usize),
            events: Vec::new(),
            score_top: Vec::new(),
        }
    }

    /// The map being played.
    pub fn map(&self) -> &Map {
        &self.map
    }

    /// Arena size in world units.
    pub fn arena(&self) -> Vec2 {
        self.map.size
    }

    /// The match phase.
    pub fn phase(&self) -> Phase {
        self.flow.phase()
    }

    /// Ticks stepped so far (the tick of the newest state; 0 before the first step).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Milliseconds left in the phase (0 when it has no end).
    pub fn time_left_ms(&self) -> u32 {
        self.flow.time_left_ms()
    }

    /// Number of ships.
    pub fn len(&self) -> usize {
        self.ships.len()
    }

    /// True when no ship is in the world.
    pub fn is_empty(&self) -> bool {
        self.ships.is_empty()
    }

    /// The current phase, map and limits, as sent in `ServerMsg::Match`.
    pub fn match_info(&self) -> MatchInfo {
        let settings = self.flow.settings();
        MatchInfo {
            phase: self.flow.phase(),
            map: self.map.info(),
            score_limit: settings.score_limit,
            match_secs: settings.match_secs(),
        }
    }

    /// Adds a ship at a free spawn point and returns where. It plays at once whatever the phase
    /// (frozen until the countdown or results end). An id already present is left alone.
    pub fn add_player(&mut self, id: PlayerId, name: &str) -> Vec2 {
        let at = match self.ships.binary_search_by_key(&id, |s| s.id) {
            Ok(i) => return self.ships[i].pos(),
            Err(at) => at,
        };
        let ship = Ship {
            id,
            name: name.to_owned(),
            joined: self.next_join,
            motion: ShipMotion::default(),
            input: Input::default(),
            alive: false,
            health: 0,
            respawn_in: 0,
            cooldown: 0,
            rapid_ticks: 0,
            next_launch: 0,
            kills: 0,
            deaths: 0,
            score_changed: true,
            shown: None,
            away: false,
        };
        self.next_join += 1;
        self.ships.insert(at, ship);
        // Ids usually grow, so a newcomer goes last and no index in the grid moves.
        if at + 1 != self.ships.len() {
            self.ship_grid_fresh = false;
        }
        self.respawn(at);
        self.ships[at].pos()
    }

    /// A ship's kills and deaths this match.
    pub fn score_of(&self, id: PlayerId) -> Option<(u16, u16)> {
        let i = self.ships.binary_search_by_key(&id, |s| s.id).ok()?;
        Some((self.ships[i].kills, self.ships[i].deaths))
    }

    /// Its player's connection was lost and the room keeps the seat: the ship stays in the
    /// world as it is, under no input (see [`World::reset_input`]: it coasts to rest and holds
    /// its fire), seen and hit like any other, so dropping the connection is no way out of a
    /// losing fight: the bullets on their way still land, and a kill counts. Dead, it stays
    /// dead until its player is back; a match beginning meanwhile leaves it dead, waiting, with
    /// the new match's score of 0. False (and nothing changes) for an id with no ship.
    pub fn leave_seat(&mut self, id: PlayerId) -> bool {
        self.reset_input(id);
        let Ok(i) = self.ships.binary_search_by_key(&id, |s| s.id) else { return false };
        self.ships[i].away = true;
        true
    }

    /// Its player took back the seat: the ship plays on from where it is, under no input until
    /// the new connection's first (whose `seq` starts again from 1); dead, it respawns when its
    /// wait, which ran on while away, is over (at the next tick of play if it already is).
    /// Unknown ids are ignored.
    pub fn return_to_seat(&mut self, id: PlayerId) {
        self.reset_input(id);
        let Ok(i) = self.ships.binary_search_by_key(&id, |s| s.id) else { return };
        self.ships[i].away = false;
        // During a countdown nothing respawns (ships are frozen), and everyone else stands
        // fresh at a spawn point: so does it, its wait being over since the countdown began.
        if self.flow.phase() == Phase::Countdown && !self.ships[i].alive && self.ships[i].respawn_in == 0 {
            self.respawn(i);
        }
    }

    /// A player's new connection took over its ship from one still open: that connection's
    /// input stops (the ship coasts and holds its fire, facing where it did) and `ack` reads 0
    /// until the new connection's first input, whose `seq` starts again from 1. Unknown ids
    /// are ignored.
    pub fn reset_input(&mut self, id: PlayerId) {
        if let Ok(i) = self.ships.binary_search_by_key(&id, |s| s.id) {
            let ship = &mut self.ships[i];
            ship.input = Input { aim: ship.input.aim, ..Input::default() };
        }
    }

    /// Removes a ship and its bullets in flight (a kill by someone gone could not be credited);
    /// unknown ids are ignored. Mid-match, a score that counts stays for the results.
    pub fn remove_player(&mut self, id: PlayerId) {
        let Ok(i) = self.ships.binary_search_by_key(&id, |s| s.id) else { return };
        let ship = self.ships.remove(i);
        self.ship_grid_fresh = false;
        self.bullets.retain(|b| b.owner() != id);
        // A leaver who neither killed nor died changes no one's place in the results; the
        // rest are kept up to a cap, best first, so a reconnect storm (a new id per
        // connection) cannot grow the room for the length of a match.
        if self.flow.scoring() && (ship.kills > 0 || ship.deaths > 0) {
            let score = Score { id, name: ship.name, kills: ship.kills, deaths: ship.deaths };
            let leaver = Departed { score, joined: ship.joined };
            if self.departed.len() < MAX_DEPARTED {
                self.departed.push(leaver);
            } else if let Some(worst) = self.departed.iter_mut().max_by_key(|d| rank(&d.score, d.joined))
                && rank(&leaver.score, leaver.joined) < rank(&worst.score, worst.joined)
            {
                *worst = leaver;
            }
        }
    }

    /// Advances one fixed tick. `inputs` holds at most one new input per player (the one this
    /// tick consumes); players without one keep their previous input. Every input is taken (and
    /// so acknowledged) even when it cannot move anything: dead, frozen or between matches.
    pub fn step(&mut self, inputs: &[(PlayerId, Input)]) {
        self.tick += 1;
        for (id, input) in inputs {
            if let Ok(i) = self.ships.binary_search_by_key(id, |s| s.id) {
                self.ships[i].input = *input;
            }
        }
        if !self.flow.frozen() {
            self.respawn_due();
            self.move_ships();
            self.fire();
            self.move_bullets();
            self.collect_pickups();
            self.spawn_pickups();
            self.remember_ships();
        }
        self.flow.tick();
        for _ in 0..MAX_TRANSITIONS_PER_TICK {
            let best = self.ships.iter().map(|s| s.kills).max().unwrap_or(0);
            // A ship whose player is away does not make a match: the room waits as without it.
            let players = self.ships.iter().filter(|s| !s.away).count();
            let Some(transition) = self.flow.next(players, best) else { break };
            self.apply(transition);
        }
    }

    /// Moves the events queued since the last call into `out` (which should be empty), so the
    /// caller can reuse one buffer and the world keeps its own.
    pub fn take_events(&mut self, out: &mut Vec<GameEvent>) {
        out.append(&mut self.events);
    }

    /// Every entity as clients receive it, into `frame` (reused between ticks): ships by id,
    /// bullets by id, pickups by id.
    pub fn frame_into(&self, frame: &mut Frame) {
        frame.clear();
        frame.tick = self.tick;
        frame.ships.extend(self.ships.iter().map(Ship::entity));
        frame.bullets.extend(self.bullets.iter().map(|b| b.launch));
        // Ids only grow, so firing order is id order, except after the id counter wraps.
        if !frame.bullets.is_sorted_by_key(|b| b.id) {
            frame.bullets.sort_unstable_by_key(|b| b.id);
        }
        frame.pickups.extend(self.pickups.iter().map(|p| PickupEnt {
            id: p.id,
            kind: match p.kind {
                PickupKind::Health => 0,
                PickupKind::RapidFire => 1,
            },
            pos: quantise_pos(p.pos),
        }));
        frame.pickups.sort_unstable_by_key(|p| p.id);
    }

    /// The whole state of one ship, for its owner's (and spectators') snapshots.
    pub fn own_state(&self, id: PlayerId) -> Option<OwnState> {
        self.ship(id).map(Ship::own_state)
    }

    /// One ship's score line as it stands (`None` for a spectator or an unknown id): a newcomer
    /// receives the table a chunk at a time, each line current when its chunk goes out.
    pub fn score(&self, id: PlayerId) -> Option<ScoreLine> {
        self.ship(id).map(|s| ScoreLine { id: s.id, kills: s.kills, deaths: s.deaths })
    }

    /// The radar's grid for this arena: its aspect ratio, fitted inside the size limits.
    pub fn radar_grid(&self) -> (u32, u32) {
        let arena = self.arena();
        let (max_w, max_h) = (RADAR_MAX_WIDTH as f32, RADAR_MAX_HEIGHT as f32);
        let scale = (max_w / arena.x).min(max_h / arena.y);
        let width = ((arena.x * scale).round() as u32).clamp(1, RADAR_MAX_WIDTH);
        let height = ((arena.y * scale).round() as u32).clamp(1, RADAR_MAX_HEIGHT);
        (width, height)
    }

    /// Counts living ships per radar cell into `cells` (`width × height`, row by row, each
    /// capped at 255).
    pub fn radar_into(&self, width: u32, height: u32, cells: &mut Vec<u8>) {
        cells.clear();
        cells.resize((width * height) as usize, 0);
        for ship in self.ships.iter().filter(|s| s.alive) {
            let cell = &mut cells[skirmish_shared::radar::cell_of(ship.pos(), self.map.size, width, height)];
            *cell = cell.saturating_add(1);
        }
    }

    /// Position of one ship (tests and spawn logic).
    pub fn position(&self, id: PlayerId) -> Option<Vec2> {
        self.ship(id).map(Ship::pos)
    }

    /// One ship as a snapshot would show it.
    pub fn player_state(&self, id: PlayerId) -> Option<PlayerState> {
        self.ship(id).map(Ship::state)
    }

    fn ship(&self, id: PlayerId) -> Option<&Ship> {
        self.ships.binary_search_by_key(&id, |s| s.id).ok().map(|i| &self.ships[i])
    }

    /// Moves every living ship one tick (the shared `step_ship`, through the obstacle grid),
    /// then rebuilds the ship grid for the rest of the tick.
    fn move_ships(&mut self) {
        let map = &*self.map;
        for ship in self.ships.iter_mut().filter(|s| s.alive) {
            self.obstacles.step_ship(map, &mut ship.motion, ship.input.mv, &mut self.near);
            ship.rapid_ticks = ship.rapid_ticks.saturating_sub(1);
        }
        self.refresh_ship_grid();
    }

    /// Keeps this tick's ships for lag compensation, recycling the oldest tick's buffer.
    fn remember_ships(&mut self) {
        // Ticks must follow on: after a freeze the old ones show a different moment.
        if self.past.back().is_some_and(|p| p.tick + 1 != self.tick) {
            self.past.clear();
        }
        let mut entry = if self.past.len() == LAG_COMP_MAX_TICKS as usize { self.past.pop_front() } else { None }
            .unwrap_or_default();
        entry.tick = self.tick;
        entry.ships.clear();
        entry.ships.extend(self.ships.iter().map(Ship::entity));
        crate::view::give_back(&mut entry.ships);
        self.past.push_back(entry);
    }

    /// Puts every ship in the ship grid at its current position.
    fn refresh_ship_grid(&mut self) {
        self.ship_grid.rebuild(self.ships.iter().map(Ship::pos));
        self.ship_grid_fresh = true;
    }

    /// Carries out a phase change and queues what players must hear about it.
    fn apply(&mut self, transition: Transition) {
        match transition {
            Transition::CountdownStarted => self.reset_match(),
            Transition::CountdownAborted => {}
            // A player lost during the countdown left its ship alive at its spawn point: the
            // match does not begin with it there for anyone to score on (see `reset_match`).
            Transition::MatchStarted => {
                for ship in self.ships.iter_mut().filter(|s| s.away) {
                    (ship.alive, ship.respawn_in) = (false, 0);
                }
            }
            Transition::MatchEnded => {
                // Nothing may score after the whistle, and frozen ships should not look adrift.
                self.bullets.clear();
                for ship in &mut self.ships {
                    ship.motion.vel = IVec2::ZERO;
                }
            }
            Transition::NextMatch => {
                self.map_index = self.map_index.wrapping_add(1);
                let next = self.maps.get(self.map_index).clone();
                if !Arc::ptr_eq(&next, &self.map) {
                    self.obstacles = ObstacleGrid::new(&next);
                    self.ship_grid = Grid::new(next.size, SHIP_GRID_CELL);
                    self.ship_grid_fresh = false;
                    self.map = next;
                }
                self.reset_match();
            }
        }
        self.events.push(GameEvent::Match(self.match_info()));
        if transition == Transition::MatchEnded {
            let results = self.results();
            self.events.push(GameEvent::Results(results));
        }
    }

    /// A fresh start: scores to zero, the field cleared, every ship alive at a new spawn point.
    fn reset_match(&mut self) {
        self.departed.clear();
        // Everyone moves to a spawn point: no shot may start in the old positions.
        self.past.clear();
        self.bullets.clear();
        self.pickups.clear();
        self.pickup_timer = 0;
        for ship in &mut self.ships {
            ship.kills = 0;
            ship.deaths = 0;
            ship.score_changed = true;
            // Every client zeroes its table now: as it holds no line. A small room still sends
            // every zeroed line (`scores`), as it always did; a big room only the top.
            ship.shown = None;
            // Dead for a moment, so that each respawn below avoids the ships placed before it.
            ship.alive = false;
        }
        for i in 0..self.ships.len() {
            // A ship whose player is away waits, dead, for its player (`return_to_seat`).
            if self.ships[i].away {
                self.ships[i].respawn_in = 0;
            } else {
                self.respawn(i);
            }
        }
    }

    /// The final table: the best `RESULTS_MAX_LINES` who played, best first (most kills, then
    /// fewest deaths, then who joined first), and the map that comes next. No winner when nobody
    /// killed: a 0-0 match is nobody's, whoever joined first.
    fn results(&self) -> Results {
        let mut lines: Vec<(Score, u64)> = self
            .ships
            .iter()
            .map(|s| (Score { id: s.id, name: s.name.clone(), kills: s.kills, deaths: s.deaths }, s.joined))
            .chain(self.departed.iter().map(|d| (d.score.clone(), d.joined)))
            .collect();
        lines.sort_by_key(|(score, joined)| rank(score, *joined));
        lines.truncate(RESULTS_MAX_LINES);
        Results {
            winner: lines.first().filter(|(s, _)| s.kills > 0).map(|(s, _)| s.id),
            scores: lines.into_iter().map(|(s, _)| s).collect(),
            next_map: self.maps.get(self.map_index.wrapping_add(1)).name.clone(),
        }
    }
}

/// A full-health ship's starting state, used on every (re)spawn.
fn fresh(ship: &mut Ship, pos: Vec2) {
    ship.motion = ShipMotion::at(pos);
    ship.alive = true;
    ship.health = SHIP_MAX_HEALTH;
    ship.respawn_in = 0;
    ship.cooldown = 0;
    ship.rapid_ticks = 0;
}
