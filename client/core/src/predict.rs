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
//! Our shots are predicted the same way: the gun's cooldown and rapid-fire time come in the
//! owner's snapshot state, and each input that fires (by the server's rule, `world/combat.rs`)
//! makes a [`Shot`] at once, from the nose of the predicted ship. The server's bullet carries the
//! input `seq` that fired it, so a shot it confirms is kept (and drawn on our own timeline,
//! without the interpolation delay), and one it never fired (a cooldown we did not know of,
//! a pickup) is dropped; a confirmed one goes when the server's bullet goes.
//!
//! Dead, frozen (countdown, results) or spectating: nothing is predicted and the ship and its
//! bullets are drawn from snapshots like everyone else's.

use std::collections::VecDeque;

use glam::{IVec2, Vec2};
use skirmish_shared::consts::TICK_DT;
use skirmish_shared::sim::{ShipMotion, VEL_SCALE, bullet_launch, step_ship};
use skirmish_shared::tuning::{BULLET_LIFETIME_TICKS, FIRE_COOLDOWN_TICKS, RAPID_FIRE_COOLDOWN_TICKS};
use skirmish_shared::{Input, OwnState, Rect};

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

/// An input as sent, kept until the server applies it.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u32,
    mv: Vec2,
    aim: f32,
    fire: bool,
    /// When it was sent (ms): a shot it fires flies from then.
    at_ms: f64,
}

/// The gun as the server runs it: ticks until it may fire, and of rapid fire left.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Gun {
    cooldown: u32,
    rapid: u32,
}

/// A shot of ours: predicted when its input was sent, confirmed once a snapshot shows the
/// server's bullet fired by the same input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shot {
    /// The input that fired it.
    pub seq: u32,
    /// Where it starts and how fast it flies (fixed point, as `sim::bullet_launch` gives).
    pub origin: IVec2,
    pub vel: IVec2,
    /// When its input was sent (ms).
    pub fired_ms: f64,
    /// A snapshot showed the server's bullet.
    pub confirmed: bool,
}

impl Shot {
    /// Where it is at `now_ms` (world units), a tick lasting `tick_ms`.
    pub fn pos(&self, now_ms: f64, tick_ms: f64) -> Vec2 {
        let age = ((now_ms - self.fired_ms) / tick_ms).max(0.0) as f32;
        skirmish_shared::sim::bullet_pos(self.origin, self.vel, age)
    }

    /// Velocity in world units per second.
    pub fn vel_f(&self) -> Vec2 {
        self.vel.as_vec2() / VEL_SCALE
    }
}

/// The predicted state of our ship. See the module docs.
#[derive(Debug, Default)]
pub struct Predictor {
    /// Inputs sent and not yet applied by the server as far as we know.
    inputs: VecDeque<Sent>,
    /// The gun after every input sent.
    gun: Gun,
    /// Our shots in flight, oldest first.
    shots: Vec<Shot>,
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
    /// An input (already clamped as sent) was sent at `now_ms`.
    pub fn on_input(&mut self, input: &Input, now_ms: f64, terrain: Terrain<'_>) {
        if self.inputs.len() == MAX_UNACKED {
            self.inputs.pop_front();
        }
        let sent = Sent {
            seq: input.seq,
            mv: input.mv,
            aim: input.aim,
            fire: input.buttons & Input::FIRE != 0,
            at_ms: now_ms,
        };
        self.inputs.push_back(sent);
        if let Some(state) = self.state.as_mut() {
            self.before = *state;
            if let Some(shot) = step(state, &mut self.gun, &sent, terrain) {
                self.shots.push(shot);
            }
            self.stepped_ms = now_ms;
        }
        self.shots.retain(|s| now_ms - s.fired_ms < f64::from(BULLET_LIFETIME_TICKS) * f64::from(TICK_DT) * 1000.0);
    }

    /// A snapshot brought our own state; `server_fired(seq)` says whether it shows a bullet of
    /// ours fired by input `seq`. `active` is false while dead, frozen or spectating:
    /// prediction stops (and starts again from the next active snapshot's state).
    pub fn reconcile(
        &mut self,
        own: &OwnState,
        server_fired: impl Fn(u32) -> bool,
        active: bool,
        now_ms: f64,
        terrain: Terrain<'_>,
    ) {
        while self.inputs.front().is_some_and(|s| s.seq <= own.ack) {
            self.inputs.pop_front();
        }
        // Shots of applied inputs stay while the server's bullet flies; those of inputs not
        // applied yet are fired again by the replay below.
        self.shots.retain_mut(|s| {
            s.confirmed |= server_fired(s.seq);
            s.seq <= own.ack && s.confirmed && server_fired(s.seq)
        });
        if !active {
            (self.state, self.offset) = (None, Vec2::ZERO);
            return;
        }
        let mut state = ShipMotion { pos: own.pos, vel: own.vel };
        let mut before = state;
        let mut gun = Gun { cooldown: own.cooldown.into(), rapid: own.rapid_ticks.into() };
        for sent in &self.inputs {
            before = state;
            if let Some(shot) = step(&mut state, &mut gun, sent, terrain) {
                self.shots.push(shot);
            }
        }
        self.gun = gun;
        if let Some(old) = self.state.filter(|old| *old != state) {
            let error = old.pos_f() - state.pos_f();
            self.corrections += 1;
            self.correction_units += f64::from(error.length());
            self.offset = if error.length() > SNAP_UNITS { Vec2::ZERO } else { self.offset_at(now_ms) + error };
            self.offset_ms = now_ms;
        }
        (self.state, self.before) = (Some(state), before);
    }

    /// Our shots in flight: confirmed by the server, or fired by inputs it has not applied yet.
    pub fn shots(&self) -> &[Shot] {
        &self.shots
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

/// One tick of our living ship as the server steps it: movement, rapid fire running down,
/// then the gun (`world/combat.rs`: the cooldown counts down, and a held trigger fires when it
/// reaches 0). Returns the shot fired, if any.
fn step(state: &mut ShipMotion, gun: &mut Gun, sent: &Sent, terrain: Terrain<'_>) -> Option<Shot> {
    step_ship(state, sent.mv, terrain.arena, terrain.obstacles);
    gun.rapid = gun.rapid.saturating_sub(1);
    gun.cooldown = gun.cooldown.saturating_sub(1);
    if !sent.fire || gun.cooldown > 0 {
        return None;
    }
    gun.cooldown = if gun.rapid > 0 { RAPID_FIRE_COOLDOWN_TICKS } else { FIRE_COOLDOWN_TICKS };
    let (origin, vel) = bullet_launch(state.pos, sent.aim);
    Some(Shot { seq: sent.seq, origin, vel, fired_ms: sent.at_ms, confirmed: false })
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
        p.reconcile(&own_at(1000.0, 0), |_| false, true, 0.0, OPEN);
        p.on_input(&Input { seq: 1, mv: Vec2::ZERO, ..Input::default() }, 0.0, OPEN);
        p
    }

    #[test]
    fn a_small_correction_is_blended_and_a_large_one_snaps() {
        let mut p = predicting();
        let drawn = p.draw_pos(TICK_MS, TICK_MS).unwrap();
        assert_eq!(drawn.x, 1000.0);
        // The server says we were 20 units further on: the ship is still drawn where it was,
        // and glides there over BLEND_MS.
        p.reconcile(&own_at(1020.0, 1), |_| false, true, TICK_MS, OPEN);
        assert_eq!(p.corrections, 1);
        assert_eq!(p.draw_pos(TICK_MS, TICK_MS).unwrap().x, 1000.0, "no jump");
        let halfway = p.draw_pos(TICK_MS + BLEND_MS / 2.0, TICK_MS).unwrap().x;
        assert!((halfway - 1010.0).abs() < 0.01, "{halfway}");
        assert_eq!(p.draw_pos(TICK_MS + BLEND_MS, TICK_MS).unwrap().x, 1020.0);
        // Far off (a teleport, a respawn the client missed): snapped at once.
        p.reconcile(&own_at(1020.0 + SNAP_UNITS * 2.0, 1), |_| false, true, 2.0 * TICK_MS, OPEN);
        assert_eq!(p.corrections, 2);
        assert_eq!(p.draw_pos(2.0 * TICK_MS, TICK_MS).unwrap().x, 1020.0 + SNAP_UNITS * 2.0);
        assert!(p.correction_units > f64::from(SNAP_UNITS * 2.0));
    }

    #[test]
    fn an_input_moves_the_ship_at_once_and_the_replay_agrees() {
        let mut p = predicting();
        let start = p.state().unwrap();
        p.on_input(&Input { seq: 2, mv: Vec2::X, ..Input::default() }, 0.0, OPEN);
        p.on_input(&Input { seq: 3, mv: Vec2::X, ..Input::default() }, TICK_MS, OPEN);
        let ahead = p.state().unwrap();
        assert!(ahead.pos.x > start.pos.x, "moved before any acknowledgement");
        // The server applied input 2 only: the replay of input 3 on its state is where we were.
        let mut server = start;
        skirmish_shared::sim::step_ship(&mut server, Vec2::X, OPEN.arena, OPEN.obstacles);
        let own = OwnState { pos: server.pos, vel: server.vel, ack: 2, ..own_at(0.0, 2) };
        p.reconcile(&own, |_| false, true, TICK_MS, OPEN);
        assert_eq!((p.state(), p.corrections), (Some(ahead), 0));
    }

    #[test]
    fn dead_or_frozen_predicts_nothing_and_starts_again_after() {
        let mut p = predicting();
        p.reconcile(&own_at(1000.0, 1), |_| false, false, 0.0, OPEN);
        assert_eq!(p.state(), None);
        assert_eq!(p.draw_pos(0.0, TICK_MS), None);
        p.on_input(&Input { seq: 2, mv: Vec2::X, ..Input::default() }, 0.0, OPEN);
        assert_eq!(p.state(), None, "inputs while inactive move nothing");
        p.reconcile(&own_at(500.0, 2), |_| false, true, 0.0, OPEN);
        assert_eq!(p.state().unwrap().pos.x, (500.0 * POS_SCALE) as i32);
        assert_eq!(p.corrections, 0, "starting again is not a correction");
    }

    #[test]
    fn a_shot_appears_at_once_and_follows_the_server_bullet() {
        let mut p = predicting();
        let fire = |seq| Input { seq, buttons: Input::FIRE, ..Input::default() };
        p.on_input(&fire(2), 0.0, OPEN);
        assert_eq!(p.shots().len(), 1, "fired before any snapshot");
        let shot = p.shots()[0];
        assert_eq!(shot.seq, 2);
        assert!(shot.pos(TICK_MS, TICK_MS).x > shot.pos(0.0, TICK_MS).x, "flies along +x");
        // The cooldown holds the trigger for the next ticks.
        p.on_input(&fire(3), TICK_MS, OPEN);
        assert_eq!(p.shots().len(), 1);
        // The server applied input 2 and shows its bullet: confirmed and kept.
        let own = OwnState { cooldown: FIRE_COOLDOWN_TICKS as u8, ..own_at(1000.0, 2) };
        p.reconcile(&own, |seq| seq == 2, true, TICK_MS, OPEN);
        assert!(p.shots()[0].confirmed && p.shots().len() == 1);
        // Its bullet is gone from the next snapshot (it hit something): so is the shot.
        p.reconcile(&OwnState { ack: 3, ..own }, |_| false, true, 2.0 * TICK_MS, OPEN);
        assert!(p.shots().is_empty());
    }

    #[test]
    fn a_shot_the_server_never_fired_is_dropped() {
        let mut p = predicting();
        p.on_input(&Input { seq: 2, buttons: Input::FIRE, ..Input::default() }, 0.0, OPEN);
        assert_eq!(p.shots().len(), 1);
        // The server's gun was still cooling down (we did not know): no bullet for input 2.
        let own = OwnState { cooldown: 3, ..own_at(1000.0, 2) };
        p.reconcile(&own, |_| false, true, TICK_MS, OPEN);
        assert!(p.shots().is_empty());
        // Replayed from the server's cooldown, a held trigger fires when it runs out.
        for seq in 3..=5 {
            p.on_input(&Input { seq, buttons: Input::FIRE, ..Input::default() }, 0.0, OPEN);
        }
        assert_eq!(p.shots().iter().map(|s| s.seq).collect::<Vec<_>>(), [5]);
    }
}
