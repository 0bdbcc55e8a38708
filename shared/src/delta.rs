//! Delta snapshots: the entities a player can see, as a change against a state it confirmed.
//!
//! The model is Quake 3's. The server keeps the last [`crate::consts::HISTORY_TICKS`] ticks of
//! quantised entities ([`Frame`]s) and, per client, which entities it sent in each. A snapshot
//! names a baseline tick the client acknowledged and carries, per kind (ships, bullets,
//! pickups), what differs from the client's copy of that baseline: for each baseline entity,
//! carried over / changed fields / left; then the entities that entered. With no usable
//! baseline it is the same code against an empty baseline: a full snapshot.
//!
//! Bullets and pickups never change once they exist (a bullet is its launch record: owner,
//! origin, velocity, tick), so they only enter and leave; a bullet stays an "entered" record in
//! every snapshot until the client acknowledges one that holds it, so a frame replaced on a slow
//! link loses nothing. `PROTOCOL.md` documents the bit layout for other implementations.

use glam::{IVec2, Vec2};

use crate::bits::{BitReader, BitWriter};
use crate::protocol::PlayerId;
use crate::sim::{POS_SCALE, VEL_SCALE};

/// Other ships' positions travel in half world units: finer than a pixel at the client's zoom,
/// and a ship at full speed moves less than 32 steps per tick, so a one-tick change fits the
/// shortest signed code.
pub const SHIP_WIRE_POS_SCALE: f32 = 2.0;

/// Aim angles of other ships travel as 1/256 of a turn.
pub const AIM_STEPS_PER_TURN: f32 = 256.0;

/// A ship as other players receive it. The owner (and its spectators) get the full-precision
/// state in `Snapshot::me` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShipEnt {
    /// The player.
    pub id: PlayerId,
    /// Centre, in half world units.
    pub pos: IVec2,
    /// Aim as 1/256 turns clockwise from +x.
    pub aim: u8,
    /// Health, 0 while dead (7 bits).
    pub health: u8,
    /// `PlayerState` flag bits (2 bits: alive, rapid fire).
    pub flags: u8,
}

impl ShipEnt {
    /// Centre in world units.
    pub fn pos_f(&self) -> Vec2 {
        self.pos.as_vec2() / SHIP_WIRE_POS_SCALE
    }

    /// Aim in radians, in `[0, 2π)`.
    pub fn aim_rad(&self) -> f32 {
        aim_from_byte(self.aim)
    }
}

/// A ship's fixed-point position (⅛ units, [`crate::sim::ShipMotion::pos`]) in wire steps.
pub fn ship_wire_pos(pos: IVec2) -> IVec2 {
    let step = (POS_SCALE / SHIP_WIRE_POS_SCALE) as i32;
    // Round half up; positions inside an arena are never negative.
    IVec2::new((pos.x + step / 2).div_euclid(step), (pos.y + step / 2).div_euclid(step))
}

/// An aim angle in radians as 1/256 turns (any finite angle; wraps).
pub fn aim_to_byte(aim: f32) -> u8 {
    let turns = aim / std::f32::consts::TAU * AIM_STEPS_PER_TURN;
    if turns.is_finite() { (turns.round() as i64).rem_euclid(256) as u8 } else { 0 }
}

/// 1/256 turns back to radians.
pub fn aim_from_byte(aim: u8) -> f32 {
    f32::from(aim) / AIM_STEPS_PER_TURN * std::f32::consts::TAU
}

/// A bullet's launch record: everything about it, fixed once fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulletEnt {
    /// Unique within the room while it flies.
    pub id: u32,
    /// Who fired it.
    pub owner: PlayerId,
    /// Where it started, in ⅛ world units.
    pub origin: IVec2,
    /// Velocity, in 1/16 world units per second.
    pub vel: IVec2,
    /// The tick at which it was at `origin`: one before the tick it was fired on (it leaves the
    /// nose and moves one step in the tick that fires it). At tick `t` it is at
    /// `origin + vel × (t − tick) × TICK_DT`.
    pub tick: u64,
    /// The `Input::seq` that fired it, for the shooter's own bullets (0 for everyone else's).
    /// Client-side prediction matches its predicted shots to the server's by it.
    pub seq: u32,
}

impl BulletEnt {
    /// Centre in world units at (fractional) tick `at`.
    pub fn pos_at(&self, at: f64) -> Vec2 {
        crate::sim::bullet_pos(self.origin, self.vel, (at - self.tick as f64) as f32)
    }

    /// Velocity in world units per second.
    pub fn vel_f(&self) -> Vec2 {
        self.vel.as_vec2() / VEL_SCALE
    }
}

/// A pickup waiting to be collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PickupEnt {
    /// Unique within the room while it waits.
    pub id: u32,
    /// 0 health, 1 rapid fire.
    pub kind: u8,
    /// Centre, in ⅛ world units.
    pub pos: IVec2,
}

/// One tick of entities, each list sorted by id: the room's history ring holds the whole world
/// per tick, a client holds what it was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// The tick.
    pub tick: u64,
    /// Ships, by id.
    pub ships: Vec<ShipEnt>,
    /// Bullets in flight, by id.
    pub bullets: Vec<BulletEnt>,
    /// Pickups waiting, by id.
    pub pickups: Vec<PickupEnt>,
}

impl Frame {
    /// Empties the lists, keeping their capacity.
    pub fn clear(&mut self) {
        self.ships.clear();
        self.bullets.clear();
        self.pickups.clear();
    }

    /// Borrowed lists, for encoding.
    pub fn lists(&self) -> Lists<'_> {
        Lists { ships: &self.ships, bullets: &self.bullets, pickups: &self.pickups }
    }
}

/// The entities of one side of a delta, each list sorted by id.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lists<'a> {
    /// Ships by id.
    pub ships: &'a [ShipEnt],
    /// Bullets by id.
    pub bullets: &'a [BulletEnt],
    /// Pickups by id.
    pub pickups: &'a [PickupEnt],
}

/// What one section of a delta held: for byte accounting (`/metrics`, the capacity benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SectionStats {
    /// Entities in the baseline and unchanged.
    pub carried: u32,
    /// Entities in the baseline with changed fields.
    pub changed: u32,
    /// Entities new to this client.
    pub entered: u32,
    /// Baseline entities no longer sent.
    pub left: u32,
    /// Bits the whole section took.
    pub bits: u64,
}

/// What one delta held, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// The ships section.
    pub ships: SectionStats,
    /// The bullets section.
    pub bullets: SectionStats,
    /// The pickups section.
    pub pickups: SectionStats,
}

/// Writes the packed records that turn `base` into `cur` at tick `tick` (an empty `base` makes a
/// full snapshot). Both sides' lists must be sorted by id.
pub fn encode(w: &mut BitWriter, tick: u64, base: Lists<'_>, cur: Lists<'_>) -> DeltaStats {
    DeltaStats {
        ships: encode_section(w, tick, base.ships, cur.ships),
        bullets: encode_section(w, tick, base.bullets, cur.bullets),
        pickups: encode_section(w, tick, base.pickups, cur.pickups),
    }
}

/// Reads what [`encode`] wrote, applying it to the client's copy of the baseline `base`, into
/// `out` (cleared first; its lists end sorted by id). Fails on anything malformed, including a
/// change to an entity that cannot change, a duplicate id and bytes left over.
pub fn decode(bytes: &[u8], tick: u64, base: &Frame, out: &mut Frame) -> Result<(), &'static str> {
    let mut r = BitReader::new(bytes);
    out.clear();
    out.tick = tick;
    decode_section(&mut r, tick, &base.ships, &mut out.ships)?;
    decode_section(&mut r, tick, &base.bullets, &mut out.bullets)?;
    decode_section(&mut r, tick, &base.pickups, &mut out.pickups)?;
    if r.at_padding() { Ok(()) } else { Err("bytes left after the packed entity records") }
}

/// One kind of entity on the wire.
pub trait Entity: Copy + PartialEq {
    /// Its id (unique per kind within a room while it exists).
    fn id(&self) -> u32;
    /// Everything but the id, for an entity the client does not have.
    fn write_full(&self, w: &mut BitWriter, tick: u64);
    /// Reads what [`Entity::write_full`] wrote.
    fn read_full(r: &mut BitReader<'_>, id: u32, tick: u64) -> Result<Self, &'static str>;
    /// The fields that differ from `base` (called only when something does).
    fn write_change(&self, base: &Self, w: &mut BitWriter);
    /// Reads what [`Entity::write_change`] wrote, applied to `base`.
    fn read_change(base: &Self, r: &mut BitReader<'_>) -> Result<Self, &'static str>;
}

fn encode_section<E: Entity>(w: &mut BitWriter, tick: u64, base: &[E], cur: &[E]) -> SectionStats {
    debug_assert!(base.windows(2).all(|p| p[0].id() < p[1].id()) && cur.windows(2).all(|p| p[0].id() < p[1].id()));
    let start = w.bit_len();
    let mut stats = SectionStats::default();
    let mut j = 0;
    for b in base {
        while j < cur.len() && cur[j].id() < b.id() {
            j += 1;
        }
        match cur.get(j) {
            Some(c) if c.id() == b.id() => {
                if c == b {
                    w.bit(false);
                    stats.carried += 1;
                } else {
                    w.bits(0b10, 2);
                    c.write_change(b, w);
                    stats.changed += 1;
                }
                j += 1;
            }
            _ => {
                w.bits(0b11, 2);
                stats.left += 1;
            }
        }
    }
    let entered = cur.len() as u32 - stats.carried - stats.changed;
    w.uvar(u64::from(entered));
    let (mut i, mut prev) = (0, None);
    for c in cur {
        while i < base.len() && base[i].id() < c.id() {
            i += 1;
        }
        if base.get(i).is_some_and(|b| b.id() == c.id()) {
            continue;
        }
        // First id absolute, then the gap to the previous one minus one (ids are ascending).
        let gap = match prev {
            None => u64::from(c.id()),
            Some(p) => u64::from(c.id() - p - 1),
        };
        w.uvar(gap);
        c.write_full(w, tick);
        prev = Some(c.id());
        stats.entered += 1;
    }
    stats.bits = w.bit_len() - start;
    stats
}

fn decode_section<E: Entity>(
    r: &mut BitReader<'_>,
    tick: u64,
    base: &[E],
    out: &mut Vec<E>,
) -> Result<(), &'static str> {
    for b in base {
        if r.bit()? {
            if r.bit()? {
                continue; // left
            }
            out.push(E::read_change(b, r)?);
        } else {
            out.push(*b);
        }
    }
    let kept = out.len();
    let entered = r.uvar()?;
    // Every record takes at least a few bits: a count beyond the input is malformed, and
    // checking it first keeps a hostile count from reserving memory.
    if entered > r.remaining() {
        return Err("more entities than bits");
    }
    let mut prev: Option<u32> = None;
    for _ in 0..entered {
        let gap = r.uvar()?;
        // Checked: a hostile gap near 2^64 must fail, not wrap around to a small id.
        let id = match prev {
            None => Some(gap),
            Some(p) => u64::from(p).checked_add(gap).and_then(|v| v.checked_add(1)),
        }
        .and_then(|v| u32::try_from(v).ok())
        .ok_or("entity id out of range")?;
        out.push(E::read_full(r, id, tick)?);
        prev = Some(id);
    }
    // Kept entities and entered ones are each in id order; merge the second run into the
    // first by insertion (entries are few, and this is far smaller wasm than a generic sort).
    if kept > 0 {
        for i in kept..out.len() {
            let mut j = i;
            while j > 0 && out[j - 1].id() > out[j].id() {
                out.swap(j - 1, j);
                j -= 1;
            }
        }
    }
    if out.windows(2).any(|p| p[0].id() >= p[1].id()) {
        return Err("entity sent twice");
    }
    Ok(())
}

/// A signed 24-bit field (absolute positions: ±1 048 576 world units at ⅛ unit).
fn put_i24(w: &mut BitWriter, v: i32) {
    w.bits(u64::from(v as u32) & 0xff_ffff, 24);
}

fn get_i24(r: &mut BitReader<'_>) -> Result<i32, &'static str> {
    let raw = r.bits(24)? as u32;
    // Sign-extend from bit 23.
    Ok(((raw << 8) as i32) >> 8)
}

fn put_i16(w: &mut BitWriter, v: i32) {
    w.bits(u64::from(v as u32) & 0xffff, 16);
}

fn get_i16(r: &mut BitReader<'_>) -> Result<i32, &'static str> {
    Ok(i32::from(r.bits(16)? as u16 as i16))
}

fn get_i32_from(v: i64) -> Result<i32, &'static str> {
    i32::try_from(v).map_err(|_| "value out of range")
}

/// Health 0–127 (7 bits) and two flag bits.
fn put_status(w: &mut BitWriter, health: u8, flags: u8) {
    w.bits(u64::from(health.min(127)), 7);
    w.bits(u64::from(flags & 3), 2);
}

impl Entity for ShipEnt {
    fn id(&self) -> u32 {
        self.id
    }

    fn write_full(&self, w: &mut BitWriter, _tick: u64) {
        put_i24(w, self.pos.x);
        put_i24(w, self.pos.y);
        w.bits(u64::from(self.aim), 8);
        put_status(w, self.health, self.flags);
    }

    fn read_full(r: &mut BitReader<'_>, id: u32, _tick: u64) -> Result<Self, &'static str> {
        Ok(ShipEnt {
            id,
            pos: IVec2::new(get_i24(r)?, get_i24(r)?),
            aim: r.bits(8)? as u8,
            health: r.bits(7)? as u8,
            flags: r.bits(2)? as u8,
        })
    }

    /// Three presence bits (position, aim, status), then each present field: the position as
    /// two signed changes, the aim as a signed change wrapped to a half turn, the status whole.
    fn write_change(&self, base: &Self, w: &mut BitWriter) {
        let (moved, turned) = (self.pos != base.pos, self.aim != base.aim);
        let status = self.health != base.health || self.flags != base.flags;
        w.bits(u64::from(moved) << 2 | u64::from(turned) << 1 | u64::from(status), 3);
        if moved {
            w.svar(i64::from(self.pos.x) - i64::from(base.pos.x));
            w.svar(i64::from(self.pos.y) - i64::from(base.pos.y));
        }
        if turned {
            w.svar(i64::from(self.aim.wrapping_sub(base.aim) as i8));
        }
        if status {
            put_status(w, self.health, self.flags);
        }
    }

    fn read_change(base: &Self, r: &mut BitReader<'_>) -> Result<Self, &'static str> {
        let (moved, turned, status) = (r.bit()?, r.bit()?, r.bit()?);
        let mut ship = *base;
        if moved {
            ship.pos.x = get_i32_from(i64::from(base.pos.x) + r.svar()?)?;
            ship.pos.y = get_i32_from(i64::from(base.pos.y) + r.svar()?)?;
        }
        if turned {
            let d = i8::try_from(r.svar()?).map_err(|_| "aim change out of range")?;
            ship.aim = base.aim.wrapping_add(d as u8);
        }
        if status {
            ship.health = r.bits(7)? as u8;
            ship.flags = r.bits(2)? as u8;
        }
        Ok(ship)
    }
}

impl Entity for BulletEnt {
    fn id(&self) -> u32 {
        self.id
    }

    fn write_full(&self, w: &mut BitWriter, tick: u64) {
        w.uvar(u64::from(self.owner));
        put_i24(w, self.origin.x);
        put_i24(w, self.origin.y);
        put_i16(w, self.vel.x);
        put_i16(w, self.vel.y);
        w.uvar(tick.saturating_sub(self.tick));
        w.uvar(u64::from(self.seq));
    }

    fn read_full(r: &mut BitReader<'_>, id: u32, tick: u64) -> Result<Self, &'static str> {
        let owner = u32::try_from(r.uvar()?).map_err(|_| "bullet owner out of range")?;
        let origin = IVec2::new(get_i24(r)?, get_i24(r)?);
        let vel = IVec2::new(get_i16(r)?, get_i16(r)?);
        let age = r.uvar()?;
        let seq = u32::try_from(r.uvar()?).map_err(|_| "bullet seq out of range")?;
        let fired = tick.checked_sub(age).ok_or("bullet fired before tick 0")?;
        Ok(BulletEnt { id, owner, origin, vel, tick: fired, seq })
    }

    fn write_change(&self, _base: &Self, _w: &mut BitWriter) {
        // Unreachable with a correct server: a launch record never changes, and the encoder
        // only calls this for an entity that differs from its baseline. Writing nothing makes
        // the decoder fail on the stream rather than accept a wrong bullet.
        debug_assert!(false, "bullets never change");
    }

    fn read_change(_base: &Self, _r: &mut BitReader<'_>) -> Result<Self, &'static str> {
        Err("bullets cannot change")
    }
}

impl Entity for PickupEnt {
    fn id(&self) -> u32 {
        self.id
    }

    fn write_full(&self, w: &mut BitWriter, _tick: u64) {
        w.bit(self.kind != 0);
        put_i24(w, self.pos.x);
        put_i24(w, self.pos.y);
    }

    fn read_full(r: &mut BitReader<'_>, id: u32, _tick: u64) -> Result<Self, &'static str> {
        Ok(PickupEnt { id, kind: u8::from(r.bit()?), pos: IVec2::new(get_i24(r)?, get_i24(r)?) })
    }

    fn write_change(&self, _base: &Self, _w: &mut BitWriter) {
        debug_assert!(false, "pickups never change");
    }

    fn read_change(_base: &Self, _r: &mut BitReader<'_>) -> Result<Self, &'static str> {
        Err("pickups cannot change")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ship(id: u32, x: i32, y: i32) -> ShipEnt {
        ShipEnt { id, pos: IVec2::new(x, y), aim: 3, health: 100, flags: 1 }
    }

    fn round_trip(tick: u64, base: &Frame, cur: &Frame) -> (Frame, DeltaStats, usize) {
        let mut w = BitWriter::new();
        let stats = encode(&mut w, tick, base.lists(), cur.lists());
        let mut out = Frame::default();
        decode(w.as_bytes(), tick, base, &mut out).expect("decodes");
        (out, stats, w.as_bytes().len())
    }

    #[test]
    fn full_then_delta_reproduce_the_frame() {
        let bullet =
            BulletEnt { id: 9, owner: 2, origin: IVec2::new(800, -4), vel: IVec2::new(14400, -3), tick: 95, seq: 0 };
        let full = Frame {
            tick: 100,
            ships: vec![ship(1, 10, 10), ship(2, 500, 600), ship(7, 4000, 9)],
            bullets: vec![bullet],
            pickups: vec![PickupEnt { id: 3, kind: 1, pos: IVec2::new(80, 80) }],
        };
        let (out, stats, _) = round_trip(100, &Frame::default(), &full);
        assert_eq!(out, full);
        assert_eq!(stats.ships.entered, 3);

        let mut next = full.clone();
        next.tick = 101;
        next.ships[0].pos.x += 20; // moved
        next.ships.remove(1); // left
        next.ships.push(ship(12, 1, 1)); // entered
        next.ships[1].health = 40; // id 7 hurt
        next.bullets.clear(); // hit something
        let (out, stats, bytes) = round_trip(101, &full, &next);
        assert_eq!(out, next);
        assert_eq!((stats.ships.changed, stats.ships.left, stats.ships.entered), (2, 1, 1));
        assert_eq!(stats.bullets.left, 1);
        assert!(bytes < 20, "{bytes} bytes");
    }

    #[test]
    fn an_unchanged_world_costs_a_bit_per_entity() {
        let frame = Frame { tick: 5, ships: (1..=40).map(|i| ship(i, i as i32 * 10, 5)).collect(), ..Frame::default() };
        let (_, stats, bytes) = round_trip(6, &frame, &frame);
        assert_eq!(stats.ships.carried, 40);
        assert!(bytes <= 7, "{bytes} bytes for 40 unchanged ships");
    }

    #[test]
    fn malformed_records_are_refused() {
        let base = Frame { ships: vec![ship(1, 0, 0)], ..Frame::default() };
        let mut out = Frame::default();
        assert!(decode(&[], 1, &base, &mut out).is_err(), "empty");
        // Ship 1 carried, then "2^60 entered".
        let mut w = BitWriter::new();
        w.bit(false);
        w.uvar(1 << 60);
        assert!(decode(w.as_bytes(), 1, &base, &mut out).is_err());
        // A bullet "changed".
        let bullets = Frame { bullets: vec![BulletEnt { id: 1, ..Default::default() }], ..Frame::default() };
        let mut w = BitWriter::new();
        w.uvar(0); // no ships entered
        w.bits(0b10, 2);
        assert!(decode(w.as_bytes(), 1, &bullets, &mut out).is_err());
        // The same ship entered twice.
        let mut w = BitWriter::new();
        w.uvar(2);
        w.uvar(4);
        ship(4, 0, 0).write_full(&mut w, 1);
        w.uvar(0);
        ship(5, 0, 0).write_full(&mut w, 1);
        w.uvar(0);
        w.uvar(0);
        assert!(decode(w.as_bytes(), 1, &Frame::default(), &mut out).is_ok(), "4 then 5 is fine");
        let mut w = BitWriter::new();
        w.bit(false); // ship 1 carried…
        w.uvar(1);
        w.uvar(1); // …and ship 1 entered again
        ship(1, 0, 0).write_full(&mut w, 1);
        w.uvar(0);
        w.uvar(0);
        assert_eq!(decode(w.as_bytes(), 1, &base, &mut out), Err("entity sent twice"));
    }

    #[test]
    fn a_gap_past_the_id_range_is_refused_not_wrapped() {
        // Found by fuzzing: ship 5 entered, then a gap of 2^64 − 1 (which used to overflow).
        let mut w = BitWriter::new();
        w.uvar(2);
        w.uvar(5);
        ship(5, 0, 0).write_full(&mut w, 1);
        w.uvar(u64::MAX);
        ship(6, 0, 0).write_full(&mut w, 1);
        w.uvar(0);
        w.uvar(0);
        let mut out = Frame::default();
        assert_eq!(decode(w.as_bytes(), 1, &Frame::default(), &mut out), Err("entity id out of range"));
    }

    #[test]
    fn wire_conversions() {
        assert_eq!(ship_wire_pos(IVec2::new(8, 12)), IVec2::new(2, 3));
        assert_eq!(aim_to_byte(0.0), 0);
        assert_eq!(aim_to_byte(std::f32::consts::PI), 128);
        assert_eq!(aim_to_byte(-std::f32::consts::FRAC_PI_2), 192);
        assert!((aim_from_byte(64) - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    }
}
