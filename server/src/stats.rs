//! Process-wide counters, shared by every actor through an `Arc`. Atomics, not actor messages,
//! so counting never adds mailbox traffic on the 30 Hz path. One `Stats` per server, so several
//! servers in one test process never mix their numbers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use prometheus_client::metrics::histogram::Histogram;

use crate::admission::Refusal;

/// Upper bounds (seconds) of the tick-duration histogram: fine below a millisecond, where a
/// healthy room lives, up to a whole tick (33 ms) and beyond, where it is in trouble.
pub const TICK_BUCKETS_SECONDS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.0333, 0.05, 0.1];

/// Buckets of the ships-in-view histogram: a view holds 20–40 ships in a full big room.
pub const SHIPS_IN_VIEW_BUCKETS: [f64; 12] = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0, 60.0, 100.0, 200.0, 500.0];

/// How a connection ended, as `skirmish_disconnects_total{reason}` counts it: the label of a
/// [`crate::close::Close`], or `Lost` when the connection just vanished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed (1000).
    Normal,
    /// The server is shutting down (1012).
    Restart,
    /// A text frame (1003).
    TextFrame,
    /// A fragmented message (1003).
    Fragmented,
    /// A payload that did not decode or validate (1007).
    BadPayload,
    /// A frame over the size cap (1009).
    TooBig,
    /// A broken WebSocket frame (1002).
    ProtocolError,
    /// `Hello` for another protocol version (1008).
    WrongVersion,
    /// A first message other than `Hello`, or none in time (1008).
    NoHello,
    /// A second `Hello` (1008).
    HelloTwice,
    /// `Follow` from a player (1008).
    NotSpectator,
    /// No seat left in the room (1008).
    RoomFull,
    /// The server held `--max-rooms` rooms, so a new one could not be opened.
    TooManyRooms,
    /// The client's address had `--max-rooms-per-ip` rooms open, so a new one could not be (1008).
    TooManyRoomsPerIp,
    /// The player's new connection took over this one's seat.
    Replaced,
    /// Too many messages per second (1008).
    Flood,
    /// No frame within the client timeout (1008).
    Timeout,
    /// Kicked by the host (`Kick`).
    Kicked,
    /// The host closed the room, or a join came for a room being closed.
    RoomClosed,
    /// A join refused by a kick's ban on the address.
    Banned,
    /// The outgoing queue hit its bound: cut without a close frame.
    QueueFull,
    /// A send stuck past the stall timeout: cut without a close frame.
    Stalled,
    /// An unexpected server error (1011).
    ServerError,
    /// The connection dropped without a close handshake.
    Lost,
}

impl DisconnectReason {
    /// Every reason, in label order.
    pub const ALL: [DisconnectReason; 24] = [
        Self::Normal,
        Self::Restart,
        Self::TextFrame,
        Self::Fragmented,
        Self::BadPayload,
        Self::TooBig,
        Self::ProtocolError,
        Self::WrongVersion,
        Self::NoHello,
        Self::HelloTwice,
        Self::NotSpectator,
        Self::RoomFull,
        Self::TooManyRooms,
        Self::TooManyRoomsPerIp,
        Self::Replaced,
        Self::Flood,
        Self::Timeout,
        Self::Kicked,
        Self::RoomClosed,
        Self::Banned,
        Self::QueueFull,
        Self::Stalled,
        Self::ServerError,
        Self::Lost,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Restart => "restart",
            Self::TextFrame => "text_frame",
            Self::Fragmented => "fragmented",
            Self::BadPayload => "bad_payload",
            Self::TooBig => "too_big",
            Self::ProtocolError => "protocol_error",
            Self::WrongVersion => "wrong_version",
            Self::NoHello => "no_hello",
            Self::HelloTwice => "hello_twice",
            Self::NotSpectator => "not_spectator",
            Self::RoomFull => "room_full",
            Self::TooManyRooms => "too_many_rooms",
            Self::TooManyRoomsPerIp => "too_many_rooms_per_ip",
            Self::Replaced => "replaced",
            Self::Flood => "flood",
            Self::Timeout => "timeout",
            Self::Kicked => "kicked",
            Self::RoomClosed => "room_closed",
            Self::Banned => "banned",
            Self::QueueFull => "queue_full",
            Self::Stalled => "stalled",
            Self::ServerError => "server_error",
            Self::Lost => "lost",
        }
    }

    /// True for the reasons that mean the client broke the protocol.
    pub fn is_protocol_violation(self) -> bool {
        matches!(
            self,
            Self::TextFrame
                | Self::Fragmented
                | Self::BadPayload
                | Self::TooBig
                | Self::ProtocolError
                | Self::WrongVersion
                | Self::NoHello
                | Self::HelloTwice
                | Self::NotSpectator
                | Self::Flood
        )
    }
}

/// Counters and gauges. Read them with [`Stats::get`]-style loads; all use relaxed ordering
/// because each is independent and only ever summed or displayed.
#[derive(Debug)]
pub struct Stats {
    /// Open WebSocket connections (gauge).
    pub connections: AtomicU64,
    /// Players in rooms, spectators included (gauge).
    pub players: AtomicU64,
    /// The spectators among [`Stats::players`] (gauge).
    pub spectators: AtomicU64,
    /// Rooms alive (gauge).
    pub rooms: AtomicU64,
    /// Rooms ended by a panic in their own code (a bug), their players closed with 1011.
    pub rooms_failed: AtomicU64,
    /// Seats kept for lost players, waiting for their rejoin (gauge).
    pub kept_seats: AtomicU64,
    /// Simulation ticks run, all rooms.
    pub ticks: AtomicU64,
    /// Ticks skipped because a stall exceeded the catch-up cap.
    pub ticks_skipped: AtomicU64,
    /// Wake-ups that found the room late (more than one step due) or whose work took longer
    /// than a tick: the room is not keeping up.
    pub tick_overruns: AtomicU64,
    /// Time one room spends on one wake-up: simulate, build and hand out the snapshot.
    pub tick_seconds: Histogram,
    /// CPU time the room's thread spent on that wake-up: the duration without the time the
    /// thread waited for a core (a busy machine shows as a gap between the two).
    pub tick_cpu_seconds: Histogram,
    /// Other ships in each snapshot's area of interest: how full views are.
    pub ships_in_view: Histogram,
    /// Ship records that entered or changed (unchanged ships cost a bit and are not counted):
    /// the denominator of bytes per ship record.
    pub ship_records: AtomicU64,
    /// Bits of the ships sections of all snapshots (unchanged ships' bits included).
    pub ship_record_bits: AtomicU64,
    /// Snapshots sent whole because the client had no usable baseline.
    pub full_snapshots: AtomicU64,
    /// Snapshot frames handed to sockets.
    pub snapshots_sent: AtomicU64,
    /// Bytes of those snapshot frames.
    pub snapshot_bytes: AtomicU64,
    /// Snapshots replaced by a newer one before they could be sent (latest-wins).
    pub snapshots_dropped: AtomicU64,
    /// Snapshots not built for a client whose link queues them
    /// (`view::ClientView::wants_snapshot`).
    pub snapshots_thinned: AtomicU64,
    /// Times a session's writer held its output back because the client's socket was backed
    /// up (it reads slower than we send, or not at all).
    pub writes_held: AtomicU64,
    /// Inputs dropped: out of order, over the flood limit, or sent by a spectator.
    pub inputs_dropped: AtomicU64,
    /// Player ticks that found the player's input buffer empty and repeated the input in force
    /// (the input was late or lost, or the client sends slower than the ticks).
    pub inputs_repeated: AtomicU64,
    /// Inputs pushed out of a full input buffer before their tick (a burst after a stall, or a
    /// client that sends faster than the ticks).
    pub inputs_overflowed: AtomicU64,
    /// Player ticks that left an input waiting in the buffer for a later tick (a backlog: the
    /// next input is applied a tick late or more).
    pub inputs_waiting: AtomicU64,
    /// Connections ended, by [`DisconnectReason`] (indexed as in `DisconnectReason::ALL`).
    pub disconnects: [AtomicU64; DisconnectReason::ALL.len()],
    /// WebSocket upgrades refused, by [`Refusal`] (indexed as in `Refusal::ALL`).
    pub refused: [AtomicU64; Refusal::ALL.len()],
    /// TCP connections closed unanswered at accept: their address had
    /// `--max-http-connections-per-ip` open.
    pub http_refused: AtomicU64,
    /// TCP connections accepted and still plain HTTP (gauge): page loads, API calls, upgrades
    /// under way.
    pub http_connections: AtomicU64,
    /// Each room's last tick, for the health watchdog.
    pub heartbeats: Heartbeats,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            connections: AtomicU64::new(0),
            players: AtomicU64::new(0),
            spectators: AtomicU64::new(0),
            kept_seats: AtomicU64::new(0),
            rooms: AtomicU64::new(0),
            rooms_failed: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            ticks_skipped: AtomicU64::new(0),
            tick_overruns: AtomicU64::new(0),
            tick_seconds: Histogram::new(TICK_BUCKETS_SECONDS),
            tick_cpu_seconds: Histogram::new(TICK_BUCKETS_SECONDS),
            ships_in_view: Histogram::new(SHIPS_IN_VIEW_BUCKETS),
            ship_records: AtomicU64::new(0),
            ship_record_bits: AtomicU64::new(0),
            full_snapshots: AtomicU64::new(0),
            snapshots_sent: AtomicU64::new(0),
            snapshot_bytes: AtomicU64::new(0),
            snapshots_dropped: AtomicU64::new(0),
            snapshots_thinned: AtomicU64::new(0),
            writes_held: AtomicU64::new(0),
            inputs_dropped: AtomicU64::new(0),
            inputs_repeated: AtomicU64::new(0),
            inputs_waiting: AtomicU64::new(0),
            inputs_overflowed: AtomicU64::new(0),
            disconnects: Default::default(),
            refused: Default::default(),
            http_refused: AtomicU64::new(0),
            http_connections: AtomicU64::new(0),
            heartbeats: Heartbeats::default(),
        }
    }
}

/// Each room's last tick, for the health watchdog (`crate::agones`): a room registers a beat
/// when it starts and stores the time of every tick in it; a room that stopped is dropped from
/// the list with its beat.
#[derive(Debug)]
pub struct Heartbeats {
    /// Beats are milliseconds since this instant.
    epoch: std::time::Instant,
    beats: std::sync::Mutex<Vec<std::sync::Weak<AtomicU64>>>,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Self { epoch: std::time::Instant::now(), beats: std::sync::Mutex::new(Vec::new()) }
    }
}

impl Heartbeats {
    /// A new room's beat, set to now.
    pub fn register(&self) -> std::sync::Arc<AtomicU64> {
        let beat = std::sync::Arc::new(AtomicU64::new(self.now_ms()));
        let mut beats = self.beats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        beats.retain(|b| b.strong_count() > 0);
        beats.push(std::sync::Arc::downgrade(&beat));
        beat
    }

    /// Records a tick on `beat`.
    pub fn beat(&self, beat: &AtomicU64) {
        beat.store(self.now_ms(), Relaxed);
    }

    /// The longest any live room has gone without a tick (zero without rooms: an idle server
    /// is healthy).
    pub fn oldest(&self) -> std::time::Duration {
        let now = self.now_ms();
        let beats = self.beats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let oldest =
            beats.iter().filter_map(std::sync::Weak::upgrade).map(|b| now.saturating_sub(b.load(Relaxed))).max();
        std::time::Duration::from_millis(oldest.unwrap_or(0))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
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

    /// Counts one ended connection.
    pub fn disconnected(&self, reason: DisconnectReason) {
        Self::inc(&self.disconnects[reason as usize]);
    }

    /// Connections ended for `reason` so far.
    pub fn disconnects_by(&self, reason: DisconnectReason) -> u64 {
        Self::get(&self.disconnects[reason as usize])
    }

    /// Counts one refused upgrade.
    pub fn refused(&self, why: Refusal) {
        Self::inc(&self.refused[why as usize]);
    }

    /// Upgrades refused for `why` so far.
    pub fn refused_by(&self, why: Refusal) -> u64 {
        Self::get(&self.refused[why as usize])
    }

    /// Connections closed because the client broke the protocol.
    pub fn protocol_disconnects(&self) -> u64 {
        DisconnectReason::ALL.iter().filter(|r| r.is_protocol_violation()).map(|r| self.disconnects_by(*r)).sum()
    }
}
