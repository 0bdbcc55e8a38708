//! Gives a thread's allocator cache back once the thread has nothing left to serve.
//!
//! jemalloc keeps a cache of freed blocks per thread and trims it only from that thread, as a
//! side effect of the thread's own later allocations. A worker whose last player has left, or a
//! room thread whose room is gone, allocates almost nothing, so its cache stays the size the
//! busy thread left it: about 4 MiB of a server's 7.9 MiB of anonymous memory a minute after
//! 1000 bots left (`scripts/idle_rss.sh`). Each session and each room counts itself on the thread
//! it runs on ([`claim`] when it starts, [`release`] when it stops); a few seconds after a
//! thread's count reaches zero, if it is still zero, the thread flushes its own cache, and
//! jemalloc's background thread (`src/main.rs`) returns the freed pages to the system.
//!
//! Built without the `jemalloc` feature (heaptrack's build, on the system's malloc), there is no
//! cache to flush and [`release`] only counts.

use std::cell::Cell;
use std::time::Duration;

/// How long a thread stays without sessions or rooms before its cache goes: a player who
/// reconnects at once, or the next match's players, come back within it, and a busy thread
/// never reaches zero, so the cache goes only from threads that are really idle.
const IDLE_BEFORE_FLUSH: Duration = Duration::from_secs(5);

thread_local! {
    /// Sessions and rooms running on this thread.
    static IN_USE: Cell<usize> = const { Cell::new(0) };
}

/// A session or a room starts on this thread.
pub fn claim() {
    IN_USE.with(|n| n.set(n.get() + 1));
}

/// A session or a room on this thread has stopped. When it was the last one, a task on this
/// thread (an actix arbiter's: sessions and rooms both run on one) flushes the thread's cache
/// [`IDLE_BEFORE_FLUSH`] later, unless something has claimed the thread meanwhile.
pub fn release() {
    let left = IN_USE.with(|n| {
        let left = n.get().saturating_sub(1);
        n.set(left);
        left
    });
    if left == 0 {
        actix::spawn(async {
            tokio::time::sleep(IDLE_BEFORE_FLUSH).await;
            if IN_USE.with(Cell::get) == 0 {
                flush_thread_cache();
            }
        });
    }
}

/// Empties this thread's jemalloc cache: turning it off flushes it (`thread.tcache.enabled`, a
/// documented side effect), and it is turned straight back on for the thread's next work.
#[cfg(jemalloc)]
fn flush_thread_cache() {
    match toggle_thread_cache() {
        Ok(()) => tracing::debug!("thread idle: allocator cache flushed"),
        Err(e) => tracing::warn!(error = %e, "cannot flush an idle thread's allocator cache"),
    }
}

#[cfg(jemalloc)]
fn toggle_thread_cache() -> tikv_jemalloc_ctl::Result<()> {
    use tikv_jemalloc_ctl::{Access as _, AsName as _};
    let enabled = b"thread.tcache.enabled\0".name();
    enabled.write(false)?;
    enabled.write(true)
}

#[cfg(not(jemalloc))]
fn flush_thread_cache() {}

#[cfg(all(test, jemalloc))]
mod tests {
    use tikv_jemalloc_ctl::{Access as _, AsName as _};

    /// A misspelt or retired name would only log a warning at run time and leave every idle
    /// thread's cache in place: jemalloc must know the name, take both writes, and leave the
    /// cache on.
    #[test]
    fn the_cache_toggle_is_a_name_jemalloc_knows() {
        super::toggle_thread_cache().expect("jemalloc takes thread.tcache.enabled");
        let enabled: bool = b"thread.tcache.enabled\0".name().read().unwrap();
        assert!(enabled, "the thread's cache is back on after the flush");
    }
}
