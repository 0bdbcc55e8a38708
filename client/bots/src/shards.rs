//! The bots' event loops: one single-threaded tokio runtime per core (or as many as
//! `--threads` says), each on a thread of its own, with the bots dealt out among them.
//!
//! Why not tokio's multi-threaded runtime: thousands of bots are thousands of small tasks, each
//! woken by its socket and its 30 Hz timer. Under a work-stealing scheduler every wake-up may
//! unpark an idle worker to steal it (a futex call each way) and moves tasks, their timers and
//! their sockets between threads; the bots then cost more CPU than the server they measure. A
//! shard owns its bots for their whole life: its thread sleeps in one `epoll_wait` and runs
//! whatever is ready, with no other thread to wake. The bots share only atomics and short locks
//! (samples, live counters), never a task.

use std::future::Future;
use std::num::NonZeroUsize;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The shards of a run. Dropping it stops every shard (tasks still running are dropped) and
/// joins their threads.
#[derive(Debug)]
pub struct Shards {
    handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Shards {
    /// Starts `count` shards (at least one).
    pub fn start(count: NonZeroUsize) -> std::io::Result<Self> {
        let mut shards = Self { handles: Vec::new(), stops: Vec::new(), threads: Vec::new() };
        for i in 0..count.get() {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            shards.handles.push(runtime.handle().clone());
            shards.stops.push(stop);
            let thread = std::thread::Builder::new().name(format!("bots-{i}")).spawn(move || {
                // A current-thread runtime runs its tasks only inside `block_on`: this thread
                // lends itself to them until the shards are dropped.
                let _ = runtime.block_on(stopped);
            })?;
            shards.threads.push(thread);
        }
        Ok(shards)
    }

    /// Runs `task` on the shard for `index` (round-robin), for its whole life.
    pub fn spawn<F>(&self, index: u32, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handles[index as usize % self.handles.len()].spawn(task)
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        // A shard whose thread already ended has dropped its receiver; nothing to stop then.
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_on_their_shard_and_dropping_stops_the_threads() {
        let shards = Shards::start(NonZeroUsize::new(2).unwrap()).unwrap();
        let coordinator = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let names: Vec<String> = coordinator.block_on(async {
            let mut names = Vec::new();
            for i in 0..4 {
                let name = shards
                    .spawn(i, async {
                        // Timers work inside a shard: it has its own driver.
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        std::thread::current().name().unwrap_or_default().to_owned()
                    })
                    .await
                    .unwrap();
                names.push(name);
            }
            names
        });
        assert_eq!(names, ["bots-0", "bots-1", "bots-0", "bots-1"]);
        drop(shards);
    }
}
