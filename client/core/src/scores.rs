//! The room's score table, and which lines changed since the last view was built.
//!
//! Each view copies kills and deaths onto its ships. Looking every ship up in the table (a
//! `BTreeMap` the size of the room, cold in the cache of a bot that wakes once a tick) was most of
//! the cost of building a view; knowing what changed lets a view copy the previous view's numbers
//! for everyone else.

use std::collections::HashMap;

use skirmish_shared::{PlayerId, ScoreLine};

/// Changed lines remembered one by one; beyond this, every line counts as changed.
const MAX_CHANGED: usize = 64;

/// Kills and deaths by player.
///
/// A hash map, not an ordered map: a bot applies every line of every `Scores` message (about ten
/// a tick in a 1000-player fight), and a line's insert into a `BTreeMap` the size of the room
/// walked three cold nodes, 13 % of a bot's CPU; a hash map touches two cache lines. Nothing
/// needs the lines in id order (the scoreboard ranks by kills).
#[derive(Debug, Default)]
pub struct ScoreTable {
    lines: HashMap<PlayerId, ScoreLine>,
    /// Players whose line changed since the last [`ScoreTable::settle`].
    changed: Vec<PlayerId>,
    /// Too many changed to list (or all were reset): treat every line as changed.
    all_changed: bool,
}

impl ScoreTable {
    /// The table.
    pub fn lines(&self) -> &HashMap<PlayerId, ScoreLine> {
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
}
