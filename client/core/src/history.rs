//! The decoded entity frames a client keeps as delta baselines, and the acknowledgement they
//! give.
//!
//! The server encodes each snapshot against a tick the client acknowledged and never goes back to
//! an older baseline than one it has used, nor further back than `HISTORY_TICKS`. So the client
//! keeps every frame from the newest baseline seen on, at most about a second of them, and
//! recycles their buffers: in steady state decoding a snapshot allocates nothing.

use std::collections::VecDeque;

use skirmish_shared::consts::HISTORY_TICKS;
use skirmish_shared::delta::{self, Frame};

/// Ticks kept beyond the server's history, so an off-by-one in either side's window never
/// costs a full snapshot.
const SLACK_TICKS: u64 = 2;
/// Most frames ever held: the server's history plus the slack and the newest frame.
const MAX_FRAMES: usize = HISTORY_TICKS + SLACK_TICKS as usize + 1;
/// Spare frame buffers kept for reuse; more are freed (after a lag spike held many frames).
const MAX_SPARE: usize = 4;

/// Why a snapshot's records were not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its baseline is not held (or it is no newer than the newest frame).
    UnknownBase,
    /// Its tick is not after the newest frame's (or is 0, which means none).
    NotNewer,
    /// The records did not decode against the baseline.
    Malformed(&'static str),
}

/// Frames held as baselines, oldest first, ticks ascending.
#[derive(Debug, Default)]
pub struct History {
    /// Every frame from [`History::newest_base`] on, within `MAX_FRAMES`.
    frames: VecDeque<Frame>,
    /// Buffers of dropped frames, for the next snapshots to decode into.
    spare: Vec<Frame>,
    /// The baseline of full snapshots.
    empty: Frame,
    /// The newest nonzero baseline a snapshot used: older frames will not be needed again.
    newest_base: u64,
    /// A snapshot failed: acknowledge 0 until a full snapshot arrives, so the server resends
    /// everything instead of deltas against a state this client may not share.
    need_full: bool,
}

impl History {
    /// The tick to acknowledge: the newest frame's, or 0 (nothing yet, or a full snapshot is
    /// needed).
    pub fn ack(&self) -> u64 {
        if self.need_full { 0 } else { self.frames.back().map_or(0, |f| f.tick) }
    }

    /// True after a failed snapshot, until a full one arrives.
    pub fn needs_full(&self) -> bool {
        self.need_full
    }

    /// The newest frame.
    pub fn newest(&self) -> Option<&Frame> {
        self.frames.back()
    }

    /// The frame before the newest, if held: the snapshot received before it. Always held in
    /// steady state, since a delta's baseline is at most that old and frames from the newest
    /// baseline on are kept.
    pub fn previous(&self) -> Option<&Frame> {
        self.frames.len().checked_sub(2).and_then(|i| self.frames.get(i))
    }

    /// Frames held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Decodes the records `ents` of the snapshot at `tick` against its baseline `base` (0: a
    /// full snapshot) and keeps the result, which it returns. On failure nothing is kept and the
    /// next acknowledgements are 0 until a full snapshot arrives (except for a snapshot that is
    /// merely not newer, which changes nothing).
    pub fn apply(&mut self, tick: u64, base: u64, ents: &[u8]) -> Result<&Frame, Refused> {
        if tick == 0 || self.frames.back().is_some_and(|f| f.tick >= tick) {
            return Err(Refused::NotNewer);
        }
        let base_frame = if base == 0 {
            &self.empty
        } else {
            match self.frames.iter().rev().find(|f| f.tick == base) {
                Some(frame) => frame,
                None => {
                    self.need_full = true;
                    return Err(Refused::UnknownBase);
                }
            }
        };
        let mut out = self.spare.pop().unwrap_or_default();
        if let Err(why) = delta::decode(ents, tick, base_frame, &mut out) {
            self.spare.push(out);
            self.need_full = true;
            return Err(Refused::Malformed(why));
        }
        if base == 0 {
            self.need_full = false;
        } else {
            self.newest_base = self.newest_base.max(base);
        }
        self.frames.push_back(out);
        let keep_from = self.newest_base.max(tick.saturating_sub(HISTORY_TICKS as u64 + SLACK_TICKS));
        while self.frames.len() > MAX_FRAMES || self.frames.front().is_some_and(|f| f.tick < keep_from) {
            // The loop only runs while there is a front frame.
            let old = self.frames.pop_front().expect("a frame to drop");
            if self.spare.len() < MAX_SPARE {
                self.spare.push(old);
            }
        }
        // Just pushed, and never dropped: its tick is the newest, at or after `keep_from`.
        Ok(self.frames.back().expect("the frame just kept"))
    }
}

#[cfg(test)]
mod tests {
    use glam::IVec2;
    use skirmish_shared::bits::BitWriter;
    use skirmish_shared::delta::ShipEnt;

    use super::*;

    fn frame(tick: u64, x: i32) -> Frame {
        Frame {
            tick,
            ships: vec![ShipEnt { id: 1, pos: IVec2::new(x, 0), aim: 0, health: 100, flags: 1 }],
            ..Frame::default()
        }
    }

    fn records(base: &Frame, cur: &Frame) -> Vec<u8> {
        let mut w = BitWriter::new();
        delta::encode(&mut w, cur.tick, base.lists(), cur.lists());
        w.as_bytes().to_vec()
    }

    #[test]
    fn frames_older_than_the_newest_base_are_dropped() {
        let mut h = History::default();
        let empty = Frame::default();
        assert_eq!(h.apply(1, 0, &records(&empty, &frame(1, 0))).map(|f| f.tick), Ok(1));
        for tick in 2..=10 {
            // Against tick 1 while the server has not seen an ack: every frame is kept.
            assert!(h.apply(tick, 1, &records(&frame(1, 0), &frame(tick, tick as i32))).is_ok());
        }
        assert_eq!((h.len(), h.ack()), (10, 10));
        assert!(h.apply(11, 8, &records(&frame(8, 8), &frame(11, 11))).is_ok());
        assert_eq!(h.len(), 4, "ticks 8 to 11");
        assert_eq!(h.apply(12, 7, &records(&frame(7, 7), &frame(12, 12))), Err(Refused::UnknownBase));
        assert_eq!(h.ack(), 0, "asks for a full snapshot");
        assert!(h.apply(12, 11, &records(&frame(11, 11), &frame(12, 12))).is_ok(), "a held base still decodes");
        assert!(h.needs_full(), "but only a full snapshot clears the request");
        assert!(h.apply(13, 0, &records(&empty, &frame(13, 13))).is_ok());
        assert_eq!((h.ack(), h.needs_full()), (13, false));
    }

    #[test]
    fn at_most_the_servers_history_is_kept() {
        let mut h = History::default();
        let empty = Frame::default();
        h.apply(1, 0, &records(&empty, &frame(1, 0))).unwrap();
        for tick in 2..200 {
            h.apply(tick, 1, &records(&frame(1, 0), &frame(tick, 5))).ok();
        }
        assert!(h.len() <= MAX_FRAMES, "{}", h.len());
        // Tick 1 fell out of the window long ago: deltas against it are refused.
        assert_eq!(h.apply(200, 1, &records(&frame(1, 0), &frame(200, 5))), Err(Refused::UnknownBase));
        assert!(h.spare.len() <= MAX_SPARE);
    }

    #[test]
    fn bad_records_and_old_ticks_are_refused() {
        let mut h = History::default();
        let empty = Frame::default();
        assert_eq!(h.apply(0, 0, &records(&empty, &frame(0, 0))), Err(Refused::NotNewer));
        h.apply(5, 0, &records(&empty, &frame(5, 0))).unwrap();
        assert_eq!(h.apply(5, 0, &records(&empty, &frame(5, 0))), Err(Refused::NotNewer));
        assert_eq!(h.ack(), 5, "a repeated tick changes nothing");
        assert!(matches!(h.apply(6, 5, &[0xff, 0xff]), Err(Refused::Malformed(_))));
        assert_eq!(h.ack(), 0);
        assert_eq!(h.newest().map(|f| f.tick), Some(5), "nothing kept from the bad snapshot");
    }
}
