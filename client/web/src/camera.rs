//! The camera and the minimap frame: a fixed zoom that shows about [`VIEW_WORLD_UNITS`] across
//! the window, following a point (our ship, or the player a spectator watches) and clamped to the
//! map. All in CSS pixels; the renderer scales by `devicePixelRatio` separately so lines stay crisp.

use glam::Vec2;
// Shared with the server, which builds each player's area of interest around the same span.
use skirmish_shared::consts::{VIEW_EDGE_MARGIN_UNITS as EDGE_MARGIN, VIEW_WORLD_UNITS};
/// Minimap width in CSS pixels on a wide screen; narrower windows get a fraction of their width.
pub const MINIMAP_MAX_PX: f32 = 200.0;
/// Gap between the minimap and the window's corner, in CSS pixels.
pub const MINIMAP_GAP_PX: f32 = 12.0;

/// World → screen mapping: `screen = offset + world * scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// CSS pixels per world unit.
    pub scale: f32,
    /// Screen position of the world origin (the arena's top-left corner).
    pub offset: Vec2,
}

impl Camera {
    /// The fixed zoom for a window of `view` CSS pixels.
    pub fn zoom_for(view: Vec2) -> f32 {
        (view.x.max(view.y) / VIEW_WORLD_UNITS).max(0.05)
    }

    /// A camera centred on `target` at the fixed zoom, clamped so it never looks more than
    /// [`EDGE_MARGIN`] outside an `arena` bigger than the window; a smaller arena is centred.
    pub fn follow(view: Vec2, arena: Vec2, target: Vec2) -> Camera {
        let scale = Camera::zoom_for(view);
        let half = view / (2.0 * scale);
        let axis = |target: f32, half: f32, size: f32| {
            let (lo, hi) = (half - EDGE_MARGIN, size + EDGE_MARGIN - half);
            if lo <= hi { target.clamp(lo, hi) } else { size / 2.0 }
        };
        let centre = Vec2::new(axis(target.x, half.x, arena.x), axis(target.y, half.y, arena.y));
        Camera { scale, offset: view / 2.0 - centre * scale }
    }

    /// Where a world point appears on screen.
    pub fn to_screen(&self, world: Vec2) -> Vec2 {
        self.offset + world * self.scale
    }

    /// Which world point is under a screen point.
    pub fn to_world(&self, screen: Vec2) -> Vec2 {
        (screen - self.offset) / self.scale
    }

    /// The part of the world a `view`-sized window shows: its top-left and bottom-right corners
    /// in world units (they may lie past the arena's edges).
    pub fn world_rect(&self, view: Vec2) -> (Vec2, Vec2) {
        (self.to_world(Vec2::ZERO), self.to_world(view))
    }

    /// True when a circle of `radius` world units at `world` may show in a `view`-sized window;
    /// everything else is skipped when drawing.
    pub fn sees(&self, view: Vec2, world: Vec2, radius: f32) -> bool {
        let p = self.to_screen(world);
        let r = radius * self.scale;
        p.x + r >= 0.0 && p.y + r >= 0.0 && p.x - r <= view.x && p.y - r <= view.y
    }
}

/// Where the minimap sits: its top-left corner and its pixels per world unit. Bottom-right
/// corner, as wide as [`MINIMAP_MAX_PX`] or about a quarter of a small window's width or height,
/// the arena's aspect kept.
pub fn minimap_frame(view: Vec2, arena: Vec2) -> (Vec2, f32) {
    // Wide but short windows (a phone held sideways) limit it by height instead.
    let aspect = arena.x.max(1.0) / arena.y.max(1.0);
    let width = MINIMAP_MAX_PX.min(view.x * 0.28).min(view.y * 0.28 * aspect).max(60.0);
    let scale = width / arena.x.max(1.0);
    let size = arena.max(Vec2::ONE) * scale;
    (view - size - Vec2::splat(MINIMAP_GAP_PX), scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: Vec2 = Vec2::new(1400.0, 700.0);
    const ARENA: Vec2 = Vec2::new(3000.0, 2000.0);

    #[test]
    fn the_zoom_shows_a_fixed_span_of_the_world() {
        assert_eq!(Camera::zoom_for(VIEW), 1.0);
        assert_eq!(Camera::zoom_for(Vec2::new(700.0, 350.0)), 0.5);
        // A phone held upright sees the same span along its long side.
        assert_eq!(Camera::zoom_for(Vec2::new(350.0, 700.0)), 0.5);
        assert!(Camera::zoom_for(Vec2::ZERO) > 0.0);
    }

    #[test]
    fn the_target_is_centred_away_from_the_edges() {
        let cam = Camera::follow(VIEW, ARENA, Vec2::new(1500.0, 1000.0));
        assert_eq!(cam.to_screen(Vec2::new(1500.0, 1000.0)), VIEW / 2.0);
        let p = Vec2::new(321.0, 654.0);
        assert!((cam.to_world(cam.to_screen(p)) - p).length() < 1e-3);
        // The window shows VIEW_WORLD_UNITS across its longer side, centred on the target.
        let (lo, hi) = cam.world_rect(VIEW);
        assert_eq!((lo, hi), (Vec2::new(800.0, 650.0), Vec2::new(2200.0, 1350.0)));
    }

    #[test]
    fn near_an_edge_the_camera_stops_a_margin_past_it() {
        let cam = Camera::follow(VIEW, ARENA, Vec2::new(10.0, 1990.0));
        // The arena's left edge shows EDGE_MARGIN in from the window's left side…
        assert_eq!(cam.to_screen(Vec2::ZERO).x, EDGE_MARGIN);
        // …and its bottom edge EDGE_MARGIN up from the window's bottom.
        assert_eq!(cam.to_screen(ARENA).y, VIEW.y - EDGE_MARGIN);
    }

    /// What any window shows lies inside the area of interest the server sends (around
    /// `view_centre`), near the walls too, where the camera stops following the ship.
    #[test]
    fn every_window_shows_only_what_the_view_holds() {
        use skirmish_shared::consts::{AOI_HALF_EXTENT, view_centre};
        let windows =
            [(1400.0, 700.0), (1920.0, 1080.0), (390.0, 844.0), (844.0, 390.0), (800.0, 800.0), (3440.0, 1440.0)];
        let arenas = [ARENA, Vec2::new(12_000.0, 8_000.0), Vec2::new(1000.0, 1200.0), Vec2::new(6000.0, 1000.0)];
        for (w, h) in windows {
            let view = Vec2::new(w, h);
            for arena in arenas {
                for fx in [0.0, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99, 1.0] {
                    for fy in [0.0, 0.02, 0.2, 0.5, 0.8, 1.0] {
                        let ship = arena * Vec2::new(fx, fy);
                        let (lo, hi) = Camera::follow(view, arena, ship).world_rect(view);
                        let centre = view_centre(ship, arena);
                        let (min, max) = (centre - AOI_HALF_EXTENT, centre + AOI_HALF_EXTENT);
                        let slack = 1e-2;
                        assert!(
                            lo.x >= min.x - slack
                                && lo.y >= min.y - slack
                                && hi.x <= max.x + slack
                                && hi.y <= max.y + slack,
                            "window {view} on arena {arena}, ship at {ship}: it shows {lo}..{hi}, the view holds {min}..{max}"
                        );
                        // The ship itself is inside its view.
                        assert!((ship - centre).abs().max_element() <= AOI_HALF_EXTENT, "{ship} {centre}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_arena_smaller_than_the_window_is_centred() {
        let small = Vec2::new(800.0, 2000.0);
        let cam = Camera::follow(VIEW, small, Vec2::new(0.0, 1000.0));
        assert_eq!(cam.to_screen(Vec2::new(400.0, 0.0)).x, VIEW.x / 2.0);
    }

    #[test]
    fn culling_keeps_what_overlaps_the_window() {
        let cam = Camera::follow(VIEW, ARENA, Vec2::new(1500.0, 1000.0));
        assert!(cam.sees(VIEW, Vec2::new(1500.0, 1000.0), 1.0));
        assert!(cam.sees(VIEW, Vec2::new(795.0, 1000.0), 10.0), "partly inside");
        assert!(!cam.sees(VIEW, Vec2::new(700.0, 1000.0), 10.0));
        assert!(!cam.sees(VIEW, Vec2::new(1500.0, 1400.0), 10.0));
    }

    #[test]
    fn the_minimap_sits_in_the_bottom_right_corner_with_the_arena_aspect() {
        let (at, scale) = minimap_frame(Vec2::new(1280.0, 720.0), ARENA);
        assert!((scale * ARENA.x - MINIMAP_MAX_PX).abs() < 1e-3);
        let corner = at + ARENA * scale;
        assert!((corner - (Vec2::new(1280.0, 720.0) - Vec2::splat(MINIMAP_GAP_PX))).length() < 1e-3);
        let (_, phone) = minimap_frame(Vec2::new(360.0, 640.0), ARENA);
        assert!(phone * ARENA.x < 110.0, "a narrow window gets a smaller map");
        let (_, sideways) = minimap_frame(Vec2::new(844.0, 390.0), ARENA);
        assert!(sideways * ARENA.y <= 390.0 * 0.28 + 1e-3, "a short window too");
    }
}
