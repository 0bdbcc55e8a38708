//! Chat rules: the per-player rate limit and the wording of system lines. Plain Rust, so the
//! limit is tested without a socket; the session applies it and the room broadcasts.

use std::time::{Duration, Instant};

use skirmish_shared::tuning::{CHAT_BURST, CHAT_REFILL_MS};

/// What the sender alone is told when a line is dropped by the limit.
pub const TOO_FAST: &str = "you are sending messages too fast";

/// Token bucket: up to `CHAT_BURST` lines at once, then one more per `CHAT_REFILL_MS`. Lines over
/// the limit are dropped (not queued: a flood delivered late is still a flood).
#[derive(Debug, Clone)]
pub struct ChatLimiter {
    tokens: u32,
    /// When the next token is earned (meaningful only while the bucket is not full).
    next_refill: Instant,
}

impl ChatLimiter {
    /// A full bucket.
    pub fn new(now: Instant) -> Self {
        Self { tokens: CHAT_BURST, next_refill: now }
    }

    /// True if a line sent at `now` may go out (and uses up a token).
    pub fn allow(&mut self, now: Instant) -> bool {
        let refill = Duration::from_millis(CHAT_REFILL_MS);
        while self.tokens < CHAT_BURST && now >= self.next_refill {
            self.tokens += 1;
            self.next_refill += refill;
        }
        if self.tokens == 0 {
            return false;
        }
        if self.tokens == CHAT_BURST {
            // The refill clock starts with the first token spent from a full bucket.
            self.next_refill = now + refill;
        }
        self.tokens -= 1;
        true
    }
}

/// "NAME joined".
pub fn joined_line(name: &str) -> String {
    format!("{name} joined")
}

/// "NAME left".
pub fn left_line(name: &str) -> String {
    format!("{name} left")
}

/// "KILLER killed VICTIM".
pub fn kill_line(killer: &str, victim: &str) -> String {
    format!("{killer} killed {victim}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_one_line_per_refill() {
        let t0 = Instant::now();
        let mut limit = ChatLimiter::new(t0);
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
    fn a_quiet_player_gets_the_full_burst_back_and_no_more() {
        let t0 = Instant::now();
        let mut limit = ChatLimiter::new(t0);
        for _ in 0..CHAT_BURST {
            limit.allow(t0);
        }
        let later = t0 + Duration::from_millis(CHAT_REFILL_MS) * 100;
        for i in 0..CHAT_BURST {
            assert!(limit.allow(later), "line {i} after a long pause");
        }
        assert!(!limit.allow(later), "the bucket holds at most CHAT_BURST");
    }

    #[test]
    fn steady_chat_under_the_rate_never_drops() {
        let t0 = Instant::now();
        let mut limit = ChatLimiter::new(t0);
        for i in 0..50u32 {
            assert!(limit.allow(t0 + Duration::from_millis(CHAT_REFILL_MS) * i), "line {i}");
        }
    }

    #[test]
    fn system_lines_read_naturally() {
        assert_eq!(joined_line("Ada"), "Ada joined");
        assert_eq!(left_line("Bob"), "Bob left");
        assert_eq!(kill_line("Ada", "Bob"), "Ada killed Bob");
    }
}
