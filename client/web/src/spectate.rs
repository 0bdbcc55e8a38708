//! Whom a spectator asks to follow: a click or tap on a ship follows that ship; Q/E, ←/→, or a
//! click on the followed ship or beside every ship step through the room's players in id
//! order, all of them (most are out of view in a big room). The page sends `Follow`; the
//! server decides, and the camera follows whose view arrives (`Client::subject`).

use std::collections::BTreeMap;

use glam::Vec2;
use skirmish_shared::tuning::SHIP_RADIUS;
use skirmish_shared::{PlayerId, PlayerInfo};

/// How far from a ship's centre, in CSS pixels, a click or tap still means that ship: twice its
/// drawn radius, and never under a fingertip's 24 px (ships are small on a phone).
pub fn reach_px(scale: f32) -> f32 {
    (2.0 * SHIP_RADIUS * scale).max(24.0)
}

/// The ship drawn nearest to `at` among `drawn` (ids and screen positions), if one is within
/// `reach` pixels of it.
pub fn under(drawn: impl Iterator<Item = (PlayerId, Vec2)>, at: Vec2, reach: f32) -> Option<PlayerId> {
    drawn
        .map(|(id, pos)| (id, pos.distance_squared(at)))
        .filter(|&(_, d)| d <= reach * reach)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}

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
    fn a_click_means_the_nearest_ship_within_reach() {
        let drawn = [(3, Vec2::new(100.0, 100.0)), (5, Vec2::new(130.0, 100.0)), (9, Vec2::new(400.0, 300.0))];
        let at = |x, y| under(drawn.iter().copied(), Vec2::new(x, y), 24.0);
        assert_eq!(at(104.0, 98.0), Some(3), "on a ship");
        assert_eq!(at(120.0, 100.0), Some(5), "between two: the nearer");
        assert_eq!(at(400.0, 323.0), Some(9), "at the edge of the reach");
        assert_eq!(at(400.0, 325.0), None, "just past it");
        assert_eq!(at(250.0, 200.0), None, "beside every ship");
        assert_eq!(under(std::iter::empty(), Vec2::ZERO, 24.0), None);
    }

    #[test]
    fn the_reach_covers_a_drawn_ship_and_a_fingertip() {
        // At 1 px per unit (a 1400 px window), twice the ship's radius.
        assert_eq!(reach_px(1.0), 2.0 * SHIP_RADIUS);
        // On a phone (a quarter of that), never under a fingertip.
        assert_eq!(reach_px(0.25), 24.0);
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
