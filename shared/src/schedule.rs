//! Drift-free fixed-rate tick arithmetic, kept pure so it can be tested without a clock.
//!
//! Tick `n` is due at `start + n × 10⁹ / TICK_RATE_HZ` nanoseconds, computed in integers from one
//! start instant: no accumulated rounding, unlike re-arming a 33 ms timer (which runs 1 % fast).
//! After a stall the room runs the missed steps, up to a cap, then broadcasts once.

use crate::consts::TICK_RATE_HZ;

/// Most simulation steps run to catch up after one stall; the rest are skipped.
pub const MAX_CATCHUP_STEPS: u32 = 5;

/// Nanoseconds from the start instant until tick `n` is due.
pub fn due_nanos(n: u64) -> u64 {
    (u128::from(n) * 1_000_000_000 / u128::from(TICK_RATE_HZ)) as u64
}

/// What to do on one wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickPlan {
    /// Simulation steps to run now (0 if woken early). Broadcast once if this is non-zero.
    pub steps: u32,
    /// Due ticks dropped because the stall was longer than the catch-up cap.
    pub skipped: u64,
}

/// Which ticks have run and which is next, from a fixed start.
#[derive(Debug, Clone)]
pub struct TickClock {
    /// Index of the next tick to run. The tick number in snapshots is this minus one.
    next: u64,
    max_catchup: u32,
}

impl TickClock {
    /// A clock whose tick 0 is due at elapsed time 0.
    pub fn new(max_catchup: u32) -> Self {
        Self { next: 0, max_catchup: max_catchup.max(1) }
    }

    /// Index of the next tick to run; also the number of ticks run or skipped so far.
    pub fn next_tick(&self) -> u64 {
        self.next
    }

    /// Nanoseconds after the start at which the next tick is due: sleep until then.
    pub fn next_due_nanos(&self) -> u64 {
        due_nanos(self.next)
    }

    /// Called on wake-up with the time since the start; says how many steps to run.
    pub fn advance(&mut self, elapsed_nanos: u64) -> TickPlan {
        // Tick n is due when floor(n·10⁹/R) <= e, i.e. n·10⁹ < R·(e+1): the count of due ticks
        // is ceil(R·(e+1) / 10⁹). Exact integer arithmetic, the inverse of `due_nanos`.
        let numer = u128::from(TICK_RATE_HZ) * (u128::from(elapsed_nanos) + 1);
        let due_count = numer.div_ceil(1_000_000_000) as u64;
        if due_count <= self.next {
            return TickPlan { steps: 0, skipped: 0 };
        }
        let behind = due_count - self.next;
        let steps = behind.min(u64::from(self.max_catchup));
        self.next = due_count;
        TickPlan { steps: steps as u32, skipped: behind - steps }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_seconds_give_1800_steps() {
        let mut clock = TickClock::new(MAX_CATCHUP_STEPS);
        let mut steps = 0u64;
        let mut broadcasts = 0u64;
        // Wake exactly when each tick is due, as a perfect timer would, over [0 s, 60 s).
        loop {
            let at = clock.next_due_nanos();
            if at >= 60_000_000_000 {
                break;
            }
            let plan = clock.advance(at);
            assert_eq!(plan, TickPlan { steps: 1, skipped: 0 });
            steps += u64::from(plan.steps);
            broadcasts += 1;
        }
        assert_eq!(steps, 1800);
        assert_eq!(broadcasts, 1800);
    }

    #[test]
    fn sixty_seconds_of_late_millisecond_wakeups_still_give_1800() {
        let mut clock = TickClock::new(MAX_CATCHUP_STEPS);
        let mut steps = 0u64;
        for ms in 0..60_000u64 {
            steps += u64::from(clock.advance(ms * 1_000_000 + 999_999).steps);
        }
        assert_eq!(steps, 1800);
    }

    #[test]
    fn no_drift_against_the_33ms_trap() {
        // Tick 1800 is due at exactly 60 s; a 33 ms timer would be 600 ms early by then.
        assert_eq!(due_nanos(1800), 60_000_000_000);
        assert_eq!(due_nanos(1), 33_333_333);
        assert_eq!(due_nanos(3), 100_000_000);
    }

    #[test]
    fn early_wakeup_runs_nothing() {
        let mut clock = TickClock::new(MAX_CATCHUP_STEPS);
        assert_eq!(clock.advance(0).steps, 1);
        assert_eq!(clock.advance(33_000_000), TickPlan { steps: 0, skipped: 0 });
        assert_eq!(clock.advance(33_333_333).steps, 1);
    }

    #[test]
    fn stall_runs_capped_steps_and_one_broadcast() {
        let mut clock = TickClock::new(MAX_CATCHUP_STEPS);
        assert_eq!(clock.advance(0).steps, 1);
        // A 2 s stall: 60 ticks became due; one wake-up runs the cap and skips the rest.
        let plan = clock.advance(2_000_000_000);
        assert_eq!(plan.steps, MAX_CATCHUP_STEPS);
        assert_eq!(u64::from(plan.steps) + plan.skipped, 60);
        assert_eq!(clock.next_tick(), 61);
        // Back on schedule: the next wake-up on time runs exactly one.
        assert_eq!(clock.advance(clock.next_due_nanos()).steps, 1);
    }

    #[test]
    fn short_stall_catches_up_fully() {
        let mut clock = TickClock::new(MAX_CATCHUP_STEPS);
        clock.advance(0);
        let plan = clock.advance(due_nanos(3));
        assert_eq!(plan, TickPlan { steps: 3, skipped: 0 });
    }
}
