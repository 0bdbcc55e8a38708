//! Canvas 2D drawing of one frame: the arena floor and edge, obstacles, pickups, bullet streaks,
//! ships (rotated arrows with names and health), explosions, the touch sticks and the minimap
//! (the radar's blips of ships out of view under the ships in view, drawn precisely).
//! Sizes are in CSS pixels; the caller has already scaled the context by `devicePixelRatio`.
//! Names are drawn with `fillText`: canvas text is inert, so a hostile name stays text.

use std::f64::consts::TAU;

use glam::Vec2;
use skirmish_client::{DrawBullet, DrawShip};
use skirmish_shared::tuning::{PICKUP_RADIUS, SHIP_MAX_HEALTH, SHIP_RADIUS};
use skirmish_shared::{PickupKind, PickupState, PlayerId, PlayerState, Rect};
use web_sys::CanvasRenderingContext2d;

use crate::camera::{self, Camera};
use crate::hud::css_colour;
use crate::minimap::Blip;
use crate::touch::{STICK_RADIUS_PX, Touch};

/// Grid spacing in world units, and every how many lines one is brighter.
const GRID_WORLD: f32 = 100.0;
const GRID_MAJOR_EVERY: i32 = 5;
const PAGE_BG: &str = "#05070c";
const ARENA_BG: &str = "#0d1320";
const GRID: &str = "#151e30";
const GRID_MAJOR: &str = "#1d2940";
const EDGE: &str = "#5a7fd6";
const OBSTACLE: &str = "#1a2438";
const OBSTACLE_EDGE: &str = "#3f5a8f";
const OBSTACLE_TOP: &str = "#24314b";
const NAME: &str = "#d4deee";
const HEALTH_GOOD: &str = "#5be37d";
const HEALTH_LOW: &str = "#ff6b6b";
const HEALTH_GREEN: &str = "#3ee06a";
const RAPID_YELLOW: &str = "#ffd23c";
/// Radar blips: ships out of view, known only to the cell.
const RADAR_BLIP: &str = "#9fb4e6";
/// Directions debris flies in: unit vectors, 30° apart (literals: no trigonometry in the wasm).
const DEBRIS: [(f64, f64); 12] = [
    (1.0, 0.0),
    (0.866, 0.5),
    (0.5, 0.866),
    (0.0, 1.0),
    (-0.5, 0.866),
    (-0.866, 0.5),
    (-1.0, 0.0),
    (-0.866, -0.5),
    (-0.5, -0.866),
    (0.0, -1.0),
    (0.5, -0.866),
    (0.866, -0.5),
];
/// Length of a bullet's streak, in seconds of its flight.
const STREAK_S: f32 = 0.045;

/// Everything one frame shows.
pub struct Scene<'a> {
    /// Canvas size in CSS pixels.
    pub view: Vec2,
    pub cam: Camera,
    pub arena: Vec2,
    pub obstacles: &'a [Rect],
    pub ships: &'a [DrawShip],
    pub bullets: &'a [DrawBullet],
    pub pickups: &'a [PickupState],
    /// Explosions: position, colour, progress 0 to 1.
    pub blasts: &'a [(Vec2, u32, f32)],
    /// The ship the camera follows (ours, or the spectated one): ringed on the minimap.
    pub focus: Option<PlayerId>,
    /// Radar cells with ships outside the view, for the minimap.
    pub radar: &'a [Blip],
    /// Touch sticks to draw, once the player has used touch.
    pub touch: Option<Touch>,
    /// `performance.now()`, for pulsing.
    pub now_ms: f64,
    /// Draw the minimap (not before joining: there is no map yet).
    pub minimap: bool,
}

fn f(v: f32) -> f64 {
    f64::from(v)
}

/// A smooth 0 → 1 → 0 wave over each unit of `x`, for pulsing (a parabola per period rather than
/// a sine: it looks the same and keeps the sine code out of the download).
fn wave(x: f64) -> f64 {
    let p = x - x.floor();
    4.0 * p * (1.0 - p)
}

/// Draws one frame.
pub fn frame(ctx: &CanvasRenderingContext2d, s: &Scene) {
    ctx.set_fill_style_str(PAGE_BG);
    ctx.fill_rect(0.0, 0.0, f(s.view.x), f(s.view.y));
    floor(ctx, s);
    for rect in s.obstacles {
        obstacle(ctx, &s.cam, s.view, rect);
    }
    for p in s.pickups.iter().filter(|p| s.cam.sees(s.view, p.pos, PICKUP_RADIUS * 2.0)) {
        pickup(ctx, &s.cam, p, s.now_ms);
    }
    ctx.set_line_cap("round");
    for b in s.bullets.iter().filter(|b| s.cam.sees(s.view, b.pos, 40.0)) {
        bullet(ctx, &s.cam, b);
    }
    ctx.set_line_cap("butt");
    let alive = |ship: &&DrawShip| ship.state.alive() && s.cam.sees(s.view, ship.pos, SHIP_RADIUS * 4.0);
    // Our ship last, so it is never hidden under someone else's.
    for ship in s.ships.iter().filter(alive).filter(|x| !x.me).chain(s.ships.iter().filter(alive).filter(|x| x.me)) {
        draw_ship(ctx, &s.cam, ship, s.now_ms);
    }
    for &(pos, colour, t) in s.blasts {
        blast(ctx, &s.cam, pos, colour, t);
    }
    if let Some(touch) = &s.touch {
        sticks(ctx, touch);
    }
    if s.minimap {
        minimap(ctx, s);
    }
}

fn floor(ctx: &CanvasRenderingContext2d, s: &Scene) {
    let cam = &s.cam;
    let tl = cam.to_screen(Vec2::ZERO);
    let size = s.arena * cam.scale;
    ctx.set_fill_style_str(ARENA_BG);
    ctx.fill_rect(f(tl.x), f(tl.y), f(size.x), f(size.y));

    // Only the grid lines in view.
    let lo = cam.to_world(Vec2::ZERO).max(Vec2::ZERO);
    let hi = cam.to_world(s.view).min(s.arena);
    for major in [false, true] {
        ctx.set_stroke_style_str(if major { GRID_MAJOR } else { GRID });
        ctx.set_line_width(1.0);
        ctx.begin_path();
        let mut i = (lo.x / GRID_WORLD).ceil() as i32;
        while (i as f32) * GRID_WORLD < hi.x {
            if (i % GRID_MAJOR_EVERY == 0) == major {
                let x = f(cam.to_screen(Vec2::new(i as f32 * GRID_WORLD, 0.0)).x.round()) + 0.5;
                ctx.move_to(x, f(tl.y.max(0.0)));
                ctx.line_to(x, f((tl.y + size.y).min(s.view.y)));
            }
            i += 1;
        }
        let mut j = (lo.y / GRID_WORLD).ceil() as i32;
        while (j as f32) * GRID_WORLD < hi.y {
            if (j % GRID_MAJOR_EVERY == 0) == major {
                let y = f(cam.to_screen(Vec2::new(0.0, j as f32 * GRID_WORLD)).y.round()) + 0.5;
                ctx.move_to(f(tl.x.max(0.0)), y);
                ctx.line_to(f((tl.x + size.x).min(s.view.x)), y);
            }
            j += 1;
        }
        ctx.stroke();
    }

    // The edge: a glow band outside, a bright line on it.
    ctx.set_stroke_style_str("rgba(90,127,214,0.18)");
    ctx.set_line_width(10.0);
    ctx.stroke_rect(f(tl.x) - 5.0, f(tl.y) - 5.0, f(size.x) + 10.0, f(size.y) + 10.0);
    ctx.set_stroke_style_str(EDGE);
    ctx.set_line_width(2.5);
    ctx.stroke_rect(f(tl.x), f(tl.y), f(size.x), f(size.y));
}

fn obstacle(ctx: &CanvasRenderingContext2d, cam: &Camera, view: Vec2, rect: &Rect) {
    let (a, b) = (cam.to_screen(rect.min), cam.to_screen(rect.max));
    if b.x < 0.0 || b.y < 0.0 || a.x > view.x || a.y > view.y {
        return;
    }
    let (w, h) = (f(b.x - a.x), f(b.y - a.y));
    ctx.set_fill_style_str(OBSTACLE);
    ctx.fill_rect(f(a.x), f(a.y), w, h);
    // A lighter inset face reads as a raised block.
    let inset = f(6.0 * cam.scale).min(w / 4.0).min(h / 4.0);
    ctx.set_fill_style_str(OBSTACLE_TOP);
    ctx.fill_rect(f(a.x) + inset, f(a.y) + inset, w - 2.0 * inset, h - 2.0 * inset);
    ctx.set_stroke_style_str(OBSTACLE_EDGE);
    ctx.set_line_width(2.0);
    ctx.stroke_rect(f(a.x), f(a.y), w, h);
}

fn pickup(ctx: &CanvasRenderingContext2d, cam: &Camera, p: &PickupState, now_ms: f64) {
    let c = cam.to_screen(p.pos);
    let (x, y) = (f(c.x), f(c.y));
    let r = f(PICKUP_RADIUS * cam.scale).max(6.0);
    // A slow pulse (period 1.2 s) draws the eye without flicker.
    let pulse = wave(now_ms / 1200.0 + f64::from(p.id) * 0.37);
    let colour = match p.kind {
        PickupKind::Health => HEALTH_GREEN,
        PickupKind::RapidFire => RAPID_YELLOW,
    };
    ctx.set_global_alpha(0.18 + 0.14 * pulse);
    ctx.set_fill_style_str(colour);
    ctx.begin_path();
    let _ = ctx.arc(x, y, r * (1.5 + 0.25 * pulse), 0.0, TAU);
    ctx.fill();
    ctx.set_global_alpha(1.0);
    ctx.set_fill_style_str("#0b1120");
    ctx.set_stroke_style_str(colour);
    ctx.set_line_width(2.0);
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, TAU);
    ctx.fill();
    ctx.stroke();
    ctx.set_fill_style_str(colour);
    match p.kind {
        PickupKind::Health => {
            let (long, thick) = (r * 1.3, r * 0.42);
            ctx.fill_rect(x - long / 2.0, y - thick / 2.0, long, thick);
            ctx.fill_rect(x - thick / 2.0, y - long / 2.0, thick, long);
        }
        PickupKind::RapidFire => {
            // A lightning bolt, in units of r.
            const BOLT: [(f64, f64); 6] =
                [(0.15, -0.8), (-0.45, 0.1), (-0.02, 0.1), (-0.15, 0.8), (0.45, -0.1), (0.02, -0.1)];
            ctx.begin_path();
            for (i, (bx, by)) in BOLT.iter().enumerate() {
                let (px, py) = (x + bx * r, y + by * r);
                if i == 0 { ctx.move_to(px, py) } else { ctx.line_to(px, py) }
            }
            ctx.close_path();
            ctx.fill();
        }
    }
}

fn bullet(ctx: &CanvasRenderingContext2d, cam: &Camera, b: &DrawBullet) {
    let head = cam.to_screen(b.pos);
    let tail = cam.to_screen(b.pos - b.vel * STREAK_S);
    let colour = css_colour(b.colour);
    let width = f(3.5 * cam.scale).max(2.0);
    ctx.set_stroke_style_str(&colour);
    ctx.begin_path();
    ctx.move_to(f(tail.x), f(tail.y));
    ctx.line_to(f(head.x), f(head.y));
    // A wide faint stroke under a narrow bright one: a glowing tracer without canvas shadows,
    // which are slow.
    ctx.set_global_alpha(0.3);
    ctx.set_line_width(width * 2.6);
    ctx.stroke();
    ctx.set_global_alpha(1.0);
    ctx.set_line_width(width);
    ctx.stroke();
    // A white-hot tip keeps bullets visible on ships of the same colour.
    ctx.set_fill_style_str("#ffffff");
    ctx.begin_path();
    let _ = ctx.arc(f(head.x), f(head.y), width * 0.55, 0.0, TAU);
    ctx.fill();
}

fn draw_ship(ctx: &CanvasRenderingContext2d, cam: &Camera, ship: &DrawShip, now_ms: f64) {
    let p = cam.to_screen(ship.pos);
    // Never smaller than a few pixels, however small the window.
    let r = f((SHIP_RADIUS * cam.scale).max(6.0));
    let (px, py) = (f(p.x), f(p.y));
    let colour = css_colour(ship.colour);

    if ship.state.flags & PlayerState::RAPID_FIRE != 0 {
        // Rapid fire: a flickering yellow aura.
        let flicker = 0.3 + 0.5 * wave(now_ms / 380.0);
        ctx.set_global_alpha(flicker);
        ctx.set_stroke_style_str(RAPID_YELLOW);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let _ = ctx.arc(px, py, r * 1.55, 0.0, TAU);
        ctx.stroke();
        ctx.set_global_alpha(1.0);
    }

    // The hull: an arrowhead pointing along the aim. The canvas does the rotation, which keeps
    // trigonometry out of our code.
    ctx.save();
    let _ = ctx.translate(px, py);
    let _ = ctx.rotate(f(ship.aim));
    let hull = |ctx: &CanvasRenderingContext2d| {
        ctx.begin_path();
        ctx.move_to(r * 1.45, 0.0);
        ctx.line_to(-r * 0.95, -r * 0.95);
        ctx.line_to(-r * 0.45, 0.0);
        ctx.line_to(-r * 0.95, r * 0.95);
        ctx.close_path();
    };
    // Engine glow behind the notch.
    ctx.set_global_alpha(0.45);
    ctx.set_fill_style_str(&colour);
    ctx.begin_path();
    let _ = ctx.arc(-r * 0.55, 0.0, r * 0.5, 0.0, TAU);
    ctx.fill();
    ctx.set_global_alpha(1.0);
    hull(ctx);
    ctx.fill();
    ctx.set_line_width(if ship.me { 2.5 } else { 1.5 });
    ctx.set_stroke_style_str(if ship.me { "#ffffff" } else { "rgba(255,255,255,0.55)" });
    ctx.set_line_join("round");
    ctx.stroke();
    // A cockpit dot gives the hull depth.
    ctx.set_fill_style_str("rgba(5,8,14,0.55)");
    ctx.begin_path();
    let _ = ctx.arc(r * 0.25, 0.0, r * 0.22, 0.0, TAU);
    ctx.fill();
    ctx.restore();

    // Health bar under the ship.
    let health = f64::from(ship.state.health.min(SHIP_MAX_HEALTH)) / f64::from(SHIP_MAX_HEALTH);
    let (bw, bh) = (r * 2.2, 4.0);
    let (bx, by) = (px - bw / 2.0, py + r * 1.35);
    ctx.set_fill_style_str("rgba(0,0,0,0.6)");
    ctx.fill_rect(bx - 1.0, by - 1.0, bw + 2.0, bh + 2.0);
    ctx.set_fill_style_str(if health < 0.35 { HEALTH_LOW } else { HEALTH_GOOD });
    ctx.fill_rect(bx, by, bw * health, bh);

    // The name above, outlined so it reads on any background.
    ctx.set_font(if ship.me { "bold 13px system-ui, sans-serif" } else { "600 12px system-ui, sans-serif" });
    ctx.set_text_align("center");
    ctx.set_text_baseline("bottom");
    ctx.set_line_width(3.0);
    ctx.set_stroke_style_str("rgba(0,0,0,0.75)");
    let _ = ctx.stroke_text(&ship.name, px, py - r * 1.2);
    ctx.set_fill_style_str(if ship.me { "#ffffff" } else { NAME });
    let _ = ctx.fill_text(&ship.name, px, py - r * 1.2);
}

fn blast(ctx: &CanvasRenderingContext2d, cam: &Camera, pos: Vec2, colour: u32, t: f32) {
    let c = cam.to_screen(pos);
    let (x, y) = (f(c.x), f(c.y));
    let r = f((SHIP_RADIUS * cam.scale).max(6.0));
    let t = f(t.clamp(0.0, 1.0));
    let fade = 1.0 - t;
    // A white flash shrinking into the ship's colour…
    ctx.set_global_alpha(fade);
    ctx.set_fill_style_str(if t < 0.15 { "#ffffff" } else { "#ffb347" });
    ctx.begin_path();
    let _ = ctx.arc(x, y, r * (0.6 + 1.6 * (1.0 - fade * fade * fade)) * fade.sqrt(), 0.0, TAU);
    ctx.fill();
    // …a shock ring…
    ctx.set_stroke_style_str(&css_colour(colour));
    ctx.set_line_width(3.0 * fade + 1.0);
    ctx.begin_path();
    let _ = ctx.arc(x, y, r * (1.0 + 4.0 * t), 0.0, TAU);
    ctx.stroke();
    // …and debris flying out.
    ctx.set_fill_style_str(&css_colour(colour));
    for (i, (dx, dy)) in DEBRIS.iter().enumerate() {
        let d = r * (0.8 + 3.5 * t * (1.0 + 0.35 * (i % 3) as f64));
        ctx.fill_rect(x + dx * d - 2.0, y + dy * d - 2.0, 4.0, 4.0);
    }
    ctx.set_global_alpha(1.0);
}

/// The virtual sticks under the player's thumbs.
fn sticks(ctx: &CanvasRenderingContext2d, touch: &Touch) {
    ctx.set_line_width(2.0);
    if let Some(pad) = touch.stick {
        let r = f(STICK_RADIUS_PX);
        ctx.set_stroke_style_str("rgba(255,255,255,0.35)");
        ctx.set_fill_style_str("rgba(255,255,255,0.08)");
        ctx.begin_path();
        let _ = ctx.arc(f(pad.origin.x), f(pad.origin.y), r, 0.0, TAU);
        ctx.fill();
        ctx.stroke();
        let knob = pad.origin + touch.stick() * STICK_RADIUS_PX;
        ctx.set_fill_style_str("rgba(255,255,255,0.35)");
        ctx.begin_path();
        let _ = ctx.arc(f(knob.x), f(knob.y), r * 0.42, 0.0, TAU);
        ctx.fill();
    }
    if let Some(pad) = touch.aim {
        ctx.set_stroke_style_str("rgba(255,120,120,0.6)");
        ctx.begin_path();
        let _ = ctx.arc(f(pad.at.x), f(pad.at.y), 26.0, 0.0, TAU);
        ctx.stroke();
    }
}

fn minimap(ctx: &CanvasRenderingContext2d, s: &Scene) {
    let (at, k) = camera::minimap_frame(s.view, s.arena);
    let size = s.arena * k;
    let map = |w: Vec2| at + w * k;
    ctx.set_fill_style_str("rgba(8,12,22,0.78)");
    ctx.fill_rect(f(at.x), f(at.y), f(size.x), f(size.y));
    ctx.set_fill_style_str("#33415f");
    for r in s.obstacles {
        let (a, b) = (map(r.min), map(r.max));
        ctx.fill_rect(f(a.x), f(a.y), f((b.x - a.x).max(1.0)), f((b.y - a.y).max(1.0)));
    }
    // Blips under everything precise: more ships, a bigger and brighter square.
    ctx.set_fill_style_str(RADAR_BLIP);
    for b in s.radar {
        let c = map(b.centre);
        let side = f((b.size.min_element() * k * b.fill()).max(2.0));
        ctx.set_global_alpha(f(b.fill()) * 0.8);
        ctx.fill_rect(f(c.x) - side / 2.0, f(c.y) - side / 2.0, side, side);
    }
    ctx.set_global_alpha(1.0);
    for p in s.pickups {
        let c = map(p.pos);
        ctx.set_fill_style_str(if p.kind == PickupKind::Health { HEALTH_GREEN } else { RAPID_YELLOW });
        ctx.fill_rect(f(c.x) - 1.0, f(c.y) - 1.0, 2.0, 2.0);
    }
    // What the main view shows.
    let (v0, v1) = (map(s.cam.to_world(Vec2::ZERO).max(Vec2::ZERO)), map(s.cam.to_world(s.view).min(s.arena)));
    ctx.set_stroke_style_str("rgba(255,255,255,0.25)");
    ctx.set_line_width(1.0);
    ctx.stroke_rect(f(v0.x), f(v0.y), f(v1.x - v0.x), f(v1.y - v0.y));
    // Our own position (or the followed player's) is ringed, even while it waits to respawn.
    for ship in s.ships.iter().filter(|x| x.state.alive() || Some(x.id) == s.focus) {
        let c = map(ship.pos);
        let focus = Some(ship.id) == s.focus;
        if ship.state.alive() {
            ctx.set_fill_style_str(&css_colour(ship.colour));
            ctx.begin_path();
            let _ = ctx.arc(f(c.x), f(c.y), if focus { 3.5 } else { 2.5 }, 0.0, TAU);
            ctx.fill();
        }
        if focus {
            ctx.set_stroke_style_str("#ffffff");
            ctx.set_line_width(1.5);
            ctx.begin_path();
            let _ = ctx.arc(f(c.x), f(c.y), 6.0, 0.0, TAU);
            ctx.stroke();
        }
    }
    ctx.set_stroke_style_str("#3a4d78");
    ctx.set_line_width(1.0);
    ctx.stroke_rect(f(at.x) + 0.5, f(at.y) + 0.5, f(size.x) - 1.0, f(size.y) - 1.0);
}
