//! The client's estimate of the server's tick clock, and the (fractional) tick other entities
//! are drawn at.
//!
//! Snapshots leave the server once a tick but arrive with jitter, and the two machines' clocks
//! run at slightly different speeds. Anchoring the draw time to the newest snapshot's arrival
//! (what the client did before) makes it jump back and forth with every early or late
//! snapshot, so ships are drawn moving backwards. Instead, as Quake 3 and Source do:
//!
//! - each arrival gives a sample of `tick − now / tick_ms`; their moving average (`offset`)
//!   says which tick should be arriving now, and follows a drifting clock;
//! - their mean absolute deviation is the measured jitter, and the interpolation delay is two
//!   ticks plus three times that (capped), so a jittery link buffers more;
//! - the draw clock never jumps: it runs at 1 ± at most [`MAX_SLEW`] of real time, faster
//!   when it is behind its target (newest − delay) and slower when ahead, so corrections are
//!   smooth and the drawn time only moves forward. Only an error of over `RESYNC_TICKS` (the
//!   first snapshot, a stalled tab, a restarted server) resets it.
//!
//! The clock also says which ticks it cannot explain ([`TickClock::explains`]): the server's
//! tick grows with real time, so a snapshot far ahead of the tick arriving now was corrupted or
//! forged on the way, and the client refuses it rather than resync to it.

/// Weight of each new arrival in the averaged offset and jitter: about 20 snapshots (⅔ s) of
/// memory, enough to smooth jitter and short enough to follow a 0.1 % clock drift closely.
const GAIN: f64 = 0.05;
/// The draw clock's rate changes by this much per tick of error…
const RATE_GAIN: f64 = 0.1;
/// …but by at most this much (10 %: an error of a tick is made up in about ten ticks, and the
/// motion never visibly speeds up or slows down).
pub const MAX_SLEW: f64 = 0.1;
/// The interpolation delay on a clean link, in ticks: a snapshot on each side of the draw time
/// even when one arrives a little late.
pub const MIN_DELAY_TICKS: f64 = 2.0;
/// The delay grows by this many ticks per tick of measured jitter (mean absolute deviation)…
const JITTER_DELAY_FACTOR: f64 = 3.0;
/// …up to this (a third of a second at 30 Hz: the views buffer holds ten ticks).
pub const MAX_DELAY_TICKS: f64 = 8.0;
/// A snapshot this far (in ticks) from where the clock expects it restarts the clock.
const RESYNC_TICKS: f64 = 15.0;
/// The highest snapshot tick a client accepts: over a thousand years of ticks at 30 Hz, so no
/// server reaches it (`PROTOCOL.md`: the room's first tick is 1 and each step adds one), and
/// low enough that `tick as f64` keeps a 4096th of a tick, which the pacing's half ticks need.
/// At 2^53 and above one tick more is the same `f64`, and a client paced by such a clock found
/// every input due at once.
pub const MAX_TICK: u64 = 1 << 40;
/// How much earlier than the clock expects (by the average of arrivals) a snapshot may arrive:
/// by at most the latency the earlier snapshots had. The server cuts a client whose sends stall
/// 5 s (its default `--send-stall-timeout`) and one silent for 15 s (`--client-timeout`); half a
/// minute is past both, so only a tick the server never sent is further ahead. (A server that
/// stalled skips the ticks it missed and numbers the next one after the last it ran, so its
/// ticks fall behind the real time that passed, never ahead: the clock resyncs to them.)
pub const MAX_EARLY_MS: f64 = 30_000.0;

/// The server's tick clock as seen through snapshot arrivals, and the draw clock derived from it.
#[derive(Debug, Clone, Default)]
pub struct TickClock {
    /// Milliseconds per tick.
    tick_ms: f64,
    /// Average of `tick − now / tick_ms` over arrivals: at `now`, tick `now / tick_ms + offset`
    /// is the one arriving. `None` before the first snapshot.
    offset: Option<f64>,
    /// Mean absolute deviation of arrivals from `offset`, in ticks.
    jitter: f64,
    /// The draw clock: it showed tick `anchor_tick` at `anchor_ms`…
    anchor_tick: f64,
    anchor_ms: f64,
    /// …and advances `rate` ticks per tick of real time since.
    rate: f64,
}

impl TickClock {
    /// A clock for a server ticking `tick_rate` times a second.
    pub fn new(tick_rate: u32) -> Self {
        Self { tick_ms: 1000.0 / f64::from(tick_rate.max(1)), rate: 1.0, ..Self::default() }
    }

    /// A snapshot of `tick` arrived at `now_ms`.
    pub fn on_snapshot(&mut self, tick: u64, now_ms: f64) {
        let sample = tick as f64 - now_ms / self.tick_ms;
        let offset = match self.offset {
            Some(offset) if (sample - offset).abs() <= RESYNC_TICKS => {
                let dev = sample - offset;
                self.jitter += (dev.abs() - self.jitter) * GAIN;
                offset + dev * GAIN
            }
            _ => {
                self.jitter = 0.0;
                self.offset = Some(sample);
                (self.anchor_tick, self.anchor_ms, self.rate) = (self.target(now_ms), now_ms, 1.0);
                return;
            }
        };
        self.offset = Some(offset);
        let drawn = self.draw_tick_at(now_ms);
        let error = self.target(now_ms) - drawn;
        self.anchor_tick = if error.abs() > RESYNC_TICKS { drawn + error } else { drawn };
        self.anchor_ms = now_ms;
        self.rate = 1.0 + (error * RATE_GAIN).clamp(-MAX_SLEW, MAX_SLEW);
    }

    /// Whether a snapshot of `tick` arriving at `now_ms` can be the server's: not above
    /// [`MAX_TICK`], and not more than [`MAX_EARLY_MS`] ahead of the tick the clock expects now
    /// (before the first snapshot, any tick up to `MAX_TICK`: a room may be of any age). A
    /// client refuses a snapshot it cannot explain instead of resyncing to it: one forged or
    /// corrupted tick would otherwise move the clock, and with it the pacing of inputs, to a tick
    /// the server is nowhere near, and every real snapshot after it would be refused as older.
    pub fn explains(&self, tick: u64, now_ms: f64) -> bool {
        tick <= MAX_TICK && self.newest(now_ms).is_none_or(|newest| tick as f64 <= newest + MAX_EARLY_MS / self.tick_ms)
    }

    /// The tick arriving at `now_ms` by the average of arrivals (fractional); `None` before the
    /// first snapshot.
    pub fn newest(&self, now_ms: f64) -> Option<f64> {
        self.offset.map(|o| now_ms / self.tick_ms + o)
    }

    /// When (fractional) `tick` arrives by the average of arrivals, in ms: the inverse of
    /// [`TickClock::newest`]; `None` before the first snapshot.
    pub fn arrival_ms(&self, tick: f64) -> Option<f64> {
        self.offset.map(|o| (tick - o) * self.tick_ms)
    }

    /// Measured jitter: mean absolute deviation of arrivals, in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * self.tick_ms
    }

    /// How far behind the newest tick others should be drawn, in ticks: two on a clean link,
    /// more the more jitter was measured.
    pub fn target_delay(&self) -> f64 {
        (MIN_DELAY_TICKS + JITTER_DELAY_FACTOR * self.jitter).min(MAX_DELAY_TICKS)
    }

    /// The (fractional) tick to draw at `now_ms`; `None` before the first snapshot. Only moves
    /// forward between resyncs.
    pub fn draw_tick(&self, now_ms: f64) -> Option<f64> {
        self.offset.map(|_| self.draw_tick_at(now_ms))
    }

    /// How far behind the newest tick the drawing is at `now_ms`, in ticks (the interpolation
    /// delay actually used, which follows [`TickClock::target_delay`]).
    pub fn delay(&self, now_ms: f64) -> Option<f64> {
        Some(self.newest(now_ms)? - self.draw_tick(now_ms)?)
    }

    fn draw_tick_at(&self, now_ms: f64) -> f64 {
        self.anchor_tick + (now_ms - self.anchor_ms) / self.tick_ms * self.rate
    }

    fn target(&self, now_ms: f64) -> f64 {
        self.newest(now_ms).unwrap_or(0.0) - self.target_delay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server ticks at 30 Hz; a snapshot of tick `k` leaves at `k × 33.3 ms` of server time
    /// and arrives `latency(k)` later; the client's clock runs `skew` times the server's.
    fn arrival_ms(k: u64, skew: f64, latency_ms: f64) -> f64 {
        (k as f64 * 1000.0 / 30.0 + latency_ms) * skew
    }

    #[test]
    fn the_delay_holds_its_target_while_the_client_clock_runs_fast_then_slow() {
        // Ten minutes: the first five with the client's clock 0.1 % fast, the next five 0.1 %
        // slow (the client's time stays continuous), 50 ms of latency, a little deterministic
        // jitter. Checked at every snapshot and at 60 frames a second between.
        let mut clock = TickClock::new(30);
        let ticks = 10 * 60 * 30;
        let half = ticks / 2;
        let (mut client_at_half, mut worst, mut last_drawn) = (0.0, 0.0_f64, f64::MIN);
        for k in 1..=ticks {
            let wobble = ((k * 7919) % 11) as f64 - 5.0; // ±5 ms
            let now = if k <= half {
                arrival_ms(k, 1.001, 50.0 + wobble)
            } else {
                if client_at_half == 0.0 {
                    client_at_half = arrival_ms(half, 1.001, 50.0) - arrival_ms(half, 0.999, 50.0);
                }
                client_at_half + arrival_ms(k, 0.999, 50.0 + wobble)
            };
            clock.on_snapshot(k, now);
            for frame in 0..2 {
                let t = now + f64::from(frame) * 16.0;
                let drawn = clock.draw_tick(t).expect("synced");
                assert!(drawn >= last_drawn, "tick {k}: drawn time went back ({last_drawn} → {drawn})");
                last_drawn = drawn;
                if k > 5 * 30 {
                    worst = worst.max((clock.delay(t).unwrap() - clock.target_delay()).abs());
                }
            }
        }
        assert!(worst <= 0.5, "the delay strayed {worst} ticks from its target");
    }

    #[test]
    fn jitter_raises_the_delay_and_a_clean_link_keeps_it_near_two_ticks() {
        let mut clean = TickClock::new(30);
        let mut jittery = TickClock::new(30);
        let mut noise = 12345_u64;
        for k in 1..=600 {
            noise = noise.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let jitter_ms = (noise >> 33) as f64 / f64::from(1u32 << 31) * 60.0; // 0–60 ms
            clean.on_snapshot(k, arrival_ms(k, 1.0, 20.0));
            jittery.on_snapshot(k, arrival_ms(k, 1.0, 20.0 + jitter_ms));
        }
        assert!((clean.target_delay() - MIN_DELAY_TICKS).abs() < 0.01, "{}", clean.target_delay());
        assert!(jittery.jitter_ms() > 5.0, "{}", jittery.jitter_ms());
        assert!(jittery.target_delay() > clean.target_delay() + 1.0, "{}", jittery.target_delay());
        assert!(jittery.target_delay() <= MAX_DELAY_TICKS);
    }

    #[test]
    fn a_long_gap_resyncs_instead_of_crawling() {
        let mut clock = TickClock::new(30);
        for k in 1..=100 {
            clock.on_snapshot(k, arrival_ms(k, 1.0, 10.0));
        }
        // The server restarted its ticks (or the tab slept for a minute).
        clock.on_snapshot(5000, arrival_ms(101, 1.0, 10.0));
        let now = arrival_ms(101, 1.0, 10.0);
        assert!((clock.draw_tick(now).unwrap() - (5000.0 - MIN_DELAY_TICKS)).abs() < 0.5);
    }

    #[test]
    fn only_ticks_the_real_time_since_can_explain_are_explained() {
        let mut clock = TickClock::new(30);
        assert!(clock.explains(1_000_000, 0.0), "the first snapshot may be of any room's age");
        assert!(!clock.explains(MAX_TICK + 1, 0.0) && !clock.explains(u64::MAX, 0.0));
        for k in 1..=100 {
            clock.on_snapshot(k, arrival_ms(k, 1.0, 10.0));
        }
        let now = arrival_ms(100, 1.0, 10.0);
        let ahead = (MAX_EARLY_MS / (1000.0 / 30.0)) as u64;
        assert!(clock.explains(101 + ahead - 1, now), "a late link that caught up");
        assert!(!clock.explains(101 + ahead + 1, now));
        // A server that stalled for a minute skipped a minute of ticks: explained.
        assert!(clock.explains(100 + 1800, now + 60_000.0));
        for forged in [100 + 1_000_000, 100 + (1 << 40), 100 + (1 << 53), u64::MAX] {
            assert!(!clock.explains(forged, now), "{forged}");
        }
    }
}
