//! Process-wide counters, shared by every actor through an `Arc`. Atomics, not actor messages,
//! so counting never adds mailbox traffic on the 30 Hz path. One `Stats` per server, so several
//! servers in one test process never mix their numbers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters and gauges. Read them with [`Stats::get`]-style loads; all use relaxed ordering
/// because each is independent and only ever summed or displayed.
#[derive(Debug, Default)]
pub struct Stats {
    /// Open WebSocket connections (gauge).
    pub connections: AtomicU64,
    /// Players in rooms (gauge).
    pub players: AtomicU64,
    /// Rooms alive (gauge).
    pub rooms: AtomicU64,
    /// Simulation ticks run, all rooms.
    pub ticks: AtomicU64,
    /// Ticks skipped because a stall exceeded the catch-up cap.
    pub ticks_skipped: AtomicU64,
    /// Snapshot frames handed to sockets.
    pub snapshots_sent: AtomicU64,
    /// Bytes of those snapshot frames.
    pub snapshot_bytes: AtomicU64,
    /// Snapshots replaced by a newer one before they could be sent (latest-wins).
    pub snapshots_dropped: AtomicU64,
    /// Inputs dropped: out of order, over the flood limit, or sent by a spectator.
    pub inputs_dropped: AtomicU64,
    /// Connections closed because a send stalled.
    pub stalled_disconnects: AtomicU64,
    /// Connections closed for missing heartbeats.
    pub timeout_disconnects: AtomicU64,
    /// Connections closed for a protocol violation (bad frame, bad message, flood).
    pub protocol_disconnects: AtomicU64,
}

impl Stats {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Takes one from a gauge.
    pub fn dec(gauge: &AtomicU64) {
        gauge.fetch_sub(1, Relaxed);
    }

    /// Reads a counter or gauge.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}
