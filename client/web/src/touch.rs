//! Twin-stick touch controls for phones: a finger on the left half of the screen is a virtual
//! stick (where it lands is the centre, the drag is the direction); a finger on the right half
//! aims and fires for as long as it touches. Plain state fed with pointer positions in CSS pixels.

use glam::Vec2;

/// Drag distance, in CSS pixels, that means full speed.
pub const STICK_RADIUS_PX: f32 = 56.0;
/// Stick deflection (fraction of the radius) ignored, so a resting thumb does not drift.
pub const DEAD_ZONE: f32 = 0.15;
/// Drag distance on the aim side, in CSS pixels, before the drag (rather than the touch point)
/// sets the aim.
pub const AIM_DRAG_PX: f32 = 14.0;

/// One finger: which pointer, where it landed and where it is now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pad {
    /// The `PointerEvent.pointerId`.
    pub id: i32,
    /// Where the finger landed.
    pub origin: Vec2,
    /// Where the finger is now.
    pub at: Vec2,
}

/// Both virtual sticks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Touch {
    /// The movement finger (left half).
    pub stick: Option<Pad>,
    /// The aim-and-fire finger (right half).
    pub aim: Option<Pad>,
}

impl Touch {
    /// A finger landed at `at` on a window `width` pixels wide; returns false when both halves
    /// already have a finger (the extra one is ignored).
    pub fn down(&mut self, id: i32, at: Vec2, width: f32) -> bool {
        let slot = if at.x < width / 2.0 { &mut self.stick } else { &mut self.aim };
        if slot.is_some() {
            return false;
        }
        *slot = Some(Pad { id, origin: at, at });
        true
    }

    /// Finger `id` moved to `at`.
    pub fn moved(&mut self, id: i32, at: Vec2) {
        for pad in [&mut self.stick, &mut self.aim].into_iter().flatten() {
            if pad.id == id {
                pad.at = at;
            }
        }
    }

    /// Finger `id` lifted (or the browser cancelled it).
    pub fn up(&mut self, id: i32) {
        for slot in [&mut self.stick, &mut self.aim] {
            if slot.is_some_and(|p| p.id == id) {
                *slot = None;
            }
        }
    }

    /// The movement stick: length 0 to 1, zero inside the dead zone.
    pub fn stick(&self) -> Vec2 {
        let Some(pad) = self.stick else { return Vec2::ZERO };
        let d = (pad.at - pad.origin) / STICK_RADIUS_PX;
        let len = d.length();
        if len < DEAD_ZONE {
            Vec2::ZERO
        } else if len > 1.0 {
            d / len
        } else {
            d
        }
    }

    /// True while the aim finger touches.
    pub fn firing(&self) -> bool {
        self.aim.is_some()
    }

    /// The direction to aim in: along the aim finger's drag once it moved far enough, else from
    /// `ship` (our ship on screen) to the finger.
    pub fn aim_direction(&self, ship: Option<Vec2>) -> Option<Vec2> {
        let pad = self.aim?;
        let drag = pad.at - pad.origin;
        if drag.length() >= AIM_DRAG_PX { Some(drag) } else { ship.map(|s| pad.at - s) }
    }

    /// True while any finger is down.
    pub fn active(&self) -> bool {
        self.stick.is_some() || self.aim.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: f32 = 800.0;

    #[test]
    fn the_left_finger_is_a_stick_around_where_it_landed() {
        let mut t = Touch::default();
        assert!(t.down(1, Vec2::new(100.0, 300.0), W));
        assert_eq!(t.stick(), Vec2::ZERO);
        t.moved(1, Vec2::new(100.0 + STICK_RADIUS_PX / 2.0, 300.0));
        assert_eq!(t.stick(), Vec2::new(0.5, 0.0));
        t.moved(1, Vec2::new(100.0, 300.0 + 5.0 * STICK_RADIUS_PX));
        assert_eq!(t.stick(), Vec2::new(0.0, 1.0), "capped at full speed");
        t.moved(1, Vec2::new(103.0, 300.0));
        assert_eq!(t.stick(), Vec2::ZERO, "dead zone");
        assert!(!t.firing());
        t.up(1);
        assert!(!t.active());
    }

    #[test]
    fn the_right_finger_aims_and_fires_while_down() {
        let mut t = Touch::default();
        let ship = Some(Vec2::new(400.0, 300.0));
        assert!(t.down(2, Vec2::new(600.0, 400.0), W));
        assert!(t.firing());
        assert_eq!(t.aim_direction(ship), Some(Vec2::new(200.0, 100.0)), "a tap aims at the finger");
        t.moved(2, Vec2::new(600.0, 340.0));
        assert_eq!(t.aim_direction(ship), Some(Vec2::new(0.0, -60.0)), "a drag aims along itself");
        t.up(2);
        assert!(!t.firing());
        assert_eq!(t.aim_direction(ship), None);
    }

    #[test]
    fn two_fingers_work_at_once_and_extra_ones_are_ignored() {
        let mut t = Touch::default();
        assert!(t.down(1, Vec2::new(50.0, 50.0), W));
        assert!(t.down(2, Vec2::new(700.0, 50.0), W));
        assert!(!t.down(3, Vec2::new(60.0, 60.0), W));
        t.moved(3, Vec2::new(0.0, 0.0));
        t.up(3);
        assert_eq!(t.stick.map(|p| p.id), Some(1));
        t.moved(1, Vec2::new(50.0 + STICK_RADIUS_PX, 50.0));
        assert_eq!(t.stick(), Vec2::X);
        assert!(t.firing());
    }
}
