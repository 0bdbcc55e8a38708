//! When and how soon the page reconnects by itself after losing its connection: after the
//! connection broke or the server went away or restarted, with exponential backoff and jitter
//! (so a restarted server is not hit by every page at the same instant), and never after the
//! server closed it for cause (a kick, a protocol error), where trying again would only repeat
//! the close.

/// The first retry waits about this long.
const FIRST_DELAY_MS: f64 = 500.0;
/// Retries never wait longer than this, jitter included: well inside the 20 s a server keeps
/// a lost player's seat, so the page is back in it soon after the network is.
const MAX_DELAY_MS: f64 = 10_000.0;

/// A page that has received no snapshot for this long since it connected or its last one (the
/// server sends 30 a second) takes its link for dead: a link that died without a word (dead
/// wifi, a NAT that forgot the connection) closes nothing for minutes, and a room that stopped
/// ticking still has its pings answered. It closes the socket itself, with [`SILENT_CODE`],
/// which a server that still hears keeps the seat for, and reconnects.
pub const SERVER_SILENT_MS: f64 = 5000.0;
/// The close code and reason the page gives up a silent link with.
pub const SILENT_CODE: u16 = 4000;
pub const SILENT_REASON: &str = "no data from the server";
/// The close code and reason a page gives its connection up with when the browser hides it
/// for good or freezes it (the back/forward cache, a phone's background tab): its socket would
/// otherwise stay open, pings answered by the browser, its ship in play with nobody at the
/// controls. The server keeps the seat; the page, shown again, reconnects.
pub const AWAY_CODE: u16 = 4001;
pub const AWAY_REASON: &str = "page hidden";

/// Whether a connection closed with `code` and `reason` is retried by itself: lost (1006),
/// server going away (1001), internal error (1011), restarting (1012), try later (1013), our
/// own giving up on a silent link ([`SILENT_CODE`]) or a hidden page ([`AWAY_CODE`]), and the
/// server's 1008s for a link that failed (a heartbeat timeout, a stalled send, acknowledgements
/// that stopped: PROTOCOL.md), for which it keeps the seat: the page that read one after its
/// link stalled both ways waited for a click while its seat ran out. Not after our own leave
/// (1000) or a close for cause (1002, 1003, 1007, 1009, the other 1008s).
pub fn retries(code: u16, reason: &str) -> bool {
    matches!(code, 1001 | 1006 | 1011 | 1012 | 1013 | SILENT_CODE | AWAY_CODE)
        || code == 1008 && ["heartbeat", "not reading", "send stalled"].iter().any(|lost| reason.starts_with(lost))
}

/// How long to wait before retry number `attempt` (0 first): doubling from half a second up to
/// ten, spread down to half of that by `random` (uniform in [0, 1)), so never over ten seconds.
pub fn delay_ms(attempt: u32, random: f64) -> f64 {
    let base = (FIRST_DELAY_MS * 2f64.powi(attempt.min(16) as i32)).min(MAX_DELAY_MS);
    base * (0.5 + random.clamp(0.0, 1.0) / 2.0)
}

/// The status line while a retry waits: when the next try comes first (the status may be cut
/// short on a narrow screen), then why the connection ended (`closed`, as
/// `hud::closed_text` says it).
pub fn waiting_text(closed: &str, delay_ms: f64) -> String {
    // Whole seconds, rounded up, through an integer: float formatting costs wasm size.
    let secs = (delay_ms / 1000.0).ceil().max(1.0) as u64;
    let why = closed.strip_prefix("Disconnected ").unwrap_or(closed);
    format!("Reconnecting in {secs} s… {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lost_connections_and_server_departures_are_retried() {
        for code in [1001, 1006, 1011, 1012, 1013, SILENT_CODE, AWAY_CODE] {
            assert!(retries(code, ""), "{code}");
        }
        for code in [1000, 1002, 1003, 1007, 1008, 1009] {
            assert!(!retries(code, ""), "{code}");
        }
        // The server's closes for a failed link, whose seat it keeps (server/src/close.rs).
        for lost in [
            "heartbeat timeout",
            "not reading: outgoing queue full",
            "send stalled: client is not reading",
            "not reading: no newer snapshot acknowledged in the last 150 snapshots",
            "not reading: reading too slowly, the newest snapshot acknowledged is 5 s old",
        ] {
            assert!(retries(1008, lost), "{lost}");
            assert!(!retries(1007, lost), "{lost}");
        }
        for cause in ["kicked by the host", "flooding: too many messages", "room den is full"] {
            assert!(!retries(1008, cause), "{cause}");
        }
    }

    #[test]
    fn delays_double_up_to_a_cap_and_spread_around_it() {
        let most: Vec<f64> = (0..8).map(|n| delay_ms(n, 1.0)).collect();
        assert_eq!(most, [500.0, 1000.0, 2000.0, 4000.0, 8000.0, 10_000.0, 10_000.0, 10_000.0]);
        assert_eq!(delay_ms(0, 0.0), 250.0);
        assert_eq!(delay_ms(3, 0.5), 3000.0);
        assert_eq!(delay_ms(u32::MAX, 1.0), 10_000.0, "no overflow");
        // Jitter never takes a wait past the cap (±50 % took it to 15 s, and the tries before
        // it past the 20 s a seat is kept), and still spreads the waits under it.
        assert_eq!(delay_ms(9, 0.0), 5000.0);
        assert!(delay_ms(9, 0.999_999) < 10_000.0);
    }

    #[test]
    fn the_status_says_when() {
        let closed = "Disconnected (1012: server restarting)";
        assert_eq!(waiting_text(closed, 1200.0), "Reconnecting in 2 s… (1012: server restarting)");
        assert_eq!(waiting_text(closed, 10.0), "Reconnecting in 1 s… (1012: server restarting)");
    }
}
