//! The room threads' scheduling priority (`--room-nice`, `--room-realtime`).
//!
//! A room's tick is a few milliseconds of work every 33 ms, due at a fixed time. On a machine
//! that is busy with other work (other rooms' connections, or a load test's bots on the same
//! cores) the scheduler makes it wait for a core: at 1000 bots on 2 cores its wall-clock time was
//! twice its CPU time. A lower nice value gives the room threads the larger share and the
//! earlier turn when they wake, so ticks start on time and snapshots leave together. The
//! threads are otherwise idle, so this takes nothing from the others while no tick runs.
//!
//! Linux keeps a nice value per thread (`setpriority(PRIO_PROCESS, 0, …)` sets the calling
//! thread's only, see `pthreads(7)`), so the workers and everything else keep theirs. A value
//! below 0 needs `CAP_SYS_NICE` (root, `setcap cap_sys_nice+ep`, Docker's `--cap-add
//! SYS_NICE`); without it the threads keep their priority and one line says so.
//!
//! A nice value only weighs the fair scheduler's choice: at 1000 bots the tick still waited up
//! to its own length for a core (wall-clock p99 ≤ 10 ms at a CPU p99 ≤ 5 ms). Real-time
//! scheduling (`SCHED_FIFO`, `--room-realtime`) runs a room thread the moment its timer fires,
//! ahead of every ordinary thread. That is safe only while the rooms need little of the
//! machine, so each room thread keeps [`RealtimeGuard`]: a thread busy for more than half of a
//! second leaves real-time scheduling (an overloaded room must not starve the connections'
//! threads that carry its snapshots) and comes back after ten calm seconds. Real-time scheduling
//! needs `CAP_SYS_NICE`; without it the threads keep their nice value.

use std::cell::RefCell;
use std::io;
use std::sync::Once;
use std::time::{Duration, Instant};

/// Sets the calling thread's nice value (−20 to 19, lower runs sooner).
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // `None`: the calling thread (Linux keeps nice values per thread).
    rustix::process::setpriority_process(None, nice).map_err(io::Error::from)
}

/// The calling thread's nice value, from `/proc/thread-self/stat` (`None` where there is none).
pub fn thread_nice() -> Option<i32> {
    nice_in_stat(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The nice value in the text of a `/proc/…/stat` file (field 19).
pub fn nice_in_stat(stat: &str) -> Option<i32> {
    stat_field(stat, 19)?.parse().ok()
}

/// Field `n` (numbered from 1, as in `proc(5)`) of the text of a `/proc/…/stat` file, for `n`
/// past the command name.
pub fn stat_field(stat: &str, n: usize) -> Option<&str> {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // (from field 3 on) are plain.
    stat.rsplit_once(')')?.1.split_whitespace().nth(n.checked_sub(3)?)
}

/// Called on each room thread as it starts: applies `--room-nice` (0 leaves the thread alone).
/// A refusal is logged once, not once per thread.
pub fn apply_room_nice(nice: i32) {
    static REFUSED: Once = Once::new();
    if nice == 0 {
        return;
    }
    if let Err(e) = set_thread_nice(nice) {
        REFUSED.call_once(|| {
            tracing::info!(
                nice,
                error = %e,
                "room threads keep their priority: --room-nice below 0 needs CAP_SYS_NICE (root, or \
                 `setcap cap_sys_nice+ep`); --room-nice 0 silences this"
            );
        });
    }
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1–99), or back under the normal
/// scheduler (`SCHED_OTHER`) at nice value `nice` for a `priority` of 0.
pub fn set_thread_realtime(priority: u8, nice: i32) -> io::Result<()> {
    use thread_priority::{
        NormalThreadSchedulePolicy, RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue,
        ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
    };
    let os = |e: thread_priority::Error| match e {
        thread_priority::Error::OS(code) => io::Error::from_raw_os_error(code),
        other => io::Error::other(other.to_string()),
    };
    if priority > 0 {
        let value = ThreadPriorityValue::try_from(priority).map_err(|e| io::Error::other(e.to_string()))?;
        let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
        return set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Crossplatform(value), fifo)
            .map_err(os);
    }
    // The library sets a nice value along with the normal policy: its `Min` (19, the lowest
    // priority, which never needs a privilege); then the one the thread is to have (lowering it
    // again needs `CAP_SYS_NICE`, which a thread allowed real-time scheduling has).
    let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
    set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, normal).map_err(os)?;
    set_thread_nice(nice)
}

/// What the calling room thread asked for at start, and its guard (see the module docs).
struct ThreadState {
    realtime: u8,
    /// Its nice value under the normal scheduler.
    nice: i32,
    guard: RealtimeGuard,
}

thread_local! {
    static ROOM_THREAD: RefCell<Option<ThreadState>> = const { RefCell::new(None) };
}

/// Called on each room thread as it starts: `--room-nice` (0 leaves the nice value alone), then
/// `--room-realtime` (0: off). A refusal is logged once, not once per thread.
pub fn apply_room_priority(nice: i32, realtime: u8) {
    static REFUSED: Once = Once::new();
    apply_room_nice(nice);
    if realtime == 0 {
        return;
    }
    let nice = thread_nice().unwrap_or(0);
    match set_thread_realtime(realtime, nice) {
        Ok(()) => ROOM_THREAD.with(|t| {
            *t.borrow_mut() = Some(ThreadState { realtime, nice, guard: RealtimeGuard::new(Instant::now()) });
        }),
        Err(e) => REFUSED.call_once(|| {
            tracing::info!(
                realtime,
                error = %e,
                "room threads run under the normal scheduler: --room-realtime needs CAP_SYS_NICE \
                 (root, or `setcap cap_sys_nice+ep`); --room-realtime 0 silences this"
            );
        }),
    }
}

/// Called by a room after each tick on its thread, with how long the tick took: keeps the
/// thread's real-time scheduling within its guard. Does nothing on a thread that is not real-time.
pub fn room_ticked(took: Duration) {
    ROOM_THREAD.with(|t| {
        let mut t = t.borrow_mut();
        let Some(state) = t.as_mut() else { return };
        let now = Instant::now();
        let Some(realtime) = state.guard.observe(took, now) else { return };
        let priority = if realtime { state.realtime } else { 0 };
        match set_thread_realtime(priority, state.nice) {
            Ok(()) if realtime => tracing::info!("room thread calm again: back to real-time scheduling"),
            Ok(()) => tracing::warn!(
                "room thread busy for over half of a second: it leaves real-time scheduling, so \
                 the connections' threads keep their share (back after {} calm seconds)",
                CALM_WINDOWS
            ),
            // Taking real-time scheduling back can fail (the privilege was revoked): the thread
            // stays under the normal scheduler, unguarded from then on.
            Err(e) if realtime => {
                tracing::warn!(error = %e, "room thread cannot return to real-time scheduling");
                *t = None;
            }
            // Out of real-time scheduling, but its nice value could not be lowered again
            // (real-time allowed by `RLIMIT_RTPRIO` alone): it runs at nice 19.
            Err(e) => {
                tracing::warn!(error = %e, nice = state.nice, "room thread left real-time scheduling at nice 19");
                *t = None;
            }
        }
    });
}

/// The window over which a room thread's busy share is measured.
const WINDOW: Duration = Duration::from_secs(1);
/// Busy for more than this share of a window: leave real-time scheduling.
const MAX_BUSY_SHARE: f64 = 0.5;
/// Busy for less than this share of a window counts as calm.
const CALM_BUSY_SHARE: f64 = 0.25;
/// Calm windows in a row before real-time scheduling comes back.
const CALM_WINDOWS: u32 = 10;

/// Decides when a room thread leaves and takes back real-time scheduling, from how busy its
/// ticks keep it (see the module docs). Pure: the caller makes the system calls.
#[derive(Debug, Clone)]
pub struct RealtimeGuard {
    window_start: Instant,
    busy: Duration,
    realtime: bool,
    calm: u32,
}

impl RealtimeGuard {
    /// A guard for a thread that is real-time from `now`.
    pub fn new(now: Instant) -> Self {
        Self { window_start: now, busy: Duration::ZERO, realtime: true, calm: 0 }
    }

    /// A tick that took `took` ended at `now`: `Some(true)` to go back to real-time scheduling,
    /// `Some(false)` to leave it, `None` to stay as is.
    pub fn observe(&mut self, took: Duration, now: Instant) -> Option<bool> {
        self.busy += took;
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < WINDOW {
            return None;
        }
        let share = self.busy.as_secs_f64() / elapsed.as_secs_f64();
        (self.window_start, self.busy) = (now, Duration::ZERO);
        if self.realtime && share > MAX_BUSY_SHARE {
            (self.realtime, self.calm) = (false, 0);
            return Some(false);
        }
        if !self.realtime {
            self.calm = if share < CALM_BUSY_SHARE { self.calm + 1 } else { 0 };
            if self.calm >= CALM_WINDOWS {
                self.realtime = true;
                return Some(true);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True if the calling thread runs under `SCHED_FIFO`.
    fn thread_is_realtime() -> bool {
        use thread_priority::{RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};
        thread_schedule_policy().is_ok_and(|p| p == ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo))
    }

    #[test]
    fn a_busy_room_thread_leaves_realtime_and_comes_back_when_calm() {
        // Ticks 100 ms apart, so each window ends after exactly ten of them.
        let mut now = Instant::now();
        let mut guard = RealtimeGuard::new(now);
        let mut windows = |guard: &mut RealtimeGuard, windows: u32, busy_ms: u64| {
            let mut changes = Vec::new();
            for _ in 0..windows * 10 {
                now += Duration::from_millis(100);
                changes.extend(guard.observe(Duration::from_millis(busy_ms), now));
            }
            changes
        };
        // 10 % busy, or 40 %: stays real-time.
        assert!(windows(&mut guard, 5, 10).is_empty());
        assert!(windows(&mut guard, 5, 40).is_empty());
        // 60 % busy: leaves at the end of the first such window, and stays out while busy.
        assert_eq!(windows(&mut guard, 1, 60), [false]);
        assert!(windows(&mut guard, 3, 60).is_empty());
        // Back after ten calm windows (under 25 % busy), not before.
        assert!(windows(&mut guard, 9, 10).is_empty());
        assert_eq!(windows(&mut guard, 1, 10), [true]);
        // Out again; a window between the limits (40 %) restarts the count of calm ones.
        assert_eq!(windows(&mut guard, 1, 60), [false]);
        assert!(windows(&mut guard, 5, 10).is_empty());
        assert!(windows(&mut guard, 1, 40).is_empty());
        assert!(windows(&mut guard, 9, 10).is_empty(), "the count restarted");
        assert_eq!(windows(&mut guard, 1, 10), [true]);
    }

    #[test]
    fn a_thread_goes_realtime_and_back_where_allowed() {
        let nice = thread_nice().expect("Linux has /proc/thread-self/stat");
        let (went, back, nice_after) = std::thread::spawn(move || {
            let went = set_thread_realtime(1, nice).map(|()| thread_is_realtime());
            let back = set_thread_realtime(0, nice).map(|()| thread_is_realtime());
            (went, back, thread_nice())
        })
        .join()
        .expect("thread");
        match went {
            Ok(realtime) => assert!(realtime, "SCHED_FIFO once allowed"),
            // Without CAP_SYS_NICE: refused, and the thread stays as it was.
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}"),
        }
        assert_eq!(back.ok(), Some(false), "back under the normal scheduler");
        assert_eq!(nice_after, Some(nice), "at the nice value it had");
        assert!(!thread_is_realtime(), "this thread was never touched");
    }

    #[test]
    fn a_thread_sets_its_own_nice_value_and_no_other() {
        let before = thread_nice().expect("Linux has /proc/thread-self/stat");
        // Raising the value (running later) needs no privilege, so this holds for any user.
        let target = (before + 3).min(19);
        let set = std::thread::spawn(move || {
            set_thread_nice(target).expect("raising one's own nice value is always allowed");
            thread_nice()
        })
        .join()
        .expect("thread");
        assert_eq!(set, Some(target));
        assert_eq!(thread_nice(), Some(before), "other threads keep theirs");
    }

    #[test]
    fn zero_leaves_the_thread_alone() {
        let nice = std::thread::spawn(|| {
            apply_room_nice(0);
            thread_nice()
        })
        .join()
        .expect("thread");
        assert_eq!(nice, thread_nice());
    }
}
