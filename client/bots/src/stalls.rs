//! Server stalls that tick numbers hide. After a stall longer than its catch-up allows, the
//! server skips ticks without numbering them, so a gap in tick numbers shows only the few it
//! caught up on (a 10 s freeze showed as 10 ticks missed per bot). A bot sees the rest as its
//! snapshots' tick numbers falling behind its clock for good; a stall of the bot itself (or of
//! the network) only delays snapshots that then arrive in a burst and catch up.

/// The arrival-time windows the lag is settled over: a lag counts once it has held for one.
const WINDOW_MS: f64 = 1000.0;
/// Slack when rounding the settled lag down to whole ticks: the windows' minimum delays differ
/// by a few milliseconds, never by most of a tick, on a link that is not saturated.
const ROUNDING_TICKS: f64 = 0.1;

/// Counts the ticks a server passed over without numbering them, from one bot's snapshots.
///
/// Each snapshot's *lag* is the ticks its arrival is behind the first snapshot's by the clock,
/// less the ticks its number is: it grows by the unnumbered ticks and by whatever delayed that
/// snapshot more than the first. The lowest lag of a whole window of arrivals has no burst in it
/// (a burst drains in milliseconds, its last snapshots on time); the rise of that lowest lag
/// above the lowest ever seen is the count. Clocks drifting apart (bots and server on different
/// machines) add a tick per 33 ms of drift.
#[derive(Debug, Clone)]
pub struct StallMeter {
    /// One tick in ms.
    tick_ms: f64,
    /// The first snapshot's arrival (ms on the bot's clock) and tick: the lag's zero.
    origin: Option<(f64, u64)>,
    /// When the current window began (ms).
    window_start_ms: f64,
    /// Lowest lag of the current window, and of the window before it (`INFINITY`: none yet).
    window_min: f64,
    previous_min: f64,
    /// Lowest lag ever seen: the stream's lag with nothing held up.
    floor: f64,
    /// Unnumbered ticks counted so far; only grows.
    counted: u64,
}

impl StallMeter {
    /// A meter for a server ticking at `tick_rate_hz`.
    pub fn new(tick_rate_hz: u32) -> Self {
        Self {
            tick_ms: 1000.0 / f64::from(tick_rate_hz.max(1)),
            origin: None,
            window_start_ms: 0.0,
            window_min: f64::INFINITY,
            previous_min: f64::INFINITY,
            floor: f64::INFINITY,
            counted: 0,
        }
    }

    /// A snapshot of tick `tick` arrived at `now_ms`.
    pub fn snapshot(&mut self, now_ms: f64, tick: u64) {
        let (origin_ms, origin_tick) = *self.origin.get_or_insert((now_ms, tick));
        let lag = (now_ms - origin_ms) / self.tick_ms - (tick as f64 - origin_tick as f64);
        if now_ms - self.window_start_ms >= WINDOW_MS {
            // However long the stall before this snapshot, the previous window holds what came
            // before it: a burst after it counts only once the window it drained in has ended.
            self.previous_min = self.window_min;
            self.window_min = f64::INFINITY;
            self.window_start_ms = now_ms;
        }
        self.window_min = self.window_min.min(lag);
        self.floor = self.floor.min(lag);
        self.count(self.window_min.min(self.previous_min));
    }

    /// The unnumbered ticks, once the bot stopped playing: the current window counts too if a
    /// stall ended before it began (the bot's own stall at the very end leaves no burst read).
    pub fn finish(&mut self) -> u64 {
        self.count(self.window_min);
        self.counted
    }

    fn count(&mut self, settled: f64) {
        let rise = settled - self.floor;
        if rise.is_finite() && rise > 0.0 {
            self.counted = self.counted.max((rise + ROUNDING_TICKS).floor() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK_MS: f64 = 1000.0 / 30.0;

    /// Feeds `ticks` snapshots, one a tick, the first of tick `from` arriving at `at_ms`, each
    /// `delay_ms` after its tick; returns the arrival time after the last.
    fn stream(meter: &mut StallMeter, at_ms: f64, from: u64, ticks: u64, delay_ms: f64) -> f64 {
        for i in 0..ticks {
            meter.snapshot(at_ms + i as f64 * TICK_MS + delay_ms, from + i);
        }
        at_ms + ticks as f64 * TICK_MS
    }

    #[test]
    fn a_steady_stream_with_jitter_counts_nothing() {
        let mut m = StallMeter::new(30);
        for i in 0..3000u64 {
            // Up to 20 ms of jitter, the first snapshot the latest of all.
            let jitter = if i == 0 { 20.0 } else { (i * 7919 % 20) as f64 };
            m.snapshot(i as f64 * TICK_MS + jitter, 100 + i);
        }
        assert_eq!(m.finish(), 0);
    }

    #[test]
    fn a_server_frozen_for_10_s_counts_the_ticks_it_never_numbered() {
        let mut m = StallMeter::new(30);
        let at = stream(&mut m, 0.0, 1, 120, 2.0);
        // Frozen 10 s; it then catches up 5 ticks and skips the other 295 unnumbered.
        let at = stream(&mut m, at + 10_000.0, 121 + 5, 300, 2.0);
        assert_eq!(m.finish(), 295, "{m:?}");
        // Counted once the lag has held for a window, before the end too.
        let mut early = StallMeter::new(30);
        let at2 = stream(&mut early, 0.0, 1, 120, 2.0);
        stream(&mut early, at2 + 10_000.0, 126, 70, 2.0);
        assert_eq!(early.counted, 295);
        assert!(at > 0.0);
    }

    #[test]
    fn a_freeze_ending_in_the_last_window_counts_at_the_finish() {
        let mut m = StallMeter::new(30);
        let at = stream(&mut m, 0.0, 1, 120, 2.0);
        stream(&mut m, at + 3_000.0, 121 + 5, 10, 2.0);
        assert_eq!(m.counted, 0, "not settled yet");
        assert_eq!(m.finish(), 85);
    }

    #[test]
    fn a_stalled_bot_reading_a_burst_counts_nothing() {
        for stall_ms in [500.0, 1500.0, 3000.0] {
            let mut m = StallMeter::new(30);
            let at = stream(&mut m, 0.0, 1, 100, 2.0);
            // The bot slept; the server kept ticking and numbering. The snapshots of the stall
            // come in a burst at its end, then the stream goes on.
            let missed = (stall_ms / TICK_MS) as u64;
            let woke = at + stall_ms;
            for i in 0..missed {
                m.snapshot(woke + i as f64 * 0.01, 101 + i);
            }
            let next_tick = 101 + missed;
            stream(&mut m, at + missed as f64 * TICK_MS, next_tick, 200, 2.0);
            assert_eq!(m.finish(), 0, "stall of {stall_ms} ms: {m:?}");
        }
    }

    #[test]
    fn nothing_received_counts_nothing() {
        assert_eq!(StallMeter::new(30).finish(), 0);
        let mut one = StallMeter::new(30);
        one.snapshot(5.0, 7);
        assert_eq!(one.finish(), 0);
    }
}
