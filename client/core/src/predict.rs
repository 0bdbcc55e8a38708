//! Client-side prediction of our own ship, and reconciliation with the server.
//!
//! Without it a key press shows a round trip late. With it the ship moves the moment an input
//! is sent: each input is stepped at once through the same `shared::sim::step_ship` (and its
//! quantise step) the server runs, so a client stepping the inputs the server will apply
//! reproduces the server's numbers to the bit. Each snapshot then brings our state as of the
//! newest input the server applied (`OwnState::ack`); the inputs sent since are replayed on top
//! of it. On a clean link (the server applying one input per tick, in order) the replay lands
//! exactly where the prediction already was: no correction. When it does not (an input merged
//! or repeated by the server, one lost to a full buffer, obstacles not yet received), the
//! difference is a correction: small ones are worked off over [`BLEND_MS`] so the ship glides
//! to the right place, large ones ([`SNAP_UNITS`]) snap.
//!
//! Dead, frozen (countdown, results) or spectating: nothing is predicted and the ship is drawn
//! from snapshots like everyone else.

use std::collections::VecDeque;

use glam::Vec2;
use skirmish_shared::sim::{ShipMotion, step_ship};
use skirmish_shared::{OwnState, Rect};

/// A correction longer than this (world units; a ship crosses it in about 4 ticks at full
/// speed) is snapped instead of blended: gliding that far would be a visible slide.
pub const SNAP_UNITS: f32 = 64.0;
/// A blended correction is worked off linearly over this long (three ticks).
pub const BLEND_MS: f64 = 100.0;
/// Unacknowledged inputs kept for replay: two seconds at 30 Hz, far beyond any playable round
/// trip. Past it the oldest are forgotten and the next snapshot corrects.
const MAX_UNACKED: usize = 64;

/// Where the world the ship moves in comes from: the arena and its obstacles.
#[derive(Debug, Clone, Copy)]
pub struct Terrain<'a> {
    /// Arena size, world units.
    pub arena: Vec2,
    /// The map's obstacles, in map order.
    pub obstacles: &'a [Rect],
}

/// The predicted state of our ship. See the module docs.
#[derive(Debug, Default)]
pub struct Predictor {
    /// Inputs sent and not yet applied by the server as far as we know: (seq, stick).
    inputs: VecDeque<(u32, Vec2)>,
    /// Our ship after every input sent; `None` when not predicting.
    state: Option<ShipMotion>,
    /// Our ship before the newest input: drawn between the two as that input's tick passes.
    before: ShipMotion,
    /// When the newest input was stepped (ms).
    stepped_ms: f64,
    /// The correction being blended away, and when it started.
    offset: Vec2,
    offset_ms: f64,
    /// Corrections so far (a replay that did not land on the prediction).
    pub corrections: u64,
    /// Their total length, world units.
    pub correction_units: f64,
}

impl Predictor {
    /// An input `seq` with stick `mv` (already clamped as sent) was sent at `now_ms`.
    pub fn on_input(&mut self, seq: u32, mv: Vec2, now_ms: f64, terrain: Terrain<'_>) {
        if self.inputs.len() == MAX_UNACKED {
            self.inputs.pop_front();
        }
        self.inputs.push_back((seq, mv));
        if let Some(state) = self.state.as_mut() {
            self.before = *state;
            step_ship(state, mv, terrain.arena, terrain.obstacles);
            self.stepped_ms = now_ms;
        }
    }

    /// A snapshot brought our own state. `active` is false while dead, frozen or spectating:
    /// prediction stops (and starts again from the next active snapshot's state).
    pub fn reconcile(&mut self, own: &OwnState, active: bool, now_ms: f64, terrain: Terrain<'_>) {
        while self.inputs.front().is_some_and(|&(seq, _)| seq <= own.ack) {
            self.inputs.pop_front();
        }
        if !active {
            (self.state, self.offset) = (None, Vec2::ZERO);
            return;
        }
        let mut state = ShipMotion { pos: own.pos, vel: own.vel };
        let mut before = state;
        for &(_, mv) in &self.inputs {
            before = state;
            step_ship(&mut state, mv, terrain.arena, terrain.obstacles);
        }
        if let Some(old) = self.state.filter(|old| *old != state) {
            let error = old.pos_f() - state.pos_f();
            self.corrections += 1;
            self.correction_units += f64::from(error.length());
            self.offset = if error.length() > SNAP_UNITS { Vec2::ZERO } else { self.offset_at(now_ms) + error };
            self.offset_ms = now_ms;
        }
        (self.state, self.before) = (Some(state), before);
    }

    /// The predicted state after every input sent (`None` when not predicting).
    pub fn state(&self) -> Option<ShipMotion> {
        self.state
    }

    /// Where to draw our ship at `now_ms`: between the states before and after the newest
    /// input as its tick (`tick_ms`) passes, plus what is left of a blended correction.
    pub fn draw_pos(&self, now_ms: f64, tick_ms: f64) -> Option<Vec2> {
        let state = self.state?;
        let t = ((now_ms - self.stepped_ms) / tick_ms).clamp(0.0, 1.0) as f32;
        Some(self.before.pos_f().lerp(state.pos_f(), t) + self.offset_at(now_ms))
    }

    /// Stops predicting and forgets the inputs (a new connection).
    pub fn reset(&mut self) {
        let (corrections, correction_units) = (self.corrections, self.correction_units);
        *self = Self { corrections, correction_units, ..Self::default() };
    }

    fn offset_at(&self, now_ms: f64) -> Vec2 {
        self.offset * (1.0 - (now_ms - self.offset_ms) / BLEND_MS).clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use glam::IVec2;
    use skirmish_shared::sim::POS_SCALE;

    use super::*;

    const OPEN: Terrain<'static> = Terrain { arena: Vec2::new(4000.0, 4000.0), obstacles: &[] };
    const TICK_MS: f64 = 1000.0 / 30.0;

    fn own_at(x: f32, ack: u32) -> OwnState {
        OwnState { id: 1, pos: IVec2::new((x * POS_SCALE) as i32, 16_000), ack, health: 100, ..OwnState::default() }
    }

    /// A predictor at rest at x = 1000 (everything acknowledged), then one input it has stepped.
    fn predicting() -> Predictor {
        let mut p = Predictor::default();
        p.reconcile(&own_at(1000.0, 0), true, 0.0, OPEN);
        p.on_input(1, Vec2::ZERO, 0.0, OPEN);
        p
    }

    #[test]
    fn a_small_correction_is_blended_and_a_large_one_snaps() {
        let mut p = predicting();
        let drawn = p.draw_pos(TICK_MS, TICK_MS).unwrap();
        assert_eq!(drawn.x, 1000.0);
        // The server says we were 20 units further on: the ship is still drawn where it was,
        // and glides there over BLEND_MS.
        p.reconcile(&own_at(1020.0, 1), true, TICK_MS, OPEN);
        assert_eq!(p.corrections, 1);
        assert_eq!(p.draw_pos(TICK_MS, TICK_MS).unwrap().x, 1000.0, "no jump");
        let halfway = p.draw_pos(TICK_MS + BLEND_MS / 2.0, TICK_MS).unwrap().x;
        assert!((halfway - 1010.0).abs() < 0.01, "{halfway}");
        assert_eq!(p.draw_pos(TICK_MS + BLEND_MS, TICK_MS).unwrap().x, 1020.0);
        // Far off (a teleport, a respawn the client missed): snapped at once.
        p.reconcile(&own_at(1020.0 + SNAP_UNITS * 2.0, 1), true, 2.0 * TICK_MS, OPEN);
        assert_eq!(p.corrections, 2);
        assert_eq!(p.draw_pos(2.0 * TICK_MS, TICK_MS).unwrap().x, 1020.0 + SNAP_UNITS * 2.0);
        assert!(p.correction_units > f64::from(SNAP_UNITS * 2.0));
    }

    #[test]
    fn an_input_moves_the_ship_at_once_and_the_replay_agrees() {
        let mut p = predicting();
        let start = p.state().unwrap();
        p.on_input(2, Vec2::X, 0.0, OPEN);
        p.on_input(3, Vec2::X, TICK_MS, OPEN);
        let ahead = p.state().unwrap();
        assert!(ahead.pos.x > start.pos.x, "moved before any acknowledgement");
        // The server applied input 2 only: the replay of input 3 on its state is where we were.
        let mut server = start;
        skirmish_shared::sim::step_ship(&mut server, Vec2::X, OPEN.arena, OPEN.obstacles);
        let own = OwnState { pos: server.pos, vel: server.vel, ack: 2, ..own_at(0.0, 2) };
        p.reconcile(&own, true, TICK_MS, OPEN);
        assert_eq!((p.state(), p.corrections), (Some(ahead), 0));
    }

    #[test]
    fn dead_or_frozen_predicts_nothing_and_starts_again_after() {
        let mut p = predicting();
        p.reconcile(&own_at(1000.0, 1), false, 0.0, OPEN);
        assert_eq!(p.state(), None);
        assert_eq!(p.draw_pos(0.0, TICK_MS), None);
        p.on_input(2, Vec2::X, 0.0, OPEN);
        assert_eq!(p.state(), None, "inputs while inactive move nothing");
        p.reconcile(&own_at(500.0, 2), true, 0.0, OPEN);
        assert_eq!(p.state().unwrap().pos.x, (500.0 * POS_SCALE) as i32);
        assert_eq!(p.corrections, 0, "starting again is not a correction");
    }
}
