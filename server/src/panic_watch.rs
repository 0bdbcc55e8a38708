//! Tells an actor that a panic (a bug) unwound out of its own code. The runtime catches such a
//! panic and drops the actor, and actix runs its `stopped` on the way, as it does when the
//! server shuts down: so the actor holds a [`PanicWatch`] while it runs its code (a message, a
//! timer), and `stopped` asks its [`PanicFlag`] which way it is going. A room that failed is
//! closed and opened afresh (`room.rs`); a lobby that failed shuts the server down (`lobby.rs`).
//! Before, either was left dead while its connections, routes and health checks went on as if
//! it were there.

use std::cell::Cell;
use std::rc::Rc;

/// Raised when a panic unwinds through one of its watches.
#[derive(Debug, Default)]
pub struct PanicFlag(Rc<Cell<bool>>);

impl PanicFlag {
    /// Raises the flag if a panic unwinds while the watch is held (hold it as `let _watch`).
    pub fn watch(&self) -> PanicWatch {
        PanicWatch(self.0.clone())
    }

    /// True once a panic unwound through a watch.
    pub fn raised(&self) -> bool {
        self.0.get()
    }
}

/// Held while an actor runs its own code; see [`PanicFlag::watch`].
#[derive(Debug)]
pub struct PanicWatch(Rc<Cell<bool>>);

impl Drop for PanicWatch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.set(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_panic_through_a_watch_raises_the_flag() {
        let flag = PanicFlag::default();
        drop(flag.watch());
        assert!(!flag.raised(), "a watch dropped in the normal way");
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _watch = flag.watch();
            panic!("a bug");
        }));
        assert!(unwound.is_err() && flag.raised());
    }
}
