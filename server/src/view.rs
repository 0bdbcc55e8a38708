//! What each player is sent: area of interest and delta snapshots, built for every member of a
//! room in one pass per tick into reused buffers.
//!
//! As in Quake 3, the room keeps one [`History`] ring of the last `HISTORY_TICKS` frames of
//! quantised entities, shared by everyone, and each client's [`ClientView`] keeps only which
//! entities it was sent in each of those ticks. A snapshot is the client's area of interest now,
//! encoded against the frame it acknowledged (its baseline) as it was sent to it; with no usable
//! baseline it is encoded against nothing (a full snapshot). The encoded frames of all players
//! share one buffer per tick (`ViewBuilder::out`), so the 30 Hz path allocates once per tick,
//! not once per player.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use glam::Vec2;
use serde::Serialize;
use skirmish_shared::bits::BitWriter;
use skirmish_shared::consts::{AOI_HALF_EXTENT, HISTORY_TICKS};
use skirmish_shared::delta::{self, BulletEnt, DeltaStats, Frame};
use skirmish_shared::{OwnState, Phase, PlayerId};

use crate::grid::Grid;

/// Grid cell side for area-of-interest queries: a view spans about four cells each way.
const AOI_CELL_UNITS: f32 = AOI_HALF_EXTENT / 2.0;
/// Entity indices a [`ClientView`] keeps room for whatever it holds: about two ticks of a view.
const IDS_KEPT: usize = 64;
/// Ticks a [`ClientView`] keeps room for whatever it holds: a client acknowledges a tick or two
/// behind the newest.
const SENT_KEPT: usize = 4;

/// Room a list refilled every tick keeps beyond what it holds now, at least.
const LIST_SLACK: usize = 16;

/// Gives back what a list refilled every tick holds far beyond its contents (over half as much
/// again), keeping a quarter more than it holds. A `Vec` that grows doubles and never shrinks by
/// itself: without this, each of the history's frames kept the largest crowd of ships and
/// bullets its tick slot ever saw, so a room's memory crept up through a steady soak and stayed
/// at its busiest hour's once the room had emptied (`docs/performance.md`, "What the heap
/// creep was"). Between the two thresholds nothing moves, so a list whose size wavers a little
/// is not reallocated tick after tick.
pub(crate) fn give_back<T>(list: &mut Vec<T>) {
    let (len, cap) = (list.len(), list.capacity());
    if cap > len + len / 2 + 2 * LIST_SLACK {
        list.shrink_to(len + len / 4 + LIST_SLACK);
    }
}

/// The last `HISTORY_TICKS` frames of the whole room, by tick.
#[derive(Debug)]
pub struct History {
    frames: Vec<Frame>,
}

impl Default for History {
    fn default() -> Self {
        Self { frames: vec![Frame::default(); HISTORY_TICKS] }
    }
}

impl History {
    /// The slot for `tick` (overwriting the frame `HISTORY_TICKS` ticks older), to be filled.
    /// Private: the room and the bench fill slots through [`History::record`], which gives back
    /// what a slot holds beyond its tick's need.
    fn slot(&mut self, tick: u64) -> &mut Frame {
        &mut self.frames[Self::index(tick)]
    }

    /// Where `tick`'s frame lives in the ring.
    fn index(tick: u64) -> usize {
        (tick % HISTORY_TICKS as u64) as usize
    }

    /// Fills the slot for `tick` with `fill`, then gives back what its lists hold far beyond
    /// this tick's entities (see [`give_back`]).
    pub fn record(&mut self, tick: u64, fill: impl FnOnce(&mut Frame)) {
        let frame = self.slot(tick);
        fill(frame);
        give_back(&mut frame.ships);
        give_back(&mut frame.bullets);
        give_back(&mut frame.pickups);
    }

    /// The frame of `tick`, if it is still held (tick 0 never is: it means "none").
    pub fn get(&self, tick: u64) -> Option<&Frame> {
        let frame = &self.frames[Self::index(tick)];
        (tick != 0 && frame.tick == tick).then_some(frame)
    }
}

/// Which entities went to one client in one tick: ranges of [`ClientView::ids`].
#[derive(Debug, Clone, Copy)]
struct Sent {
    tick: u64,
    /// Whose view it was (a spectator may switch): bullets carry their `seq` only for the
    /// subject's own, so a baseline of another subject cannot be rebuilt as it was sent.
    subject: Option<PlayerId>,
    start: usize,
    ships: usize,
    bullets: usize,
    pickups: usize,
    /// The snapshot's size, and that of the reliable messages sent since the snapshot before
    /// it (they share the client's link).
    bytes: u32,
}

/// See [`ClientView::wants_snapshot`]: a third of a second, ten times an input's interval.
pub const ACKS_FLOWING_TICKS: u64 = 10;

/// How long, in ticks, the snapshots in a client's link may queue beyond its round trip before
/// the room holds its next ones back (see [`ClientView::wants_snapshot`]): a third of a
/// second, more than a Wi-Fi link's usual jitter (an outside test lost a few snapshots in a
/// thousand to ±50 ms of jitter each way with a quarter of a second).
pub const QUEUE_TICKS: u64 = 10;

/// The rate a client's link carries is measured over windows of at least this many ticks (see
/// [`ClientView::rate`]).
const RATE_MARK_TICKS: u64 = 15;

/// The longest round trip, in ticks, that [`ClientView::wants_snapshot`] allows for: two
/// thirds of a second, with [`QUEUE_TICKS`] less than the history, so a paced client's
/// acknowledged baseline stays in it.
const ROUND_TRIP_MAX_TICKS: u64 = 20;

/// The round trip is the least of the acknowledgements' delays over the last one or two of
/// these (ten seconds each): a link whose round trip grows for good (a phone moving from Wi-Fi
/// to a mobile network) is measured anew within twenty seconds.
const ROUND_TRIP_EPOCH_TICKS: u64 = 300;

/// One client's side of the delta history: its acknowledgement and what it was sent in each
/// tick it may still acknowledge. Bounded: at most `HISTORY_TICKS` ticks of ids, whatever the
/// client does.
#[derive(Debug, Default)]
pub struct ClientView {
    /// The newest tick the client acknowledged (0: none).
    acked: u64,
    /// Ticks sent and not yet superseded by an acknowledgement, oldest first.
    sent: VecDeque<Sent>,
    /// What `sent` held, back to back: per tick ships, then bullets, then pickups, each as its
    /// index in that tick's frame of the room's [`History`] (as Quake 3 keeps indices into its
    /// shared entity ring): the baseline is then read straight out of the ring, with no search.
    ids: Vec<u32>,
    /// For spectators: the player they asked to follow.
    pub follow: Option<PlayerId>,
    /// The highest tick it has acknowledged that was sent to it: an acknowledgement above it
    /// shows the client read something new.
    newest_ack: u64,
    /// Snapshots recorded since its acknowledgements last moved forward (see
    /// [`ClientView::unacknowledged`]).
    unacknowledged: u32,
    /// [`ClientView::newest_ack`] when a silence was last excused (see
    /// [`ClientView::excuse_unacknowledged`]); `None`: never.
    excused_at: Option<u64>,
    /// The room tick at which its newest acknowledgement was first seen trailing the room by
    /// more than the limit (see [`ClientView::trailing`]); `None`: it is not.
    trailing_since: Option<u64>,
    /// The room tick at which its last acknowledgement arrived (see
    /// [`ClientView::wants_snapshot`]).
    ack_arrived: u64,
    /// The newest acknowledgement whose delay was measured (0: none yet), and the least
    /// delays, in ticks, of this epoch and the one before (`u16::MAX`: none), the epoch begun
    /// at `epoch_start`: its round trip (see [`ClientView::round_trip`]).
    timed_ack: u64,
    least_delays: [u16; 2],
    epoch_start: u64,
    /// Bytes of reliable messages sent since the last snapshot: the next one's share.
    reliable_bytes: u32,
    /// Bytes sent in all (snapshots and reliable messages) and those the client acknowledged
    /// (snapshots and the reliable messages before them): what is on its way is the rest (see
    /// [`ClientView::wants_snapshot`]). Snapshots forgotten past the history unacknowledged
    /// are kept as one span (first tick, last tick, bytes), acknowledged in proportion.
    sent_bytes: u64,
    delivered: u64,
    forgotten: (u64, u64, u64),
    /// Where the current window of the rate began (room tick, `delivered` then), and the rates
    /// (bytes a tick) of the last two windows, the newer first (see [`ClientView::rate`]).
    mark: (u64, u64),
    window_rates: [f32; 2],
}

impl ClientView {
    /// The client received snapshot `tick`: its newest acknowledgement decides the baseline.
    /// 0, or a tick never sent to it (or forgotten), asks for a full snapshot; an acknowledged
    /// tick frees what came before it.
    pub fn ack(&mut self, tick: u64) {
        // Only a tick it was really sent counts as reading: a made-up future tick must not
        // reset the count, nor raise the bar for the real acknowledgements after it. The newest
        // tick sent is always the last in `sent` (an acknowledgement frees only older ones).
        let newest_sent = self.sent.back().map_or(0, |s| s.tick);
        if tick > self.newest_ack && tick <= newest_sent {
            let newly = self.sent.iter().filter(|s| s.tick > self.newest_ack && s.tick <= tick);
            self.delivered += newly.map(|s| u64::from(s.bytes)).sum::<u64>();
            let (first, last, bytes) = self.forgotten;
            if bytes > 0 && tick >= first {
                let part = if tick >= last { bytes } else { bytes * (tick - first + 1) / (last - first + 1) };
                self.delivered += part;
                self.forgotten = if tick >= last { (0, 0, 0) } else { (tick + 1, last, bytes - part) };
            }
            self.newest_ack = tick;
            self.unacknowledged = 0;
        }
        if !self.sent.iter().any(|s| s.tick == tick) {
            // No baseline, now or later: a tick acknowledged before it was sent (a client's
            // mistake) became one once it was sent, though latest-wins may drop that very
            // snapshot (from an outside client author's test).
            self.acked = 0;
            return;
        }
        self.acked = tick;
        let mut drop_ids = 0;
        while let Some(first) = self.sent.front()
            && first.tick < tick
        {
            drop_ids = first.start + first.ships + first.bullets + first.pickups;
            self.sent.pop_front();
        }
        if drop_ids > 0 {
            self.ids.drain(..drop_ids);
            for s in &mut self.sent {
                s.start -= drop_ids;
            }
            self.trim();
        }
    }

    /// Gives back room far beyond what is held: a client whose acknowledgements fell a whole
    /// history behind (a stall of its own, or of its network) leaves `ids` the size of
    /// `HISTORY_TICKS` views, which it need not keep once it has caught up.
    fn trim(&mut self) {
        let kept = self.ids.len().max(IDS_KEPT);
        if self.ids.capacity() > 4 * kept {
            self.ids.shrink_to(2 * kept);
        }
        let kept = self.sent.len().max(SENT_KEPT);
        if self.sent.capacity() > 4 * kept {
            self.sent.shrink_to(2 * kept);
        }
    }

    /// The acknowledged tick, if it is a usable baseline: sent to this client and still held;
    /// with whose view it was and its ships, bullets and pickups (indices into its frame).
    fn baseline(&self) -> Option<Baseline<'_>> {
        let s = self.sent.iter().find(|s| s.tick == self.acked && s.tick != 0)?;
        let ids = &self.ids[s.start..s.start + s.ships + s.bullets + s.pickups];
        let (ships, rest) = ids.split_at(s.ships);
        let (bullets, pickups) = rest.split_at(s.bullets);
        Some(Baseline { tick: s.tick, subject: s.subject, ships, bullets, pickups })
    }

    /// Remembers what `tick`'s snapshot held (indices into that tick's frame), forgetting the
    /// oldest tick beyond the history.
    fn record(&mut self, tick: u64, subject: Option<PlayerId>, sent: [&[u32]; 3], bytes: usize) {
        if self.sent.len() >= HISTORY_TICKS {
            // Never acknowledged for a whole history: nothing older can be a baseline anyway.
            if let Some(oldest) = self.sent.pop_front() {
                if oldest.tick > self.newest_ack {
                    let (first, _, bytes) = self.forgotten;
                    let first = if bytes == 0 { oldest.tick } else { first };
                    self.forgotten = (first, oldest.tick, bytes + u64::from(oldest.bytes));
                }
                let n = oldest.ships + oldest.bullets + oldest.pickups;
                self.ids.drain(..n);
                for s in &mut self.sent {
                    s.start -= n;
                }
            }
        }
        let start = self.ids.len();
        let [ships, bullets, pickups] = sent;
        self.ids.extend_from_slice(ships);
        self.ids.extend_from_slice(bullets);
        self.ids.extend_from_slice(pickups);
        self.unacknowledged = self.unacknowledged.saturating_add(1);
        self.sent_bytes += bytes as u64;
        self.sent.push_back(Sent {
            tick,
            subject,
            start,
            ships: ships.len(),
            bullets: bullets.len(),
            pickups: pickups.len(),
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX).saturating_add(std::mem::take(&mut self.reliable_bytes)),
        });
    }

    /// Reliable messages of `bytes` went to the client: they are on their way too.
    pub fn sent_reliable(&mut self, bytes: usize) {
        self.sent_bytes += bytes as u64;
        self.reliable_bytes = self.reliable_bytes.saturating_add(u32::try_from(bytes).unwrap_or(u32::MAX));
    }

    /// Snapshots built for this client since it last acknowledged a tick newer than any
    /// before. A client that keeps sending acknowledgements while this grows has stopped
    /// reading (or its downlink broke): it is acknowledging the same old tick, or none (0),
    /// over and over. The room cuts it once this passes the send-stall timeout's worth of
    /// snapshots, long before the kernel's buffers between them fill up and the send stalls.
    pub fn unacknowledged(&self) -> u32 {
        self.unacknowledged
    }

    /// Starts the count of [`ClientView::unacknowledged`] snapshots again (after a kick for it,
    /// so the room asks once, not at every tick until the session has gone).
    pub fn restart_unacknowledged(&mut self) {
        self.unacknowledged = 0;
    }

    /// Takes the snapshots of `silent_ticks` of the client's silence, and half a second more
    /// for the backlog to drain, off the [`ClientView::unacknowledged`] count: over a stall of
    /// the link both ways its acknowledgements could not move, and those that arrive first after
    /// it are stale. Only the silence's worth: a client that never reads and pauses now and
    /// then to earn this still reaches the limit (from an outside attack: the count used to
    /// start afresh after each pause, and a pause of 1.1 s every 3 s kept a blind client in).
    pub fn excuse_unacknowledged(&mut self, silent_ticks: u32) {
        // Once per reading: a link that stalled delivers, and its client then acknowledges what
        // it reads before it can stall again; one that never reads earns one excuse, however
        // it times its pauses (an outside attack kept a blind client in with half a second of
        // inputs between pauses of 1.2 s, each pause excusing more than the inputs added).
        if self.excused_at == Some(self.newest_ack) {
            return;
        }
        self.excused_at = Some(self.newest_ack);
        let slack = skirmish_shared::consts::TICK_RATE_HZ / 2;
        self.unacknowledged = self.unacknowledged.saturating_sub(silent_ticks.saturating_add(slack));
    }

    /// How far, in ticks, the newest snapshot this client acknowledged trails the room's tick
    /// `now`, once it has trailed by more than `limit` for `limit` ticks more; else `None`. A
    /// client that reads too slowly acknowledges newer snapshots all the time, so the count of
    /// [`ClientView::unacknowledged`] never grows, yet it falls further behind for ever: the
    /// small frames pile up in the kernel's buffers, not in ours, so latest-wins never drops one
    /// (from an outside test: a spectator reading 3 frames a second watched a view 40 s old).
    /// The grace lets a link that stalled both ways and came back read its backlog first.
    pub fn trailing(&mut self, now: u64, limit: u32) -> Option<u64> {
        let behind = now.saturating_sub(self.newest_ack);
        if self.newest_ack == 0 || behind <= u64::from(limit) {
            self.trailing_since = None;
            return None;
        }
        let since = *self.trailing_since.get_or_insert(now);
        (now - since > u64::from(limit)).then(|| {
            // Asked once, not at every tick until the session has gone.
            self.trailing_since = None;
            behind
        })
    }

    /// An acknowledgement arrived at room tick `now` (whatever it named). A new one (the
    /// newest it sent) times the trip of the snapshot it names: sent at its tick, acknowledged
    /// by `now`.
    pub fn heard(&mut self, now: u64) {
        self.ack_arrived = now;
        if self.newest_ack > self.timed_ack {
            let first = self.timed_ack == 0;
            self.timed_ack = self.newest_ack;
            let delay = u16::try_from(now.saturating_sub(self.newest_ack)).unwrap_or(u16::MAX);
            if first {
                (self.least_delays, self.epoch_start) = ([delay, u16::MAX], now);
            } else if now.saturating_sub(self.epoch_start) >= ROUND_TRIP_EPOCH_TICKS {
                // A new epoch: the one before is kept until this one has run.
                (self.least_delays, self.epoch_start) = ([delay, self.least_delays[0]], now);
            } else {
                self.least_delays[0] = self.least_delays[0].min(delay);
            }
        }
        let (since, before) = self.mark;
        if since == 0 {
            self.mark = (now, self.delivered);
        } else if now.saturating_sub(since) >= RATE_MARK_TICKS {
            let rate = (self.delivered - before) as f32 / (now - since) as f32;
            (self.mark, self.window_rates) = ((now, self.delivered), [rate, self.window_rates[0]]);
        }
    }

    /// The bytes a tick the client's link carries: the more of its last two windows of at
    /// least 15 ticks (acknowledgements that come bunched, as on Wi-Fi, make one window read
    /// low: from an outside test, a fast link with ±50 ms of jitter lost snapshots when the
    /// rate was one window's). 0 before its first window has run.
    fn rate(&self) -> f32 {
        self.window_rates[0].max(self.window_rates[1])
    }

    /// The client's round trip in ticks, from a snapshot's tick to the room's tick when its
    /// acknowledgement is read: the least delay of the last ten to twenty seconds (queues
    /// only ever add to it). `None` before its first acknowledgement.
    pub fn round_trip(&self) -> Option<u64> {
        (self.timed_ack > 0).then(|| u64::from(self.least_delays[0].min(self.least_delays[1])))
    }

    /// Whether the room should build this client a snapshot at tick `now`: yes, unless that
    /// would put more bytes on their way to it (sent, not yet acknowledged: snapshots and the
    /// reliable messages, which always go) than its link carries, at the rate it was measured
    /// to carry lately ([`ClientView::rate`]), in its round trip ([`ClientView::round_trip`])
    /// and [`QUEUE_TICKS`] more; one snapshot may always be on its way. Judged only while its
    /// acknowledgements keep coming (one within the last [`ACKS_FLOWING_TICKS`]) and its link
    /// carried something lately: a link that carries them but not the whole stream. On a link
    /// that keeps up, what is on its way is a round trip's worth, well under the allowance. A
    /// client on a slow link so sees the newest tick about a round trip and a third of a second
    /// late, not seconds (from an outside test of a phone at 3 KB/s: the server sent 30 a second
    /// whatever the link carried, and it played 1–4 s behind, under a fixed rule before this
    /// one that thinned only past two thirds of a second of lag). As Quake 3 sends each client
    /// only as much as its rate allows, the rate measured rather than declared. A client that
    /// sends no acknowledgements for a while (a tab put away) is no slow link: the heartbeat
    /// and the unacknowledged count judge it.
    pub fn wants_snapshot(&self, now: u64) -> bool {
        if self.newest_ack == 0 || now.saturating_sub(self.ack_arrived) > ACKS_FLOWING_TICKS {
            return true;
        }
        let Some(round_trip) = self.round_trip() else { return true };
        let rate = self.rate();
        if rate <= 0.0 {
            // Nothing measured yet, or nothing carried lately: no slow link but a client that
            // stopped reading, which the unacknowledged count judges by the snapshots it goes
            // on being sent.
            return true;
        }
        // The newest snapshot is never dropped before it is written (latest-wins drops the
        // older), so its acknowledgement comes and frees every older one: a reading client is
        // never held back for good.
        // `sent` is in tick order: the newest tells whether any is unacknowledged.
        if self.sent.back().is_none_or(|s| s.tick <= self.newest_ack) {
            return true;
        }
        let on_the_way = self.sent_bytes.saturating_sub(self.delivered);
        // A round trip measured through a queue (a client that joined during a stall) is
        // capped, or the allowance it gives would keep that queue for good (from an outside
        // test: a phone that joined during a 3 s stall was never held back and fell 30 s
        // behind).
        let round_trip = round_trip.min(ROUND_TRIP_MAX_TICKS);
        on_the_way as f32 <= rate * (round_trip + QUEUE_TICKS) as f32
    }

    /// Heap bytes held (for the per-player memory budget and its test).
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4 + self.sent.capacity() * std::mem::size_of::<Sent>()
    }
}

/// A baseline as [`ClientView::baseline`] finds it.
struct Baseline<'a> {
    tick: u64,
    subject: Option<PlayerId>,
    ships: &'a [u32],
    bullets: &'a [u32],
    pickups: &'a [u32],
}

/// The parts of a snapshot that are not entity records.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// The match phase.
    pub phase: Phase,
    /// Milliseconds left in it.
    pub time_left_ms: u32,
}

/// `ServerMsg::Snapshot` as it is serialised, borrowing the records instead of owning them
/// (a test checks it encodes exactly as the shared type does).
#[derive(Serialize)]
enum SnapshotOut<'a> {
    #[serde(rename = "s")]
    Snapshot(SnapshotBody<'a>),
}

#[derive(Serialize)]
struct SnapshotBody<'a> {
    tick: u64,
    base: u64,
    phase: Phase,
    time_left_ms: u32,
    me: Option<OwnState>,
    #[serde(with = "serde_bytes")]
    ents: &'a [u8],
}

/// Per-tick scratch for building every member's snapshot; reused from tick to tick.
#[derive(Debug)]
pub struct ViewBuilder {
    arena: Vec2,
    ships: Grid,
    bullets: Grid,
    pickups: Grid,
    /// Bullet positions at the current tick, for the grid and the exact test.
    bullet_pos: Vec<Vec2>,
    /// What the current view holds, as indices into the current frame (by id, since the frame's
    /// lists are): ships, bullets, pickups.
    near: [Vec<u32>; 3],
    /// Puts each list of `near` in order.
    order: IndexOrder,
    /// The entities in the current view and in the baseline, as sent.
    cur: Frame,
    base: Frame,
    bits: BitWriter,
    /// Every frame built this tick, back to back; each member's `Bytes` is split off it.
    out: BytesMut,
}

impl ViewBuilder {
    /// A builder for an arena of `arena` world units.
    pub fn new(arena: Vec2) -> Self {
        Self {
            arena,
            ships: Grid::new(arena, AOI_CELL_UNITS),
            bullets: Grid::new(arena, AOI_CELL_UNITS),
            pickups: Grid::new(arena, AOI_CELL_UNITS),
            bullet_pos: Vec::new(),
            near: Default::default(),
            order: IndexOrder::default(),
            cur: Frame::default(),
            base: Frame::default(),
            bits: BitWriter::new(),
            out: BytesMut::new(),
        }
    }

    /// Indexes the current frame (once per tick, before [`ViewBuilder::build`]), and makes room
    /// for about `bytes` of output this tick.
    pub fn index(&mut self, frame: &Frame, arena: Vec2, bytes: usize) {
        if arena != self.arena {
            *self = Self::new(arena);
        }
        self.ships.rebuild(frame.ships.iter().map(|s| s.pos_f()));
        self.bullet_pos.clear();
        let at = frame.tick as f64;
        self.bullet_pos.extend(frame.bullets.iter().map(|b| b.pos_at(at)));
        self.bullets.rebuild(self.bullet_pos.iter().copied());
        self.pickups.rebuild(frame.pickups.iter().map(|p| p.pos.as_vec2() / skirmish_shared::sim::POS_SCALE));
        self.order.fit(frame.ships.len().max(frame.bullets.len()).max(frame.pickups.len()));
        // One allocation for the whole tick; frames split off it keep it alive until sent.
        self.out.reserve(bytes);
    }

    /// Builds one member's snapshot of `frame` (the newest in `history`): the entities within
    /// the area of interest around `centre`, without the `me` ship, as a delta against the
    /// member's baseline. Records what was sent in `view`.
    pub fn build(
        &mut self,
        frame: &Frame,
        history: &History,
        view: &mut ClientView,
        centre: Vec2,
        me: Option<OwnState>,
        head: Head,
    ) -> (Bytes, DeltaStats, bool) {
        let subject = me.map(|m| m.id);
        self.select(frame, centre, subject);
        let full = !self.baseline(history, view, frame.tick, subject);
        self.bits.clear();
        let stats = delta::encode(&mut self.bits, frame.tick, self.base.lists(), self.cur.lists());
        let body = SnapshotBody {
            tick: frame.tick,
            base: if full { 0 } else { self.base.tick },
            phase: head.phase,
            time_left_ms: head.time_left_ms,
            me,
            ents: self.bits.as_bytes(),
        };
        // Writing into a BytesMut cannot fail, and our types always serialise.
        rmp_serde::encode::write(&mut (&mut self.out).writer(), &SnapshotOut::Snapshot(body))
            .expect("snapshot serialises into memory");
        let [ships, bullets, pickups] = &self.near;
        view.record(frame.tick, subject, [ships, bullets, pickups], self.out.len());
        (self.out.split().freeze(), stats, full)
    }

    /// `{"b": [...]}` around already-encoded messages (or the one message alone), split off the
    /// tick's buffer: a tick's reliable messages as one frame.
    pub fn batch<'a>(&mut self, mut messages: impl Iterator<Item = &'a Bytes> + Clone) -> Option<Bytes> {
        match messages.clone().count() {
            0 => return None,
            // A clone shares the message's bytes; putting it through the buffer would copy them.
            1 => return messages.next().cloned(),
            n => {
                // A one-entry map, the key "b", then the array header.
                self.out.put_slice(&[0x81, 0xa1, b'b']);
                // Writing into a BytesMut cannot fail.
                rmp::encode::write_array_len(&mut (&mut self.out).writer(), n as u32).expect("in memory");
            }
        }
        for m in messages {
            self.out.put_slice(m);
        }
        Some(self.out.split().freeze())
    }

    /// Already-encoded messages back to back, split off the tick's buffer: the middle of
    /// batches that [`ViewBuilder::batch_head`] starts (`None` when there are none). One
    /// message is returned as it is, sharing its bytes: a tick with one shared message (the
    /// score lines or the radar) hands it to every member that has nothing of its own.
    pub fn concat<'a>(&mut self, mut messages: impl Iterator<Item = &'a Bytes>) -> Option<Bytes> {
        let first = messages.next()?;
        let Some(second) = messages.next() else { return Some(first.clone()) };
        for m in [first, second].into_iter().chain(messages) {
            self.out.put_slice(m);
        }
        Some(self.out.split().freeze())
    }

    /// The start of a batch of `count` messages (at least two) whose first ones are
    /// `messages`, split off the tick's buffer: `{"b": [` and those messages; the rest of the
    /// batch follows it in the same frame ([`crate::outbox::Frame::Gathered`]).
    pub fn batch_head<'a>(&mut self, count: usize, messages: impl Iterator<Item = &'a Bytes>) -> Bytes {
        debug_assert!(count >= 2, "a lone message goes without the batch around it");
        self.out.put_slice(&[0x81, 0xa1, b'b']);
        // Writing into a BytesMut cannot fail.
        rmp::encode::write_array_len(&mut (&mut self.out).writer(), count as u32).expect("in memory");
        for m in messages {
            self.out.put_slice(m);
        }
        self.out.split().freeze()
    }

    /// Fills `self.cur` (and `self.near`) with what a view centred on `centre` contains (all
    /// lists by id).
    fn select(&mut self, frame: &Frame, centre: Vec2, me: Option<PlayerId>) {
        let (min, max) = (centre - Vec2::splat(AOI_HALF_EXTENT), centre + Vec2::splat(AOI_HALF_EXTENT));
        let inside = |p: Vec2| p.x >= min.x && p.y >= min.y && p.x <= max.x && p.y <= max.y;
        self.cur.clear();
        self.cur.tick = frame.tick;
        let [ships, bullets, pickups] = &mut self.near;

        ships.clear();
        self.ships.for_each_near(min, max, |i| {
            let ship = &frame.ships[i as usize];
            if Some(ship.id) != me && inside(ship.pos_f()) {
                ships.push(i);
            }
        });
        // Frame lists are by id, so sorted indices give entities by id.
        self.order.sort(ships);
        self.cur.ships.extend(ships.iter().map(|&i| frame.ships[i as usize]));

        bullets.clear();
        let positions = &self.bullet_pos;
        self.bullets.for_each_near(min, max, |i| {
            if inside(positions[i as usize]) {
                bullets.push(i);
            }
        });
        self.order.sort(bullets);
        // Only the shooter needs to match its shots to its inputs.
        self.cur.bullets.extend(bullets.iter().map(|&i| as_sent(frame.bullets[i as usize], me)));

        pickups.clear();
        self.pickups.for_each_near(min, max, |i| {
            if inside(frame.pickups[i as usize].pos.as_vec2() / skirmish_shared::sim::POS_SCALE) {
                pickups.push(i);
            }
        });
        self.order.sort(pickups);
        self.cur.pickups.extend(pickups.iter().map(|&i| frame.pickups[i as usize]));
    }

    /// Fills `self.base` with the member's baseline as it was sent; false if it has none usable
    /// (then `self.base` is empty and the snapshot is full): none acknowledged, one older than
    /// the history (ticks skipped after a stall can leave an old frame in its slot, so the age
    /// is checked, not only the slot), or one of another subject (a spectator switched).
    fn baseline(&mut self, history: &History, view: &ClientView, now: u64, subject: Option<PlayerId>) -> bool {
        self.base.clear();
        self.base.tick = 0;
        let Some(b) = view.baseline() else { return false };
        if now.saturating_sub(b.tick) >= HISTORY_TICKS as u64 || b.subject != subject {
            return false;
        }
        let Some(frame) = history.get(b.tick) else { return false };
        let found = copy_out(&frame.ships, b.ships, &mut self.base.ships)
            && copy_out(&frame.bullets, b.bullets, &mut self.base.bullets)
            && copy_out(&frame.pickups, b.pickups, &mut self.base.pickups);
        for bullet in &mut self.base.bullets {
            *bullet = as_sent(*bullet, subject);
        }
        let tick = b.tick;
        if !found {
            // Cannot happen: everything sent was in that tick's frame. Fall back to full.
            self.base.clear();
            return false;
        }
        self.base.tick = tick;
        true
    }
}

/// Sorts a view's entity indices. Each is below the frame's entity count (the grids were built
/// from the same frame by [`ViewBuilder::index`], as every index into the frame here assumes)
/// and appears once (a grid built with `Grid::rebuild` lists every item in one cell), so a bit
/// per index and one walk over the words in between put them in order. In the tick bench's
/// rooms of 1000 and 3000 that takes 62 % of the instructions of the comparison sort, which was
/// an eighth of the whole tick's (`bash scripts/tick_instructions.sh`).
#[derive(Debug, Default)]
struct IndexOrder {
    /// One bit per index; all zero between calls.
    words: Vec<u64>,
}

impl IndexOrder {
    /// Below this many indices a comparison sort is as quick as walking the words.
    const SORT_BELOW: usize = 8;

    /// Makes room for indices below `n` (once per tick, before sorting).
    fn fit(&mut self, n: usize) {
        self.words.resize(n.div_ceil(64), 0);
    }

    /// Puts `indices` (distinct, each below what [`IndexOrder::fit`] was given) in ascending
    /// order.
    fn sort(&mut self, indices: &mut Vec<u32>) {
        if indices.len() < Self::SORT_BELOW {
            return indices.sort_unstable();
        }
        let words = &mut self.words[..];
        let (mut lo, mut hi) = (usize::MAX, 0);
        for &i in indices.iter() {
            let w = (i / 64) as usize;
            words[w] |= 1 << (i % 64);
            (lo, hi) = (lo.min(w), hi.max(w));
        }
        indices.clear();
        for (w, word) in (lo..).zip(&mut words[lo..=hi]) {
            // Taken, so the words are all zero again for the next call.
            let mut bits = std::mem::take(word);
            while bits != 0 {
                indices.push(w as u32 * 64 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
}

/// A bullet as a view's subject receives it: only the shooter gets the `seq` that fired it.
fn as_sent(mut bullet: BulletEnt, subject: Option<PlayerId>) -> BulletEnt {
    if Some(bullet.owner) != subject {
        bullet.seq = 0;
    }
    bullet
}

/// Copies the entities at `indices` of `all` into `out`; false if an index is out of range
/// (which a frame that really was sent cannot give).
fn copy_out<E: Copy>(all: &[E], indices: &[u32], out: &mut Vec<E>) -> bool {
    for &i in indices {
        match all.get(i as usize) {
            Some(e) => out.push(*e),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::IVec2;
    use skirmish_shared::delta::ShipEnt;
    use skirmish_shared::{ServerMsg, Snapshot, decode_server, encode_server};

    const ARENA: Vec2 = Vec2::new(16000.0, 16000.0);

    fn ship(id: u32, x: f32, y: f32) -> ShipEnt {
        ShipEnt { id, pos: IVec2::new((x * 2.0) as i32, (y * 2.0) as i32), aim: 0, health: 100, flags: 1 }
    }

    fn frame(tick: u64, ships: Vec<ShipEnt>, bullets: Vec<BulletEnt>) -> Frame {
        Frame { tick, ships, bullets, pickups: Vec::new() }
    }

    fn me(id: u32, x: f32, y: f32) -> OwnState {
        OwnState { id, pos: IVec2::new((x * 8.0) as i32, (y * 8.0) as i32), ..OwnState::default() }
    }

    const HEAD: Head = Head { phase: Phase::Playing, time_left_ms: 0 };

    /// Builds `id`'s snapshot of `f` (pushed into `history`) and decodes it as a client would.
    fn snapshot(
        b: &mut ViewBuilder,
        history: &mut History,
        view: &mut ClientView,
        f: &Frame,
        at: Vec2,
        id: u32,
    ) -> (Snapshot, DeltaStats) {
        *history.slot(f.tick) = f.clone();
        b.index(f, ARENA, 4096);
        let (bytes, stats, _) = b.build(f, history, view, at, Some(me(id, at.x, at.y)), HEAD);
        match decode_server(&bytes).expect("valid") {
            ServerMsg::Snapshot(s) => (s, stats),
            other => panic!("{other:?}"),
        }
    }

    /// Fills `tick`'s slot of `history` with `n` ships, as the room does every tick.
    fn record_ships(history: &mut History, tick: u64, n: u32) -> usize {
        history.record(tick, |f| {
            f.clear();
            f.tick = tick;
            f.ships.extend((1..=n).map(|i| ship(i, i as f32, 0.0)));
        });
        history.get(tick).expect("just recorded").ships.capacity()
    }

    #[test]
    fn a_history_slot_gives_back_what_a_bigger_crowd_left_in_it() {
        let mut h = History::default();
        let crowd = record_ships(&mut h, 5, 3000);
        assert!(crowd >= 3000);
        // The same slot a history later, the room down to 100 ships.
        let later = record_ships(&mut h, 5 + HISTORY_TICKS as u64, 100);
        assert!(later <= 100 + 25 + LIST_SLACK, "the slot kept room for {later} ships");
        // And back up: it grows again as it must.
        assert!(record_ships(&mut h, 5 + 2 * HISTORY_TICKS as u64, 2000) >= 2000);
    }

    #[test]
    fn a_history_slot_whose_crowd_wavers_a_little_is_not_reallocated() {
        let mut h = History::default();
        let first = record_ships(&mut h, 7, 1000);
        let ptr = h.get(7).expect("recorded").ships.as_ptr();
        for (k, n) in [950u32, 1000, 900, 980, 1000, 920].into_iter().enumerate() {
            let tick = 7 + (k as u64 + 1) * HISTORY_TICKS as u64;
            assert_eq!(record_ships(&mut h, tick, n), first, "{n} ships");
            assert_eq!(h.get(tick).expect("recorded").ships.as_ptr(), ptr, "{n} ships moved the list");
        }
    }

    #[test]
    fn give_back_keeps_a_quarter_more_and_leaves_a_list_near_its_size_alone() {
        let mut v: Vec<u32> = Vec::with_capacity(4096);
        v.extend(0..1000);
        give_back(&mut v);
        assert!((1000..=1000 + 250 + LIST_SLACK).contains(&v.capacity()), "{}", v.capacity());
        let kept = v.capacity();
        v.truncate(900);
        give_back(&mut v);
        assert_eq!(v.capacity(), kept, "a tenth fewer is not worth a reallocation");
        v.clear();
        give_back(&mut v);
        assert!(v.capacity() <= LIST_SLACK, "{}", v.capacity());
    }

    #[test]
    fn a_near_ship_is_sent_a_far_one_is_not_and_the_owner_is_in_me() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let f = frame(1, vec![ship(1, 1000.0, 1000.0), ship(2, 1500.0, 1200.0), ship(3, 9000.0, 9000.0)], vec![]);
        let (snap, stats) = snapshot(&mut b, &mut h, &mut v, &f, Vec2::new(1000.0, 1000.0), 1);
        assert_eq!(snap.base, 0, "first snapshot is full");
        let mut out = Frame::default();
        delta::decode(&snap.ents, 1, &Frame::default(), &mut out).unwrap();
        assert_eq!(out.ships, [ship(2, 1500.0, 1200.0)], "ship 3 is far; ship 1 is me");
        assert_eq!(snap.me.map(|m| m.id), Some(1));
        assert_eq!(stats.ships.entered, 1);
    }

    #[test]
    fn entering_and_leaving_the_view_against_the_acknowledged_baseline() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(5000.0, 5000.0);
        let f1 = frame(1, vec![ship(1, 5000.0, 5000.0), ship(2, 5500.0, 5000.0), ship(3, 7000.0, 5000.0)], vec![]);
        let (s1, _) = snapshot(&mut b, &mut h, &mut v, &f1, at, 1);
        let mut client1 = Frame::default();
        delta::decode(&s1.ents, 1, &Frame::default(), &mut client1).unwrap();
        v.ack(1);
        // Ship 2 flies out of view, ship 3 flies in.
        let f2 = frame(2, vec![ship(1, 5000.0, 5000.0), ship(2, 7000.0, 5000.0), ship(3, 5600.0, 5000.0)], vec![]);
        let (s2, stats) = snapshot(&mut b, &mut h, &mut v, &f2, at, 1);
        assert_eq!(s2.base, 1);
        assert_eq!((stats.ships.left, stats.ships.entered), (1, 1));
        let mut client2 = Frame::default();
        delta::decode(&s2.ents, 2, &client1, &mut client2).unwrap();
        assert_eq!(client2.ships, [ship(3, 5600.0, 5000.0)]);
    }

    #[test]
    fn acks_for_ticks_never_sent_or_forgotten_give_full_snapshots() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        let f = |t| frame(t, vec![ship(1, 100.0, 100.0), ship(2, 200.0, 100.0)], vec![]);
        snapshot(&mut b, &mut h, &mut v, &f(1), at, 1);
        v.ack(7); // never sent
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(2), at, 1).0.base, 0);
        // Nor does it become a baseline once it is sent: the client acknowledged a snapshot it
        // did not have then, and may never get.
        for t in 3..=8 {
            assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(t), at, 1).0.base, 0, "tick {t}");
        }
        v.ack(8);
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(9), at, 1).0.base, 8);
        // A whole history later (the client stopped acknowledging), tick 8 is gone.
        for t in 10..(10 + HISTORY_TICKS as u64) {
            snapshot(&mut b, &mut h, &mut v, &f(t), at, 1);
        }
        let (s, _) = snapshot(&mut b, &mut h, &mut v, &f(100), at, 1);
        assert_eq!(s.base, 0, "the baseline left the history");
    }

    #[test]
    fn only_an_acknowledgement_newer_than_any_before_restarts_the_unacknowledged_count() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        let f = |t| frame(t, vec![ship(1, 100.0, 100.0), ship(2, 200.0, 100.0)], vec![]);
        for t in 1..=3 {
            snapshot(&mut b, &mut h, &mut v, &f(t), at, 1);
        }
        assert_eq!(v.unacknowledged(), 3, "one per snapshot built");
        v.ack(0);
        assert_eq!(v.unacknowledged(), 3, "0 acknowledges nothing");
        v.ack(2);
        assert_eq!(v.unacknowledged(), 0, "a new tick: it reads");
        snapshot(&mut b, &mut h, &mut v, &f(4), at, 1);
        v.ack(2);
        v.ack(1);
        assert_eq!(v.unacknowledged(), 1, "the same tick again, or an older one, is no news");
        v.ack(99);
        assert_eq!(v.unacknowledged(), 1, "a tick never sent is no news");
        v.ack(4);
        assert_eq!(v.unacknowledged(), 0, "and did not raise the bar for the real ones");
        // A client stuck on one acknowledgement for a whole history and more: the count goes
        // on past what the history keeps.
        for t in 5..(5 + 2 * HISTORY_TICKS as u64) {
            snapshot(&mut b, &mut h, &mut v, &f(t), at, 1);
            v.ack(4);
        }
        assert_eq!(v.unacknowledged(), 2 * HISTORY_TICKS as u32);
        v.restart_unacknowledged();
        assert_eq!(v.unacknowledged(), 0);
    }

    #[test]
    fn a_client_trailing_the_room_for_too_long_is_named_and_one_that_catches_up_is_not() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        let f = |t| frame(t, vec![ship(1, 100.0, 100.0)], vec![]);
        let limit = 10;
        snapshot(&mut b, &mut h, &mut v, &f(1), at, 1);
        assert_eq!(v.trailing(100, limit), None, "nothing acknowledged yet: the heartbeat's to judge");
        v.ack(1);
        assert_eq!(v.trailing(5, limit), None, "within the limit");
        // Behind since tick 20; reading (newer acknowledgements) but not catching up.
        let mut named = None;
        for now in 20..40 {
            snapshot(&mut b, &mut h, &mut v, &f(now), at, 1);
            v.ack(now - 15);
            named = named.or(v.trailing(now, limit).map(|behind| (now, behind)));
        }
        assert_eq!(named, Some((31, 15)), "named once it trailed for more than the limit again");
        assert_eq!(v.trailing(32, limit), None, "asked once, then its grace starts again");
        // A link that stalled and came back: far behind for a moment, then caught up.
        for now in 50..55 {
            snapshot(&mut b, &mut h, &mut v, &f(now), at, 1);
            v.ack(now - 20);
            assert_eq!(v.trailing(now, limit), None);
        }
        v.ack(54);
        assert_eq!(v.trailing(60, limit), None, "caught up: no longer trailing");
        v.ack(54);
        assert_eq!(v.trailing(66, limit), None, "its grace started afresh");
    }

    /// A link with a round trip of `trip` ticks that carries one snapshot every `every` ticks,
    /// queueing the rest, driven for `ticks` ticks: what it delivered, as (tick sent, tick
    /// acknowledged at), and how many the room held back.
    fn over_a_link(v: &mut ClientView, trip: u64, every: u64, ticks: u64) -> (Vec<(u64, u64)>, u32) {
        over_a_stalled_link(v, 0, trip, every, ticks)
    }

    /// [`over_a_link`] for a link that carries nothing for its first `stall` ticks.
    fn over_a_stalled_link(
        v: &mut ClientView,
        stall: u64,
        trip: u64,
        every: u64,
        ticks: u64,
    ) -> (Vec<(u64, u64)>, u32) {
        let (mut b, mut h) = (ViewBuilder::new(ARENA), History::default());
        let at = Vec2::new(100.0, 100.0);
        let (mut queue, mut delivered, mut held) = (VecDeque::new(), Vec::new(), 0);
        let mut link_free = stall;
        for now in 1..=ticks {
            // What reached the client by now is acknowledged (its input arrives the next tick).
            while let Some(&(sent, due)) = queue.front()
                && due <= now
            {
                queue.pop_front();
                v.ack(sent);
                v.heard(now);
                delivered.push((sent, now));
            }
            if v.wants_snapshot(now) {
                snapshot(&mut b, &mut h, v, &frame(now, vec![ship(1, 100.0, 100.0)], vec![]), at, 1);
                // It leaves the link once those before it have, and takes `every` ticks.
                link_free = link_free.max(now) + every;
                queue.push_back((now, link_free + trip));
            } else {
                held += 1;
            }
        }
        (delivered, held)
    }

    #[test]
    fn a_link_that_cannot_carry_every_snapshot_gets_them_a_round_trip_late_not_seconds() {
        // A good link carries each tick's snapshot: nothing is held back, each arrives a round
        // trip after its tick.
        let mut v = ClientView::default();
        let (delivered, held) = over_a_link(&mut v, 3, 1, 300);
        assert_eq!(held, 0);
        assert!(delivered.iter().all(|(sent, at)| at - sent <= 4), "{delivered:?}");
        assert_eq!(v.round_trip(), Some(4));
        // A link that carries one in five: once the room has heard of it (the first two
        // seconds), it sends about one per acknowledgement, and each is seen within the round
        // trip (one snapshot's trip: 3 + 5) and the queue's allowance.
        let mut v = ClientView::default();
        let (delivered, held) = over_a_link(&mut v, 3, 5, 300);
        assert!(held > 200, "held back {held}");
        assert_eq!(v.round_trip(), Some(8));
        let late = delivered.iter().filter(|(sent, _)| *sent >= 60).map(|(sent, at)| at - sent).max().unwrap();
        assert!(late <= 8 + QUEUE_TICKS + 5, "seen {late} ticks late: {delivered:?}");
        assert!(delivered.len() >= 300 / 5 - 10, "the link is kept busy: {}", delivered.len());
        // Without the hold, its queue grows for as long as it plays.
        let mut queue_end = 0_u64;
        let late_unheld = (1..=300_u64).map(|now| {
            queue_end = queue_end.max(now) + 5;
            queue_end + 3 - now
        });
        assert!(late_unheld.max().unwrap() > 1000);
    }

    /// From an outside test of a phone that joined during a 3 s stall of its link: its first
    /// acknowledgement came seconds late, that became its round trip, and the allowance it gave
    /// kept a queue growing for good (30 s behind). The round trip the allowance counts is
    /// capped.
    #[test]
    fn a_link_first_heard_through_a_queue_is_still_held_to_it() {
        let mut v = ClientView::default();
        let (delivered, held) = over_a_stalled_link(&mut v, 90, 3, 5, 900);
        assert!(held > 500, "held back {held}");
        let late = delivered.iter().filter(|(sent, _)| *sent >= 450).map(|(sent, at)| at - sent).max().unwrap();
        assert!(late <= ROUND_TRIP_MAX_TICKS + QUEUE_TICKS + 5 + 3, "seen {late} ticks late: {delivered:?}");
    }

    #[test]
    fn a_client_that_stops_acknowledging_is_not_held_back() {
        let mut v = ClientView::default();
        assert!(v.wants_snapshot(1), "before any acknowledgement");
        let (delivered, held) = over_a_link(&mut v, 3, 5, 100);
        assert!(held > 0 && !v.wants_snapshot(101), "a queueing link is held back");
        let last = delivered.last().expect("some delivered").1;
        assert!(v.wants_snapshot(last + ACKS_FLOWING_TICKS + 1), "acknowledgements stopped: no slow link");
    }

    #[test]
    fn the_round_trip_is_measured_anew_when_it_grows_for_good() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        for now in 1..=1200_u64 {
            snapshot(&mut b, &mut h, &mut v, &frame(now, vec![ship(1, 100.0, 100.0)], vec![]), at, 1);
            // 2 ticks for the first 300, then 9.
            let trip = if now <= 300 { 2 } else { 9 };
            if now > trip {
                v.ack(now - trip);
                v.heard(now);
            }
        }
        assert_eq!(v.round_trip(), Some(9), "two epochs after the change");
    }

    #[test]
    fn the_last_ack_received_counts_and_an_older_one_than_before_gives_a_full_snapshot() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        let f = |t| frame(t, vec![ship(1, 100.0, 100.0), ship(2, 200.0, 100.0)], vec![]);
        for t in 1..=3 {
            snapshot(&mut b, &mut h, &mut v, &f(t), at, 1);
        }
        v.ack(3);
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(4), at, 1).0.base, 3);
        // Repeating it keeps the baseline; going back to tick 2, freed by the ack of 3, cannot.
        v.ack(3);
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(5), at, 1).0.base, 3);
        v.ack(2);
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(6), at, 1).0.base, 0, "arrival order, not the highest tick");
        v.ack(5);
        assert_eq!(snapshot(&mut b, &mut h, &mut v, &f(7), at, 1).0.base, 5);
    }

    #[test]
    fn others_bullets_carry_over_and_a_switched_spectator_starts_afresh() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let at = Vec2::new(100.0, 100.0);
        let bullet = |owner| BulletEnt {
            id: owner,
            owner,
            origin: IVec2::new(800, 800),
            seq: 5,
            tick: 1,
            ..BulletEnt::default()
        };
        let f = |t| frame(t, vec![ship(1, 100.0, 100.0), ship(2, 200.0, 100.0)], vec![bullet(1), bullet(2)]);
        let (s1, _) = snapshot(&mut b, &mut h, &mut v, &f(2), at, 1);
        let mut held = Frame::default();
        delta::decode(&s1.ents, 2, &Frame::default(), &mut held).unwrap();
        assert_eq!(held.bullets.iter().map(|b| b.seq).collect::<Vec<_>>(), [5, 0], "only our own shot's seq");
        v.ack(2);
        let (s2, stats) = snapshot(&mut b, &mut h, &mut v, &f(3), at, 1);
        assert_eq!((s2.base, stats.bullets.carried), (2, 2), "both bullets carried, none 'changed'");
        let mut next = Frame::default();
        delta::decode(&s2.ents, 3, &held, &mut next).unwrap();
        assert_eq!(next.bullets, held.bullets);
        // Now the view is ship 2's (a spectator switching): a full snapshot, not a bad delta.
        v.ack(3);
        let (s3, _) = snapshot(&mut b, &mut h, &mut v, &f(4), Vec2::new(200.0, 100.0), 2);
        assert_eq!(s3.base, 0);
    }

    proptest::proptest! {
        #[test]
        fn index_order_sorts_like_a_comparison_sort(
            indices in proptest::collection::hash_set(0u32..5000, 0..200),
            again in proptest::collection::hash_set(0u32..300, 0..40),
        ) {
            let mut order = IndexOrder::default();
            order.fit(5000);
            // Twice with one `IndexOrder`: the second call must not see the first's bits.
            for set in [indices, again] {
                let mut got: Vec<u32> = set.into_iter().collect();
                let mut want = got.clone();
                want.sort_unstable();
                order.sort(&mut got);
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn a_client_that_never_acknowledges_stays_bounded() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let ships: Vec<ShipEnt> = (1..=40).map(|i| ship(i, 100.0 + i as f32 * 10.0, 100.0)).collect();
        let mut high_water = 0;
        for t in 1..=2000 {
            let bullets = vec![BulletEnt { id: t as u32, owner: 2, tick: t - 1, ..BulletEnt::default() }];
            snapshot(&mut b, &mut h, &mut v, &frame(t, ships.clone(), bullets), Vec2::new(300.0, 100.0), 1);
            if t == 200 {
                high_water = v.heap_bytes();
            }
        }
        assert!(v.sent.len() <= HISTORY_TICKS);
        assert_eq!(v.heap_bytes(), high_water, "no growth after the history filled");
    }

    /// A client that fell a whole history behind and then acknowledges again gives back the
    /// room its history took (kept, a 3 s stall of 1000 bots left the server's RSS 6 MiB up a
    /// minute later: `scripts/stall.sh`).
    #[test]
    fn a_client_that_catches_up_gives_back_its_history_room() {
        let (mut b, mut h, mut v) = (ViewBuilder::new(ARENA), History::default(), ClientView::default());
        let ships: Vec<ShipEnt> = (1..=40).map(|i| ship(i, 100.0 + i as f32 * 10.0, 100.0)).collect();
        let centre = Vec2::new(300.0, 100.0);
        for t in 1..=3 {
            snapshot(&mut b, &mut h, &mut v, &frame(t, ships.clone(), vec![]), centre, 1);
            v.ack(t);
        }
        let steady = v.heap_bytes();
        for t in 4..=60 {
            snapshot(&mut b, &mut h, &mut v, &frame(t, ships.clone(), vec![]), centre, 1);
        }
        let behind = v.heap_bytes();
        assert!(behind > 4 * steady, "a history's room: {behind} B against {steady} B");
        for t in 61..=64 {
            v.ack(t - 1);
            snapshot(&mut b, &mut h, &mut v, &frame(t, ships.clone(), vec![]), centre, 1);
        }
        assert!(v.sent.len() <= 2);
        assert!(v.heap_bytes() <= 2 * steady.max(64 * 4), "kept {} B, steady {steady} B", v.heap_bytes());
    }

    #[test]
    fn the_borrowed_snapshot_and_batch_encode_like_the_shared_types() {
        let mut b = ViewBuilder::new(ARENA);
        let (mut h, mut v) = (History::default(), ClientView::default());
        let f = frame(3, vec![ship(2, 10.0, 10.0)], vec![]);
        *h.slot(3) = f.clone();
        b.index(&f, ARENA, 1024);
        let own = me(1, 12.0, 10.0);
        let (bytes, _, _) = b.build(&f, &h, &mut v, Vec2::new(12.0, 10.0), Some(own), HEAD);
        let ServerMsg::Snapshot(s) = decode_server(&bytes).unwrap() else { panic!() };
        let expected =
            Snapshot { tick: 3, base: 0, phase: Phase::Playing, time_left_ms: 0, me: Some(own), ents: s.ents.clone() };
        assert_eq!(&bytes[..], &encode_server(&ServerMsg::Snapshot(expected))[..]);

        let msgs = [ServerMsg::Left(skirmish_shared::Left { id: 4 }), ServerMsg::Pong(skirmish_shared::Ping { id: 9 })];
        let encoded: Vec<Bytes> = msgs.iter().map(|m| Bytes::from(encode_server(m))).collect();
        let batch = b.batch(encoded.iter()).unwrap();
        assert_eq!(&batch[..], &encode_server(&ServerMsg::Batch(msgs.to_vec()))[..]);
        assert_eq!(b.batch(encoded[..1].iter()).unwrap(), encoded[0], "one message goes alone");
        assert!(b.batch([].iter()).is_none());

        // A batch in parts (a member's own start, the shared middle, its own end) is, put
        // together, the batch of all its messages.
        let msgs: Vec<ServerMsg> = (0..5).map(|id| ServerMsg::Left(skirmish_shared::Left { id })).collect();
        let encoded: Vec<Bytes> = msgs.iter().map(|m| Bytes::from(encode_server(m))).collect();
        let middle = b.concat(encoded[1..3].iter()).unwrap();
        let head = b.batch_head(5, encoded[..1].iter());
        let tail = b.concat(encoded[3..].iter()).unwrap();
        assert_eq!([head, middle, tail].concat(), &encode_server(&ServerMsg::Batch(msgs))[..]);
        assert!(b.concat([].iter()).is_none());
        // One message is not copied: every member's frame shares its bytes.
        let one = b.concat(encoded[..1].iter()).unwrap();
        assert_eq!((one.as_ptr(), one.len()), (encoded[0].as_ptr(), encoded[0].len()));
        let alone = b.batch(encoded[..1].iter()).unwrap();
        assert_eq!(alone.as_ptr(), encoded[0].as_ptr());
    }
}
