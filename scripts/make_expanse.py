#!/usr/bin/env python3
"""Generates assets/maps/expanse.json: the 16000 x 16000 map for big rooms and load tests.

Deterministic (fixed seed, only `random.Random.random()`, whose sequence Python keeps stable),
standard library only. Obstacles are pillars, walls, L-corners and small clusters of pillars,
about one piece per 800 x 800 cell; any two pieces keep a gap of at least CLEARANCE_UNITS and
every piece is a tree of touching rectangles, so no area can be closed off. Spawns are a
jittered 30 x 30 grid and pickups a jittered 18 x 18 grid, each point kept clear of obstacles.
Before writing, the script checks what `server/src/maps.rs` checks, plus that every free spot
is reachable from every other one (a flood fill on a grid).

    python3 scripts/make_expanse.py            # rewrite assets/maps/expanse.json
    python3 scripts/make_expanse.py --check    # exit 1 if the file is not what this script makes
"""

import argparse
import os
import random
import sys
from collections import deque

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "assets", "maps", "expanse.json")

SEED = 20240611
SIZE_UNITS = 16000
# Mirrors of shared/src/tuning.rs and server/src/maps.rs.
SHIP_RADIUS_UNITS = 16
PICKUP_RADIUS_UNITS = 14
MAX_MAP_ITEMS = 1000
# Smallest gap between two pieces, and between a piece and the arena edge: several ships wide.
CLEARANCE_UNITS = 160
# Extra room kept between a spawn or pickup and the nearest obstacle, beyond its radius.
POINT_MARGIN_UNITS = 24
OBSTACLE_CELL_UNITS = 800
SPAWN_GRID = 30
PICKUP_GRID = 18
# Flood-fill resolution for the reachability check.
FILL_CELL_UNITS = 20


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def uniform(self, lo, hi):
        return lo + (hi - lo) * self.rng.random()

    def step(self, lo, hi, step=10):
        """A multiple of `step` in [lo, hi]: round numbers keep the file readable."""
        n = (hi - lo) // step + 1
        return lo + step * min(n - 1, int(self.rng.random() * n))

    def pick(self, weighted):
        x = self.rng.random() * sum(w for _, w in weighted)
        for item, w in weighted:
            x -= w
            if x < 0:
                return item
        return weighted[-1][0]


def gap(a, b):
    """Distance between two rectangles [x, y, w, h] (0 when they touch or overlap)."""
    dx = max(a[0] - (b[0] + b[2]), b[0] - (a[0] + a[2]), 0)
    dy = max(a[1] - (b[1] + b[3]), b[1] - (a[1] + a[3]), 0)
    return (dx * dx + dy * dy) ** 0.5


def point_rect_dist(x, y, r):
    cx = min(max(x, r[0]), r[0] + r[2])
    cy = min(max(y, r[1]), r[1] + r[3])
    return ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5


def piece(g, cx, cy):
    """One piece of cover around (cx, cy): a list of rectangles that touch or stand apart."""
    kind = g.pick([("pillar", 30), ("wall", 25), ("corner", 15), ("cluster", 20), ("none", 10)])
    if kind == "pillar":
        s = g.step(60, 220)
        return [[cx - s // 2, cy - s // 2, s, s]]
    if kind == "wall":
        length, thick = g.step(300, 1100), g.step(30, 50)
        if g.rng.random() < 0.5:
            return [[cx - length // 2, cy - thick // 2, length, thick]]
        return [[cx - thick // 2, cy - length // 2, thick, length]]
    if kind == "corner":
        # Two arms of lengths a and b from the corner (x0, y0), opening towards (sx, sy); the
        # horizontal arm reaches half a thickness past the corner so the two meet squarely.
        a, b, t = g.step(300, 700), g.step(300, 700), 40
        sx, sy = (1 if g.rng.random() < 0.5 else -1), (1 if g.rng.random() < 0.5 else -1)
        x0, y0 = cx - sx * (a // 2), cy - sy * (b // 2)
        horizontal = [x0 - t // 2 if sx > 0 else x0 - a, y0 - t // 2, a + t // 2, t]
        vertical = [x0 - t // 2, y0 - t // 2 if sy > 0 else y0 - b, t, b + t // 2]
        return [horizontal, vertical]
    if kind == "cluster":
        rects = []
        for _ in range(3 + int(g.rng.random() * 3)):
            s = g.step(40, 100)
            x, y = cx + int(g.uniform(-260, 260)), cy + int(g.uniform(-260, 260))
            r = [x - s // 2, y - s // 2, s, s]
            if all(gap(r, o) >= CLEARANCE_UNITS for o in rects):
                rects.append(r)
        return rects
    return []


def obstacles(g):
    cells = SIZE_UNITS // OBSTACLE_CELL_UNITS
    placed = []  # (rect, piece number)
    for row in range(cells):
        for col in range(cells):
            for _attempt in range(8):
                cx = int((col + g.uniform(0.2, 0.8)) * OBSTACLE_CELL_UNITS)
                cy = int((row + g.uniform(0.2, 0.8)) * OBSTACLE_CELL_UNITS)
                rects = piece(g, cx, cy)
                inside = all(
                    r[0] >= CLEARANCE_UNITS and r[1] >= CLEARANCE_UNITS
                    and r[0] + r[2] <= SIZE_UNITS - CLEARANCE_UNITS and r[1] + r[3] <= SIZE_UNITS - CLEARANCE_UNITS
                    for r in rects
                )
                apart = all(gap(r, o) >= CLEARANCE_UNITS for r in rects for o, _ in placed)
                if inside and apart:
                    placed.extend((r, (row, col)) for r in rects)
                    break
    return [r for r, _ in placed]


def jittered_grid(g, n, jitter, radius, obstacles, avoid=(), avoid_dist=0):
    """n x n points, one per cell, each moved at random by up to `jitter` of the cell and kept
    clear of the obstacles (and of `avoid`)."""
    cell = SIZE_UNITS / n
    clear = radius + POINT_MARGIN_UNITS
    points = []
    for row in range(n):
        for col in range(n):
            for attempt in range(200):
                # Widen the search if the cell centre is crowded.
                j = jitter * cell * min(1.0, 0.5 + attempt / 50)
                x = round((col + 0.5) * cell + g.uniform(-j, j))
                y = round((row + 0.5) * cell + g.uniform(-j, j))
                if not (clear <= x <= SIZE_UNITS - clear and clear <= y <= SIZE_UNITS - clear):
                    continue
                if any(point_rect_dist(x, y, r) < clear for r in obstacles):
                    continue
                if any((x - ax) ** 2 + (y - ay) ** 2 < avoid_dist**2 for ax, ay in avoid):
                    continue
                points.append([x, y])
                break
            else:
                raise SystemExit(f"no free spot near grid cell {row},{col}")
    return points


def check(obs, spawns, pickups):
    """What server/src/maps.rs validates, and that no free area is closed off."""
    for what, items in (("obstacles", obs), ("spawns", spawns), ("pickups", pickups)):
        assert 0 < len(items) <= MAX_MAP_ITEMS, f"{len(items)} {what}"
    for i, r in enumerate(obs):
        assert r[2] > 0 and r[3] > 0 and r[0] >= 0 and r[1] >= 0, f"obstacle {i}"
        assert r[0] + r[2] <= SIZE_UNITS and r[1] + r[3] <= SIZE_UNITS, f"obstacle {i} outside"
    for what, items, radius in (("spawn", spawns, SHIP_RADIUS_UNITS), ("pickup", pickups, PICKUP_RADIUS_UNITS)):
        for i, (x, y) in enumerate(items):
            assert radius <= x <= SIZE_UNITS - radius and radius <= y <= SIZE_UNITS - radius, f"{what} {i} outside"
            assert all(point_rect_dist(x, y, r) >= radius for r in obs), f"{what} {i} touches an obstacle"

    # Flood fill where a ship's centre can be (a grid cell is blocked if its centre is within a
    # ship radius of an obstacle); every free cell must be reached from the first spawn.
    n = SIZE_UNITS // FILL_CELL_UNITS
    blocked = bytearray(n * n)
    pad = SHIP_RADIUS_UNITS
    for x, y, w, h in obs:
        c0, c1 = max(0, (x - pad) // FILL_CELL_UNITS), min(n - 1, (x + w + pad) // FILL_CELL_UNITS)
        r0, r1 = max(0, (y - pad) // FILL_CELL_UNITS), min(n - 1, (y + h + pad) // FILL_CELL_UNITS)
        for row in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                px, py = (col + 0.5) * FILL_CELL_UNITS, (row + 0.5) * FILL_CELL_UNITS
                if point_rect_dist(px, py, [x, y, w, h]) < pad:
                    blocked[row * n + col] = 1
    sx, sy = spawns[0]
    start = (sy // FILL_CELL_UNITS) * n + sx // FILL_CELL_UNITS
    seen = bytearray(blocked)
    seen[start] = 1
    queue = deque([start])
    while queue:
        i = queue.popleft()
        row, col = divmod(i, n)
        for j, ok in ((i - 1, col > 0), (i + 1, col < n - 1), (i - n, row > 0), (i + n, row < n - 1)):
            if ok and not seen[j]:
                seen[j] = 1
                queue.append(j)
    unreached = seen.count(0)
    assert unreached == 0, f"{unreached} free cells are closed off"


def render(obs, spawns, pickups):
    def block(items):
        return ",\n".join("    " + "[" + ", ".join(str(v) for v in item) + "]" for item in items)

    return (
        "{\n"
        '  "name": "expanse",\n'
        '  "rotation": false,\n'
        f'  "size": [{SIZE_UNITS}, {SIZE_UNITS}],\n'
        f'  "obstacles": [\n{block(obs)}\n  ],\n'
        f'  "spawns": [\n{block(spawns)}\n  ],\n'
        f'  "pickups": [\n{block(pickups)}\n  ]\n'
        "}\n"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = ap.parse_args()

    g = Gen(SEED)
    obs = obstacles(g)
    spawns = jittered_grid(g, SPAWN_GRID, 0.3, SHIP_RADIUS_UNITS, obs)
    pickups = jittered_grid(g, PICKUP_GRID, 0.35, PICKUP_RADIUS_UNITS, obs, avoid=spawns, avoid_dist=80)
    check(obs, spawns, pickups)
    text = render(obs, spawns, pickups)
    summary = f"{len(obs)} obstacles, {len(spawns)} spawns, {len(pickups)} pickups, {len(text)} bytes"
    if args.check:
        try:
            with open(OUT) as f:
                same = f.read() == text
        except OSError:
            same = False
        print(f"{OUT}: {'up to date' if same else 'differs from the generator'} ({summary})")
        return 0 if same else 1
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
