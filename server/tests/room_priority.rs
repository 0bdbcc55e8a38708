//! `--room-nice` and `--room-realtime`: the room threads of a real server take the nice value
//! and the real-time scheduling asked for, and no other thread does (Linux keeps both per
//! thread). Without the privilege, nothing changes.

mod common;

use std::time::{Duration, Instant};

use common::server_with;
use skirmish_server::priority::{nice_in_stat, set_thread_nice, stat_field};

/// Nice values of this process's threads, by thread id.
fn thread_nices() -> Vec<(u32, i32)> {
    thread_stats().into_iter().map(|(tid, stat)| (tid, nice_in_stat(&stat).expect("nice field"))).collect()
}

/// Thread ids under `SCHED_FIFO` (policy 1, field 41 of `/proc/…/stat`).
fn realtime_threads() -> Vec<u32> {
    thread_stats().into_iter().filter(|(_, stat)| stat_field(stat, 41) == Some("1")).map(|(tid, _)| tid).collect()
}

/// The `stat` text of each of this process's threads, by thread id.
fn thread_stats() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("Linux /proc") {
        let path = entry.expect("task").path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else { continue };
        let tid = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).expect("tid");
        out.push((tid, stat));
    }
    out
}

#[test]
fn the_room_threads_and_only_they_run_at_the_nice_value_and_real_time_priority_asked_for() {
    const NICE: i32 = -7;
    // Can this process lower a thread's nice value (root or CAP_SYS_NICE)? Asked of a
    // throwaway thread, so this one keeps its own.
    let privileged = std::thread::spawn(|| set_thread_nice(-1).is_ok()).join().expect("thread");
    let before = thread_nices();
    let mut config = skirmish_server::Config::for_tests();
    config.room_nice = NICE;
    config.room_realtime = 1;
    assert!(before.iter().all(|&(_, nice)| nice == 0), "the test's threads start at 0: {before:?}");
    assert!(realtime_threads().is_empty(), "no real-time thread yet");
    let srv = server_with(config);
    let lowered = || thread_nices().into_iter().filter(|&(_, nice)| nice != 0).collect::<Vec<_>>();
    if !privileged {
        // The server logs that the threads keep their priority, and serves.
        std::thread::sleep(Duration::from_secs(1));
        assert!(lowered().is_empty(), "without the privilege nothing changes: {:?}", lowered());
        assert!(realtime_threads().is_empty(), "nor goes real-time");
        assert!(std::net::TcpStream::connect(srv.addr).is_ok(), "still serving");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lowered = lowered();
        if !lowered.is_empty() {
            // `Config::for_tests` runs one room thread per core, each spawned at start.
            assert!(lowered.iter().all(|&(_, nice)| nice == NICE), "only {NICE}: {lowered:?}");
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            // Each room thread goes real-time right after taking its nice value.
            let mut room_threads: Vec<u32> = lowered.iter().map(|&(tid, _)| tid).collect();
            let mut realtime = realtime_threads();
            room_threads.sort_unstable();
            realtime.sort_unstable();
            if lowered.len() == cores && realtime == room_threads {
                return;
            }
        }
        assert!(Instant::now() < deadline, "room threads at {NICE}: {:?}", thread_nices());
        std::thread::sleep(Duration::from_millis(20));
    }
}
