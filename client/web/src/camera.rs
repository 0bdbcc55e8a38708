//! The camera: fits the whole arena into the canvas below the HUD strip, centred, in CSS pixels
//! (the renderer scales by `devicePixelRatio` separately so lines stay crisp).

use glam::Vec2;

/// Space left around the arena, in CSS pixels.
pub const MARGIN_PX: f32 = 12.0;
/// Space kept free at the top for the HUD (`.hud` in style.css), in CSS pixels.
pub const HUD_PX: f32 = 44.0;

/// World → screen mapping: `screen = offset + world * scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// CSS pixels per world unit.
    pub scale: f32,
    /// Screen position of the world origin (the arena's top-left corner).
    pub offset: Vec2,
}

impl Camera {
    /// The largest uniform scale that shows all of `arena` inside `viewport` (both sizes) below
    /// the HUD, centred in the space left.
    pub fn fit(viewport: Vec2, arena: Vec2) -> Camera {
        let top_left = Vec2::new(MARGIN_PX, HUD_PX);
        let room = (viewport - top_left - Vec2::splat(MARGIN_PX)).max(Vec2::ONE);
        let arena = arena.max(Vec2::ONE);
        let scale = (room.x / arena.x).min(room.y / arena.y);
        Camera { scale, offset: top_left + (room - arena * scale) * 0.5 }
    }

    /// Where a world point appears on screen.
    pub fn to_screen(&self, world: Vec2) -> Vec2 {
        self.offset + world * self.scale
    }

    /// Which world point is under a screen point.
    pub fn to_world(&self, screen: Vec2) -> Vec2 {
        (screen - self.offset) / self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_viewport_fits_height_below_the_hud_and_centres() {
        let cam = Camera::fit(Vec2::new(2000.0, 1056.0), Vec2::new(1600.0, 1000.0));
        assert!((cam.scale - 1.0).abs() < 1e-6);
        assert_eq!(cam.to_screen(Vec2::ZERO), Vec2::new(200.0, 44.0));
        assert_eq!(cam.to_screen(Vec2::new(1600.0, 1000.0)), Vec2::new(1800.0, 1044.0));
    }

    #[test]
    fn tall_viewport_fits_width() {
        let cam = Camera::fit(Vec2::new(424.0, 900.0), Vec2::new(1600.0, 1000.0));
        assert!((cam.scale - 0.25).abs() < 1e-6);
        assert_eq!(cam.to_screen(Vec2::ZERO).x, 12.0);
        // Centred vertically in the space under the HUD.
        assert_eq!(cam.to_screen(Vec2::ZERO).y, 44.0 + (900.0 - 44.0 - 12.0 - 250.0) / 2.0);
    }

    #[test]
    fn screen_and_world_round_trip() {
        let cam = Camera::fit(Vec2::new(1280.0, 720.0), Vec2::new(1600.0, 1000.0));
        let p = Vec2::new(321.0, 654.0);
        assert!((cam.to_world(cam.to_screen(p)) - p).length() < 1e-3);
    }

    #[test]
    fn degenerate_sizes_stay_finite() {
        let cam = Camera::fit(Vec2::ZERO, Vec2::ZERO);
        assert!(cam.scale.is_finite() && cam.scale > 0.0);
        assert!(cam.offset.is_finite());
    }
}
