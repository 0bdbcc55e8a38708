//! The radar's cells on the wire: a short bit stream instead of one byte per cell.
//!
//! The radar has up to 64 × 40 cells and goes to every player once a second; sent as one byte a
//! cell it was up to 2.5 KiB a second a player (1.6 on `expanse`, whose grid is 40 × 40), most of
//! it zeros (a 10-player match leaves 2550 of 2560 cells empty), and the biggest stream after the
//! snapshots. Packed, it lists only the occupied cells, each as the number of empty cells skipped
//! to reach it and its count of ships, both in Elias gamma code (one bit for the most common
//! value, 1). On `expanse` a radar of 1000 ships is about 360 bytes, of 3000 about 600 (`cargo
//! bench -p skirmish-server --bench tick` prints it). `PROTOCOL.md` (Radar) documents the format.

use glam::Vec2;

use crate::bits::{BitReader, BitWriter};

/// The cell (row by row) of a `width × height` radar over an arena of size `arena` that a ship
/// at `p` (world units) counts in, as `PROTOCOL.md` (Radar) gives it: the server counts ships
/// with it and the page tells the ships it sees from those it does not.
pub fn cell_of(p: Vec2, arena: Vec2, width: u32, height: u32) -> usize {
    let x = ((p.x / arena.x * width as f32) as u32).min(width - 1);
    let y = ((p.y / arena.y * height as f32) as u32).min(height - 1);
    (y * width + x) as usize
}

/// Writes `cells` (one count per cell, row by row) packed: `uvar` the number of occupied cells,
/// then for each, in order, `gamma` (empty cells skipped since the previous one, or since the
/// start, + 1) and `gamma` (its count).
pub fn pack(cells: &[u8], w: &mut BitWriter) {
    let occupied = cells.iter().filter(|&&c| c != 0).count();
    w.uvar(occupied as u64);
    let mut skipped = 0u32;
    for &count in cells {
        if count == 0 {
            skipped += 1;
        } else {
            w.gamma(skipped + 1);
            w.gamma(u32::from(count));
            skipped = 0;
        }
    }
}

/// Reads `len` cells packed by [`pack`] into `cells` (cleared first). Fails on a stream that
/// lists more cells than `len`, a count over 255, or anything but zero padding after the last
/// cell.
pub fn unpack(bytes: &[u8], len: usize, cells: &mut Vec<u8>) -> Result<(), &'static str> {
    cells.clear();
    let mut r = BitReader::new(bytes);
    let occupied = r.uvar()?;
    if occupied > len as u64 {
        return Err("radar lists more occupied cells than it has");
    }
    for _ in 0..occupied {
        let skipped = r.gamma()? - 1;
        // Both sides in u64: a hostile `skipped` cannot overflow the sum.
        if cells.len() as u64 + u64::from(skipped) >= len as u64 {
            return Err("radar cell outside the grid");
        }
        cells.resize(cells.len() + skipped as usize, 0);
        let count = u8::try_from(r.gamma()?).map_err(|_| "radar count over 255")?;
        cells.push(count);
    }
    if !r.at_padding() {
        return Err("radar cells followed by more than padding");
    }
    cells.resize(len, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(cells: &[u8]) -> Vec<u8> {
        let mut w = BitWriter::new();
        pack(cells, &mut w);
        w.as_bytes().to_vec()
    }

    fn unpacked(bytes: &[u8], len: usize) -> Result<Vec<u8>, &'static str> {
        let mut cells = vec![9; 3];
        unpack(bytes, len, &mut cells).map(|()| cells)
    }

    #[test]
    fn the_documented_example_packs_as_documented() {
        // PROTOCOL.md's 6 × 4 radar: one ship in (3, 1), two in (4, 1), one in (5, 2).
        let mut cells = vec![0u8; 24];
        (cells[9], cells[10], cells[17]) = (1, 2, 1);
        // uvar 3 `0011 0`; gap 9 → gamma 10 `000 1010`, count 1 `1`; gap 0 → `1`, count 2
        // `010`; gap 6 → gamma 7 `00 111`, count 1 `1`; padding.
        let bits = "00110 0001010 1 1 010 00111 1";
        let bits: String = bits.split_whitespace().collect();
        let mut expected = Vec::new();
        for chunk in bits.as_bytes().chunks(8) {
            let byte = chunk.iter().enumerate().fold(0u8, |b, (i, &c)| b | (u8::from(c == b'1') << (7 - i)));
            expected.push(byte);
        }
        assert_eq!(packed(&cells), expected);
        assert_eq!(packed(&cells), [0x30, 0xad, 0x1e]);
        assert_eq!(unpacked(&expected, 24), Ok(cells));
    }

    #[test]
    fn empty_and_full_grids_round_trip() {
        assert_eq!(packed(&[0; 2560]), [0x00], "an empty radar is one byte");
        assert_eq!(unpacked(&[0x00], 2560), Ok(vec![0; 2560]));
        assert_eq!(unpacked(&[0x00], 0), Ok(vec![]));
        let full: Vec<u8> = (0..2560).map(|i| (i % 255 + 1) as u8).collect();
        assert_eq!(unpacked(&packed(&full), full.len()), Ok(full));
    }

    #[test]
    fn a_small_match_costs_a_few_bytes() {
        // Ten ships spread over a full-size grid: 255 empty cells before each (gamma 256, 17
        // bits) and one ship (1 bit), after the count (5 bits): 185 bits.
        let mut cells = vec![0u8; 2560];
        for i in 0..10 {
            cells[255 + i * 256] = 1;
        }
        assert_eq!(packed(&cells).len(), 24);
    }

    #[test]
    fn hostile_streams_are_refused() {
        // One occupied cell claimed in a grid of none.
        assert!(unpacked(&packed(&[1]), 0).is_err());
        // A cell past the end: packed for 10 cells, read as 9.
        let mut ten = [0u8; 10];
        ten[9] = 1;
        assert_eq!(unpacked(&packed(&ten), 9), Err("radar cell outside the grid"));
        // A count of 256.
        let mut w = BitWriter::new();
        w.uvar(1);
        w.gamma(1);
        w.gamma(256);
        assert_eq!(unpacked(w.as_bytes(), 4), Err("radar count over 255"));
        // A skip of u32::MAX - 1 cells cannot overflow or allocate.
        let mut w = BitWriter::new();
        w.uvar(1);
        w.gamma(u32::MAX);
        w.gamma(1);
        assert_eq!(unpacked(w.as_bytes(), 2560), Err("radar cell outside the grid"));
        // A byte after the cells; a stream cut short.
        let mut long = packed(&[0, 3]);
        long.push(0);
        assert!(unpacked(&long, 2).is_err());
        assert!(unpacked(&[], 2).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_grid_round_trips(cells in proptest::collection::vec(
            proptest::prop_oneof![6 => proptest::strategy::Just(0u8), 3 => 1u8..4, 1 => proptest::num::u8::ANY],
            0..2600,
        )) {
            let bytes = packed(&cells);
            proptest::prop_assert_eq!(unpacked(&bytes, cells.len()), Ok(cells));
        }
    }
}
