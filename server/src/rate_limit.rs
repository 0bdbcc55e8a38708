//! The one rate limiter: a token bucket that serves both a connection's message rate (inputs,
//! pings, acknowledgements) and its chat lines. Plain Rust with the caller's clock, so it is
//! tested without a socket; the session owns one of each.

use std::time::{Duration, Instant};

/// Up to `burst` events at once, then one more per `refill`. Events over the limit are refused
/// (not queued: a flood delivered late is still a flood).
#[derive(Debug, Clone)]
pub struct RateLimiter {
    burst: u32,
    refill: Duration,
    tokens: u32,
    /// When the next token is earned (meaningful only while the bucket is not full).
    next_refill: Instant,
}

impl RateLimiter {
    /// A full bucket of `burst` tokens, refilled one per `refill`.
    pub fn new(burst: u32, refill: Duration, now: Instant) -> Self {
        Self { burst: burst.max(1), refill, tokens: burst.max(1), next_refill: now }
    }

    /// `per_sec` events a second on average, in bursts of up to `per_sec`.
    pub fn per_second(per_sec: u32, now: Instant) -> Self {
        Self::new(per_sec, Duration::from_secs(1) / per_sec.max(1), now)
    }

    /// True if an event at `now` may pass (and uses up a token).
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.tokens < self.burst && now >= self.next_refill {
            // Every whole refill period since the last token was earned adds one, up to the burst.
            let earned = now.duration_since(self.next_refill).as_nanos() / self.refill.as_nanos().max(1) + 1;
            let room = u128::from(self.burst - self.tokens);
            let add = earned.min(room) as u32;
            self.tokens += add;
            self.next_refill += self.refill * add;
        }
        if self.tokens == 0 {
            return false;
        }
        if self.tokens == self.burst {
            // The refill clock starts with the first token spent from a full bucket.
            self.next_refill = now + self.refill;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skirmish_shared::consts::MAX_CLIENT_MSGS_PER_SEC;
    use skirmish_shared::tuning::{CHAT_BURST, CHAT_REFILL_MS};

    fn chat(now: Instant) -> RateLimiter {
        RateLimiter::new(CHAT_BURST, Duration::from_millis(CHAT_REFILL_MS), now)
    }

    #[test]
    fn a_burst_passes_then_one_per_refill() {
        let t0 = Instant::now();
        let mut limit = chat(t0);
        for i in 0..CHAT_BURST {
            assert!(limit.allow(t0), "line {i} of the burst");
        }
        assert!(!limit.allow(t0), "over the burst");
        let refill = Duration::from_millis(CHAT_REFILL_MS);
        assert!(!limit.allow(t0 + refill - Duration::from_millis(1)), "not refilled yet");
        assert!(limit.allow(t0 + refill), "one token back after the refill time");
        assert!(!limit.allow(t0 + refill), "and only one");
        assert!(limit.allow(t0 + refill * 2));
    }

    #[test]
    fn a_quiet_sender_gets_the_full_burst_back_and_no_more() {
        let t0 = Instant::now();
        let mut limit = chat(t0);
        for _ in 0..CHAT_BURST {
            limit.allow(t0);
        }
        let later = t0 + Duration::from_millis(CHAT_REFILL_MS) * 100;
        for i in 0..CHAT_BURST {
            assert!(limit.allow(later), "line {i} after a long pause");
        }
        assert!(!limit.allow(later), "the bucket holds at most the burst");
    }

    #[test]
    fn steady_traffic_under_the_rate_never_drops() {
        let t0 = Instant::now();
        let mut limit = chat(t0);
        for i in 0..50u32 {
            assert!(limit.allow(t0 + Duration::from_millis(CHAT_REFILL_MS) * i), "line {i}");
        }
        // Inputs at the tick rate plus a ping a second stay well inside the message limit.
        let mut msgs = RateLimiter::per_second(MAX_CLIENT_MSGS_PER_SEC, t0);
        for i in 0..31 * 60u32 {
            assert!(msgs.allow(t0 + Duration::from_millis(1000) * i / 31), "message {i}");
        }
    }

    #[test]
    fn a_flood_gets_the_rate_and_no_more() {
        let t0 = Instant::now();
        let mut msgs = RateLimiter::per_second(MAX_CLIENT_MSGS_PER_SEC, t0);
        // 1000 messages a second for 5 s: the burst, then the average rate.
        let passed = (0..5000u32).filter(|i| msgs.allow(t0 + Duration::from_millis(u64::from(*i)))).count() as u32;
        let expected = MAX_CLIENT_MSGS_PER_SEC * 6;
        assert!(passed.abs_diff(expected) <= 2, "{passed} passed, expected about {expected}");
    }
}
