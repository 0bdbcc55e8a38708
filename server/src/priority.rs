//! The room threads' scheduling priority (`--room-nice`).
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

use std::io;
use std::sync::Once;

/// Sets the calling thread's nice value (−20 to 19, lower runs sooner).
pub fn set_thread_nice(nice: i32) -> io::Result<()> {
    // `None`: the calling thread (Linux keeps nice values per thread).
    rustix::process::setpriority_process(None, nice).map_err(io::Error::from)
}

/// The calling thread's nice value, from `/proc/thread-self/stat` (`None` where there is none).
pub fn thread_nice() -> Option<i32> {
    nice_in_stat(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The nice value in the text of a `/proc/…/stat` file.
pub fn nice_in_stat(stat: &str) -> Option<i32> {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are
    // plain. Nice is field 19, the 17th after the name.
    stat.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

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
