//! Wakes the session writers of a tick a worker thread at a time, not one by one.
//!
//! Every session's writer task runs on the worker thread that accepted its connection, and the
//! room fills every outbox from its own thread. Waking each writer from there is a wake-up
//! across threads per player per tick: an atomic transition of the task's state, a push onto the
//! worker's remote run queue under its lock, and the waker's bookkeeping, together about a
//! sixth of the room thread's time in a room of 1000 (perf, 2026-12-03). Instead, the room lists
//! the outboxes it filled by worker ([`Wakes`]) and hands each worker its list with one wake-up
//! ([`WorkerWake::hand`]); a task on that worker (`run`) then wakes the writers there, which
//! is a push onto the thread's own run queue. Each writer still wakes at most once per tick.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

use crate::outbox::Outbox;

/// One worker thread's list of outboxes to wake, and the wake-up of the task that wakes them.
#[derive(Debug, Default)]
pub struct WorkerWake {
    due: Mutex<Vec<Arc<Outbox>>>,
    notify: Notify,
    /// False once the worker's task is gone (its runtime shut down): a new one is made.
    alive: AtomicBool,
}

thread_local! {
    static WORKER: RefCell<Option<Arc<WorkerWake>>> = const { RefCell::new(None) };
}

impl WorkerWake {
    /// The current worker thread's, made with its task on first use. Must be called on an actix
    /// worker (inside its runtime), where the session's writer task runs.
    pub fn current() -> Arc<WorkerWake> {
        WORKER.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some(wake) = slot.as_ref().filter(|w| w.alive.load(Ordering::Acquire)) {
                return wake.clone();
            }
            let wake = Arc::new(WorkerWake { alive: AtomicBool::new(true), ..WorkerWake::default() });
            actix::spawn(run(wake.clone()));
            *slot = Some(wake.clone());
            wake
        })
    }

    /// Hands the worker `outboxes` to wake (leaving the vector empty, its capacity swapped
    /// with the worker's) and wakes the worker's task once.
    pub fn hand(&self, outboxes: &mut Vec<Arc<Outbox>>) {
        if outboxes.is_empty() {
            return;
        }
        {
            let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
            if due.is_empty() {
                std::mem::swap(&mut *due, outboxes);
            } else {
                due.append(outboxes);
            }
        }
        self.notify.notify_one();
    }
}

/// Marks the worker's task gone when it is dropped (its runtime shut down).
struct Alive(Arc<WorkerWake>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.alive.store(false, Ordering::Release);
    }
}

/// A worker's task: wakes the writers of every outbox handed to it, on this thread.
async fn run(wake: Arc<WorkerWake>) {
    let alive = Alive(wake);
    let mut list = Vec::new();
    loop {
        // A hand-over before this wait is not lost: `Notify` keeps one permit.
        alive.0.notify.notified().await;
        std::mem::swap(&mut *alive.0.due.lock().unwrap_or_else(PoisonError::into_inner), &mut list);
        for outbox in list.drain(..) {
            outbox.wake_writer();
        }
    }
}

/// The room's side: the outboxes filled this tick, grouped by worker. Reused tick after tick.
#[derive(Debug, Default)]
pub struct Wakes {
    /// One entry per worker thread seen (a handful: one per core).
    by_worker: Vec<(Arc<WorkerWake>, Vec<Arc<Outbox>>)>,
}

impl Wakes {
    /// Lists `outbox` to wake at [`Wakes::send`]; one with no worker is woken now.
    pub fn add(&mut self, outbox: &Arc<Outbox>) {
        let Some(worker) = outbox.worker() else {
            return outbox.wake_writer();
        };
        match self.by_worker.iter_mut().find(|(w, _)| Arc::ptr_eq(w, worker)) {
            Some((_, list)) => list.push(outbox.clone()),
            None => self.by_worker.push((worker.clone(), vec![outbox.clone()])),
        }
    }

    /// Hands every worker its list: one wake-up per worker.
    pub fn send(&mut self) {
        // A worker whose task is gone takes no more lists (its sessions are gone with it).
        self.by_worker.retain(|(worker, _)| worker.alive.load(Ordering::Acquire));
        for (worker, list) in &mut self.by_worker {
            worker.hand(list);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Frame;
    use bytes::Bytes;

    #[actix_web::test]
    async fn one_hand_over_wakes_every_writer_of_the_worker() {
        let worker = WorkerWake::current();
        assert!(Arc::ptr_eq(&worker, &WorkerWake::current()), "one per thread");
        let outboxes: Vec<Arc<Outbox>> = (0..3)
            .map(|_| {
                let outbox = Arc::new(Outbox::new());
                outbox.set_worker(worker.clone());
                outbox
            })
            .collect();
        let mut wakes = Wakes::default();
        for outbox in &outboxes {
            outbox.push_tick(None, Some(Bytes::from_static(b"s"))).expect("room");
            wakes.add(outbox);
        }
        // Pushing alone wakes nobody: the writers wait until the room hands the list over.
        for outbox in &outboxes {
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(20), outbox.ready()).await.is_err(),
                "woken before the hand-over"
            );
        }
        wakes.send();
        for outbox in &outboxes {
            tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ready()).await.expect("woken");
            let mut frames = Vec::new();
            outbox.take(&mut frames);
            assert_eq!(frames, [Frame::Binary(Bytes::from_static(b"s"))]);
        }
    }

    #[test]
    fn an_outbox_without_a_worker_is_woken_at_once() {
        let outbox = Arc::new(Outbox::new());
        let mut wakes = Wakes::default();
        wakes.add(&outbox);
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ready()).await.expect("woken");
        });
    }
}
