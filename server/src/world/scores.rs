//! Which score lines go out each tick, and to whom.
//!
//! Every member of a room holds the same table of other players' lines: the lines published to
//! the whole room (`Ship::shown`), which newcomers receive too. In a room of at most
//! `SCORES_ALL_MAX_PLAYERS` ships every change is published, as it happens. Above that, a kill's
//! two changed lines would reach every player, so the score traffic to each player grew with the
//! room; there only what the board shows is kept current for everyone:
//!
//! - the best `SCOREBOARD_TOP` lines by `ScoreLine::rank_key` are published when they change or
//!   enter the top;
//! - a published line that no longer tells the truth and would rank into the top as it stands
//!   (a player who fell out of it by dying more than those below) is published again, now
//!   ranking below the top;
//! - every other change goes to its owner alone (and, from the room, to the spectators watching
//!   that owner: `room::subject_scores`).
//!
//! So the top of every member's table is the true top, line for line, and its own line is true;
//! the rest may be out of date and always ranks below the top. The property test in
//! `world/tests.rs` checks exactly that over random histories.

use skirmish_shared::consts::{SCOREBOARD_TOP, SCORES_ALL_MAX_PLAYERS};
use skirmish_shared::{PlayerId, ScoreLine};

use super::{Ship, World};

impl Ship {
    /// The line as it stands.
    fn score_line(&self) -> ScoreLine {
        ScoreLine { id: self.id, kills: self.kills, deaths: self.deaths }
    }

    /// The line every member holds: the last one published, or none, which a client reads as
    /// no kills and no deaths.
    fn shown_line(&self) -> ScoreLine {
        let (kills, deaths) = self.shown.unwrap_or((0, 0));
        ScoreLine { id: self.id, kills, deaths }
    }

    /// True if the room holds this line as it stands (a line never published counts as
    /// different, so a small room lists every player).
    fn shown_current(&self) -> bool {
        self.shown == Some((self.kills, self.deaths))
    }

    fn publish(&mut self, out: &mut Vec<ScoreLine>) {
        self.shown = Some((self.kills, self.deaths));
        out.push(self.score_line());
    }
}

impl World {
    /// The tick's score lines: `shared` (appended) goes to every member of the room, at most
    /// `max` lines, the top first; `own` (appended) holds the lines changed since the last call
    /// that the room was not told of, each for its owner alone. Lines left out by `max` go out
    /// on a later call.
    pub fn publish_scores(&mut self, max: usize, shared: &mut Vec<ScoreLine>, own: &mut Vec<ScoreLine>) {
        let start = shared.len();
        let cut = self.scoreboard_cut();
        // The top first: it is what every board shows.
        for ship in self.ships.iter_mut().filter(|s| s.score_line().rank_key() <= cut) {
            if shared.len() - start == max {
                break;
            }
            if !ship.shown_current() {
                ship.publish(shared);
            }
        }
        // Then lines that would rank into the top as members hold them, though they are not in it.
        for ship in self.ships.iter_mut().filter(|s| s.score_line().rank_key() > cut) {
            if shared.len() - start == max {
                break;
            }
            let shown = ship.shown_line();
            if shown != ship.score_line() && shown.rank_key() < cut {
                ship.publish(shared);
            }
        }
        for ship in &mut self.ships {
            if std::mem::take(&mut ship.score_changed) && !ship.shown_current() {
                own.push(ship.score_line());
            }
        }
    }

    /// The rank key of the last line every member is kept current on: the `SCOREBOARD_TOP`-th
    /// best, or everyone's (`u64::MAX`) in a room small enough, or with fewer ships than that.
    fn scoreboard_cut(&mut self) -> u64 {
        if self.ships.len() <= SCORES_ALL_MAX_PLAYERS.max(SCOREBOARD_TOP) {
            return u64::MAX;
        }
        // The best keys so far, in order; a line enters only if it beats the last. One pass,
        // with nothing sorted but the top.
        let top = &mut self.score_top;
        top.clear();
        for key in self.ships.iter().map(|s| s.score_line().rank_key()) {
            if top.len() == SCOREBOARD_TOP && key >= top[SCOREBOARD_TOP - 1] {
                continue;
            }
            let at = top.partition_point(|&t| t < key);
            top.insert(at, key);
            top.truncate(SCOREBOARD_TOP);
        }
        top[SCOREBOARD_TOP - 1]
    }

    /// The best `n` ships by their lines as they stand, best first: the top of the board,
    /// whose players a newcomer's first frame lists so that its board is right from the start.
    pub fn top_players(&self, n: usize) -> Vec<PlayerId> {
        let mut keys: Vec<(u64, PlayerId)> = self.ships.iter().map(|s| (s.score_line().rank_key(), s.id)).collect();
        if keys.len() > n {
            // The `n` smallest keys end up before position `n`, unordered.
            keys.select_nth_unstable(n);
            keys.truncate(n);
        }
        keys.sort_unstable();
        keys.into_iter().map(|(_, id)| id).collect()
    }

    /// `id`'s line as every member of the room holds it (`None`: never published), for a
    /// newcomer's table; [`World::score`] is the line as it stands.
    pub fn shown_score(&self, id: PlayerId) -> Option<ScoreLine> {
        self.ship(id).and_then(|s| s.shown.map(|_| s.shown_line()))
    }
}
