//! One connection's incoming controls: a small buffer of inputs, consumed one per tick in
//! sequence order, and the newest acknowledged snapshot tick, left by the session for the room
//! to take at its next tick.
//!
//! Why not an actor message per input: at 30 inputs a second per player, every message would
//! wake the room's thread between ticks (about 30 000 wake-ups and context switches a second
//! at 1000 players, the largest cost the profiler found); the session writes here under a
//! short lock and nobody is woken.
//!
//! Why one input per tick, buffered: a predicting client replays every input it sent, so each
//! one must be simulated exactly once, for exactly one tick. The client sends one per server
//! tick, paced by the server's tick clock as its snapshots show it (see the client core), so on
//! a clean link the buffer holds one input at each tick and an input waits at most one tick.
//! Jitter is absorbed by [`INPUT_BUFFER_INPUTS`]; beyond that the oldest input goes (latency
//! must not build up), and a tick with nothing new repeats the input in force. A backlog that
//! stands (once two inputs land in one tick, after an input that missed its tick, say, one
//! input per tick in and out keeps an extra tick of delay forever) is the client's to drain:
//! the player's own state says an input waits ([`Taken::waiting`], sent as
//! `PlayerState::INPUT_WAITING`), and a pacing client leaves a slot out, so the waiting input
//! fills that tick and none is lost. For a client that does not, the buffer drains like a jitter
//! buffer's: after [`STANDING_BACKLOG_TICKS`] ticks in a row that left an input waiting, the
//! oldest waiting one goes, so the buffer runs empty on a clean link again.
//!
//! Why a stall lets go of the controls: repeating the input in force covers a late input or
//! two, but through a stall of the link (a phone in a tunnel) the ship went on thrusting and
//! firing for as long as it lasted, steered by nobody (from an outside test on a bad link).
//! After [`RELEASE_AFTER_TICKS`] ticks with nothing new the ship lets go of its thrust and its
//! trigger, keeping its aim, and drifts to rest; the next input takes over as usual.

use std::collections::VecDeque;
use std::sync::Mutex;

use glam::Vec2;
use skirmish_shared::Input;

/// Inputs a player may have waiting for their tick. Three ticks (100 ms) of jitter is absorbed
/// without losing an input; more than that would only add latency that a player feels.
pub const INPUT_BUFFER_INPUTS: usize = 3;
/// Ticks in a row that leave an input waiting before one is dropped to drain the backlog: a
/// second. Jitter empties the buffer now and then; only a standing backlog lasts this long.
pub const STANDING_BACKLOG_TICKS: u32 = 30;
/// Ticks in a row with no new input after which a ship lets go of its thrust and its trigger:
/// half a second, well past the input buffer and any jitter it absorbs, shorter than a stall.
pub const RELEASE_AFTER_TICKS: u32 = 15;

/// What the room takes from an [`Inbox`] at a tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Taken {
    /// The oldest buffered input, the one this tick applies (its `seq` is what the snapshot
    /// acknowledges). `None` when the buffer is empty: the input in force stays, except at the
    /// [`RELEASE_AFTER_TICKS`]th such tick in a row, which gives the input in force with no
    /// thrust and no buttons (its `seq` and aim unchanged).
    pub input: Option<Input>,
    /// True when the buffer was empty although inputs have come before: the tick repeats the
    /// last input (counted in `/metrics`).
    pub repeated: bool,
    /// Inputs pushed out of the full buffer, or dropped to drain a standing backlog, since the
    /// last take (counted in `/metrics`).
    pub overflowed: u32,
    /// True when an input is still waiting after this take: it will be applied a tick or more
    /// after the one it came for (counted in `/metrics`: how much of the input latency is the
    /// buffer's).
    pub waiting: bool,
    /// The newest snapshot tick the client acknowledged since the last tick, if it sent one.
    /// Taken from the newest message received, never delayed by the input buffer: it is the
    /// delta baseline, and an older one would only make snapshots bigger.
    pub ack: Option<u64>,
    /// When the client was heard from again after a silence since the last take, that
    /// silence in ticks (else 0): the acknowledgements it sent meanwhile could not move
    /// (nothing reached it either, as in a stall of the link both ways), so the snapshots of
    /// the silence do not count as unacknowledged.
    pub silent_ticks: u32,
}

#[derive(Debug, Default)]
struct State {
    /// Inputs waiting for their tick, oldest first, at most `INPUT_BUFFER_INPUTS`.
    queue: VecDeque<Input>,
    overflowed: u32,
    /// Takes in a row that left an input waiting.
    backlogged: u32,
    ack: Option<u64>,
    silent_ticks: u32,
    /// Highest `seq` accepted, so inputs are queued in order and each at most once (0: none
    /// accepted yet, as `seq` 0 is never sent).
    last_seq: u32,
    /// The input the last take applied, and the takes since with nothing new.
    in_force: Option<Input>,
    repeats: u32,
}

/// See the module docs. Shared (`Arc`) by a session and its room.
#[derive(Debug, Default)]
pub struct Inbox {
    state: Mutex<State>,
}

impl Inbox {
    /// An empty inbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain data: a panic elsewhere while holding the lock leaves it valid.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A player's input (which also acknowledges a snapshot). False if its `seq` is not newer
    /// than one already accepted: one TCP stream keeps inputs in order, so an older or repeated
    /// one can only come from a confused or hostile client, and applying it would move the
    /// acknowledgement of inputs backwards. Its snapshot acknowledgement counts either way.
    pub fn input(&self, input: Input) -> bool {
        let mut state = self.lock();
        state.ack = Some(input.ack);
        if input.seq <= state.last_seq {
            return false;
        }
        state.last_seq = input.seq;
        if state.queue.len() == INPUT_BUFFER_INPUTS {
            state.queue.pop_front();
            state.overflowed += 1;
        }
        state.queue.push_back(input);
        true
    }

    /// The client was heard from again after `ticks` of silence (see [`Taken::silent_ticks`]).
    pub fn back_from_silence(&self, ticks: u32) {
        let mut state = self.lock();
        state.silent_ticks = state.silent_ticks.max(ticks);
    }

    /// A snapshot acknowledgement alone (spectators, or a player's `Ack`).
    pub fn ack(&self, tick: u64) {
        self.lock().ack = Some(tick);
    }

    /// What one tick consumes: the oldest buffered input and what came since the last take.
    pub fn take(&self) -> Taken {
        let mut state = self.lock();
        let input = state.queue.pop_front();
        let mut released = None;
        match input {
            Some(input) => (state.in_force, state.repeats) = (Some(input), 0),
            None => {
                state.repeats = state.repeats.saturating_add(1);
                if state.repeats == RELEASE_AFTER_TICKS {
                    released = state.in_force.map(|held| Input { mv: Vec2::ZERO, buttons: 0, ..held });
                }
            }
        }
        state.backlogged = if state.queue.is_empty() { 0 } else { state.backlogged + 1 };
        if state.backlogged >= STANDING_BACKLOG_TICKS {
            state.queue.pop_front();
            state.overflowed += 1;
            state.backlogged = 0;
        }
        Taken {
            input: input.or(released),
            repeated: input.is_none() && state.last_seq != 0,
            overflowed: std::mem::take(&mut state.overflowed),
            waiting: !state.queue.is_empty(),
            ack: state.ack.take(),
            silent_ticks: std::mem::take(&mut state.silent_ticks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u32, ack: u64) -> Input {
        Input { seq, ack, ..Input::default() }
    }

    #[test]
    fn a_standing_backlog_is_drained() {
        // Two inputs landed in one tick; then one a tick: one always waits.
        let inbox = Inbox::new();
        inbox.input(input(1, 0));
        let mut seq = 1;
        let mut overflowed = 0;
        for tick in 0..(STANDING_BACKLOG_TICKS + 5) {
            seq += 1;
            inbox.input(input(seq, 0));
            let taken = inbox.take();
            overflowed += taken.overflowed;
            if tick + 1 == STANDING_BACKLOG_TICKS {
                assert_eq!(taken.overflowed, 1, "dropped at tick {tick}");
                assert!(!taken.waiting, "the drop empties the buffer");
            } else if tick + 1 < STANDING_BACKLOG_TICKS {
                assert!(taken.waiting, "one input waits at tick {tick}");
            }
        }
        assert_eq!(overflowed, 1);
        // Now each input is applied in the tick it arrives: nothing waits.
        inbox.input(input(seq + 1, 0));
        let taken = inbox.take();
        assert_eq!(taken.input.map(|i| i.seq), Some(seq + 1));
        assert!(!taken.waiting);
        // Jitter that empties the buffer now and then never drops anything.
        let inbox = Inbox::new();
        let mut seq = 0;
        for tick in 0..300 {
            let arriving = if tick % 10 == 0 {
                0
            } else if tick % 10 == 1 {
                2
            } else {
                1
            };
            for _ in 0..arriving {
                seq += 1;
                inbox.input(input(seq, 0));
            }
            assert_eq!(inbox.take().overflowed, 0);
        }
    }

    /// The seq each of `ticks` takes applies (0 for a repeat).
    fn applied(inbox: &Inbox, ticks: usize) -> Vec<u32> {
        (0..ticks).map(|_| inbox.take().input.map_or(0, |i| i.seq)).collect()
    }

    #[test]
    fn one_input_per_tick_in_sequence_order() {
        let inbox = Inbox::new();
        assert_eq!(inbox.take(), Taken::default(), "nothing came: nothing to repeat yet");
        assert!(inbox.input(input(1, 10)));
        assert!(inbox.input(input(2, 11)));
        let first = inbox.take();
        assert_eq!(first.input, Some(input(1, 10)), "the oldest first");
        assert_eq!(first.ack, Some(11), "the newest acknowledgement at once, not the buffered one's");
        assert!(!first.repeated);
        let second = inbox.take();
        assert_eq!((second.input, second.ack), (Some(input(2, 11)), None), "the next tick, the next input");
    }

    #[test]
    fn an_empty_buffer_repeats_the_input_in_force() {
        let inbox = Inbox::new();
        assert!(inbox.input(input(1, 1)));
        assert!(!inbox.take().repeated);
        let empty = inbox.take();
        assert_eq!((empty.input, empty.repeated), (None, true));
        assert!(inbox.input(input(2, 2)));
        assert_eq!(inbox.take().input.map(|i| i.seq), Some(2), "a fresh input ends the repeats");
    }

    #[test]
    fn a_stall_lets_go_of_thrust_and_trigger_once() {
        let inbox = Inbox::new();
        let held = Input { seq: 4, mv: Vec2::new(1.0, 0.0), aim: 0.5, buttons: Input::FIRE, ack: 3, view_tick: 2 };
        assert!(inbox.input(held));
        assert_eq!(inbox.take().input, Some(held));
        for tick in 1..RELEASE_AFTER_TICKS {
            let taken = inbox.take();
            assert_eq!((taken.input, taken.repeated), (None, true), "tick {tick} of the stall repeats");
        }
        let release = inbox.take();
        assert!(release.repeated);
        assert_eq!(release.input, Some(Input { mv: Vec2::ZERO, buttons: 0, ..held }), "same seq and aim, let go");
        assert_eq!(inbox.take().input, None, "then the released input stays in force");
        let next = Input { seq: 5, ..held };
        assert!(inbox.input(next));
        assert_eq!(inbox.take().input, Some(next), "a fresh input takes over");
        for _ in 1..RELEASE_AFTER_TICKS {
            assert_eq!(inbox.take().input, None);
        }
        assert_eq!(inbox.take().input.map(|i| i.buttons), Some(0), "the next stall lets go again");
    }

    #[test]
    fn a_full_buffer_drops_the_oldest() {
        let inbox = Inbox::new();
        for seq in 1..=5 {
            assert!(inbox.input(input(seq, 0)));
        }
        let first = inbox.take();
        assert_eq!((first.input.map(|i| i.seq), first.overflowed), (Some(3), 2), "1 and 2 made way");
        assert_eq!(applied(&inbox, 3), [4, 5, 0]);
        assert_eq!(inbox.take().overflowed, 0, "counted once");
    }

    #[test]
    fn out_of_order_and_repeated_inputs_are_discarded_but_their_ack_counts() {
        let inbox = Inbox::new();
        assert!(inbox.input(input(5, 1)));
        assert!(!inbox.input(input(5, 2)), "repeated seq");
        assert!(!inbox.input(input(3, 3)), "older seq");
        assert!(inbox.input(input(6, 4)));
        let taken = inbox.take();
        assert_eq!((taken.input.map(|i| i.seq), taken.ack), (Some(5), Some(4)));
        assert_eq!(applied(&inbox, 2), [6, 0], "only 5 and 6 were queued");
        inbox.ack(12);
        assert_eq!(inbox.take().ack, Some(12));
    }
}
