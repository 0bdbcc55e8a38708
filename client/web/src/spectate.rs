//! Whom a spectator asks to follow: Q/E, ←/→ or a click step through the room's players in id
//! order, all of them (most are out of view in a big room), and the page sends `Follow`. The
//! server decides, and the camera follows whose view arrives (`Client::subject`).

use std::collections::BTreeMap;

use skirmish_shared::{PlayerId, PlayerInfo};

/// Whom a spectator can follow: every player in the roster that is not a spectator, in id order.
pub fn targets(roster: &BTreeMap<PlayerId, PlayerInfo>) -> Vec<PlayerId> {
    roster.values().filter(|p| !p.spectator).map(|p| p.id).collect()
}

/// The next (`forward`) or previous player after `current`, wrapping around. When `current` has
/// left, it continues from where it stood in the id order.
pub fn cycle(candidates: &[PlayerId], current: Option<PlayerId>, forward: bool) -> Option<PlayerId> {
    let (first, last) = (candidates.first().copied()?, candidates.last().copied()?);
    let Some(cur) = current else { return Some(if forward { first } else { last }) };
    let found =
        if forward { candidates.iter().find(|&&id| id > cur) } else { candidates.iter().rev().find(|&&id| id < cur) };
    Some(found.copied().unwrap_or(if forward { first } else { last }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_the_players_not_the_spectators() {
        let info = |id, spectator| (id, PlayerInfo { id, name: format!("p{id}"), colour: 0, spectator });
        let roster = BTreeMap::from([info(9, false), info(3, false), info(4, true), info(5, false)]);
        assert_eq!(targets(&roster), [3, 5, 9]);
    }

    #[test]
    fn cycles_in_both_directions_and_wraps() {
        let ids = [3, 5, 9];
        assert_eq!(cycle(&ids, Some(3), true), Some(5));
        assert_eq!(cycle(&ids, Some(9), true), Some(3));
        assert_eq!(cycle(&ids, Some(3), false), Some(9));
        assert_eq!(cycle(&ids, Some(5), false), Some(3));
        // The target left: continue from where it was.
        assert_eq!(cycle(&ids, Some(6), true), Some(9));
        assert_eq!(cycle(&ids, Some(6), false), Some(5));
        assert_eq!(cycle(&ids, None, false), Some(9));
        assert_eq!(cycle(&[], Some(1), true), None);
    }
}
