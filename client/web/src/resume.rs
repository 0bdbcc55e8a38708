//! A page that goes away in the middle of a match and comes back takes its place back: a reload
//! (F5), a phone reopening a tab it discarded, a page restored fresh from Back or Forward. The
//! server keeps a seat for a lost connection (`--seat-reservation`, 20 s by default; browsers
//! close such pages' sockets with 1001, which the server takes as lost); the page keeps what it
//! needs to ask for it in the tab's `sessionStorage`, written as the page is hidden or left,
//! and joins again by itself when it is loaded on the same room soon after. A spectator comes
//! back watching, and watching the same player. Another tab has its own storage, and a closed
//! tab's is gone, so nothing carries over to a new visit.

/// The `sessionStorage` key.
pub const STORAGE_KEY: &str = "skirmish.seat";
/// A page saved longer ago than this joins as a new visit would: its seat is long gone (even a
/// host that keeps seats longer means a page that was away that long to start afresh).
pub const MAX_AGE_MS: f64 = 60_000.0;

/// What a page needs to take its place back.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// The room it was in.
    pub room: String,
    /// Its `Welcome.rejoin` token; empty for a spectator.
    pub token: String,
    /// It was watching.
    pub spectate: bool,
    /// Whom it was watching.
    pub follow: Option<u32>,
}

/// `place` as stored, saved at `now_ms` (`Date.now()`): one line per field.
pub fn save(place: &Place, now_ms: f64) -> String {
    let follow = place.follow.map(|id| id.to_string()).unwrap_or_default();
    format!("{}\n{}\n{}\n{}\n{follow}", now_ms as u64, place.room, place.token, u8::from(place.spectate))
}

/// The place stored as `text`, if it is for `room` (the page's `?room=`) and recent at `now_ms`.
pub fn load(text: &str, room: Option<&str>, now_ms: f64) -> Option<Place> {
    let mut lines = text.split('\n');
    // Whole milliseconds, read as an integer: float parsing would add 16 KB to the page.
    let saved_at = lines.next()?.parse::<u64>().ok()? as f64;
    let place = Place {
        room: lines.next()?.to_owned(),
        token: lines.next()?.to_owned(),
        spectate: lines.next()? == "1",
        follow: lines.next()?.parse().ok(),
    };
    let age = now_ms - saved_at;
    (room == Some(place.room.as_str()) && (0.0..MAX_AGE_MS).contains(&age)).then_some(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place { room: "main".into(), token: "0123abcd".into(), spectate: false, follow: None }
    }

    #[test]
    fn a_saved_place_comes_back_for_its_room_while_recent() {
        let text = save(&place(), 1_000_000.0);
        assert_eq!(load(&text, Some("main"), 1_005_000.0), Some(place()));
        let watcher = Place { token: String::new(), spectate: true, follow: Some(7), ..place() };
        assert_eq!(load(&save(&watcher, 5.0), Some("main"), 6.0), Some(watcher));
    }

    #[test]
    fn another_room_an_old_save_or_garbage_joins_afresh() {
        let text = save(&place(), 1_000_000.0);
        assert_eq!(load(&text, Some("other"), 1_000_001.0), None, "another room");
        assert_eq!(load(&text, None, 1_000_001.0), None, "no room in the link");
        assert_eq!(load(&text, Some("main"), 1_000_000.0 + MAX_AGE_MS), None, "too old");
        assert_eq!(load(&text, Some("main"), 999_000.0), None, "from the future (a clock set back)");
        for garbage in ["", "x", "12\nmain", "nan\nmain\nt\n0\n", "1.5\nmain\nt\n0\n"] {
            assert_eq!(load(garbage, Some("main"), 13.0), None, "{garbage:?}");
        }
    }
}
