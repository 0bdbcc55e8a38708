//! Chat rules: the per-player rate limit and the wording of system lines. The session applies
//! the limit (a [`RateLimiter`]) and the room broadcasts.

use std::time::{Duration, Instant};

use skirmish_shared::tuning::{CHAT_BURST, CHAT_REFILL_MS};

use crate::rate_limit::RateLimiter;

/// What the sender alone is told when lines are dropped by the limit: once per run of dropped
/// lines, not once per line (a flood of warnings would be a flood of its own).
pub const TOO_FAST: &str = "you are sending messages too fast";

/// A chat limit: `CHAT_BURST` lines at once, then one per `CHAT_REFILL_MS`.
pub fn chat_limiter(now: Instant) -> RateLimiter {
    RateLimiter::new(CHAT_BURST, Duration::from_millis(CHAT_REFILL_MS), now)
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
    fn system_lines_read_naturally() {
        assert_eq!(joined_line("Ada"), "Ada joined");
        assert_eq!(left_line("Bob"), "Bob left");
        assert_eq!(kill_line("Ada", "Bob"), "Ada killed Bob");
    }
}
