//! Counters every bot bumps as things happen, read twice a second by the progress line.
//! Relaxed atomics: each counter is independent and only displayed, never used to decide.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// The run's live counters.
#[derive(Debug, Default)]
pub struct Live {
    /// Bots welcomed and not yet gone.
    connected: AtomicU64,
    /// Bots that never got `Welcome`.
    failed: AtomicU64,
    /// Welcomed bots lost before the end of the run.
    disconnected: AtomicU64,
    /// Snapshots received by all bots.
    snapshots: AtomicU64,
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
    pub snapshots: u64,
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

    /// A welcomed bot is gone; `early` when the connection ended before the run did.
    pub fn gone(&self, early: bool) {
        self.connected.fetch_sub(1, Relaxed);
        if early {
            self.disconnected.fetch_add(1, Relaxed);
        }
    }

    /// A bot received `n` snapshots (bots add theirs in batches).
    pub fn snapshots(&self, n: u64) {
        self.snapshots.fetch_add(n, Relaxed);
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts {
            connected: self.connected.load(Relaxed),
            failed: self.failed.load(Relaxed),
            disconnected: self.disconnected.load(Relaxed),
            snapshots: self.snapshots.load(Relaxed),
        }
    }
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
        live.snapshots(1);
        live.gone(true);
        assert_eq!(live.counts(), Counts { connected: 1, failed: 1, disconnected: 1, snapshots: 1 });
        live.gone(false);
        assert_eq!(live.counts().connected, 0);
        assert_eq!(live.counts().disconnected, 1, "the end of the run is not a disconnect");
    }
}
