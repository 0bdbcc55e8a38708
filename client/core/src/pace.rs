//! When the next input is due: one per server tick, on the server's tick clock as the
//! snapshots show it, not on a free-running timer. The server applies one input per tick from a
//! small buffer; a 33 ms timer runs 1 % fast (and a browser's drifts further), so it would
//! overfill that buffer now and then and leave a tick without an input at other times.

use skirmish_shared::consts::INPUT_PERIOD_MS;

/// Where in a tick inputs go out, in ticks after the earliest the tick's snapshot arrives. On a
/// short link an input then reaches the server half a tick before the step that applies it: it
/// waits about half a tick, and jitter up to half a tick either way neither leaves a tick
/// without an input nor brings one tick two.
const SEND_PHASE_TICKS: f64 = 0.5;

/// How far the clock estimate moves towards a snapshot that came later than expected, per
/// snapshot: a little, since lateness is mostly jitter, yet enough to follow a client clock
/// that runs fast (0.1 % is a thirtieth of a millisecond a tick). An early snapshot is taken at
/// once: it shows the least delay seen.
const LATE_GAIN: f64 = 1.0 / 64.0;

/// See the module docs. Plain floats, no `Option` or integer casts: this runs in the page,
/// whose download is counted in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// The local time (ms) at which tick 0's snapshot would have arrived: the lower envelope of
    /// `arrival - tick × tick length` over the snapshots (infinite before the first).
    origin_ms: f64,
    /// The tick slot of the last input: the estimated server tick, less the phase, when it
    /// went out, floored (0: none since the first snapshot).
    slot: f64,
    /// When the last input went out, for the timer used before the first snapshot.
    sent_ms: f64,
}

impl Default for Pace {
    fn default() -> Self {
        Self { origin_ms: f64::INFINITY, slot: 0.0, sent_ms: f64::NEG_INFINITY }
    }
}

impl Pace {
    /// Snapshot `tick` arrived at `at_ms`.
    pub fn snapshot(&mut self, tick: u64, at_ms: f64, tick_ms: f64) {
        let sample = at_ms - tick as f64 * tick_ms;
        let o = self.origin_ms;
        // The first sample is below the infinite start, so it is taken as it is.
        self.origin_ms = if sample > o { o + (sample - o) * LATE_GAIN } else { sample };
    }

    /// An input went out at `now_ms`: it fills the current slot. A caller sending exactly at
    /// `due_ms` fills that slot despite rounding (hence the millionth of a tick); never
    /// backwards: a clock estimate that moved later must not make a slot due twice. (Before
    /// the first snapshot the slot is minus infinity, and the `max` keeps 0.)
    pub fn sent(&mut self, now_ms: f64, tick_ms: f64) {
        self.sent_ms = now_ms;
        let slot = ((now_ms - self.origin_ms) / tick_ms - SEND_PHASE_TICKS + 1e-6).floor();
        self.slot = self.slot.max(slot);
    }

    /// When the next input is due (ms; in the past when one is due now).
    pub fn due_ms(&self, tick_ms: f64) -> f64 {
        if self.origin_ms.is_finite() {
            self.origin_ms + (self.slot + 1.0 + SEND_PHASE_TICKS) * tick_ms
        } else {
            self.sent_ms + f64::from(INPUT_PERIOD_MS)
        }
    }
}
