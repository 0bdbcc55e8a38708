#!/usr/bin/env python3
"""Clean-room Skirmish client (protocol version 3), Python 3.11 standard library only.

Written from PROTOCOL.md alone (and README.md for how to start the server): no source file of
the project was read. Its purpose is to show that the document is enough to write a client, so
where the document is silent or ambiguous the reading chosen is marked "DOC:" in a comment.

It connects over its own WebSocket code, sends Hello, plays for a while (inputs with a smooth
random stick and aim, fire held most of the time), decodes every server message (entity deltas
and the packed radar included) and logs everything, in and out, as JSON lines to --out.

    python3 client.py --url ws://127.0.0.1:18321/ws --name Ada --room lan --seconds 10 \
        --acks normal --seed 1 --out ada.jsonl
    python3 client.py --selftest      # decode and encode every hex example of PROTOCOL.md

Exit status: 0 when no error line was written, 1 otherwise.
"""

import argparse
import base64
import hashlib
import json
import math
import os
import random
import select
import socket
import struct
import sys
import time
from urllib.parse import urlparse

PROTOCOL_VERSION = 3
TICK_RATE = 30
HISTORY_TICKS = 32          # the server's baseline history (doc: Baselines)
KEEP_TICKS = 100            # we keep more on purpose: the hostile policy acks old ticks
AOI_HALF_EXTENT = 850.0
RADAR_MAX_W, RADAR_MAX_H = 64, 40
MAX_MESSAGE = 16 << 20      # doc: the reference decoder accepts server frames up to 16 MiB
MAX_NESTING = 16
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Malformed(Exception):
    """Something the document says cannot be decoded: the value is given up on."""


# ---------------------------------------------------------------------------------------------
# MessagePack, only what the protocol uses
# ---------------------------------------------------------------------------------------------

class F32(float):
    """A float that travelled (or will travel) as MessagePack float 32."""


class F64(float):
    """A float that travelled as float 64; the server is documented to send only float 32."""


def f32(x):
    return F32(struct.unpack(">f", struct.pack(">f", x))[0])


def mp_len(out, n, fix, fix_below, sized):
    """Writes a length header in its shortest form: the fix form below fix_below, else the first
    of the sized forms, (type byte, struct format) from the narrowest, that holds n."""
    if n < fix_below:
        out.append(fix | n)
        return
    for code, fmt in sized:
        if n < 1 << (8 * struct.calcsize(fmt)):
            out.append(code)
            out += struct.pack(fmt, n)
            return
    raise ValueError(n)


def mp_encode(v, out):
    if v is None:
        out.append(0xC0)
    elif v is True:
        out.append(0xC3)
    elif v is False:
        out.append(0xC2)
    elif isinstance(v, float):
        out += b"\xca" + struct.pack(">f", v)
    elif isinstance(v, int):
        # Shortest form, as the document says the server writes; the server accepts any.
        if 0 <= v < 0x80:
            out.append(v)
        elif 0 <= v < 0x100:
            out += b"\xcc" + struct.pack(">B", v)
        elif 0 <= v < 0x10000:
            out += b"\xcd" + struct.pack(">H", v)
        elif 0 <= v < 0x100000000:
            out += b"\xce" + struct.pack(">I", v)
        elif v >= 0:
            out += b"\xcf" + struct.pack(">Q", v)
        elif v >= -32:
            out += struct.pack(">b", v)
        elif v >= -0x80:
            out += b"\xd0" + struct.pack(">b", v)
        elif v >= -0x8000:
            out += b"\xd1" + struct.pack(">h", v)
        elif v >= -0x80000000:
            out += b"\xd2" + struct.pack(">i", v)
        else:
            out += b"\xd3" + struct.pack(">q", v)
    elif isinstance(v, str):
        b = v.encode("utf-8")
        mp_len(out, len(b), 0xA0, 32, ((0xD9, ">B"), (0xDA, ">H"), (0xDB, ">I")))
        out += b
    elif isinstance(v, (bytes, bytearray)):
        mp_len(out, len(v), 0, 0, ((0xC4, ">B"), (0xC5, ">H"), (0xC6, ">I")))
        out += v
    elif isinstance(v, (list, tuple)):
        mp_len(out, len(v), 0x90, 16, ((0xDC, ">H"), (0xDD, ">I")))
        for x in v:
            mp_encode(x, out)
    elif isinstance(v, dict):
        mp_len(out, len(v), 0x80, 16, ((0xDE, ">H"), (0xDF, ">I")))
        for k, x in v.items():
            mp_encode(k, out)
            mp_encode(x, out)
    else:
        raise TypeError(type(v))
    return out


def packb(v):
    return bytes(mp_encode(v, bytearray()))


class MPReader:
    """Decodes one MessagePack value. Breaches of the document's encoding rules that still
    leave a well-defined value (an integer not in its shortest form) go to `notes`, so that
    the message is still shown and the breach is reported as an error line."""

    def __init__(self, data, notes):
        self.d = data
        self.p = 0
        self.notes = notes

    def take(self, n):
        if self.p + n > len(self.d):
            raise Malformed(f"MessagePack truncated at byte {self.p} (needs {n} more)")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def _int(self, fmt, n, lo_canon, kind):
        at = self.p - 1
        v = struct.unpack(fmt, self.take(n))[0]
        # DOC (Encoding rules): integers are written in the shortest form; positive values use
        # only fixint/cc/cd/ce/cf and negative ones only negative fixint/d0/d1/d2.
        if kind == "u" and v < lo_canon:
            self.notes.append(f"integer {v} at byte {at} not in its shortest form")
        if kind == "s":
            if v >= 0:
                self.notes.append(f"non-negative integer {v} at byte {at} in a signed form")
            elif v >= lo_canon:
                self.notes.append(f"integer {v} at byte {at} not in its shortest form")
        return v

    def value(self, depth=0):
        t = self.take(1)[0]
        if t <= 0x7F:
            return t
        if t >= 0xE0:
            return t - 0x100
        if 0x80 <= t <= 0x8F:
            return self._map(t & 0x0F, depth)
        if 0x90 <= t <= 0x9F:
            return self._array(t & 0x0F, depth)
        if 0xA0 <= t <= 0xBF:
            return self._str(t & 0x1F)
        if t == 0xC0:
            return None
        if t == 0xC2:
            return False
        if t == 0xC3:
            return True
        if t == 0xC4:
            return bytes(self.take(struct.unpack(">B", self.take(1))[0]))
        if t == 0xC5:
            return bytes(self.take(struct.unpack(">H", self.take(2))[0]))
        if t == 0xC6:
            return bytes(self.take(struct.unpack(">I", self.take(4))[0]))
        if t == 0xCA:
            return F32(struct.unpack(">f", self.take(4))[0])
        if t == 0xCB:
            return F64(struct.unpack(">d", self.take(8))[0])
        if t == 0xCC:
            return self._int(">B", 1, 0x80, "u")
        if t == 0xCD:
            return self._int(">H", 2, 0x100, "u")
        if t == 0xCE:
            return self._int(">I", 4, 0x10000, "u")
        if t == 0xCF:
            return self._int(">Q", 8, 0x100000000, "u")
        if t == 0xD0:
            return self._int(">b", 1, -32, "s")
        if t == 0xD1:
            return self._int(">h", 2, -0x80, "s")
        if t == 0xD2:
            return self._int(">i", 4, -0x8000, "s")
        if t == 0xD3:
            v = self._int(">q", 8, -0x80000000, "s")
            self.notes.append(f"int64 form d3 at byte {self.p - 9}, not listed by the document")
            return v
        if t == 0xD9:
            return self._str(struct.unpack(">B", self.take(1))[0])
        if t == 0xDA:
            return self._str(struct.unpack(">H", self.take(2))[0])
        if t == 0xDB:
            return self._str(struct.unpack(">I", self.take(4))[0])
        if t == 0xDC:
            return self._array(struct.unpack(">H", self.take(2))[0], depth)
        if t == 0xDD:
            return self._array(struct.unpack(">I", self.take(4))[0], depth)
        if t == 0xDE:
            return self._map(struct.unpack(">H", self.take(2))[0], depth)
        if t == 0xDF:
            return self._map(struct.unpack(">I", self.take(4))[0], depth)
        raise Malformed(f"MessagePack type byte 0x{t:02x} at byte {self.p - 1} is not used by the protocol")

    def _str(self, n):
        at = self.p
        try:
            return bytes(self.take(n)).decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed(f"string at byte {at} is not UTF-8")

    def _array(self, n, depth):
        if depth + 1 > MAX_NESTING:
            raise Malformed("nesting deeper than 16 levels")
        if n > len(self.d) - self.p:    # every element takes a byte at least
            raise Malformed(f"array of {n} elements cannot fit the {len(self.d) - self.p} bytes left")
        return [self.value(depth + 1) for _ in range(n)]

    def _map(self, n, depth):
        if depth + 1 > MAX_NESTING:
            raise Malformed("nesting deeper than 16 levels")
        out = {}
        for _ in range(n):
            k = self.value(depth + 1)
            if not isinstance(k, str):
                raise Malformed(f"map key {k!r} is not a string")
            if k in out:
                raise Malformed(f"map key {k!r} repeated")
            out[k] = self.value(depth + 1)
        return out


def unpackb(data, notes):
    r = MPReader(data, notes)
    v = r.value()
    if r.p != len(data):
        raise Malformed(f"{len(data) - r.p} trailing bytes after the MessagePack value")
    return v


# ---------------------------------------------------------------------------------------------
# Shape checks: a struct is an array of exactly its fields (doc: Encoding rules)
# ---------------------------------------------------------------------------------------------

def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def want_int(v, lo, hi, what):
    if not is_int(v):
        raise Malformed(f"{what}: expected an integer, got {type(v).__name__} {v!r}")
    if not lo <= v <= hi:
        raise Malformed(f"{what}: {v} out of range {lo}..{hi}")
    return v


def u8(v, w): return want_int(v, 0, 0xFF, w)
def u16(v, w): return want_int(v, 0, 0xFFFF, w)
def u32(v, w): return want_int(v, 0, 0xFFFFFFFF, w)
def u64(v, w): return want_int(v, 0, 0xFFFFFFFFFFFFFFFF, w)
def i32(v, w): return want_int(v, -0x80000000, 0x7FFFFFFF, w)


def want_arr(v, n, what):
    if not isinstance(v, list):
        raise Malformed(f"{what}: expected an array, got {type(v).__name__}")
    if n is not None and len(v) != n:
        raise Malformed(f"{what}: expected {n} fields, got {len(v)}")
    return v


def want_str(v, what):
    if not isinstance(v, str):
        raise Malformed(f"{what}: expected a string, got {type(v).__name__}")
    return v


def want_bool(v, what):
    if not isinstance(v, bool):
        raise Malformed(f"{what}: expected a bool, got {type(v).__name__}")
    return v


def want_bin(v, what):
    if not isinstance(v, bytes):
        raise Malformed(f"{what}: expected bin, got {type(v).__name__}")
    return v


def want_f32(v, what, notes):
    if isinstance(v, F64):
        notes.append(f"{what}: float 64 where the server writes float 32")
    elif not isinstance(v, F32):
        raise Malformed(f"{what}: expected a float 32, got {type(v).__name__} {v!r}")
    if math.isnan(v) or math.isinf(v):
        raise Malformed(f"{what}: not finite")
    return float(v)


def want_vec2(v, what, notes):
    want_arr(v, 2, what)
    return [want_f32(v[0], what + ".x", notes), want_f32(v[1], what + ".y", notes)]


def want_phase(v, what):
    want_str(v, what)
    if v not in ("w", "c", "p", "r"):
        raise Malformed(f"{what}: unknown phase {v!r}")
    return v


def player_info(v, what):
    want_arr(v, 4, what)
    return [u32(v[0], what + ".id"), want_str(v[1], what + ".name"),
            want_int(v[2], 0, 0xFFFFFF, what + ".colour"), want_bool(v[3], what + ".spectator")]


def rect(v, what, notes):
    want_arr(v, 2, what)
    mn = want_vec2(v[0], what + ".min", notes)
    mx = want_vec2(v[1], what + ".max", notes)
    if mn[0] > mx[0] or mn[1] > mx[1]:
        notes.append(f"{what}: min {mn} not <= max {mx}")
    return [mn, mx]


# ---------------------------------------------------------------------------------------------
# Bit streams: entity records and radar cells (doc: Entity records, Codes)
# ---------------------------------------------------------------------------------------------

class BitReader:
    def __init__(self, data):
        self.d = data
        self.n = len(data) * 8
        self.p = 0

    def bit(self):
        if self.p >= self.n:
            raise Malformed(f"bit stream ends at bit {self.p} inside a record")
        b = (self.d[self.p >> 3] >> (7 - (self.p & 7))) & 1
        self.p += 1
        return b

    def bits(self, k):
        v = 0
        for _ in range(k):
            v = (v << 1) | self.bit()
        return v

    def signed(self, k):
        v = self.bits(k)
        return v - (1 << k) if v >> (k - 1) else v

    def uvar(self):
        # Lowest group first, each group's 4 bits most significant first (the doc's example of
        # 16 as `0000 1 0001 0` settles the order inside a group).
        v = 0
        for g in range(16):
            v |= self.bits(4) << (4 * g)
            if not self.bit():
                return v
        raise Malformed(f"uvar of more than 16 groups ending at bit {self.p}")

    def svar(self):
        if not self.bit():
            z = self.bits(6)
        elif not self.bit():
            z = self.bits(9)
        elif not self.bit():
            z = self.bits(12)
        else:
            z = self.bits(32)
        return (z >> 1) if not z & 1 else -(z >> 1) - 1

    def gamma(self):
        zeros = 0
        while not self.bit():
            zeros += 1
            if zeros > 31:
                raise Malformed(f"gamma code of more than 31 zeros at bit {self.p}")
        v = 1
        for _ in range(zeros):
            v = (v << 1) | self.bit()
        return v

    def finish(self):
        left = self.n - self.p
        if left >= 8:
            raise Malformed(f"{left} bits left after the last record (more than padding)")
        if left and self.bits(left):
            raise Malformed("non-zero padding bit")


EMPTY_FRAME = {"ships": {}, "bullets": {}, "pickups": {}}


def decode_ents(data, base_frame, tick, notes, stats):
    """The new frame from `ents` and the baseline frame: dicts id -> tuple of wire integers."""
    r = BitReader(data)
    frame = {}
    for kind in ("ships", "bullets", "pickups"):
        base = base_frame[kind]
        new = {}
        for eid in sorted(base):
            if not r.bit():
                new[eid] = base[eid]
            elif not r.bit():
                if kind != "ships":
                    raise Malformed(f"change record for {kind[:-1]} {eid} (bullets and pickups never change)")
                new[eid] = ship_change(r, base[eid], eid, notes, stats)
            # else `11`: it left
        count = r.uvar()
        prev = None
        for _ in range(count):
            g = r.uvar()
            eid = g if prev is None else prev + g + 1
            if eid in new:
                raise Malformed(f"{kind[:-1]} {eid} entered while carried or changed")
            if kind == "ships":
                x, y = r.signed(24), r.signed(24)
                aim, health, flags = r.bits(8), r.bits(7), r.bits(2)
                if health > 100:
                    notes.append(f"ship {eid} entered with health {health} > 100")
                new[eid] = (x, y, aim, health, flags)
            elif kind == "bullets":
                owner = r.uvar()
                ox, oy = r.signed(24), r.signed(24)
                vx, vy = r.signed(16), r.signed(16)
                age = r.uvar()
                seq = r.uvar()
                if age > tick:
                    raise Malformed(f"bullet {eid} age {age} older than tick {tick}")
                stats["max_bullet_age"] = max(stats.get("max_bullet_age", 0), age)
                new[eid] = (owner, ox, oy, vx, vy, tick - age, seq)
            else:
                new[eid] = (r.bits(1), r.signed(24), r.signed(24))
            prev = eid
        frame[kind] = new
    r.finish()
    return frame


def ship_change(r, old, eid, notes, stats):
    x, y, aim, health, flags = old
    has_pos, has_aim, has_status = r.bit(), r.bit(), r.bit()
    if not (has_pos or has_aim or has_status):
        # DOC: silent on a change record with no presence bit set; it is read as "no change".
        stats["empty_changes"] = stats.get("empty_changes", 0) + 1
    if has_pos:
        x += r.svar()
        y += r.svar()
    if has_aim:
        d = r.svar()
        if not -128 <= d <= 127:
            raise Malformed(f"ship {eid} aim change {d} outside -128..127")
        aim = (aim + d) % 256
    if has_status:
        health, flags = r.bits(7), r.bits(2)
        if health > 100:
            notes.append(f"ship {eid} changed to health {health} > 100")
    return (x, y, aim, health, flags)


def decode_radar_cells(w, h, data):
    if w > RADAR_MAX_W or h > RADAR_MAX_H:
        raise Malformed(f"radar {w} x {h} over the limits {RADAR_MAX_W} x {RADAR_MAX_H}")
    r = BitReader(data)
    n = r.uvar()
    cells = [0] * (w * h)
    at = -1
    for i in range(n):
        at += r.gamma()          # empty cells before it, plus one
        if at >= w * h:
            raise Malformed(f"radar cell {i} lands at {at}, past {w} x {h}")
        c = r.gamma()
        if c > 255:
            raise Malformed(f"radar cell {at} holds {c} > 255 ships")
        cells[at] = c
    r.finish()
    return cells


def frame_json(frame):
    return {"ships": [[i, *frame["ships"][i]] for i in sorted(frame["ships"])],
            "bullets": [[i, *frame["bullets"][i]] for i in sorted(frame["bullets"])],
            "pickups": [[i, *frame["pickups"][i]] for i in sorted(frame["pickups"])]}


def own_state(v, notes):
    want_arr(v, 9, "OwnState")
    pos = want_arr(v[1], 2, "OwnState.pos")
    vel = want_arr(v[2], 2, "OwnState.vel")
    me = {"id": u32(v[0], "me.id"),
          "pos": [i32(pos[0], "me.pos.x"), i32(pos[1], "me.pos.y")],
          "vel": [i32(vel[0], "me.vel.x"), i32(vel[1], "me.vel.y")],
          "aim": u8(v[3], "me.aim"), "ack": u32(v[4], "me.ack"), "health": u8(v[5], "me.health"),
          "flags": u8(v[6], "me.flags"), "cooldown": u8(v[7], "me.cooldown"),
          "rapid_ticks": u16(v[8], "me.rapid_ticks")}
    if me["health"] > 100:
        notes.append(f"me.health {me['health']} > 100")
    if me["flags"] & ~7:
        notes.append(f"me.flags {me['flags']} has bits other than 1, 2, 4")
    return me


# ---------------------------------------------------------------------------------------------
# The client's game state and its decoding of server messages
# ---------------------------------------------------------------------------------------------

class Game:
    def __init__(self, policy, log):
        self.policy = policy
        self.log = log
        self.my_id = None
        self.spectator = False
        self.welcomed = False
        self.arena = [0.0, 0.0]
        self.frames = {}                 # tick -> frame, the last KEEP_TICKS ticks
        self.newest_seen = None          # newest snapshot tick received
        self.newest_decoded = None       # newest snapshot tick decoded (what we may ack)
        self.lost = False                # doc: after an undecodable snapshot, ack 0 until a full one
        self.max_nonzero_base = 0
        self.acked = set()               # every tick we acknowledged, to check each `base`
        self.pings = set()
        self.last_me = None
        self.stats = {"snapshots": 0, "decoded": 0, "full": 0, "delta": 0, "radars": 0,
                      "msgs": {}, "ships": set(), "bullets": set(), "pickups": set(),
                      "undecoded": 0, "bases_against_held_stale": 0}
        # hostile bookkeeping
        self.cycle = 0
        self.held = None
        self.expect = []                 # [kind, snapshots seen when sent, satisfied]
        self.expect_done = {}

    # -- messages --------------------------------------------------------------------------

    def on_binary(self, payload):
        notes = []
        msg = None
        try:
            v = unpackb(payload, notes)
            msg = self.message(v, notes, in_batch=False)
        except Malformed as e:
            notes.insert(0, f"undecodable message: {e}")
        self.log({"dir": "in", "hex": payload.hex(), "msg": msg})
        for n in notes:
            self.log({"error": n, "hex": payload.hex()})

    def message(self, v, notes, in_batch):
        if not isinstance(v, dict) or len(v) != 1:
            raise Malformed("a message is a map with exactly one entry")
        (k, body), = v.items()
        self.stats["msgs"][k] = self.stats["msgs"].get(k, 0) + 1
        if k == "b":
            if in_batch:
                raise Malformed("Batch inside a Batch")
            want_arr(body, None, "Batch")
            return {"type": "b", "items": [self.message(x, notes, True) for x in body]}
        if not self.welcomed and k != "w":
            notes.append(f"message '{k}' before Welcome (doc: Welcome comes before everything)")
        if k == "s":
            if in_batch:
                # DOC: a Batch carries reliable messages; a snapshot is latest-wins.
                notes.append("Snapshot inside a Batch")
            return self.snapshot(body, notes)
        if k == "w":
            want_arr(body, 8, "Welcome")
            players = [player_info(p, "Welcome.players[]") for p in want_arr(body[5], None, "Welcome.players")]
            if len(players) > 32:
                notes.append(f"Welcome lists {len(players)} players (at most 32)")
            self.my_id = u32(body[0], "Welcome.id")
            self.arena = want_vec2(body[1], "Welcome.arena", notes)
            u32(body[2], "Welcome.tick_rate")
            if body[2] != TICK_RATE:
                notes.append(f"tick_rate {body[2]}, the doc says 30")
            self.spectator = want_bool(body[6], "Welcome.spectator")
            want_str(body[7], "Welcome.rejoin")
            if self.welcomed:
                notes.append("second Welcome")
            if players and players[0][0] != self.my_id:
                notes.append("Welcome.players does not list you first")
            self.welcomed = True
            return {"type": "w", "id": self.my_id, "room": want_str(body[4], "Welcome.room"),
                    "colour": u32(body[3], "Welcome.colour"), "spectator": self.spectator,
                    "players": players}
        if k == "n":
            players = [player_info(p, "Roster[]") for p in want_arr(body, None, "Roster")]
            if len(players) > 32:
                notes.append(f"Roster of {len(players)} players (at most 32)")
            return {"type": "n", "players": players}
        if k == "m":
            want_arr(body, 4, "Match")
            phase = want_phase(body[0], "Match.phase")
            mp = want_arr(body[1], 3, "Match.map")
            name = want_str(mp[0], "Match.map.name")
            self.arena = want_vec2(mp[1], "Match.map.size", notes)
            obst = [rect(o, "Match.map.obstacles[]", notes) for o in want_arr(mp[2], None, "Match.map.obstacles")]
            if len(obst) > 64:
                notes.append(f"Match carries {len(obst)} obstacles (at most 64)")
            u16(body[2], "Match.score_limit")
            u32(body[3], "Match.match_secs")
            return {"type": "m", "phase": phase, "map_name": name, "obstacles": len(obst)}
        if k == "x":
            obst = [rect(o, "Obstacles[]", notes) for o in want_arr(body, None, "Obstacles")]
            if len(obst) > 64:
                notes.append(f"Obstacles carries {len(obst)} (at most 64)")
            return {"type": "x", "count": len(obst)}
        if k == "t":
            lines = []
            for ln in want_arr(body, None, "Scores"):
                want_arr(ln, 3, "ScoreLine")
                lines.append([u32(ln[0], "ScoreLine.id"), u16(ln[1], "ScoreLine.kills"),
                              u16(ln[2], "ScoreLine.deaths")])
            if len(lines) > 128:
                notes.append(f"Scores of {len(lines)} lines (at most 128)")
            return {"type": "t", "lines": lines}
        if k == "j":
            return {"type": "j", "player": player_info(body, "Joined")}
        if k == "l":
            want_arr(body, 1, "Left")
            return {"type": "l", "id": u32(body[0], "Left.id")}
        if k == "o":
            want_arr(body, 1, "Pong")
            pid = u32(body[0], "Pong.id")
            if pid not in self.pings:
                notes.append(f"Pong {pid} answers no Ping we sent")
            return {"type": "o", "id": pid}
        if k == "c":
            want_arr(body, 2, "Chat")
            frm = None if body[0] is None else u32(body[0], "Chat.from")
            return {"type": "c", "from": frm, "text": want_str(body[1], "Chat.text")}
        if k == "k":
            want_arr(body, 2, "Kill")
            return {"type": "k", "killer": u32(body[0], "Kill.killer"), "victim": u32(body[1], "Kill.victim")}
        if k == "r":
            want_arr(body, 3, "Results")
            winner = None if body[0] is None else u32(body[0], "Results.winner")
            scores = want_arr(body[1], None, "Results.scores")
            for s in scores:
                want_arr(s, 4, "Score")
                u32(s[0], "Score.id"), want_str(s[1], "Score.name"), u16(s[2], "Score.kills"), u16(s[3], "Score.deaths")
            if len(scores) > 32:
                notes.append(f"Results lists {len(scores)} (at most 32)")
            return {"type": "r", "winner": winner, "next_map": want_str(body[2], "Results.next_map")}
        if k == "d":
            want_arr(body, 3, "Radar")
            w, h = u8(body[0], "Radar.width"), u8(body[1], "Radar.height")
            cells = decode_radar_cells(w, h, want_bin(body[2], "Radar.cells"))
            self.stats["radars"] += 1
            return {"type": "d", "width": w, "height": h, "cells": cells}
        raise Malformed(f"message type {k!r} is not in the document")

    def snapshot(self, body, notes):
        want_arr(body, 6, "Snapshot")
        tick = u64(body[0], "Snapshot.tick")
        base = u64(body[1], "Snapshot.base")
        phase = want_phase(body[2], "Snapshot.phase")
        tl = u32(body[3], "Snapshot.time_left_ms")
        me = None if body[4] is None else own_state(body[4], notes)
        ents = want_bin(body[5], "Snapshot.ents")
        st = self.stats
        st["snapshots"] += 1
        out = {"type": "s", "tick": tick, "base": base, "phase": phase, "time_left_ms": tl,
               "me": me, "frame": None}
        if phase == "w" and tl != 0:
            notes.append(f"tick {tick}: time_left_ms {tl} while waiting (doc: 0)")
        if me is None and not self.spectator:
            notes.append(f"tick {tick}: me is nil for a player")
        if me is not None and not self.spectator and me["id"] != self.my_id:
            notes.append(f"tick {tick}: me.id {me['id']} is not our id {self.my_id}")
        if self.newest_seen is not None and tick <= self.newest_seen:
            notes.append(f"snapshot tick {tick} after tick {self.newest_seen} (doc: in tick order)")
        self.newest_seen = tick if self.newest_seen is None else max(tick, self.newest_seen)
        if base:
            if base >= tick:
                notes.append(f"tick {tick}: base {base} not before the tick")
            if tick - base >= HISTORY_TICKS:
                notes.append(f"tick {tick}: base {base} is {tick - base} ticks old (doc: usable while < 32)")
            if base not in self.acked:
                notes.append(f"tick {tick}: base {base} was never acknowledged by this client")
            if self.policy == "normal" and base < self.max_nonzero_base:
                notes.append(f"tick {tick}: base {base} went back from {self.max_nonzero_base}")
            self.max_nonzero_base = max(self.max_nonzero_base, base)
            if self.held is not None and base == self.held:
                st["bases_against_held_stale"] += 1
        base_frame = EMPTY_FRAME if base == 0 else self.frames.get(base)
        if base_frame is None:
            notes.append(f"tick {tick}: base {base} is not a frame this client holds; not decoded")
            self.lost = True
            st["undecoded"] += 1
        else:
            try:
                frame = decode_ents(ents, base_frame, tick, notes, st)
            except Malformed as e:
                notes.append(f"tick {tick} (base {base}): ents do not decode: {e}")
                self.lost = True
                st["undecoded"] += 1
                frame = None
            if frame is not None:
                out["frame"] = frame_json(frame)
                self.after_decode(tick, base, frame, me, notes)
        if me is not None:
            self.last_me = me
        return out

    def after_decode(self, tick, base, frame, me, notes):
        st = self.stats
        st["decoded"] += 1
        st["full" if base == 0 else "delta"] += 1
        if base == 0:
            self.lost = False
            for e in self.expect:
                e[2] = True
        for kind in ("ships", "bullets", "pickups"):
            st[kind].update(frame[kind])
        if me is not None and me["id"] in frame["ships"]:
            notes.append(f"tick {tick}: the ship of `me` ({me['id']}) is also in ents")
        self.check_view(tick, frame, me, notes)
        self.frames[tick] = frame
        if self.newest_decoded is None or tick > self.newest_decoded:
            self.newest_decoded = tick
        for t in [t for t in self.frames if t <= self.newest_decoded - KEEP_TICKS]:
            del self.frames[t]
        # A special ack has had its chance once a few snapshots came after it.
        still = []
        for e in self.expect:
            e[1] -= 1
            if e[2] or e[1] <= 0:
                ok, n = self.expect_done.get(e[0], (0, 0))
                self.expect_done[e[0]] = (ok + (1 if e[2] else 0), n + 1)
            else:
                still.append(e)
        self.expect = still

    def check_view(self, tick, frame, me, notes):
        # Doc (What a snapshot shows): an entity is in view when its centre is within 850 units
        # of the view's centre on both axes; the centre is the ship's coordinate clamped to
        # [620, size - 620] on each axis, or the middle of an axis shorter than 1240. Tolerance
        # of one unit for quantisation.
        def axis(p, size):
            return min(max(p, 620.0), size - 620.0) if size >= 1240.0 else size / 2
        if me is not None:
            cx, cy = axis(me["pos"][0] / 8, self.arena[0]), axis(me["pos"][1] / 8, self.arena[1])
        else:
            cx, cy = self.arena[0] / 2, self.arena[1] / 2
        lim = AOI_HALF_EXTENT + 1.0
        for i, (x, y, *_r) in frame["ships"].items():
            if abs(x / 2 - cx) > lim or abs(y / 2 - cy) > lim:
                notes.append(f"tick {tick}: ship {i} at ({x / 2}, {y / 2}) outside the view around ({cx}, {cy})")
        for i, (_o, ox, oy, vx, vy, bt, _s) in frame["bullets"].items():
            age = (tick - bt) / TICK_RATE
            x, y = ox / 8 + vx / 16 * age, oy / 8 + vy / 16 * age
            if abs(x - cx) > lim or abs(y - cy) > lim:
                notes.append(f"tick {tick}: bullet {i} at ({x:.1f}, {y:.1f}) outside the view around ({cx}, {cy})")
        for i, (_k, x, y) in frame["pickups"].items():
            if abs(x / 8 - cx) > lim or abs(y / 8 - cy) > lim:
                notes.append(f"tick {tick}: pickup {i} at ({x / 8}, {y / 8}) outside the view around ({cx}, {cy})")

    # -- what to acknowledge ----------------------------------------------------------------

    def choose_ack(self):
        """(ack, why). Only decoded ticks, 0, or the deliberate never-sent tick."""
        nd = self.newest_decoded
        if self.lost or nd is None:
            return 0, "none"
        if self.policy == "normal":
            return nd, "normal"
        i = self.cycle % 40
        self.cycle += 1
        if i < 15:
            return nd, "normal"
        if i < 23:
            # (b) No progress: hold the tick acknowledged last; the server deltas against it.
            if i == 15 or self.held not in self.frames:
                self.held = nd
            return self.held, "stale"
        if i == 23:
            self.expect.append(["never-sent", 5, False])
            return nd + 5000, "never-sent"
        # Normal acks between the special ones, so that each full snapshot can be laid at the
        # door of the one special ack that preceded it.
        if 28 <= i < 31:
            if i == 28:
                self.expect.append(["zero", 7, False])
            return 0, "zero"
        if i == 35:
            old = [t for t in self.frames if nd - 60 <= t <= nd - 33]
            if old:
                self.expect.append(["too-old", 5, False])
                return max(old), "too-old"
            self.expect_done["too-old-skipped"] = self.expect_done.get("too-old-skipped", 0) + 1
        return nd, "normal"


# ---------------------------------------------------------------------------------------------
# WebSocket (RFC 6455) over a plain socket
# ---------------------------------------------------------------------------------------------

class HandshakeRefused(Exception):
    pass


class WebSocket:
    def __init__(self, url):
        u = urlparse(url)
        if u.scheme != "ws":
            raise ValueError("only ws:// URLs")
        self.host = u.hostname
        self.port = u.port or 80
        path = (u.path or "/") + (("?" + u.query) if u.query else "")
        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        # No Origin header: the doc says clients without one are not checked against origins.
        req = (f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise HandshakeRefused(f"connection closed during the upgrade: {buf[:200]!r}")
            buf += chunk
            if len(buf) > 65536:
                raise HandshakeRefused("upgrade response headers too long")
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.buf = bytearray(self.buf)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            raise HandshakeRefused(f"upgrade refused: {lines[0]}")
        headers = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            raise HandshakeRefused("bad Sec-WebSocket-Accept")
        self.sock.settimeout(None)
        self.partial = None          # (opcode, bytearray) of a fragmented message in progress
        self.eof = False

    def send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
        elif n < 0x10000:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def read_some(self, timeout):
        """Waits up to `timeout` for bytes; returns False once the peer ended the stream."""
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if r:
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionError:
                data = b""
            if not data:
                self.eof = True
                return False
            self.buf += data
        return True

    def frames(self):
        """Yields (event, payload): ('message', bytes), ('text', bytes), ('ping', b),
        ('pong', b), ('close', b), ('error', text)."""
        while True:
            b = self.buf
            if len(b) < 2:
                return
            fin, rsv, op = b[0] & 0x80, b[0] & 0x70, b[0] & 0x0F
            masked, n, i = b[1] & 0x80, b[1] & 0x7F, 2
            if n == 126:
                if len(b) < 4:
                    return
                n, i = struct.unpack(">H", b[2:4])[0], 4
            elif n == 127:
                if len(b) < 10:
                    return
                n, i = struct.unpack(">Q", b[2:10])[0], 10
            if n > MAX_MESSAGE:
                yield "fatal", f"server frame of {n} bytes over 16 MiB"
                return
            mask = None
            if masked:
                if len(b) < i + 4:
                    return
                mask, i = b[i:i + 4], i + 4
            if len(b) < i + n:
                return
            payload = bytes(b[i:i + n])
            del b[:i + n]
            if mask:
                payload = bytes(c ^ mask[j & 3] for j, c in enumerate(payload))
                yield "error", "server frame is masked (RFC 6455: servers never mask)"
            if rsv:
                yield "error", f"server frame with RSV bits 0x{rsv:02x}"
            if op >= 8:
                if not fin or n > 125:
                    yield "error", f"bad control frame (opcode {op}, fin {bool(fin)}, {n} bytes)"
                yield {8: "close", 9: "ping", 10: "pong"}.get(op, f"opcode{op}"), payload
                continue
            if op == 0:
                if self.partial is None:
                    yield "error", "continuation frame with no message in progress"
                    continue
                self.partial[1].extend(payload)
                if len(self.partial[1]) > MAX_MESSAGE:
                    yield "fatal", "fragmented server message over 16 MiB"
                    return
            elif op in (1, 2):
                if self.partial is not None:
                    yield "error", "new data frame while a fragmented message is in progress"
                self.partial = (op, bytearray(payload))
            else:
                yield "error", f"unknown opcode {op}"
                continue
            if fin:
                op0, data = self.partial
                self.partial = None
                yield ("message" if op0 == 2 else "text"), bytes(data)


# ---------------------------------------------------------------------------------------------
# Playing
# ---------------------------------------------------------------------------------------------

class Stick:
    """Smoothly wandering stick, aim and trigger, all from one seeded generator."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.heading = self.rng.uniform(-math.pi, math.pi)
        self.turn = 0.0
        self.speed = self.rng.uniform(0.3, 1.0)
        self.aim = self.rng.uniform(-math.pi, math.pi)
        self.aim_turn = 0.0
        self.fire = True

    def step(self):
        r = self.rng
        self.turn = max(-0.15, min(0.15, self.turn + r.uniform(-0.03, 0.03)))
        self.heading = wrap(self.heading + self.turn)
        self.speed = max(0.0, min(1.0, self.speed + r.uniform(-0.05, 0.05)))
        self.aim_turn = max(-0.2, min(0.2, self.aim_turn + r.uniform(-0.04, 0.04)))
        self.aim = wrap(self.aim + self.aim_turn)
        if self.fire and r.random() < 0.02:
            self.fire = False
        elif not self.fire and r.random() < 0.2:
            self.fire = True
        # Components of a vector of length <= 1 stay in [-1, 1] once rounded to f32 (rounding
        # is monotonic and 1.0 is exact), so the server never sees an out-of-range stick.
        mv = [f32(math.cos(self.heading) * self.speed), f32(math.sin(self.heading) * self.speed)]
        return mv, f32(self.aim), 1 if self.fire else 0


def wrap(a):
    return (a + math.pi) % (2 * math.pi) - math.pi


def run(args):
    out = open(args.out, "w", encoding="utf-8")
    errors = [0]

    def log(obj):
        if "error" in obj:
            errors[0] += 1
        out.write(json.dumps(obj, separators=(",", ":")) + "\n")

    game = Game(args.acks, log)
    stick = Stick(args.seed)
    try:
        ws = WebSocket(args.url)
    except (OSError, HandshakeRefused, ValueError) as e:
        log({"error": f"connect: {e}", "hex": ""})
        out.close()
        print("SUMMARY " + json.dumps({"name": args.name, "errors": errors[0], "connected": False}))
        return 1

    def send(msg, js):
        payload = packb(msg)
        log({"dir": "out", "hex": payload.hex(), "msg": js})
        ws.send(2, payload)

    send({"h": [PROTOCOL_VERSION, args.name, args.room, args.spectate, False, None]},
         {"type": "h", "version": PROTOCOL_VERSION, "name": args.name, "room": args.room,
          "spectate": args.spectate, "private": False, "rejoin": None})

    start = time.monotonic()
    deadline = start + args.seconds
    period = 1.0 / TICK_RATE
    next_input = None
    next_ping = start + 1.0
    ping_id = 0
    seq = 0
    skip_next = False
    skip_block_until = 0       # after leaving a slot out, not again until this seq is acked
    last_seq_sent = 0
    closing = False            # we sent our Close
    close_deadline = None
    server_close = None
    ack_kinds = {}
    server_pings = 0

    while True:
        now = time.monotonic()
        if not closing and server_close is None and now >= deadline:
            ws.send(8, struct.pack(">H", 1000) + b"done")
            closing, close_deadline = True, now + 3.0
        if close_deadline is not None and now >= close_deadline:
            if server_close is None:
                log({"error": "no Close from the server within 3 s of ours", "hex": ""})
            break
        wake = [close_deadline or deadline]
        if game.welcomed and not closing and server_close is None:
            wake += [next_input or now, next_ping]
        if not ws.read_some(min(wake) - now):
            if server_close is None:
                log({"error": "the server ended the TCP stream without a Close frame", "hex": ""})
            break
        for ev, data in ws.frames():
            if ev == "message":
                was_welcomed = game.welcomed
                seen = game.stats["snapshots"]
                game.on_binary(data)
                if game.welcomed and not was_welcomed:
                    next_input = time.monotonic()
                me = game.last_me
                if (me is not None and not game.spectator and me["flags"] & 4
                        and not skip_next and me["ack"] >= skip_block_until):
                    # Doc (Input): bit 4 means an input of ours waits in the server's buffer;
                    # leaving one slot out removes that tick of latency.
                    skip_next = True
                    skip_block_until = last_seq_sent
                if (game.spectator and game.stats["snapshots"] > seen and game.newest_decoded
                        and not closing and server_close is None):
                    # Spectators acknowledge once per snapshot, as the doc asks of them.
                    ack, why = game.choose_ack()
                    ack_kinds[why] = ack_kinds.get(why, 0) + 1
                    if ack and why != "never-sent":
                        game.acked.add(ack)
                    send({"a": [ack]}, {"type": "a", "tick": ack, "ack_policy": why})
            elif ev == "ping":
                server_pings += 1
                ws.send(10, data)
            elif ev == "pong":
                pass
            elif ev == "close":
                code = struct.unpack(">H", data[:2])[0] if len(data) >= 2 else None
                reason = data[2:].decode("utf-8", "replace")
                server_close = (code, reason)
                if not closing:
                    log({"error": f"server closed the connection early: code {code} reason {reason!r}",
                         "hex": data.hex()})
                    ws.send(8, data[:2])
                    closing = True
                close_deadline = time.monotonic() + 2.0     # wait for the end of the stream
            elif ev == "text":
                log({"error": "text frame from the server (doc: every message is binary)", "hex": data.hex()})
            elif ev == "fatal":
                log({"error": data, "hex": ""})
                close_deadline = time.monotonic()
            else:
                log({"error": f"websocket: {ev} {data}", "hex": ""})
        if ws.eof:
            break
        now = time.monotonic()
        if closing or server_close is not None or not game.welcomed:
            continue
        if now >= next_ping:
            ping_id += 1
            game.pings.add(ping_id)
            send({"p": [ping_id]}, {"type": "p", "id": ping_id})
            next_ping = now + 1.5
        if game.spectator or next_input is None or now < next_input:
            continue
        next_input += period
        if next_input < now - 0.1:      # we stalled: do not burst to catch up
            next_input = now + period
        if skip_next:
            skip_next = False
            ack_kinds["slot-left-out"] = ack_kinds.get("slot-left-out", 0) + 1
            continue
        seq += 1
        mv, aim, buttons = stick.step()
        ack, why = game.choose_ack()
        ack_kinds[why] = ack_kinds.get(why, 0) + 1
        if ack and why != "never-sent":
            game.acked.add(ack)
        # The tick this client "shows": two ticks behind the newest, as the reference client
        # draws at the least; 0 (unknown) before two ticks have been decoded.
        nd = game.newest_decoded
        view_tick = nd - 2 if nd and nd > 2 else 0
        send({"i": [seq, mv, aim, buttons, ack, view_tick]},
             {"type": "i", "seq": seq, "mv": [float(mv[0]), float(mv[1])], "aim": float(aim),
              "buttons": buttons, "ack": ack, "view_tick": view_tick, "ack_policy": why})
        last_seq_sent = seq

    try:
        ws.sock.close()
    except OSError:
        pass
    st = game.stats
    # Specials still waiting at the end had too little time to count either way.
    summary = {
        "name": args.name, "acks": args.acks, "seconds": args.seconds,
        "snapshots": st["snapshots"], "decoded": st["decoded"], "full": st["full"], "delta": st["delta"],
        "undecoded": st["undecoded"], "errors": errors[0],
        "ships_seen": len(st["ships"]), "bullets_seen": len(st["bullets"]), "pickups_seen": len(st["pickups"]),
        "radars": st["radars"], "msgs": dict(sorted(st["msgs"].items())),
        "inputs": seq, "ack_kinds": ack_kinds,
        "full_after_special_ack": {k: (f"{v[0]}/{v[1]}" if isinstance(v, tuple) else v)
                                   for k, v in game.expect_done.items()},
        "deltas_against_held_tick": st["bases_against_held_stale"],
        "empty_change_records": st.get("empty_changes", 0),
        "max_bullet_age": st.get("max_bullet_age"),
        "server_pings_answered": server_pings, "server_close": server_close,
    }
    out.close()
    print("SUMMARY " + json.dumps(summary, separators=(",", ":")))
    return 0 if errors[0] == 0 else 1


# ---------------------------------------------------------------------------------------------
# Self-test against the document's own hex examples
# ---------------------------------------------------------------------------------------------

def h(s):
    return bytes.fromhex(s.replace(" ", ""))


def selftest():
    ok = True

    def check(name, got, want):
        nonlocal ok
        if got != want:
            ok = False
            print(f"FAIL {name}:\n  got  {got}\n  want {want}")
        else:
            print(f"ok   {name}")

    check("Hello", packb({"h": [3, "Ada", "lan", False, False, None]}).hex(),
          h("81 a1 68 96 03 a3 41 64 61 a3 6c 61 6e c2 c2 c0").hex())
    check("Input", packb({"i": [7, [F32(1.0), F32(0.0)], F32(0.5), 1, 120, 0]}).hex(),
          h("81 a1 69 96 07 92 ca 3f 80 00 00 ca 00 00 00 00 ca 3f 00 00 00 01 78 00").hex())
    check("Ping", packb({"p": [3]}).hex(), "81a1709103")
    check("Chat", packb({"c": ["gg"]}).hex(), h("81 a1 63 91 a2 67 67").hex())
    check("Ack", packb({"a": [120]}).hex(), "81a1619178")
    check("Follow", packb({"f": [2]}).hex(), "81a1669102")

    logged = []
    g = Game("normal", logged.append)

    def dec(hexs):
        logged.clear()
        g.on_binary(h(hexs))
        errs = [x for x in logged if "error" in x]
        if errs:
            print("  errors:", errs)
        return logged[0]["msg"]

    check("Welcome", dec("81 a1 77 98 01 92 ca 45 16 00 00 ca 44 c8 00 00 1e ce 00 e8 50 4d a3 6c 61 6e 91 94 01 a3 41 64 61 ce 00 e8 50 4d c2 c2 a0"),
          {"type": "w", "id": 1, "room": "lan", "colour": 0xE8504D, "spectator": False,
           "players": [[1, "Ada", 0xE8504D, False]]})
    check("Match", dec("81 a1 6d 94 a1 63 93 a5 61 72 65 6e 61 92 ca 45 16 00 00 ca 44 c8 00 00 91 92 92 ca 44 89 80 00 ca 44 2f 00 00 92 ca 44 a2 80 00 ca 44 61 00 00 14 cd 01 2c"),
          {"type": "m", "phase": "c", "map_name": "arena", "obstacles": 1})
    check("Scores", dec("81 a1 74 92 93 01 00 00 93 02 03 01"),
          {"type": "t", "lines": [[1, 0, 0], [2, 3, 1]]})
    g.acked.add(120)
    full = dec("81 a1 73 96 78 00 a1 70 ce 00 04 80 58 99 01 92 cd 19 00 cd 0f a0 92 00 00 14 07 64 01 00 00 c4 1e 11 00 01 f4 40 01 32 20 28 22 90 80 06 60 00 03 e8 0e 10 00 00 08 a1 20 00 4b 00 00 32 00")
    check("Snapshot full", full,
          {"type": "s", "tick": 120, "base": 0, "phase": "p", "time_left_ms": 295000,
           "me": {"id": 1, "pos": [6400, 4000], "vel": [0, 0], "aim": 20, "ack": 7, "health": 100,
                  "flags": 1, "cooldown": 0, "rapid_ticks": 0},
           "frame": {"ships": [[2, 2001, 1224, 128, 80, 1]],
                     "bullets": [[9, 1, 6528, 4000, 14400, 0, 118, 5]],
                     "pickups": [[4, 0, 9600, 6400]]}})
    delta = dec("81 a1 73 96 79 78 a1 70 ce 00 04 80 36 99 01 92 cd 19 00 cd 0f a0 92 00 00 14 08 64 01 00 00 c4 05 a0 70 00 03 00")
    check("Snapshot delta", delta["frame"] if delta else None,
          {"ships": [[2, 1997, 1224, 128, 80, 1]], "bullets": [[9, 1, 6528, 4000, 14400, 0, 118, 5]],
           "pickups": []})
    check("Obstacles", dec("81 a1 78 91 92 92 ca 44 89 80 00 ca 44 2f 00 00 92 ca 44 a2 80 00 ca 44 61 00 00"),
          {"type": "x", "count": 1})
    check("Roster", dec("81 a1 6e 92 94 02 a3 42 6f 62 ce 00 4d 8a e8 c2 94 03 a2 43 79 ce 00 4d e8 a0 c2"),
          {"type": "n", "players": [[2, "Bob", 0x4D8AE8, False], [3, "Cy", 0x4DE8A0, False]]})
    check("Joined", dec("81 a1 6a 94 02 a3 42 6f 62 ce 00 4d 8a e8 c2"),
          {"type": "j", "player": [2, "Bob", 0x4D8AE8, False]})
    check("Left", dec("81 a1 6c 91 02"), {"type": "l", "id": 2})
    g.pings.add(3)
    check("Pong", dec("81 a1 6f 91 03"), {"type": "o", "id": 3})
    check("Chat player", dec("81 a1 63 92 01 a2 67 67"), {"type": "c", "from": 1, "text": "gg"})
    check("Chat system", dec("81 a1 63 92 c0 aa 41 64 61 20 6a 6f 69 6e 65 64"),
          {"type": "c", "from": None, "text": "Ada joined"})
    check("Kill", dec("81 a1 6b 92 01 02"), {"type": "k", "killer": 1, "victim": 2})
    check("Results", dec("81 a1 72 93 01 91 94 01 a3 41 64 61 14 03 a4 6d 61 7a 65"),
          {"type": "r", "winner": 1, "next_map": "maze"})
    cells = [0] * 24
    cells[9], cells[10], cells[17] = 1, 2, 1
    check("Radar", dec("81 a1 64 93 06 04 c4 03 30 ad 1e"),
          {"type": "d", "width": 6, "height": 4, "cells": cells})
    check("Radar empty", decode_radar_cells(6, 4, b"\x00"), [0] * 24)
    check("Batch", dec("81 a1 62 92 81 a1 6a 94 02 a3 42 6f 62 ce 00 4d 8a e8 c2 81 a1 63 92 c0 aa 42 6f 62 20 6a 6f 69 6e 65 64"),
          {"type": "b", "items": [{"type": "j", "player": [2, "Bob", 0x4D8AE8, False]},
                                  {"type": "c", "from": None, "text": "Bob joined"}]})
    r = BitReader(h("08 80"))   # 16 as `0000 1 0001 0`
    check("uvar 16", r.uvar(), 16)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    ap.add_argument("--name", default="clean")
    ap.add_argument("--room", default=None)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--acks", choices=("normal", "hostile"), default="normal")
    ap.add_argument("--spectate", action="store_true", help="join without a ship (acknowledges with Ack)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="client.jsonl")
    ap.add_argument("--selftest", action="store_true", help="check the codec against the doc's examples")
    args = ap.parse_args()
    if args.selftest:
        return selftest()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
