//! The player's display name: cleaned up in the browser so that what the server receives passes
//! its validation (`skirmish_shared::codec::check_name`) instead of earning a 1007 close.

use skirmish_shared::codec::check_name;
use skirmish_shared::consts::MAX_NAME_CHARS;

/// Trims `raw`, drops characters the server refuses (control, bidi, zero-width and exotic
/// spaces) and cuts it to [`MAX_NAME_CHARS`]; `None` when nothing usable is left.
pub fn clean_name(raw: &str) -> Option<String> {
    // A name the server takes as typed is sent as typed: the cleaning below drops the joiners
    // (U+200C, U+200D), which may stand only between two characters, and the name so far never
    // has one after them (Persian names, Indic conjuncts and joined emoji lost theirs: an outside
    // test). A joiner in a name that needs cleaning anyway goes with it.
    if check_name(raw.trim()).is_ok() {
        return Some(raw.trim().to_owned());
    }
    let mut buf = [0u8; 4];
    let mut kept = String::new();
    for c in raw.chars() {
        // A single character passes `check_name` when the server accepts it inside a name, except
        // the blanks (a variation selector, the braille blank) and the combining marks, which may
        // not start a name. Plain spaces are fine inside, only not at the ends (trimmed below).
        // A mark stays where it follows what it belongs to, as the name so far with it passes:
        // the vowel signs and tones of Thai, Hindi or Arabic, and accents typed apart from their
        // letter, up to as many in a row as the server takes.
        let alone = c == ' ' || check_name(c.encode_utf8(&mut buf)).is_ok();
        kept.push(c);
        if !alone && check_name(kept.trim_start()).is_err() {
            kept.pop();
        }
    }
    let cut: String = kept.trim().chars().take(MAX_NAME_CHARS).collect();
    let name = cut.trim_end();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The name used when the player leaves the field empty, e.g. `Pilot-0427`; `unit` is a random
/// number in `[0, 1)` (`Math.random()` in the browser).
pub fn default_name(unit: f64) -> String {
    let n = (unit.clamp(0.0, 1.0) * 10_000.0) as u32 % 10_000;
    format!("Pilot-{n:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_cuts_to_the_limit() {
        assert_eq!(clean_name("  Chromey  ").as_deref(), Some("Chromey"));
        assert_eq!(clean_name("abcdefghijklmnopqrstuvwxyz").as_deref(), Some("abcdefghijklmnop"));
        // Cutting must not leave a trailing space the server would refuse.
        assert_eq!(clean_name("abcdefghijklmno pq").as_deref(), Some("abcdefghijklmno"));
        assert_eq!(clean_name("Ünïcødé 🚀").as_deref(), Some("Ünïcødé 🚀"));
        // A decomposed accent stays on its letter; past the marks the server takes in a row (3
        // generic ones), the rest go, the letter stays; one with no letter before it goes.
        assert_eq!(clean_name("e\u{0301}\u{0301}\u{0301}\u{0301}x").as_deref(), Some("e\u{0301}\u{0301}\u{0301}x"));
        assert_eq!(clean_name("\u{0301}ex").as_deref(), Some("ex"));
        assert_eq!(clean_name(" \u{0E49}ab").as_deref(), Some("ab"));
    }

    #[test]
    fn names_in_scripts_with_marks_keep_them() {
        // Hindi (vowel signs), Thai (a vowel and a tone mark over one letter), Arabic (harakat).
        for name in ["राहुल", "ज़िंदगी", "ชื่อ", "สมศักดิ์", "مُحَمَّد"]
        {
            assert_eq!(clean_name(name).as_deref(), Some(name), "{name}");
            assert!(check_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn joiners_between_characters_stay() {
        // Persian (Alireza), a Hindi conjunct, a woman technologist, joiners out of place.
        for name in ["علی\u{200C}رضا", "\u{0915}\u{094D}\u{200D}\u{0937}", "\u{1F469}\u{200D}\u{1F4BB}"] {
            assert_eq!(clean_name(name).as_deref(), Some(name), "{name}");
        }
        assert_eq!(clean_name("\u{200C}ab\u{200D}").as_deref(), Some("ab"));
        assert_eq!(clean_name("a\u{200C} b").as_deref(), Some("a b"));
        assert_eq!(clean_name("a\u{200C}\u{200D}b").as_deref(), Some("ab"));
        // Too long: cut, and the joiners go with the cleaning.
        assert_eq!(clean_name("abcdefghijklmno\u{200C}p").as_deref(), Some("abcdefghijklmnop"));
    }

    #[test]
    fn drops_what_the_server_refuses() {
        assert_eq!(clean_name("a\u{202E}b\u{200B}c\td").as_deref(), Some("abcd"));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("\u{200B}\u{FEFF}"), None);
    }

    #[test]
    fn every_cleaned_name_is_valid() {
        for raw in ["x", " a b ", "\u{00A0}n\u{00A0}", "0123456789abcdef\u{202E}", "é".repeat(40).as_str()] {
            if let Some(name) = clean_name(raw) {
                assert!(check_name(&name).is_ok(), "{raw:?} -> {name:?}");
            }
        }
    }

    #[test]
    fn default_names_are_valid() {
        assert_eq!(default_name(0.0), "Pilot-0000");
        assert_eq!(default_name(0.12345), "Pilot-1234");
        assert_eq!(default_name(0.999_999_9), "Pilot-9999");
        assert_eq!(default_name(1.0), "Pilot-0000");
        assert!(check_name(&default_name(0.5)).is_ok());
    }
}
