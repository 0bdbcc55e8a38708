//! Canvas 2D drawing: the arena, its grid and border, and every ship with its name. Sizes are in
//! CSS pixels; the caller has already scaled the context by `devicePixelRatio`.

use glam::Vec2;
use skirmish_client::DrawShip;
use skirmish_shared::consts::SHIP_RADIUS;
use web_sys::CanvasRenderingContext2d;

use crate::camera::Camera;

/// Grid spacing in world units.
const GRID_WORLD: f32 = 100.0;
const PAGE_BG: &str = "#07090f";
const ARENA_BG: &str = "#0f1522";
const GRID: &str = "#1b2436";
const BORDER: &str = "#4a5d85";
const NAME: &str = "#c9d4e5";
const MY_NAME: &str = "#ffffff";

/// Draws one frame: `view` is the canvas size in CSS pixels.
pub fn frame(ctx: &CanvasRenderingContext2d, view: Vec2, cam: &Camera, arena: Vec2, ships: &[DrawShip]) {
    ctx.set_fill_style_str(PAGE_BG);
    ctx.fill_rect(0.0, 0.0, f64::from(view.x), f64::from(view.y));

    let tl = cam.to_screen(Vec2::ZERO);
    let size = arena * cam.scale;
    ctx.set_fill_style_str(ARENA_BG);
    ctx.fill_rect(f64::from(tl.x), f64::from(tl.y), f64::from(size.x), f64::from(size.y));

    ctx.set_stroke_style_str(GRID);
    ctx.set_line_width(1.0);
    ctx.begin_path();
    let mut x = GRID_WORLD;
    while x < arena.x {
        let sx = f64::from(cam.to_screen(Vec2::new(x, 0.0)).x.round()) + 0.5;
        ctx.move_to(sx, f64::from(tl.y));
        ctx.line_to(sx, f64::from(tl.y + size.y));
        x += GRID_WORLD;
    }
    let mut y = GRID_WORLD;
    while y < arena.y {
        let sy = f64::from(cam.to_screen(Vec2::new(0.0, y)).y.round()) + 0.5;
        ctx.move_to(f64::from(tl.x), sy);
        ctx.line_to(f64::from(tl.x + size.x), sy);
        y += GRID_WORLD;
    }
    ctx.stroke();

    ctx.set_stroke_style_str(BORDER);
    ctx.set_line_width(2.0);
    ctx.stroke_rect(f64::from(tl.x), f64::from(tl.y), f64::from(size.x), f64::from(size.y));

    // Our ship last, so it is never hidden under someone else's.
    for ship in ships.iter().filter(|s| !s.me).chain(ships.iter().filter(|s| s.me)) {
        draw_ship(ctx, cam, ship);
    }
}

fn draw_ship(ctx: &CanvasRenderingContext2d, cam: &Camera, ship: &DrawShip) {
    let p = cam.to_screen(ship.pos);
    // Never smaller than a few pixels, however small the window.
    let r = f64::from((SHIP_RADIUS * cam.scale).max(5.0));
    let (px, py) = (f64::from(p.x), f64::from(p.y));
    let colour = format!("#{:06x}", ship.colour & 0x00ff_ffff);

    // Our own ship gets a white ring, drawn first so the nose stays visible on top of it.
    if ship.me {
        ctx.set_stroke_style_str(MY_NAME);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let _ = ctx.arc(px, py, r + 4.0, 0.0, std::f64::consts::TAU);
        ctx.stroke();
    }

    // Body: a disc in the player's colour with a triangular nose towards the aim. The canvas
    // does the rotation, which keeps trigonometry (and libm) out of the wasm.
    ctx.save();
    let _ = ctx.translate(px, py);
    let _ = ctx.rotate(f64::from(ship.aim));
    ctx.set_fill_style_str(&colour);
    ctx.begin_path();
    // `arc` only fails on a negative radius, which `r` never is.
    let _ = ctx.arc(0.0, 0.0, r, 0.0, std::f64::consts::TAU);
    ctx.fill();
    ctx.begin_path();
    ctx.move_to(r * 2.0, 0.0);
    ctx.line_to(0.0, r * 0.7);
    ctx.line_to(0.0, -r * 0.7);
    ctx.close_path();
    ctx.fill();
    ctx.restore();

    // Canvas text is inert: a hostile name cannot become markup here.
    ctx.set_font(if ship.me { "bold 13px system-ui, sans-serif" } else { "12px system-ui, sans-serif" });
    ctx.set_text_align("center");
    ctx.set_text_baseline("bottom");
    ctx.set_fill_style_str(if ship.me { MY_NAME } else { NAME });
    let _ = ctx.fill_text(&ship.name, px, py - r - 6.0);
}
