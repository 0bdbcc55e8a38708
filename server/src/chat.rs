//! Chat rules: the per-player rate limit and the wording of system lines. The room applies the
//! limit to each player's seat ([`Allowance`]), so a new connection taking the seat over does
//! not start with a fresh one; each session applies it too, to its own connection, so lines over
//! it cost the room nothing, and then its address's share (`admission`, `--chat-per-ip`).

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

/// "NAME joined" lines a room says at once, and then one more per `CHAT_REFILL_MS`: enough for
/// a LAN party arriving together, while a client joining and leaving in a loop (as fast as the
/// connection rate lets it, dozens a second) gets about a line a second into the room's chat,
/// its "left" lines included, instead of dozens.
pub const PRESENCE_BURST: u32 = 10;

/// A room's allowance of "joined" lines (see [`PRESENCE_BURST`]): a line over it waits for the
/// allowance, and goes unsaid if its player leaves first, in which case there is no "left"
/// line either. `Joined` and `Left` themselves always go out at once.
pub fn presence_limiter(now: Instant) -> RateLimiter {
    RateLimiter::new(PRESENCE_BURST, Duration::from_millis(CHAT_REFILL_MS), now)
}

/// A player's chat allowance, with whether it was told it is sending too fast since its last
/// line let through.
#[derive(Debug)]
pub struct Allowance {
    limit: RateLimiter,
    warned: bool,
}

/// What becomes of a chat line under an [`Allowance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Broadcast it.
    Send,
    /// Drop it, and tell the sender it is too fast (the first line dropped in a run).
    Warn,
    /// Drop it; the sender was told already.
    Drop,
}

impl Allowance {
    /// A full allowance.
    pub fn new(now: Instant) -> Self {
        Self { limit: chat_limiter(now), warned: false }
    }

    /// The verdict on a line at `now`.
    pub fn line(&mut self, now: Instant) -> Verdict {
        if self.limit.allow(now) {
            self.warned = false;
            Verdict::Send
        } else {
            self.dropped()
        }
    }

    /// A line was dropped before it reached the allowance (by the session's own limit): the
    /// verdict on the warning.
    pub fn dropped(&mut self) -> Verdict {
        if std::mem::replace(&mut self.warned, true) { Verdict::Drop } else { Verdict::Warn }
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
    fn an_allowance_warns_once_per_run_of_dropped_lines() {
        let t0 = Instant::now();
        let mut allowance = Allowance::new(t0);
        let burst: Vec<_> = (0..CHAT_BURST).map(|_| allowance.line(t0)).collect();
        assert!(burst.iter().all(|v| *v == Verdict::Send), "{burst:?}");
        assert_eq!(allowance.line(t0), Verdict::Warn);
        assert_eq!(allowance.line(t0), Verdict::Drop);
        assert_eq!(allowance.dropped(), Verdict::Drop, "the session's drops join the same run");
        let later = t0 + Duration::from_millis(CHAT_REFILL_MS);
        assert_eq!(allowance.line(later), Verdict::Send);
        assert_eq!(allowance.dropped(), Verdict::Warn, "a new run after a line let through");
    }

    #[test]
    fn system_lines_read_naturally() {
        assert_eq!(joined_line("Ada"), "Ada joined");
        assert_eq!(left_line("Bob"), "Bob left");
        assert_eq!(kill_line("Ada", "Bob"), "Ada killed Bob");
    }
}
