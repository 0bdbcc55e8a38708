//! Whom a spectator's camera follows: a player id that survives others joining and leaving, and
//! steps through the players in id order with Q/E, ←/→ or a click.

use skirmish_shared::PlayerId;

/// The player to keep following: `current` while it is still among `candidates` (ids in
/// ascending order), else the first one.
pub fn keep(candidates: &[PlayerId], current: Option<PlayerId>) -> Option<PlayerId> {
    current.filter(|id| candidates.contains(id)).or_else(|| candidates.first().copied())
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
    fn keeps_the_target_while_it_is_there() {
        assert_eq!(keep(&[3, 5, 9], Some(5)), Some(5));
        assert_eq!(keep(&[3, 9], Some(5)), Some(3));
        assert_eq!(keep(&[3, 9], None), Some(3));
        assert_eq!(keep(&[], Some(5)), None);
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
