//! What the minimap shows of the room beyond our view: the server's radar (living ships per cell
//! over the whole arena, once a second) turned into blips, one per cell that is not wholly in
//! the view rectangle and holds more ships than the snapshot shows in it. Ships in view are drawn
//! precisely from the snapshot instead. The number of blips is also the page's
//! `#minimap[data-blips-outside-view]` (see `ui`).

use glam::Vec2;
use skirmish_shared::Radar;
use skirmish_shared::radar::cell_of;

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

/// Appends to `out` a blip for each cell of `radar` (over an `arena` of that size) that is not
/// wholly inside the view rectangle `view_min`..`view_max` (world units) and holds more ships
/// than `seen` (where the ships the snapshot shows are, ours included) puts in it; `seen_cells`
/// is scratch. A radar whose cells do not fill its `width × height` grid yields the cells it has.
///
/// Not "whose centre is outside the view": on a map over 56 000 units a cell is bigger than the
/// view, and a ship just off screen in ours had no blip while ours alone made one (from an
/// outside test of a map maker). Cells wholly in view are left to the precise ships: the radar
/// is up to a second old.
pub fn blips_outside_view(
    radar: &Radar,
    arena: Vec2,
    (view_min, view_max): (Vec2, Vec2),
    seen: impl Iterator<Item = Vec2>,
    seen_cells: &mut Vec<u8>,
    out: &mut Vec<Blip>,
) {
    let (width, height) = (usize::from(radar.width), usize::from(radar.height));
    if width == 0 || height == 0 {
        return;
    }
    seen_cells.clear();
    seen_cells.resize(width * height, 0);
    for p in seen {
        let cell = &mut seen_cells[cell_of(p, arena, width as u32, height as u32)];
        *cell = cell.saturating_add(1);
    }
    let size = arena / Vec2::new(width as f32, height as f32);
    for (i, (&ships, &known)) in radar.cells.iter().zip(seen_cells.iter()).enumerate() {
        let corner = Vec2::new((i % width) as f32, (i / width) as f32) * size;
        let in_view = corner.cmpge(view_min).all() && (corner + size).cmple(view_max).all();
        if ships > known && !in_view {
            out.push(Blip { centre: corner + size / 2.0, size, ships: ships - known });
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

    /// The blips of `radar` for a view of `view`, with ships seen at `seen`.
    fn blips(radar: &Radar, view: (Vec2, Vec2), seen: &[Vec2]) -> Vec<Blip> {
        let mut out = Vec::new();
        blips_outside_view(radar, ARENA, view, seen.iter().copied(), &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn cells_with_ships_outside_the_view_become_blips() {
        // The view covers the left half: every occupied cell lies to its right.
        let out = blips(&radar(), (Vec2::ZERO, Vec2::new(300.0, 400.0)), &[]);
        let centres: Vec<_> = out.iter().map(|b| (b.centre, b.ships)).collect();
        assert_eq!(centres, [(Vec2::new(350.0, 150.0), 1), (Vec2::new(450.0, 150.0), 2), (Vec2::new(550.0, 250.0), 1)]);
        assert_eq!(out[0].size, Vec2::new(100.0, 100.0));
        // Ships the snapshot shows (out of the view, in its margin) are not blips again.
        let out = blips(&radar(), (Vec2::ZERO, Vec2::new(300.0, 400.0)), &[Vec2::new(420.0, 110.0)]);
        let centres: Vec<_> = out.iter().map(|b| (b.centre, b.ships)).collect();
        assert_eq!(centres, [(Vec2::new(350.0, 150.0), 1), (Vec2::new(450.0, 150.0), 1), (Vec2::new(550.0, 250.0), 1)]);
    }

    #[test]
    fn cells_in_view_are_left_to_the_precise_ships() {
        // A view over cells (3, 0)–(4, 1) whole, as a camera past the arena's edge may be.
        let out = blips(&radar(), (Vec2::new(300.0, -50.0), Vec2::new(500.0, 200.0)), &[]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].centre, Vec2::new(550.0, 250.0));
        assert!(blips(&radar(), (Vec2::splat(-100.0), ARENA + 100.0), &[]).is_empty(), "the whole arena in view");
    }

    #[test]
    fn on_a_map_whose_cells_are_bigger_than_the_view_the_ships_seen_decide() {
        // A 2 × 1 radar over 600 × 400: cells of 300 × 400, a view of 100 × 100 in the first.
        let radar = |cells: Vec<u8>| Radar { width: 2, height: 1, cells };
        let view = (Vec2::splat(100.0), Vec2::splat(200.0));
        let me = Vec2::splat(150.0);
        // Ours alone in our cell: no blip (its centre, off screen, made one).
        assert!(blips(&radar(vec![1, 0]), view, &[me]).is_empty());
        // Another ship in our cell, off screen: a blip (its centre on screen hid it).
        let view_on_centre = (Vec2::new(100.0, 150.0), Vec2::new(200.0, 250.0));
        let out = blips(&radar(vec![2, 0]), view_on_centre, &[Vec2::new(150.0, 200.0)]);
        assert_eq!(out.iter().map(|b| b.ships).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn a_short_or_empty_radar_is_harmless() {
        let view = (Vec2::ZERO, Vec2::ONE);
        assert_eq!(blips(&Radar { width: 6, height: 4, cells: vec![3] }, view, &[]).len(), 1);
        assert!(blips(&Radar { width: 0, height: 4, cells: vec![3] }, view, &[]).is_empty());
    }

    #[test]
    fn more_ships_make_bigger_blips() {
        let blip = |ships| Blip { centre: Vec2::ZERO, size: Vec2::ONE, ships };
        assert!(blip(1).fill() < blip(3).fill());
        assert_eq!(blip(4).fill(), 1.0);
        assert_eq!(blip(255).fill(), 1.0);
    }
}
