//! Keyboard state to a movement stick and button bits, and the keys that drive the page rather
//! than the ship. Keys are matched by physical position (`KeyboardEvent.code`, so WASD works on
//! AZERTY too) with `key` as a fallback.

use glam::Vec2;
use skirmish_shared::Input;

/// A set of held controls, one bit each.
pub type Held = u8;

/// Steer up.
pub const UP: Held = 1;
/// Steer down.
pub const DOWN: Held = 2;
/// Steer left.
pub const LEFT: Held = 4;
/// Steer right.
pub const RIGHT: Held = 8;
/// Fire, from the keyboard (Space).
pub const FIRE: Held = 16;
/// Fire, from the primary mouse button: a bit of its own, so releasing Space (say, typed in the
/// chat box) does not stop the mouse's fire, nor the other way round.
pub const CLICK: Held = 32;

/// The control a key drives, from `KeyboardEvent.code` and `.key`.
pub fn key_control(code: &str, key: &str) -> Option<Held> {
    let by_code = match code {
        "KeyW" | "ArrowUp" => Some(UP),
        "KeyS" | "ArrowDown" => Some(DOWN),
        "KeyA" | "ArrowLeft" => Some(LEFT),
        "KeyD" | "ArrowRight" => Some(RIGHT),
        "Space" => Some(FIRE),
        _ => None,
    };
    // Some synthetic events (and old browsers) leave `code` empty.
    by_code.or(match key {
        "w" | "W" | "ArrowUp" | "Up" => Some(UP),
        "s" | "S" | "ArrowDown" | "Down" => Some(DOWN),
        "a" | "A" | "ArrowLeft" | "Left" => Some(LEFT),
        "d" | "D" | "ArrowRight" | "Right" => Some(RIGHT),
        " " | "Spacebar" => Some(FIRE),
        _ => None,
    })
}

/// Keys that act on the page instead of steering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Enter: open the chat box (and, inside it, send).
    Chat,
    /// Tab, held: show the scoreboard.
    Scoreboard,
    /// M: sound on or off.
    Mute,
    /// Spectators: watch the previous player (Q, ←).
    PrevTarget,
    /// Spectators: watch the next player (E, →).
    NextTarget,
    /// F3: show or hide the network overlay.
    NetStats,
}

/// The page command for a key; `spectating` frees the arrows, which otherwise steer.
pub fn key_command(code: &str, key: &str, spectating: bool) -> Option<Command> {
    match (code, key) {
        ("Enter" | "NumpadEnter", _) | ("", "Enter") => Some(Command::Chat),
        ("Tab", _) | ("", "Tab") => Some(Command::Scoreboard),
        ("KeyM", _) | ("", "m" | "M") => Some(Command::Mute),
        ("KeyQ", _) | ("", "q" | "Q") => Some(Command::PrevTarget),
        ("KeyE", _) | ("", "e" | "E") => Some(Command::NextTarget),
        ("F3", _) | ("", "F3") => Some(Command::NetStats),
        ("ArrowLeft", _) if spectating => Some(Command::PrevTarget),
        ("ArrowRight", _) if spectating => Some(Command::NextTarget),
        _ => None,
    }
}

/// The movement stick for the held keys: each axis -1, 0 or 1 (opposite keys cancel). The
/// server scales diagonals down to length 1.
pub fn stick(held: Held) -> Vec2 {
    let axis = |neg: Held, pos: Held| f32::from(u8::from(held & pos != 0)) - f32::from(u8::from(held & neg != 0));
    Vec2::new(axis(LEFT, RIGHT), axis(UP, DOWN))
}

/// The `Input::buttons` bits for the held controls.
pub fn buttons(held: Held) -> u8 {
    if held & (FIRE | CLICK) != 0 { Input::FIRE } else { 0 }
}

/// The aim angle (radians, 0 = +x, clockwise on screen) along `d`, or `None` for a zero vector.
pub fn angle(d: Vec2) -> Option<f32> {
    (d.length_squared() > 1e-6).then(|| d.y.atan2(d.x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasd_and_arrows_map_to_the_same_controls() {
        assert_eq!(key_control("KeyD", "d"), Some(RIGHT));
        assert_eq!(key_control("ArrowRight", "ArrowRight"), Some(RIGHT));
        assert_eq!(key_control("", "D"), Some(RIGHT));
        // AZERTY: the key labelled Z sits where W is, and steers up.
        assert_eq!(key_control("KeyW", "z"), Some(UP));
        assert_eq!(key_control("KeyQ", "q"), None);
        assert_eq!(key_control("Space", " "), Some(FIRE));
    }

    #[test]
    fn page_keys_and_spectator_arrows() {
        assert_eq!(key_command("Enter", "Enter", false), Some(Command::Chat));
        assert_eq!(key_command("Tab", "Tab", false), Some(Command::Scoreboard));
        assert_eq!(key_command("KeyM", "m", false), Some(Command::Mute));
        assert_eq!(key_command("KeyQ", "a", false), Some(Command::PrevTarget));
        assert_eq!(key_command("KeyE", "e", true), Some(Command::NextTarget));
        assert_eq!(key_command("F3", "F3", false), Some(Command::NetStats));
        assert_eq!(key_command("ArrowRight", "ArrowRight", false), None, "arrows steer players");
        assert_eq!(key_command("ArrowRight", "ArrowRight", true), Some(Command::NextTarget));
        assert_eq!(key_command("KeyW", "w", true), None);
    }

    #[test]
    fn stick_follows_held_keys() {
        assert_eq!(stick(0), Vec2::ZERO);
        assert_eq!(stick(RIGHT), Vec2::new(1.0, 0.0));
        assert_eq!(stick(UP | LEFT), Vec2::new(-1.0, -1.0));
        assert_eq!(stick(LEFT | RIGHT | DOWN), Vec2::new(0.0, 1.0));
        assert_eq!(buttons(FIRE | UP), Input::FIRE);
        assert_eq!(buttons(UP), 0);
        assert_eq!(buttons(CLICK), Input::FIRE);
        assert_eq!(buttons(CLICK & !FIRE), Input::FIRE, "releasing Space leaves the mouse firing");
    }

    #[test]
    fn angles_follow_screen_axes() {
        assert_eq!(angle(Vec2::X), Some(0.0));
        let down = angle(Vec2::new(0.0, 5.0)).unwrap_or_default();
        assert!((down - std::f32::consts::FRAC_PI_2).abs() < 1e-6, "+y is down the screen: {down}");
        assert_eq!(angle(Vec2::ZERO), None);
    }
}
