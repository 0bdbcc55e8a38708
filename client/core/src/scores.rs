//! The room's score table, and which lines changed since the last view was built.
//!
//! Each view copies kills and deaths onto its ships. Looking every ship up in the table (a
//! `BTreeMap` the size of the room, cold in the cache of a bot that wakes once a tick) was most of
//! the cost of building a view; knowing what changed lets a view copy the previous view's numbers
//! for everyone else.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use skirmish_shared::{PlayerId, ScoreLine};

/// The score table's map. std's default hasher, SipHash, is made for keys an attacker chooses;
/// these ids come from the server the player chose to join (one that picked colliding ids could
/// only slow its own players' pages, which it can do anyway). Before big rooms kept only the top
/// current, a bot applied about ten lines a tick in a 1000-player fight: with this hasher
/// `ScoreTable::apply` went from 6.2 % to 4.7 % of the bots' CPU (perf, 2026-12-03).
pub type IdMap<V> = HashMap<PlayerId, V, BuildHasherDefault<IdHasher>>;

/// Hashes a player id with one multiplication (Fibonacci hashing): ids are consecutive, and the
/// product spreads them over the high bits, which the map's control bytes use.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `PlayerId` (a `u32`) is hashed with this; any other key still hashes whole.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Changed lines remembered one by one; beyond this, every line counts as changed.
const MAX_CHANGED: usize = 64;

/// Kills and deaths by player.
///
/// A hash map, not an ordered map: a client applies every line of every `Scores` message, and a
/// line's insert into a `BTreeMap` the size of the room walked three cold nodes, 13 % of a bot's
/// CPU when every change reached everyone; a hash map touches two cache lines. Nothing needs the
/// lines in id order (the scoreboard ranks by kills). In a room of more than
/// `SCORES_ALL_MAX_PLAYERS` only the top of the table and our own line are sure to be current
/// (`PROTOCOL.md`, Scores).
#[derive(Debug, Default)]
pub struct ScoreTable {
    lines: IdMap<ScoreLine>,
    /// Players whose line changed since the last [`ScoreTable::settle`].
    changed: Vec<PlayerId>,
    /// Too many changed to list (or all were reset): treat every line as changed.
    all_changed: bool,
}

impl ScoreTable {
    /// The table.
    pub fn lines(&self) -> &IdMap<ScoreLine> {
        &self.lines
    }

    /// Applies lines from a `Scores` message.
    pub fn apply(&mut self, lines: &[ScoreLine]) {
        for line in lines {
            self.lines.insert(line.id, *line);
            self.mark(line.id);
        }
    }

    /// A player left the room.
    pub fn remove(&mut self, id: PlayerId) {
        self.lines.remove(&id);
        self.mark(id);
    }

    /// A new match: everyone back to zero.
    pub fn zero(&mut self) {
        for line in self.lines.values_mut() {
            (line.kills, line.deaths) = (0, 0);
        }
        self.all_changed = true;
    }

    fn mark(&mut self, id: PlayerId) {
        // A `Scores` message of a busy room has a hundred lines: once they overflow the list,
        // the rest of the tick's lines cost no search.
        if self.all_changed || self.changed.contains(&id) {
            return;
        }
        if self.changed.len() == MAX_CHANGED {
            self.all_changed = true;
            self.changed.clear();
        } else {
            self.changed.push(id);
        }
    }

    /// True if `id`'s line may differ from what the last view built showed.
    pub fn changed(&self, id: PlayerId) -> bool {
        self.all_changed || self.changed.contains(&id)
    }

    /// Kills and deaths of `id` (none for a player with no line).
    pub fn get(&self, id: PlayerId) -> (u16, u16) {
        self.lines.get(&id).map_or((0, 0), |l| (l.kills, l.deaths))
    }

    /// A view was built from the table as it is: nothing has changed since.
    pub fn settle(&mut self) {
        self.changed.clear();
        self.all_changed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_tracked_until_settled() {
        let mut t = ScoreTable::default();
        t.apply(&[ScoreLine { id: 1, kills: 2, deaths: 0 }]);
        assert!(t.changed(1) && !t.changed(2));
        assert_eq!((t.get(1), t.get(2)), ((2, 0), (0, 0)));
        t.settle();
        assert!(!t.changed(1));
        t.remove(1);
        assert!(t.changed(1) && t.lines().is_empty());
        t.settle();
        let many: Vec<ScoreLine> = (0..=MAX_CHANGED as u32).map(|id| ScoreLine { id, kills: 1, deaths: 1 }).collect();
        t.apply(&many);
        assert!(t.changed(12_345), "too many to list: all count as changed");
        t.settle();
        t.zero();
        assert!(t.changed(3) && t.get(3) == (0, 0));
    }

    #[test]
    fn consecutive_ids_spread_over_the_high_bits() {
        use std::hash::BuildHasher as _;
        // The map's control bytes are the hash's top 7 bits: consecutive ids must not share them.
        let build = BuildHasherDefault::<IdHasher>::default();
        let tops: std::collections::HashSet<u64> = (1..=128u32).map(|id| build.hash_one(id) >> 57).collect();
        assert!(tops.len() > 64, "only {} of 128 distinct", tops.len());
    }
}
