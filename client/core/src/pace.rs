//! When the next input is due: one per server tick, on the server's tick clock as the
//! snapshots show it ([`TickClock`]), not on a free-running timer. The server applies one input
//! per tick from a small buffer; a 33 ms timer runs 1 % fast (and a browser's drifts further),
//! so it would overfill that buffer now and then and leave a tick without an input at other
//! times.

use skirmish_shared::consts::INPUT_PERIOD_MS;

use crate::clock::TickClock;

/// Where in a tick inputs go out, in ticks after the tick's snapshot arrives (on the clock's
/// average). On a short link an input then reaches the server half a tick before the step that
/// applies it: it waits about half a tick, and jitter up to half a tick either way neither
/// leaves a tick without an input nor brings one tick two.
const SEND_PHASE_TICKS: f64 = 0.5;

/// See the module docs. Plain floats, no `Option` or integer casts: this runs in the page,
/// whose download is counted in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// The tick slot of the last input: the tick arriving when it went out, less the phase,
    /// floored (0: none since the clock started).
    slot: f64,
    /// When the last input went out, for the timer used before the first snapshot.
    sent_ms: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Self { slot: 0.0, sent_ms: f64::NEG_INFINITY }
    }
}

impl Pace {
    /// An input went out at `now_ms`: it fills the current slot. A caller sending exactly at
    /// `due_ms` fills that slot despite rounding (hence the millionth of a tick); never
    /// backwards: a clock estimate that moved later must not make a slot due twice.
    pub fn sent(&mut self, now_ms: f64, clock: &TickClock) {
        self.sent_ms = now_ms;
        if let Some(tick) = clock.newest(now_ms) {
            self.slot = self.slot.max((tick - SEND_PHASE_TICKS + 1e-6).floor());
        }
    }

    /// When the next input is due (ms; in the past when one is due now).
    pub fn due_ms(&self, clock: &TickClock) -> f64 {
        clock.arrival_ms(self.slot + 1.0 + SEND_PHASE_TICKS).unwrap_or(self.sent_ms + f64::from(INPUT_PERIOD_MS))
    }
}
