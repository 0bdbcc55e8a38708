//! Counters every bot bumps as things happen, read twice a second by the progress line and
//! every `--stats-every` by the stats lines. Relaxed atomics: each counter is independent and
//! only displayed, never used to decide.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The run's live counters.
#[derive(Debug, Default)]
pub struct Live {
    /// Bots welcomed and not yet gone.
    connected: AtomicU64,
    /// Bots that never got `Welcome`.
    failed: AtomicU64,
    /// Welcomed bots lost before the end of the run.
    disconnected: AtomicU64,
    /// Welcomed bots gone when the run ended, having stayed to its end.
    stayed: AtomicU64,
    /// Snapshots received by all bots, added in batches…
    snapshots: AtomicU64,
    /// …each with the time it covers (µs): from the bot's previous batch, or its start in the ramp-up, to
    /// this one. Snapshots and the time they were due over move together, so an interval's
    /// delivery ratio does not depend on where the batches fall (see `crate::stats`).
    covered_us: AtomicU64,
    /// Sum over the bots lost early of when they were lost (µs from the run's start): with
    /// `disconnected`, the time they stay due with nothing received, in closed form.
    lost_at_us: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// See [`Live`].
    pub connected: u64,
    /// See [`Live`].
    pub failed: u64,
    /// See [`Live`].
    pub disconnected: u64,
    /// See [`Live`].
    pub stayed: u64,
    /// See [`Live`].
    pub snapshots: u64,
    /// See [`Live`].
    pub covered_us: u64,
    /// See [`Live`].
    pub lost_at_us: u64,
}

impl Live {
    /// A bot got `Welcome`.
    pub fn welcomed(&self) {
        self.connected.fetch_add(1, Relaxed);
    }

    /// A bot could not join.
    pub fn failed(&self) {
        self.failed.fetch_add(1, Relaxed);
    }

    /// A welcomed bot is gone, at `at` from the run's start; `early` when the connection ended
    /// before the run did.
    pub fn gone(&self, early: bool, at: Duration) {
        self.connected.fetch_sub(1, Relaxed);
        if early {
            self.disconnected.fetch_add(1, Relaxed);
            self.lost_at_us.fetch_add(micros(at), Relaxed);
        } else {
            self.stayed.fetch_add(1, Relaxed);
        }
    }

    /// A bot received `n` snapshots over the last `covered` of its time connected (bots add
    /// theirs in batches).
    pub fn snapshots(&self, n: u64, covered: Duration) {
        self.snapshots.fetch_add(n, Relaxed);
        self.covered_us.fetch_add(micros(covered), Relaxed);
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts {
            connected: self.connected.load(Relaxed),
            failed: self.failed.load(Relaxed),
            disconnected: self.disconnected.load(Relaxed),
            stayed: self.stayed.load(Relaxed),
            snapshots: self.snapshots.load(Relaxed),
            covered_us: self.covered_us.load(Relaxed),
            lost_at_us: self.lost_at_us.load(Relaxed),
        }
    }
}

/// Whole microseconds (a run is at most two years: far inside a `u64`).
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_bots() {
        let live = Live::default();
        live.welcomed();
        live.welcomed();
        live.failed();
        live.snapshots(1, Duration::from_millis(40));
        live.gone(true, Duration::from_secs(3));
        let counts = live.counts();
        assert_eq!((counts.connected, counts.failed, counts.disconnected, counts.stayed), (1, 1, 1, 0));
        assert_eq!((counts.snapshots, counts.covered_us, counts.lost_at_us), (1, 40_000, 3_000_000));
        live.gone(false, Duration::from_secs(5));
        let counts = live.counts();
        assert_eq!((counts.connected, counts.stayed), (0, 1));
        assert_eq!(counts.disconnected, 1, "the end of the run is not a disconnect");
        assert_eq!(counts.lost_at_us, 3_000_000);
    }
}
