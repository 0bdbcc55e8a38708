//! One connection's incoming controls: the newest input and the newest acknowledged snapshot
//! tick, left by the session for the room to take at its next tick.
//!
//! Why not an actor message per input: at 30 inputs a second per player, every message would
//! wake the room's thread between ticks (about 30 000 wake-ups and context switches a second
//! at 1000 players, the largest cost the profiler found); the room only needs what is newest
//! when it steps, so the session writes it here under a short lock and nobody is woken.

use std::sync::Mutex;

use skirmish_shared::Input;

/// What the room takes from an [`Inbox`] at a tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Taken {
    /// The newest input since the last tick, if one came. Inputs that arrived between two
    /// ticks merge into the newest: its `seq` acknowledges the older ones too.
    pub input: Option<Input>,
    /// The newest snapshot tick the client acknowledged since the last tick, if it sent one.
    pub ack: Option<u64>,
}

#[derive(Debug, Default)]
struct State {
    taken: Taken,
    /// Highest `seq` accepted, so the acknowledgement never moves backwards.
    last_seq: u32,
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
    /// than one already accepted: one TCP stream keeps inputs in order, so an older one can
    /// only come from a confused or hostile client, and it must not move the acknowledgement
    /// of inputs backwards. Its snapshot acknowledgement counts either way.
    pub fn input(&self, input: Input) -> bool {
        let mut state = self.lock();
        state.taken.ack = Some(input.ack);
        if input.seq <= state.last_seq {
            return false;
        }
        state.last_seq = input.seq;
        state.taken.input = Some(input);
        true
    }

    /// A snapshot acknowledgement alone (spectators, or a player's `Ack`).
    pub fn ack(&self, tick: u64) {
        self.lock().taken.ack = Some(tick);
    }

    /// What came since the last take.
    pub fn take(&self) -> Taken {
        std::mem::take(&mut self.lock().taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(seq: u32, ack: u64) -> Input {
        Input { seq, ack, ..Input::default() }
    }

    #[test]
    fn the_newest_input_and_ack_win_and_are_taken_once() {
        let inbox = Inbox::new();
        assert_eq!(inbox.take(), Taken::default());
        assert!(inbox.input(input(1, 10)));
        assert!(inbox.input(input(2, 11)));
        assert_eq!(inbox.take(), Taken { input: Some(input(2, 11)), ack: Some(11) });
        assert_eq!(inbox.take(), Taken::default(), "taken once");
        inbox.ack(12);
        assert_eq!(inbox.take(), Taken { input: None, ack: Some(12) });
    }

    #[test]
    fn an_older_seq_is_refused_but_its_ack_counts() {
        let inbox = Inbox::new();
        assert!(inbox.input(input(5, 1)));
        inbox.take();
        assert!(!inbox.input(input(5, 2)), "repeated seq");
        assert!(!inbox.input(input(3, 3)), "older seq");
        assert_eq!(inbox.take(), Taken { input: None, ack: Some(3) });
    }
}
