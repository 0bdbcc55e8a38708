//! Player colours: slot `i` of an endless palette ([`palette_colour`]), and [`Palette`], which
//! hands each joining player the lowest slot nobody in the room holds and takes it back on leave,
//! in O(log n) either way, so colours stay distinct and a room of thousands joins in linear time.

use std::collections::BTreeSet;

/// Colour number `i` as `0xRRGGBB`: hues spaced by the golden ratio, so any prefix of the
/// sequence is spread around the colour wheel, each as light as it must be to read on the
/// page's dark panels: names are written in their player's colour, and the blues and purples
/// of one lightness came out at 3:1 against the background (an outside accessibility test;
/// the web's guideline for text is 4.5:1).
pub fn palette_colour(i: u32) -> u32 {
    let hue = (f64::from(i) * 0.618_033_988_749_895 + 0.05).fract() * 6.0;
    let mut l = 0.6;
    loop {
        let rgb = hsl(hue, 0.75, l);
        if l >= 0.8 || contrast(rgb, BACKGROUND) >= MIN_CONTRAST {
            return rgb;
        }
        l += 0.02;
    }
}

/// What names are written on: the page's panels (`--panel` in `assets/style.css`, over the
/// darker `--bg`), the lighter of the two, so the one a colour must stand out from.
const BACKGROUND: u32 = 0x0e1421;

/// The contrast every colour has against [`BACKGROUND`] at least (WCAG's 4.5:1 for text, with
/// a little to spare).
const MIN_CONTRAST: f64 = 4.7;

/// WCAG's contrast ratio of two colours, 1 to 21.
fn contrast(a: u32, b: u32) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// WCAG's relative luminance of `0xRRGGBB`, 0 to 1.
fn luminance(rgb: u32) -> f64 {
    let linear = |shift: u32| {
        let c = f64::from((rgb >> shift) & 0xff) / 255.0;
        if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(16) + 0.7152 * linear(8) + 0.0722 * linear(0)
}

/// `0xRRGGBB` of a hue (0 to 6, a sixth of the wheel each), saturation and lightness (0 to 1).
fn hsl(hue: f64, s: f64, l: f64) -> u32 {
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * s;
    let x = c * (1.0 - (hue % 2.0 - 1.0).abs());
    let (r, g, b) = match hue as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u32;
    (byte(r) << 16) | (byte(g) << 8) | byte(b)
}

/// The palette slots held in one room. A player keeps its slot (and so its colour) from join
/// to leave; the lowest free slot goes to the next joiner, so a full room's colours are always
/// the first, best-spread part of the sequence.
#[derive(Debug, Clone, Default)]
pub struct Palette {
    /// Every slot at or above this is free.
    next: u32,
    /// Free slots below `next`, left by players who left; kept small by lowering `next`
    /// whenever the top slot comes back.
    freed: BTreeSet<u32>,
}

impl Palette {
    /// A palette with every slot free.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the lowest free slot; its colour is [`palette_colour`] of it.
    pub fn take(&mut self) -> u32 {
        if let Some(slot) = self.freed.pop_first() {
            return slot;
        }
        let slot = self.next;
        // One slot per player in the room: `next` never comes near u32::MAX.
        self.next += 1;
        slot
    }

    /// Gives `slot` back. A slot that is not held (never taken, or given back already) is
    /// ignored, so a double leave cannot hand one colour to two players.
    pub fn give_back(&mut self, slot: u32) {
        if slot >= self.next || !self.freed.insert(slot) {
            return;
        }
        // The top slot came back: shrink `next` past it and any free slots just below.
        while self.next > 0 && self.freed.remove(&(self.next - 1)) {
            self.next -= 1;
        }
    }

    /// How many slots are held.
    pub fn held(&self) -> usize {
        self.next as usize - self.freed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_colour_reads_on_the_page_background() {
        for i in 0..1024 {
            let colour = palette_colour(i);
            assert!(contrast(colour, BACKGROUND) >= 4.5, "{i}: {colour:06x}");
        }
        // The colour the outside test measured at 3.07:1, and the contrast of the extremes.
        assert!(contrast(0x4e4ce6, BACKGROUND) < 3.2);
        assert!((contrast(0xffffff, 0x000000) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn palette_colours_are_distinct_and_valid() {
        let colours: Vec<u32> = (0..64).map(palette_colour).collect();
        for (i, a) in colours.iter().enumerate() {
            assert!(*a <= 0xffffff);
            assert!(!colours[i + 1..].contains(a), "colour {i} repeats");
        }
    }

    #[test]
    fn joiners_get_the_lowest_free_slot() {
        let mut palette = Palette::new();
        assert_eq!((0..5).map(|_| palette.take()).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        palette.give_back(3);
        palette.give_back(1);
        assert_eq!(palette.held(), 3);
        assert_eq!(palette.take(), 1, "the lowest hole first");
        assert_eq!(palette.take(), 3);
        assert_eq!(palette.take(), 5, "then past the top");
        assert_eq!(palette.held(), 6);
    }

    #[test]
    fn the_top_coming_back_shrinks_the_range() {
        let mut palette = Palette::new();
        for _ in 0..4 {
            palette.take();
        }
        palette.give_back(1);
        palette.give_back(2);
        palette.give_back(3);
        assert_eq!((palette.next, palette.freed.len()), (1, 0), "slots 1..4 folded back into `next`");
        assert_eq!(palette.take(), 1);
        palette.give_back(0);
        palette.give_back(1);
        assert_eq!((palette.next, palette.held()), (0, 0));
    }

    #[test]
    fn giving_back_a_slot_not_held_changes_nothing() {
        let mut palette = Palette::new();
        palette.take();
        palette.take();
        palette.give_back(7);
        palette.give_back(0);
        palette.give_back(0);
        assert_eq!(palette.held(), 1);
        assert_eq!(palette.take(), 0);
        assert_eq!(palette.take(), 2, "0 was handed out once, not twice");
    }

    #[test]
    fn matches_the_lowest_unused_rule_under_churn() {
        // Against the rule it replaces: the lowest slot no current holder uses.
        let mut palette = Palette::new();
        let mut held: Vec<u32> = Vec::new();
        let mut state = 12345u64;
        for step in 0..5000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if held.is_empty() || (state >> 33).is_multiple_of(2) {
                let expected = (0u32..).find(|s| !held.contains(s)).unwrap();
                let slot = palette.take();
                assert_eq!(slot, expected, "step {step}");
                held.push(slot);
            } else {
                let leaver = held.swap_remove((state >> 40) as usize % held.len());
                palette.give_back(leaver);
            }
            assert_eq!(palette.held(), held.len());
        }
    }
}
