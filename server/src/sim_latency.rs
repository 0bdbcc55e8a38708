//! Simulated network latency for development (`--sim-latency`, `--sim-jitter`): anyone can feel
//! the netcode at internet latencies in a browser on one machine, with no `tc netem` and no
//! root.
//!
//! Each session delays its traffic both ways by half the simulated round trip, give or take
//! half the jitter, drawn per message. The delay sits after latest-wins on the way out (a slow
//! client still gets the newest snapshot, not a queue of stale ones) and before everything on
//! the way in. A link never reorders: a message is never due before the one ahead of it, as on
//! one TCP connection. Off by default; the server logs a warning at start when it is on.

use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt as _, SeedableRng as _};
use skirmish_shared::consts::{HISTORY_TICKS, TICK_NANOS};

/// The longest simulated round trip plus jitter. A client acknowledges a snapshot about a round
/// trip after it was sent; the server must still hold that tick in its history (`HISTORY_TICKS`)
/// to send a delta against it, with room for the client's input interval and a tick of
/// scheduling. Past this every snapshot would go out whole.
pub const MAX_SIM_ROUND_TRIP: Duration = Duration::from_nanos(TICK_NANOS * (HISTORY_TICKS as u64 - 8));

/// One direction of one session's simulated link.
#[derive(Debug)]
pub struct Link {
    /// Half the simulated round trip.
    one_way: Duration,
    /// Half the jitter: each message's delay is `one_way` ± this.
    spread: Duration,
    rng: Xoshiro256PlusPlus,
    /// When the previous message is due: none is due before it.
    last_due: Option<Instant>,
}

impl Link {
    /// A link adding `round_trip / 2 ± jitter / 2` each way, or `None` when both are zero.
    pub fn new(round_trip: Duration, jitter: Duration, seed: u64) -> Option<Self> {
        if !is_on(round_trip, jitter) {
            return None;
        }
        Some(Self {
            one_way: round_trip / 2,
            spread: jitter / 2,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            last_due: None,
        })
    }

    /// When a message handed to the link at `now` comes out of it.
    pub fn due(&mut self, now: Instant) -> Instant {
        let spread = self.spread.as_secs_f64();
        let offset = if spread > 0.0 { self.rng.random_range(-spread..=spread) } else { 0.0 };
        let delay = Duration::from_secs_f64((self.one_way.as_secs_f64() + offset).max(0.0));
        let due = self.last_due.map_or(now + delay, |last| (now + delay).max(last));
        self.last_due = Some(due);
        due
    }
}

/// True when the options delay anything: either is not zero.
pub fn is_on(round_trip: Duration, jitter: Duration) -> bool {
    !(round_trip.is_zero() && jitter.is_zero())
}

/// Checks the options: the round trip and jitter must fit in the snapshot history.
pub fn check(round_trip: Duration, jitter: Duration) -> Result<(), String> {
    if round_trip + jitter > MAX_SIM_ROUND_TRIP {
        return Err(format!(
            "--sim-latency plus --sim-jitter is {} ms; at most {} ms fit in the snapshot history the server keeps \
             for deltas ({HISTORY_TICKS} ticks)",
            (round_trip + jitter).as_millis(),
            MAX_SIM_ROUND_TRIP.as_millis()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_when_zero() {
        assert!(Link::new(Duration::ZERO, Duration::ZERO, 1).is_none());
    }

    #[test]
    fn delays_by_half_the_round_trip_within_the_jitter_and_never_reorders() {
        let (rtt, jitter) = (Duration::from_millis(150), Duration::from_millis(30));
        let mut link = Link::new(rtt, jitter, 7).unwrap();
        let start = Instant::now();
        let mut last = start;
        let mut spread_seen = (Duration::MAX, Duration::ZERO);
        for i in 0..1000u32 {
            // Messages 5 ms apart: closer than the jitter, so without the FIFO rule some would
            // overtake the one before.
            let now = start + Duration::from_millis(5) * i;
            let due = link.due(now);
            assert!(due >= last, "message {i} due before the one ahead of it");
            last = due;
            let delay = due - now;
            spread_seen = (spread_seen.0.min(delay), spread_seen.1.max(delay));
            assert!(delay <= rtt / 2 + jitter / 2, "message {i} delayed {delay:?}");
        }
        // The first message has nothing ahead of it, so the least delay is within the jitter.
        assert!(spread_seen.0 >= rtt / 2 - jitter / 2, "{spread_seen:?}");
        assert!(spread_seen.1 > spread_seen.0, "the jitter varies the delay: {spread_seen:?}");
    }

    #[test]
    fn the_round_trip_must_fit_in_the_history() {
        assert!(check(Duration::from_millis(150), Duration::from_millis(30)).is_ok());
        assert!(check(MAX_SIM_ROUND_TRIP, Duration::ZERO).is_ok());
        let err = check(Duration::from_secs(1), Duration::ZERO).unwrap_err();
        assert!(err.contains("snapshot history"), "{err}");
    }
}
