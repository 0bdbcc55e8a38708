//! Text for the HUD (`#status`, `#ping`, `#players`). Tests read `#status` over WebDriver, so it
//! always contains the state's keyword: "connecting", "joining", "playing" or "Disconnected".

use skirmish_client::ConnState;

/// The status line for a connection state.
pub fn status_text(state: &ConnState, name: &str, room: &str) -> String {
    match state {
        ConnState::Connecting => "connecting…".to_owned(),
        ConnState::Joining => "joining…".to_owned(),
        ConnState::Playing => format!("playing as {name} in room {room}"),
        ConnState::Closed { code, reason } => closed_text(*code, reason),
    }
}

/// "Disconnected (1012: server restarting)"; browsers give 1006 and no reason when the
/// connection dropped without a close frame, so that case gets words of its own.
pub fn closed_text(code: u16, reason: &str) -> String {
    match (code, reason.trim()) {
        (1006, "") => "Disconnected (1006: connection lost)".to_owned(),
        (code, "") => format!("Disconnected ({code})"),
        (code, reason) => format!("Disconnected ({code}: {reason})"),
    }
}

/// The ping display.
pub fn ping_text(rtt_ms: Option<f64>) -> String {
    match rtt_ms {
        // Rounded through an integer: float formatting would add kilobytes to the wasm.
        Some(ms) => format!("ping {} ms", ms.max(0.0).round() as u64),
        None => "ping – ms".to_owned(),
    }
}

/// The player count display.
pub fn players_text(count: usize) -> String {
    match count {
        1 => "1 player".to_owned(),
        n => format!("{n} players"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_the_state() {
        assert!(status_text(&ConnState::Playing, "Ann", "main").contains("playing"));
        let closed = ConnState::Closed { code: 1012, reason: "server restarting".into() };
        assert_eq!(status_text(&closed, "Ann", "main"), "Disconnected (1012: server restarting)");
        assert_eq!(closed_text(1006, ""), "Disconnected (1006: connection lost)");
        assert_eq!(closed_text(1000, " "), "Disconnected (1000)");
    }

    #[test]
    fn ping_and_players() {
        assert_eq!(ping_text(Some(23.4)), "ping 23 ms");
        assert_eq!(ping_text(None), "ping – ms");
        assert_eq!(players_text(1), "1 player");
        assert_eq!(players_text(3), "3 players");
    }
}
