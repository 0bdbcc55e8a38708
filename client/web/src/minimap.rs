//! What the minimap shows of the room beyond our view: the server's radar (living ships per cell
//! over the whole arena, once a second) turned into blips, one per cell with ships whose centre
//! lies outside the view rectangle. Ships in view are drawn precisely from the snapshot instead.
//! The number of blips is also the page's `#minimap[data-blips-outside-view]` (see `ui`).

use glam::Vec2;
use skirmish_shared::Radar;

/// One radar cell with ships in it, outside the view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blip {
    /// The cell's centre in world units.
    pub centre: Vec2,
    /// The cell's size in world units.
    pub size: Vec2,
    /// Living ships in the cell (255 means 255 or more).
    pub ships: u8,
}

impl Blip {
    /// How much of its cell the blip fills, 0.5 to 1: more ships, a bigger square.
    pub fn fill(&self) -> f32 {
        (0.5 + 0.125 * f32::from(self.ships)).min(1.0)
    }
}

/// Appends to `out` a blip for each cell of `radar` (over an `arena` of that size) that holds
/// ships and whose centre is outside the view rectangle `view_min`..`view_max` (world units).
/// A radar whose cells do not fill its `width × height` grid yields the cells it has.
pub fn blips_outside_view(radar: &Radar, arena: Vec2, view_min: Vec2, view_max: Vec2, out: &mut Vec<Blip>) {
    let (width, height) = (usize::from(radar.width), usize::from(radar.height));
    if width == 0 || height == 0 {
        return;
    }
    let size = arena / Vec2::new(width as f32, height as f32);
    let inside = |p: Vec2| p.cmpge(view_min).all() && p.cmple(view_max).all();
    for (i, &ships) in radar.cells.iter().take(width * height).enumerate() {
        if ships == 0 {
            continue;
        }
        let centre = (Vec2::new((i % width) as f32, (i / width) as f32) + 0.5) * size;
        if !inside(centre) {
            out.push(Blip { centre, size, ships });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radar of `PROTOCOL.md`: 6 × 4, one ship in (3, 1), two in (4, 1), one in (5, 2).
    fn radar() -> Radar {
        let mut cells = vec![0; 24];
        (cells[9], cells[10], cells[17]) = (1, 2, 1);
        Radar { width: 6, height: 4, cells }
    }

    const ARENA: Vec2 = Vec2::new(600.0, 400.0);

    #[test]
    fn cells_with_ships_outside_the_view_become_blips() {
        let mut out = Vec::new();
        // The view covers the left half: every occupied cell lies to its right.
        blips_outside_view(&radar(), ARENA, Vec2::ZERO, Vec2::new(300.0, 400.0), &mut out);
        let centres: Vec<_> = out.iter().map(|b| (b.centre, b.ships)).collect();
        assert_eq!(centres, [(Vec2::new(350.0, 150.0), 1), (Vec2::new(450.0, 150.0), 2), (Vec2::new(550.0, 250.0), 1)]);
        assert_eq!(out[0].size, Vec2::new(100.0, 100.0));
    }

    #[test]
    fn cells_in_view_are_left_to_the_precise_ships() {
        let mut out = Vec::new();
        // A view around (3, 1) and (4, 1), as a camera past the arena's edge may be.
        blips_outside_view(&radar(), ARENA, Vec2::new(320.0, -50.0), Vec2::new(480.0, 180.0), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].centre, Vec2::new(550.0, 250.0));
        out.clear();
        blips_outside_view(&radar(), ARENA, Vec2::splat(-100.0), ARENA + 100.0, &mut out);
        assert!(out.is_empty(), "the whole arena in view: {out:?}");
    }

    #[test]
    fn a_short_or_empty_radar_is_harmless() {
        let mut out = Vec::new();
        blips_outside_view(&Radar { width: 6, height: 4, cells: vec![3] }, ARENA, Vec2::ZERO, Vec2::ONE, &mut out);
        assert_eq!(out.len(), 1);
        blips_outside_view(&Radar { width: 0, height: 4, cells: vec![3] }, ARENA, Vec2::ZERO, Vec2::ONE, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn more_ships_make_bigger_blips() {
        let blip = |ships| Blip { centre: Vec2::ZERO, size: Vec2::ONE, ships };
        assert!(blip(1).fill() < blip(3).fill());
        assert_eq!(blip(4).fill(), 1.0);
        assert_eq!(blip(255).fill(), 1.0);
    }
}
