//! Keyboard state to a movement stick and button bits. Keys are matched by physical position
//! (`KeyboardEvent.code`, so WASD works on AZERTY too) with `key` as a fallback.

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
/// Fire (space or the primary mouse button).
pub const FIRE: Held = 16;

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

/// The movement stick for the held keys: each axis -1, 0 or 1 (opposite keys cancel). The
/// server scales diagonals down to length 1.
pub fn stick(held: Held) -> Vec2 {
    let axis = |neg: Held, pos: Held| f32::from(u8::from(held & pos != 0)) - f32::from(u8::from(held & neg != 0));
    Vec2::new(axis(LEFT, RIGHT), axis(UP, DOWN))
}

/// The `Input::buttons` bits for the held controls.
pub fn buttons(held: Held) -> u8 {
    if held & FIRE != 0 { Input::FIRE } else { 0 }
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
    fn stick_follows_held_keys() {
        assert_eq!(stick(0), Vec2::ZERO);
        assert_eq!(stick(RIGHT), Vec2::new(1.0, 0.0));
        assert_eq!(stick(UP | LEFT), Vec2::new(-1.0, -1.0));
        assert_eq!(stick(LEFT | RIGHT | DOWN), Vec2::new(0.0, 1.0));
        assert_eq!(buttons(FIRE | UP), Input::FIRE);
        assert_eq!(buttons(UP), 0);
    }
}
