//! A uniform grid over the arena for "what is near here" questions: area of interest (which
//! entities a player sees) and the world's collision and spawn checks.
//!
//! Rebuilt from scratch each tick with a counting sort into reused buffers: two passes over the
//! items, no allocation once warm, and each cell's items end up contiguous and in the order they
//! were given (so items given by ascending id come out by ascending id within a cell). Between
//! rebuilds, [`Grid::insert`] adds an item in O(1) (the world's respawns, which must see the ships
//! placed just before them). Things with a size (the map's obstacles, built once per map) go in
//! every cell they overlap with [`Grid::rebuild_boxes`].

use glam::Vec2;

/// See the module docs. Items are indices into the caller's own list.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// World units per cell side.
    cell: f32,
    cols: u32,
    rows: u32,
    /// `starts[c]..starts[c + 1]` is cell `c`'s range in `items`.
    starts: Vec<u32>,
    /// Item indices, grouped by cell.
    items: Vec<u32>,
    /// Scratch: `(item, cell)` as placed, between the two passes of a rebuild.
    placed: Vec<(u32, u32)>,
    /// Items inserted since the last rebuild, chained per cell: `added_head[c]` is the newest in
    /// cell `c` (or [`NONE`]) and each entry is `(item, the one inserted before it)`. Empty until
    /// the first insert, so grids that never insert pay nothing.
    added_head: Vec<u32>,
    added: Vec<(u32, u32)>,
}

/// End of a chain of inserted items.
const NONE: u32 = u32::MAX;

/// Most cells a grid is given: a rebuild zeroes and sums every cell, so on a map far bigger than
/// its players need, an almost empty room paid for all of them each tick (a 100000-unit square
/// has 611 000 ship cells of 128 units: 0.67 ms a tick for two idle players, from an outside
/// test of a map maker). Past it, the cells grow instead; `expanse` (16000 units square, 15 625
/// ship cells) keeps its cells as asked.
const MAX_CELLS: f32 = 16_384.0;

impl Grid {
    /// A grid covering `size` world units (from the origin) with square cells of `cell` units,
    /// or bigger ones where that would make more than [`MAX_CELLS`]. Points outside the area
    /// are clamped into the border cells.
    pub fn new(size: Vec2, cell: f32) -> Self {
        let area = size.x.max(1.0) * size.y.max(1.0);
        let cell = cell.max(1.0).max((area / MAX_CELLS).sqrt());
        let cols = ((size.x / cell).ceil() as u32).clamp(1, 4096);
        let rows = ((size.y / cell).ceil() as u32).clamp(1, 4096);
        Self {
            cell,
            cols,
            rows,
            starts: vec![0; (cols * rows + 1) as usize],
            items: Vec::new(),
            placed: Vec::new(),
            added_head: Vec::new(),
            added: Vec::new(),
        }
    }

    fn cell_index(&self, p: Vec2) -> u32 {
        let (x, y) = self.cell_xy(p);
        y * self.cols + x
    }

    fn cell_xy(&self, p: Vec2) -> (u32, u32) {
        let x = ((p.x / self.cell) as i64).clamp(0, i64::from(self.cols) - 1) as u32;
        let y = ((p.y / self.cell) as i64).clamp(0, i64::from(self.rows) - 1) as u32;
        (x, y)
    }

    /// Puts item `i` at `positions[i]` for every `i`, replacing what the grid held.
    pub fn rebuild(&mut self, positions: impl ExactSizeIterator<Item = Vec2>) {
        self.clear();
        for (i, p) in positions.enumerate() {
            let c = self.cell_index(p);
            self.place(i as u32, c);
        }
        self.settle();
    }

    /// Puts item `i` in every cell that box `boxes[i]` (`min..=max`) overlaps, replacing what the
    /// grid held: for things with a size, such as the map's obstacles. A query over several of
    /// those cells meets the item once per cell.
    pub fn rebuild_boxes(&mut self, boxes: impl Iterator<Item = (Vec2, Vec2)>) {
        self.clear();
        for (i, (min, max)) in boxes.enumerate() {
            let (x0, y0) = self.cell_xy(min);
            let (x1, y1) = self.cell_xy(max);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    self.place(i as u32, y * self.cols + x);
                }
            }
        }
        self.settle();
    }

    /// First step of a rebuild: forgets every item.
    fn clear(&mut self) {
        self.placed.clear();
        self.starts.iter_mut().for_each(|s| *s = 0);
        if !self.added.is_empty() {
            self.added.clear();
            self.added_head.fill(NONE);
        }
    }

    /// Second step: item `i` goes in cell `c` (counted, shifted by one cell, for `settle`).
    fn place(&mut self, i: u32, c: u32) {
        self.placed.push((i, c));
        self.starts[c as usize + 1] += 1;
    }

    /// Last step, a counting sort: the counts become ranges and every placed item goes into its
    /// cell's range, in the order it was placed.
    fn settle(&mut self) {
        for c in 1..self.starts.len() {
            self.starts[c] += self.starts[c - 1];
        }
        self.items.clear();
        self.items.resize(self.placed.len(), 0);
        // `starts[c]` walks forward as cell `c` fills; afterwards it has reached the next cell's
        // start, so shifting everything back by one cell restores the ranges.
        for &(i, c) in &self.placed {
            let slot = &mut self.starts[c as usize];
            self.items[*slot as usize] = i;
            *slot += 1;
        }
        for c in (1..self.starts.len()).rev() {
            self.starts[c] = self.starts[c - 1];
        }
        self.starts[0] = 0;
    }

    /// Adds item `i` at `p` until the next rebuild, without moving the others: O(1). The item
    /// may already be in the grid (an item that moved): then queries can meet it twice, once
    /// per place, and the caller checks exact positions as always.
    pub fn insert(&mut self, i: u32, p: Vec2) {
        if self.added_head.is_empty() {
            self.added_head.resize(self.starts.len() - 1, NONE);
        }
        let c = self.cell_index(p) as usize;
        // Chain links are u32; a grid holds far fewer than u32::MAX inserts between rebuilds.
        let entry = self.added.len() as u32;
        self.added.push((i, self.added_head[c]));
        self.added_head[c] = entry;
    }

    /// Calls `f` with every item in a cell that overlaps the rectangle `min..=max` (a superset
    /// of the items inside it: the caller checks exact positions), cell row by cell row; in each
    /// row the rebuilt items first, then those inserted since.
    pub fn for_each_near(&self, min: Vec2, max: Vec2, mut f: impl FnMut(u32)) {
        let (x0, y0) = self.cell_xy(min);
        let (x1, y1) = self.cell_xy(max);
        for y in y0..=y1 {
            let row = y * self.cols;
            let (a, b) = (self.starts[(row + x0) as usize], self.starts[(row + x1 + 1) as usize]);
            // Cells of one row are contiguous, so a row's candidates are one slice.
            for &i in &self.items[a as usize..b as usize] {
                f(i);
            }
            if !self.added.is_empty() {
                for c in row + x0..=row + x1 {
                    let mut entry = self.added_head[c as usize];
                    while entry != NONE {
                        let (i, before) = self.added[entry as usize];
                        f(i);
                        entry = before;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_area_gets_bigger_cells_not_more() {
        let expanse = Grid::new(Vec2::splat(16_000.0), 128.0);
        assert_eq!((expanse.cell, expanse.cols * expanse.rows), (128.0, 15_625), "as asked");
        let huge = Grid::new(Vec2::splat(100_000.0), 128.0);
        assert!(
            huge.cell > 128.0 && f64::from(huge.cols * huge.rows) <= 16_384.0 * 1.02,
            "{} {}",
            huge.cols,
            huge.rows
        );
        // A long thin map fits the cap with the cells asked for.
        let thin = Grid::new(Vec2::new(100_000.0, 128.0), 128.0);
        assert_eq!((thin.cell, thin.cols, thin.rows), (128.0, 782, 1));
        // Still exact where it matters: what is near is found, what is far is not.
        let mut grid = huge;
        grid.rebuild([Vec2::new(10.0, 10.0), Vec2::new(99_000.0, 99_000.0)].into_iter());
        let mut near = Vec::new();
        grid.for_each_near(Vec2::ZERO, Vec2::splat(50.0), |i| near.push(i));
        assert_eq!(near, [0]);
    }

    #[test]
    fn finds_what_is_near_and_skips_what_is_far() {
        let mut grid = Grid::new(Vec2::new(1000.0, 1000.0), 100.0);
        let points = [Vec2::new(50.0, 50.0), Vec2::new(950.0, 950.0), Vec2::new(150.0, 60.0), Vec2::new(-5.0, 2000.0)];
        grid.rebuild(points.iter().copied());
        let mut near = Vec::new();
        grid.for_each_near(Vec2::new(0.0, 0.0), Vec2::new(199.0, 199.0), |i| near.push(i));
        near.sort_unstable();
        assert_eq!(near, [0, 2]);
        let mut corner = Vec::new();
        grid.for_each_near(Vec2::new(900.0, 900.0), Vec2::new(5000.0, 5000.0), |i| corner.push(i));
        assert_eq!(corner, [1]);
        // Outside points are clamped into the border cells, never lost.
        let mut edge = Vec::new();
        grid.for_each_near(Vec2::new(0.0, 950.0), Vec2::new(10.0, 999.0), |i| edge.push(i));
        assert_eq!(edge, [3]);
    }

    #[test]
    fn rebuilding_replaces_and_keeps_order_within_a_cell() {
        let mut grid = Grid::new(Vec2::new(100.0, 100.0), 50.0);
        grid.rebuild([Vec2::new(1.0, 1.0); 5].into_iter());
        grid.rebuild([Vec2::new(1.0, 1.0), Vec2::new(2.0, 2.0), Vec2::new(99.0, 99.0)].into_iter());
        let mut all = Vec::new();
        grid.for_each_near(Vec2::ZERO, Vec2::splat(100.0), |i| all.push(i));
        assert_eq!(all, [0, 1, 2]);
    }

    #[test]
    fn inserted_items_are_found_until_the_next_rebuild() {
        let mut grid = Grid::new(Vec2::new(1000.0, 1000.0), 100.0);
        grid.rebuild([Vec2::new(50.0, 50.0), Vec2::new(550.0, 550.0)].into_iter());
        grid.insert(2, Vec2::new(560.0, 540.0));
        grid.insert(0, Vec2::new(900.0, 120.0));
        grid.insert(3, Vec2::new(570.0, 560.0));
        let near = |grid: &Grid, min: Vec2, max: Vec2| {
            let mut found = Vec::new();
            grid.for_each_near(min, max, |i| found.push(i));
            found.sort_unstable();
            found
        };
        assert_eq!(near(&grid, Vec2::splat(500.0), Vec2::splat(599.0)), [1, 2, 3]);
        // A moved item is met at both places; the caller's exact check sorts it out.
        assert_eq!(near(&grid, Vec2::ZERO, Vec2::new(999.0, 199.0)), [0, 0]);
        assert_eq!(near(&grid, Vec2::new(200.0, 200.0), Vec2::new(499.0, 499.0)), [] as [u32; 0]);
        grid.rebuild([Vec2::new(50.0, 50.0)].into_iter());
        assert_eq!(near(&grid, Vec2::ZERO, Vec2::splat(1000.0)), [0], "a rebuild forgets the inserts");
    }

    #[test]
    fn a_box_is_listed_in_every_cell_it_overlaps() {
        let mut grid = Grid::new(Vec2::new(1000.0, 1000.0), 100.0);
        // Box 0 spans cells (1..=2, 1..=1), box 1 sits inside cell (5, 5), box 2 reaches past
        // the area and is clamped into the border cells.
        let boxes = [
            (Vec2::new(150.0, 120.0), Vec2::new(250.0, 180.0)),
            (Vec2::new(510.0, 510.0), Vec2::new(520.0, 520.0)),
            (Vec2::new(950.0, -50.0), Vec2::new(1200.0, 40.0)),
        ];
        grid.rebuild_boxes(boxes.into_iter());
        let near = |grid: &Grid, min: Vec2, max: Vec2| {
            let mut found = Vec::new();
            grid.for_each_near(min, max, |i| found.push(i));
            found
        };
        assert_eq!(near(&grid, Vec2::new(100.0, 100.0), Vec2::new(199.0, 199.0)), [0]);
        assert_eq!(near(&grid, Vec2::new(200.0, 100.0), Vec2::new(299.0, 199.0)), [0]);
        assert_eq!(near(&grid, Vec2::new(100.0, 100.0), Vec2::new(299.0, 199.0)), [0, 0], "once per cell");
        assert_eq!(near(&grid, Vec2::new(0.0, 0.0), Vec2::new(99.0, 99.0)), [] as [u32; 0]);
        assert_eq!(near(&grid, Vec2::new(500.0, 500.0), Vec2::new(599.0, 599.0)), [1]);
        assert_eq!(near(&grid, Vec2::new(900.0, 0.0), Vec2::new(999.0, 99.0)), [2]);
        // Rebuilding from points replaces the boxes.
        grid.rebuild([Vec2::new(50.0, 50.0)].into_iter());
        assert_eq!(near(&grid, Vec2::ZERO, Vec2::splat(1000.0)), [0]);
    }
}
