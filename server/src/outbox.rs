//! One connection's outgoing frames: reliable frames in order ahead of at most one snapshot,
//! which a newer one replaces (latest-wins).
//!
//! The room writes here directly, once per tick and under one short lock, and the session's
//! writer task is woken through a `Notify`: one wake-up per session per tick, no actor message
//! and no future per frame. The room's tick pushes do not wake the writer themselves: the room
//! hands each worker thread the list of its outboxes once (`crate::wake`). The writer takes
//! everything waiting and writes it; while a write is stuck on a client that does not read,
//! snapshots keep replacing each other here and the reliable queue is bounded, so a slow reader
//! costs a fixed amount of memory until the stall timeout cuts it. Nor does a slow reader fill
//! actix's buffers: the writer holds everything here while the client's socket is full (see
//! `crate::ws_writer`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::wake::WorkerWake;

/// Reliable frames allowed to wait: a memory bound, not the stall detector (that is the
/// send-stall timeout). The room sends at most one reliable frame per tick (a batch), so this
/// is minutes of a client that reads nothing.
pub const MAX_RELIABLE_FRAMES: usize = 4096;
/// Reliable frames an outbox keeps room for between takes: a tick or two of them.
const RELIABLE_KEPT: usize = 4;
/// Bytes of reliable frames allowed to wait (a welcome into a room of thousands is ~60 KB).
pub const MAX_RELIABLE_BYTES: usize = 4 * 1024 * 1024;

/// One frame waiting to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A binary message (reliable, or the snapshot).
    Binary(Bytes),
    /// A binary message whose payload is its three parts one after the other: a member's own
    /// start of a tick's batch, the messages of the tick every member gets (one buffer shared
    /// by all), and its own end. Written with no copy, as one message.
    Gathered([Bytes; 3]),
    /// A WebSocket ping (heartbeat).
    Ping,
    /// A WebSocket pong answering the client's ping.
    Pong(Bytes),
    /// The WebSocket Close frame's payload (code and reason): the last frame of a connection.
    Close(Bytes),
}

impl Frame {
    /// Payload bytes.
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Binary(b) | Self::Pong(b) | Self::Close(b) => b.len(),
            Self::Gathered(parts) => parts.iter().map(Bytes::len).sum(),
            Self::Ping => 0,
        }
    }
}

/// The reliable queue is over its bound: the client has stopped reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outgoing queue full: the client is not reading")]
pub struct Overflow;

/// What one [`Outbox::take`] handed to the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Taken {
    /// Bytes of the snapshot taken, if one was.
    pub snapshot_bytes: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    reliable: VecDeque<Frame>,
    reliable_bytes: usize,
    snapshot: Option<Bytes>,
    /// When the write in progress started; `None` while the writer is idle.
    sending_since: Option<Instant>,
    /// Snapshots replaced before they were taken.
    replaced: u64,
    closed: bool,
    /// The session is gone: the writer ends at once, whatever it was writing or waiting for.
    abandoned: bool,
}

/// See the module docs. Shared (`Arc`) by the room, the session actor and its writer task.
#[derive(Debug, Default)]
pub struct Outbox {
    state: Mutex<State>,
    ready: Notify,
    /// The worker thread the writer task runs on; the room wakes it through that worker's
    /// [`WorkerWake`]. Unset (tests, or before the session started): pushes wake it themselves.
    worker: OnceLock<Arc<WorkerWake>>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data (queues and counters) in a valid
        // state, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a frame that must arrive, after those already queued.
    pub fn push_reliable(&self, frame: Frame) -> Result<(), Overflow> {
        {
            let mut state = self.lock();
            if state.closed {
                return Ok(());
            }
            push(&mut state, frame)?;
        }
        self.ready.notify_one();
        Ok(())
    }

    /// Names the worker thread whose task wakes the writer after [`Outbox::push_tick`] (set
    /// once, by the session when it starts on that thread).
    pub fn set_worker(&self, worker: Arc<WorkerWake>) {
        // Set once when the session starts; a second call could only repeat the same worker.
        let _ = self.worker.set(worker);
    }

    /// See [`Outbox::set_worker`].
    pub fn worker(&self) -> Option<&Arc<WorkerWake>> {
        self.worker.get()
    }

    /// Wakes the writer task (the worker's task does, after [`Outbox::push_tick`]).
    pub fn wake_writer(&self) {
        self.ready.notify_one();
    }

    /// One tick's output: an optional reliable frame and the snapshot, which replaces any
    /// snapshot not yet taken. Returns true if one was replaced. Wakes the writer only if no
    /// worker is set: otherwise the room lists the outbox in its `crate::wake::Wakes`.
    pub fn push_tick(&self, reliable: Option<Frame>, snapshot: Option<Bytes>) -> Result<bool, Overflow> {
        let replaced = {
            let mut state = self.lock();
            if state.closed {
                return Ok(false);
            }
            if let Some(frame) = reliable {
                push(&mut state, frame)?;
            }
            // No snapshot this tick (a lagging client's, thinned): the waiting one stays.
            let replaced = snapshot.is_some_and(|snapshot| state.snapshot.replace(snapshot).is_some());
            state.replaced += u64::from(replaced);
            replaced
        };
        if self.worker.get().is_none() {
            self.ready.notify_one();
        }
        Ok(replaced)
    }

    /// Reliable frames waiting, and their bytes.
    pub fn waiting(&self) -> (usize, usize) {
        let state = self.lock();
        (state.reliable.len(), state.reliable_bytes)
    }

    /// True if a frame or a snapshot is waiting to be taken.
    pub fn has_waiting(&self) -> bool {
        let state = self.lock();
        !state.reliable.is_empty() || state.snapshot.is_some()
    }

    /// Moves everything waiting into `out` (reliable frames first, in order, then the snapshot)
    /// and marks a write as started now, unless one was already waiting ([`Outbox::hold`]).
    pub fn take(&self, out: &mut Vec<Frame>) -> Taken {
        let mut state = self.lock();
        out.extend(state.reliable.drain(..));
        // Room for the frames of a backlog (a client that stalled for seconds) goes back once
        // they are out, rather than stay with the connection.
        if state.reliable.capacity() > 4 * RELIABLE_KEPT {
            state.reliable.shrink_to(RELIABLE_KEPT);
        }
        state.reliable_bytes = 0;
        let snapshot = state.snapshot.take();
        let taken = Taken { snapshot_bytes: snapshot.as_ref().map(Bytes::len) };
        out.extend(snapshot.map(Frame::Binary));
        if !out.is_empty() {
            state.sending_since.get_or_insert_with(Instant::now);
        }
        taken
    }

    /// The writer leaves everything here for now: the client's socket is backed up. What waits
    /// stays bounded (latest-wins, the reliable bound), and the time it has waited counts
    /// towards the stall timeout as a stuck write does, until a write goes through.
    pub fn hold(&self) {
        self.lock().sending_since.get_or_insert_with(Instant::now);
    }

    /// Wakes the writer to try again, without pushing anything.
    pub fn retry(&self) {
        self.ready.notify_one();
    }

    /// The writer finished writing what it took.
    pub fn sent(&self) {
        self.lock().sending_since = None;
    }

    /// When the write in progress started, if one is.
    pub fn sending_since(&self) -> Option<Instant> {
        self.lock().sending_since
    }

    /// Snapshots replaced before they could be sent, since the start.
    pub fn replaced(&self) -> u64 {
        self.lock().replaced
    }

    /// Drops everything waiting and refuses more: the connection is closing. Wakes the writer
    /// so it can end.
    pub fn close(&self) {
        self.close_leaving(None);
    }

    /// Like [`Outbox::close`], but leaves `last` to be written (the Close frame): the writer
    /// ends once it is out.
    pub fn close_with(&self, last: Frame) {
        self.close_leaving(Some(last));
    }

    /// Closes the outbox for good when the session is gone: the writer task ends at its next
    /// wake-up (this wakes it), even one stuck on a socket that does not drain.
    pub fn abandon(&self) {
        self.lock().abandoned = true;
        self.close_leaving(None);
    }

    /// True once [`Outbox::abandon`] was called.
    pub fn is_abandoned(&self) -> bool {
        self.lock().abandoned
    }

    fn close_leaving(&self, last: Option<Frame>) {
        {
            let mut state = self.lock();
            state.closed = true;
            state.reliable.clear();
            state.reliable_bytes = 0;
            state.snapshot = None;
            state.reliable.extend(last);
        }
        self.ready.notify_one();
    }

    /// True once [`Outbox::close`] or [`Outbox::close_with`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits until something was pushed (or the outbox closed) since the last wait; a push
    /// before the wait is not lost.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }
}

fn push(state: &mut State, mut frame: Frame) -> Result<(), Overflow> {
    let len = frame.payload_len();
    if state.reliable.len() >= MAX_RELIABLE_FRAMES || state.reliable_bytes + len > MAX_RELIABLE_BYTES {
        return Err(Overflow);
    }
    // The room splits every frame of a tick off one buffer, so a frame keeps that whole
    // buffer (every member's snapshot of the tick) alive until it is written. One frame waiting
    // is the usual case and costs nothing; behind others, the client is not keeping up and the
    // frame may wait seconds, one tick's buffer pinned per frame: it gets its own copy.
    if !state.reliable.is_empty() {
        match &mut frame {
            Frame::Binary(bytes) => *bytes = Bytes::copy_from_slice(bytes),
            Frame::Gathered(parts) => frame = Frame::Binary(parts.concat().into()),
            Frame::Ping | Frame::Pong(_) | Frame::Close(_) => {}
        }
    }
    state.reliable_bytes += len;
    state.reliable.push_back(frame);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn reliable_frames_go_first_and_the_newest_snapshot_wins() {
        let outbox = Outbox::new();
        assert_eq!(outbox.push_tick(Some(Frame::Binary(b("r1"))), Some(b("s1"))), Ok(false));
        outbox.push_reliable(Frame::Ping).unwrap();
        assert_eq!(outbox.push_tick(None, Some(b("s2"))), Ok(true), "s1 replaced");
        let mut out = Vec::new();
        let taken = outbox.take(&mut out);
        assert_eq!(out, [Frame::Binary(b("r1")), Frame::Ping, Frame::Binary(b("s2"))]);
        assert_eq!(taken.snapshot_bytes, Some(2));
        assert_eq!(outbox.replaced(), 1);
        assert!(outbox.sending_since().is_some());
        outbox.sent();
        assert!(outbox.sending_since().is_none());
        out.clear();
        outbox.take(&mut out);
        assert!(out.is_empty());
        assert!(outbox.sending_since().is_none(), "nothing taken, nothing in flight");
    }

    #[test]
    fn a_client_that_never_reads_hits_the_bound_instead_of_growing() {
        let outbox = Outbox::new();
        let mut pushed = 0;
        while outbox.push_tick(Some(Frame::Binary(b("reliable"))), Some(b("snapshot"))).is_ok() {
            pushed += 1;
            assert!(pushed <= MAX_RELIABLE_FRAMES);
        }
        assert_eq!(pushed, MAX_RELIABLE_FRAMES);
        assert_eq!(outbox.push_reliable(Frame::Ping), Err(Overflow));
        let big = Outbox::new();
        let chunk = Bytes::from(vec![0u8; MAX_RELIABLE_BYTES / 2 + 1]);
        big.push_reliable(Frame::Binary(chunk.clone())).unwrap();
        assert_eq!(big.push_reliable(Frame::Binary(chunk)), Err(Overflow), "bytes are bounded too");
    }

    #[test]
    fn holding_keeps_the_stall_clock_running_until_a_write_goes_through() {
        let outbox = Outbox::new();
        outbox.push_tick(None, Some(b("s1"))).unwrap();
        assert!(outbox.has_waiting());
        outbox.hold();
        let held_since = outbox.sending_since().expect("holding counts as a write waiting");
        outbox.push_tick(None, Some(b("s2"))).unwrap();
        let mut out = Vec::new();
        outbox.take(&mut out);
        assert_eq!(out, [Frame::Binary(b("s2"))], "only the newest snapshot goes once the socket drains");
        assert_eq!(outbox.sending_since(), Some(held_since), "taking does not restart the clock");
        assert!(!outbox.has_waiting());
        outbox.sent();
        assert_eq!(outbox.sending_since(), None);
    }

    #[test]
    fn closing_drops_and_refuses() {
        let outbox = Outbox::new();
        outbox.push_tick(Some(Frame::Binary(b("r"))), Some(b("s"))).unwrap();
        outbox.close();
        outbox.push_tick(Some(Frame::Binary(b("r"))), Some(b("s"))).unwrap();
        let mut out = Vec::new();
        outbox.take(&mut out);
        assert!(out.is_empty() && outbox.is_closed());
    }

    #[test]
    fn closing_with_a_last_frame_keeps_only_that_frame() {
        let outbox = Outbox::new();
        outbox.push_tick(Some(Frame::Binary(b("r"))), Some(b("s"))).unwrap();
        outbox.close_with(Frame::Close(b("bye")));
        outbox.push_tick(Some(Frame::Binary(b("r2"))), Some(b("s2"))).unwrap();
        let mut out = Vec::new();
        outbox.take(&mut out);
        assert_eq!(out, [Frame::Close(b("bye"))]);
        assert!(outbox.is_closed() && !outbox.has_waiting());
    }

    #[tokio::test]
    async fn a_push_before_the_wait_is_not_lost() {
        let outbox = Outbox::new();
        outbox.push_reliable(Frame::Ping).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ready())
            .await
            .expect("woken by the earlier push");
    }

    #[tokio::test]
    async fn abandoning_wakes_the_writer_and_drops_even_a_last_frame() {
        let outbox = Arc::new(Outbox::new());
        outbox.close_with(Frame::Close(b("bye")));
        // Consume the close's wake-up: the writer is now waiting (say, for the socket).
        tokio::time::timeout(std::time::Duration::from_secs(5), outbox.ready()).await.unwrap();
        assert!(!outbox.is_abandoned());
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.ready().await }
        });
        outbox.abandon();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the waiting writer is woken")
            .unwrap();
        assert!(outbox.is_abandoned() && outbox.is_closed() && !outbox.has_waiting());
    }
}
