//! The run's stop signal (the first Ctrl-C): a token to wait on, and a flag the playing bots
//! check instead.
//!
//! Why both: waiting on a `CancellationToken` means polling it, and every poll takes the token's
//! lock (tokio-util 0.7's `is_cancelled` locks a mutex). A thousand bots polling the one token
//! on each turn of their loops, 60 times a second, from both shards' threads, bounced that
//! lock's cache line between the cores: with the `Notify` behind it, 1.9 % of the bots' samples
//! in `scripts/perf_fanout.sh 1000 OUT bots`. A playing bot wakes every tick anyway (to send its
//! input) and reads the flag then, a load of a line nobody writes until the stop.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// See the module doc. Clones share the one signal.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    token: CancellationToken,
    flag: Arc<AtomicBool>,
}

impl Stop {
    /// A signal not given yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the signal: the flag first, so that a task woken by the token reads it set.
    pub fn stop(&self) {
        self.flag.store(true, Relaxed);
        self.token.cancel();
    }

    /// Whether the signal was given: one relaxed load, for hot loops.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Relaxed)
    }

    /// Completes once the signal is given; for waits that happen once, not on every turn of a
    /// loop.
    pub fn stopped(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_flag_and_the_wait_both_see_the_signal() {
        let stop = Stop::new();
        let clone = stop.clone();
        assert!(!clone.is_stopped());
        let waiter = tokio::spawn(async move {
            clone.stopped().await;
            clone.is_stopped()
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "nothing stopped it yet");
        stop.stop();
        assert!(stop.is_stopped());
        assert!(waiter.await.unwrap(), "the waiter woke and read the flag set");
    }
}
