#!/usr/bin/env python3
"""Capacity benchmark: how many bots can one Skirmish server hold in one room?

Builds release, starts the server once on loopback on the big `expanse` map (one endless match,
room for 10000 players, a match from the first player), and runs `skirmish-bots` in growing
steps (100, 250, 500, 1000, 2000, 3000 by default; mix wander=60,fight=40 so bullets fly) until
delivery falls below 99.9 % or input latency p99 passes 40 ms. Delivery and latency come from the
bots' --json report; everything else is measured over a steady window (all bots connected, before
they leave): two /metrics scrapes and CPU readings from /proc. Per step it prints:

    bots, conn     bots asked for, bots that got in
    delivery       snapshots received / due (bots' report)
    lat p50/p99    input latency, ms (bots' report)
    tick p99       skirmish_tick_duration_seconds histogram, ms (bucket upper bound)
    cpu p99        skirmish_tick_cpu_seconds histogram: the room thread's CPU time per tick, ms
                   (the tick without the time it waited for a core)
    cpu mean       the same, mean: skirmish_tick_cpu_seconds_sum / _count, ms (the JSON also has
                   inputs_repeated_per_tick: players whose input missed its tick, per tick, and
                   inputs_waiting_per_tick: players with an input left waiting for a later tick)
    B/snap         skirmish_snapshot_bytes_total / skirmish_snapshots_sent_total
    B/ship         skirmish_ship_record_bits_total / 8 / skirmish_ship_records_total: bytes per
                   ship record (records: ships that entered the view or changed; the bits also
                   carry what the unchanged ships cost)
    view p50/p99   skirmish_ships_in_view histogram (bucket upper bounds)
    srv/bots CPU   % of one core over the window
    bot µs/s (sys) bots' CPU µs per bot per second: bots CPU s × 1e6 / (bots × window s)
                   and in brackets the part of it spent in the kernel (the bots' sockets: sending
                   30 inputs and reading 30 snapshots a second; `bots_sys_us_per_bot_s` in --json)
    KiB/player     (server RSS in the window − its RSS before any player joined) / players
    down KiB/s     what a bot receives a second: snapshots, radar, scores and the rest (the bots'
                   payload bytes over their whole run; `bot_down_kib_s` in --json)
    ended          connections that ended for any reason but a normal close, over the whole run
                   from the first connect (ramp-up included) to the last bot gone: the server's
                   skirmish_disconnects_total{reason}, so a session queue overrun (`queue_full`),
                   a stalled reader or a timeout shows here, with its reasons on a line below
                   (`ended_abnormally`, `ended_reasons` in --json); with --runs, the most of any
                   run, not the median; 0 is the healthy figure
    floor µs/s     with --floor, a line under each step: the same traffic with nothing of Skirmish
                   in it (client/bots/examples/loopback_floor.rs: tokio sockets on loopback, 30
                   messages a second each way per connection), its client side's CPU µs per
                   connection-second (kernel in brackets), measured right after each run of the
                   step, and what the bots cost over it: the part of the bots' figure that is
                   this machine's, and the part that is the bots' code
                   (`floor_us_per_conn_s`, `floor_sys_us_per_conn_s` in --json)
and in --json only: `bots_rss_kib_per_bot`, the bots' process RSS at its largest in the window
÷ bots connected (what a load test needs in memory per bot).

Before the server starts and after the last step it times a fixed single-threaded loop ("machine
speed", `calibration` in --json): a shared host's speed swings by about 1.8x between hours, so
only runs with a similar figure compare.

A metric the server does not export prints "–" (and is null in --json). With --runs N every step
runs N times and each column is the median of the N runs. Only the standard library; Linux only
(/proc, and taskset for --pin).

With --server HOST:PORT the bots run here against a server already running on another machine,
so neither side's CPU is the other's: on one machine they share the cores, and each side's sends
also pay for the other's receiving (loopback delivers in the sender's context). Start that
server with the command --print-server-command prints (the same flags as here, on every address
and port 8080, or the port of --server HOST:PORT if given with it), once per benchmark, so that its memory before the first step is a fresh server's;
the script checks the room's map and size. The server's CPU, the kernel's part of it and its RSS
then come from its /metrics (`process_cpu_seconds_total`,
`skirmish_process_cpu_system_seconds_total`, `process_resident_memory_bytes`; Linux servers), not
/proc. The machines' clocks need not agree: latency is the bots' own round trip. --pin and --floor
are for one machine and are refused.

    python3 scripts/capacity.py                 # the default ladder
    python3 scripts/capacity.py --steps 100,200 --duration 20 --runs 3 --pin --json capacity.json
    python3 scripts/capacity.py --print-server-command            # on the bots' machine: copy it
    python3 scripts/capacity.py --server 192.168.1.20:8080 --steps 1000,2000,3000 --runs 3
"""

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from harness import (SERVER_LOAD_TEST_FLAGS, cpu_seconds, fmt, free_port, histogram_quantile, release_dir, rss_kib,
                     scrape, stop_process, strict_json, try_cpu_seconds, try_rss_kib, wait_serving)

# One endless match from the first bot on: no countdown freezing ships and no results screen in
# the middle of a measurement, whatever the fighting bots score.
SERVER_MATCH_FLAGS = ["--min-players", "1", "--countdown", "0", "--score-limit", "0", "--match-duration", "24h"]
# Room for this many players at least (more if a step asks for more), so no bot is a spectator.
MIN_PLAYERS_PER_ROOM = 10000
# With --pin: the server on one core, the bots on another.
SERVER_CPU, BOTS_CPU = 0, 1
# The room every step's bots join.
ROOM = "capacity"
# The port --print-server-command serves on, unless --server names another.
REMOTE_PORT = 8080


def server_command(server_bin, args, steps, bind, port):
    """The server's command line for this benchmark."""
    return ([server_bin, "--bind", bind, "--port", str(port), "--map", args.map,
             "--max-players-per-room", str(max([MIN_PLAYERS_PER_ROOM] + steps))]
            + SERVER_MATCH_FLAGS + SERVER_LOAD_TEST_FLAGS)


def server_cpu(server, values):
    """The server's CPU seconds, (all, the kernel's part): from /proc when it runs here (`server`
    is its Popen), else from the process series of its /metrics scrape `values` (None where it
    does not export them)."""
    if server is not None:
        return cpu_seconds(server.pid)
    total = values.get("process_cpu_seconds_total")
    return None if total is None else (total, values.get("skirmish_process_cpu_system_seconds_total"))


def server_rss_kib(server, values):
    """The server's RSS in KiB, from /proc or from its /metrics as `server_cpu`; None if unknown."""
    if server is not None:
        return rss_kib(server.pid)
    rss = values.get("process_resident_memory_bytes")
    return None if rss is None else rss / 1024


def room_mismatch(addr, args, n):
    """Why the server's benchmark room cannot measure `n` bots on `args.map` (another map, or too
    few seats: the rest would watch), from its /api/rooms; None if it can, or if the room is not
    listed (everyone left already)."""
    with urllib.request.urlopen(f"http://{addr}/api/rooms", timeout=10) as r:
        rooms = json.load(r)
    room = next((room for room in rooms if room.get("name") == ROOM), None)
    if room is None:
        return None
    if room.get("map") != args.map:
        return f"the room is on map {room.get('map')!r}, not {args.map!r}"
    if room.get("capacity", n) < n:
        return f"the room seats {room.get('capacity')} players, fewer than {n}"
    return None


def sub(after, before):
    """`after − before` of two readings that may be missing (None)."""
    return None if after is None or before is None else after - before


def delta(before, after, name):
    """How much counter `name` grew between two scrapes; None if the server does not export it."""
    if name not in after:
        return None
    return after[name] - before.get(name, 0.0)


def ratio(numerator, denominator, scale=1.0):
    if numerator is None or not denominator:
        return None
    return numerator * scale / denominator


def abnormal_ends(before, after):
    """Connections that ended between two scrapes for any reason but `normal` (the bots' own
    close at the end of their run), as {reason: count}."""
    prefix = 'skirmish_disconnects_total{reason="'
    ends = {}
    for series, value in after.items():
        if series.startswith(prefix):
            reason = series[len(prefix):].split('"', 1)[0]
            grew = value - before.get(series, 0.0)
            if reason != "normal" and grew > 0:
                ends[reason] = int(grew)
    return ends


def players(values):
    """The server's players gauge (players and spectators in rooms), None if not exported."""
    value = values.get("skirmish_players")
    return None if value is None else int(value)


def wait_for_players(port, done, deadline):
    """Polls /metrics until `done(players)` or the deadline; False if the gauge is missing."""
    while time.monotonic() < deadline:
        p = players(scrape(port))
        if p is None:
            return False
        if done(p):
            return True
        time.sleep(0.25)
    return True


def measure(args, n, port, server, bots_bin, pin, rss_fresh):
    """One run of one step: returns the row, or an error text. `port` is the server's port on
    loopback, or "HOST:PORT" of one elsewhere; `server` is its Popen, None when it is elsewhere.
    `rss_fresh` is the server's RSS before any player ever joined: memory per player is measured
    from it, because the allocator keeps what earlier steps freed, and growth over the previous
    step's leftovers would hide it."""
    # The previous run's bots must be gone, or their memory and sockets count against this one.
    if not wait_for_players(port, lambda p: p == 0, time.monotonic() + 15):
        time.sleep(2)
    rss_before = rss_fresh
    ramp = args.ramp_up if args.ramp_up is not None else max(2.0, n / 200)
    report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    addr = port if isinstance(port, str) else f"127.0.0.1:{port}"
    cmd = [bots_bin, "--url", f"ws://{addr}/ws", "-c", str(n), "--ramp-up", str(ramp),
           "--duration", str(args.duration), "--room", ROOM, "--mix", args.mix, "--json", report]
    if pin:
        cmd = ["taskset", "-c", str(BOTS_CPU)] + cmd
    settle = min(2.0, args.duration * 0.2)
    tail = min(1.0, args.duration * 0.1)
    start = scrape(port)
    t0 = time.monotonic()
    bots = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # Steady state: every bot in (or the ramp-up long over), then a moment to settle. The wait
        # ends by half the run at the latest: a saturated server may never hold every bot at once,
        # and the window must still fall inside the run.
        wait_until = t0 + ramp + min(max(5.0, ramp), args.duration / 2)
        if not wait_for_players(port, lambda p: p >= n or bots.poll() is not None, wait_until):
            time.sleep(max(0.0, t0 + ramp - time.monotonic()))
        time.sleep(settle)
        mismatch = room_mismatch(addr, args, n)
        if mismatch:
            bots.kill()
            bots.wait()
            os.unlink(report)
            return None, (f"{mismatch}: start the server with the command "
                          "`python3 scripts/capacity.py --print-server-command` prints")
        end_at = max(time.monotonic() + 1.0, t0 + ramp + args.duration - tail)
        before = scrape(port)
        srv0, bots0, w0 = server_cpu(server, before), try_cpu_seconds(bots.pid), time.monotonic()
        rss, bots1, bots_rss = [], bots0, 0
        while True:
            # Read the bots' CPU before `poll`, which reaps an exited process and its /proc entry.
            now = try_cpu_seconds(bots.pid)
            bots1 = bots1 if now is None else now
            bots_rss = max(bots_rss, try_rss_kib(bots.pid))
            if server is not None:
                rss.append(rss_kib(server.pid))
            if time.monotonic() >= end_at or bots.poll() is not None:
                break
            time.sleep(min(0.25, max(0.0, end_at - time.monotonic())))
        after = scrape(port)
        srv1, wall = server_cpu(server, after), time.monotonic() - w0
        if server is None:
            rss = [r for r in (server_rss_kib(None, before), server_rss_kib(None, after)) if r is not None]
        bots.wait(timeout=ramp + args.duration + 120)
        # Every bot's connection ended and counted by the server, so the run's ends are all in.
        wait_for_players(port, lambda p: p == 0, time.monotonic() + 15)
        ends = abnormal_ends(start, scrape(port))
    except BaseException:
        bots.kill()
        bots.wait()
        os.unlink(report)
        raise
    stderr = bots.stderr.read().decode(errors="replace")
    try:
        with open(report) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return None, f"bots run failed (exit {bots.returncode}): {stderr[-500:]}"
    finally:
        os.unlink(report)

    connected = r["connected"]
    in_room = players(after) or connected
    bots_cpu, bots_sys = (None, None) if bots0 is None or bots1 is None else (bots1[0] - bots0[0],
                                                                              bots1[1] - bots0[1])
    tick_p99 = histogram_quantile(before, after, "skirmish_tick_duration_seconds", 0.99)
    tick_cpu_p99 = histogram_quantile(before, after, "skirmish_tick_cpu_seconds", 0.99)
    view = "skirmish_ships_in_view"
    row = {
        "bots": n,
        "connected": connected,
        "delivery": r["delivery_ratio"],
        "latency_p50_ms": r["latency_ms"]["p50"],
        "latency_p99_ms": r["latency_ms"]["p99"],
        "tick_p99_ms": None if tick_p99 is None else tick_p99 * 1000,
        "tick_cpu_p99_ms": None if tick_cpu_p99 is None else tick_cpu_p99 * 1000,
        "tick_cpu_mean_ms": ratio(delta(before, after, "skirmish_tick_cpu_seconds_sum"),
                                  delta(before, after, "skirmish_tick_cpu_seconds_count"), 1000),
        "inputs_repeated_per_tick": ratio(delta(before, after, "skirmish_inputs_repeated_total"),
                                          delta(before, after, "skirmish_ticks_total")),
        "inputs_waiting_per_tick": ratio(delta(before, after, "skirmish_inputs_waiting_total"),
                                         delta(before, after, "skirmish_ticks_total")),
        "bytes_per_snapshot": ratio(delta(before, after, "skirmish_snapshot_bytes_total"),
                                    delta(before, after, "skirmish_snapshots_sent_total")),
        "bytes_per_ship_record": ratio(delta(before, after, "skirmish_ship_record_bits_total"),
                                       delta(before, after, "skirmish_ship_records_total"), 1 / 8),
        "ships_in_view_p50": histogram_quantile(before, after, view, 0.50),
        "ships_in_view_p99": histogram_quantile(before, after, view, 0.99),
        "server_cpu_pct": ratio(sub(srv1 and srv1[0], srv0 and srv0[0]), wall, 100),
        "server_sys_pct": ratio(sub(srv1 and srv1[1], srv0 and srv0[1]), wall, 100),
        "bots_cpu_pct": ratio(bots_cpu, wall, 100),
        "bots_cpu_us_per_bot_s": ratio(bots_cpu, connected * wall, 1e6),
        "bots_sys_us_per_bot_s": ratio(bots_sys, connected * wall, 1e6),
        "server_rss_kib_per_player": ratio(sub(rss[-1] if rss else None, rss_before), in_room),
        "server_rss_mib": ratio(max(rss) if rss else None, 1024),
        "bot_down_kib_s": r["bytes_down_per_sec"] / 1024,
        "bots_rss_kib_per_bot": ratio(bots_rss or None, connected),
        "ended_abnormally": sum(ends.values()),
        "ended_reasons": ", ".join(f"{reason} {count}" for reason, count in sorted(ends.items())),
        # Why bots never got in, by the bots' own words (a 429 is a cap of the server's).
        "failures": ", ".join(f"{why} × {count}" for why, count in sorted((r.get("failures") or {}).items())),
        "server_rss_before_mib": ratio(rss_before, 1024),
        "players_in_window": in_room,
        "window_s": wall,
    }
    return row, None


def measure_floor(args, n, floor_bin, pin):
    """The floor under the bots' CPU for `n` connections: runs loopback_floor's `serve` and `play`
    (the bots' traffic, nothing of Skirmish) and returns the `play` side's CPU µs per
    connection-second, all and the kernel's part, over a steady window; (None, None) if it failed."""
    serve_cmd, play_cmd = [floor_bin, "serve"], [floor_bin, "play"]
    if pin:
        serve_cmd = ["taskset", "-c", str(SERVER_CPU)] + serve_cmd
        play_cmd = ["taskset", "-c", str(BOTS_CPU)] + play_cmd
    window = max(5.0, args.duration * 0.75)
    settle = 2.0 + n / 1000
    serve = subprocess.Popen(serve_cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = serve.stdout.readline().strip()
        if not addr:
            return None, None
        play = subprocess.Popen(play_cmd + ["--addr", addr, "-c", str(n), "--duration", str(int(settle + window + 3))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(settle)
            c0, w0 = try_cpu_seconds(play.pid), time.monotonic()
            time.sleep(window)
            c1, wall = try_cpu_seconds(play.pid), time.monotonic() - w0
            play.wait(timeout=settle + window + 60)
        except BaseException:
            play.kill()
            play.wait()
            raise
    finally:
        serve.terminate()
        serve.wait()
    if play.returncode != 0 or c0 is None or c1 is None:
        return None, None
    return (c1[0] - c0[0]) * 1e6 / (n * wall), (c1[1] - c0[1]) * 1e6 / (n * wall)


def median_row(rows):
    """Each column's median over the runs (None where no run measured it)."""
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows if r[key] is not None]
        if values and isinstance(values[0], str):
            # Texts (the reasons connections ended) are listed run by run, not averaged.
            out[key] = "; ".join(values) if any(values) else ""
            continue
        if key == "ended_abnormally":
            # Connections lost are the worst run's, not a median that one clean run can hide.
            out[key] = max(values)
            continue
        out[key] = statistics.median(values) if values else None
    return out


def calibrate():
    """Wall-clock ms of a fixed piece of single-threaded work, best of 3, run while the machine is
    otherwise idle: how fast this machine runs right now. A shared host's speed swings by about
    1.8x between hours, so only runs with a similar calibration compare."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(1_000_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="100,250,500,1000,2000,3000", help="bots per step, comma-separated")
    ap.add_argument("--duration", type=float, default=20, help="seconds each bot plays after the ramp-up")
    ap.add_argument("--ramp-up", type=float, default=None, help="seconds to connect all bots (default: bots/200, ≥ 2)")
    ap.add_argument("--mix", default="wander=60,fight=40", help="bot behaviours (skirmish-bots --mix)")
    ap.add_argument("--map", default="expanse", help="the server's --map")
    ap.add_argument("--runs", type=int, default=1, help="run every step this many times; report medians")
    ap.add_argument("--pin", action="store_true",
                    help=f"pin the server to CPU {SERVER_CPU} and the bots to CPU {BOTS_CPU} (taskset)")
    ap.add_argument("--min-delivery", type=float, default=0.999)
    ap.add_argument("--max-p99-latency", type=float, default=40.0)
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument("--keep-going", action="store_true",
                    help="measure every step even past the limits (the capacity is still the last step "
                         "before the first failure)")
    ap.add_argument("--floor", action="store_true",
                    help="after each run, measure the same traffic without Skirmish (loopback_floor): "
                         "the floor under the bots' CPU on this machine")
    ap.add_argument("--json", help="write the table as JSON here")
    ap.add_argument("--server", metavar="HOST:PORT",
                    help="measure a server already running there (another machine; start it with the "
                         "command --print-server-command prints); the bots run here")
    ap.add_argument("--print-server-command", action="store_true",
                    help="print the command that starts the server for --server, and exit")
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.pin and (shutil.which("taskset") is None or (os.cpu_count() or 1) < 2):
        ap.error("--pin needs taskset (util-linux) and at least 2 CPUs")
    if args.server and (args.pin or args.floor):
        ap.error("--pin and --floor measure one machine; with --server the server is on another")
    remote_port = REMOTE_PORT
    if args.server:
        # The port of --server HOST:PORT, so the printed command serves where the bots will look.
        host, _, given = args.server.rpartition(":")
        if not host or not given.isdigit() or not 0 < int(given) < 65536:
            ap.error(f"--server wants HOST:PORT, not {args.server!r}")
        remote_port = int(given)
    if args.print_server_command:
        # Run from a checkout on the server's machine: it builds the server too.
        flags = server_command("skirmish", args, steps, "0.0.0.0", remote_port)[1:]
        print(shlex.join(["cargo", "run", "--release", "--locked", "--bin", "skirmish", "--"] + flags))
        return 0

    release = release_dir(not args.no_build, examples=["loopback_floor"] if args.floor else [])
    server_bin = os.path.join(release, "skirmish")
    bots_bin = os.path.join(release, "skirmish-bots")
    floor_bin = os.path.join(release, "examples", "loopback_floor")
    if args.floor and not os.access(floor_bin, os.X_OK):
        ap.error(f"--floor needs {floor_bin}: cargo build --release -p skirmish-bots --example loopback_floor")

    calibration = {"before_ms": calibrate()}
    server_log = tempfile.TemporaryFile()
    if args.server:
        port, server = args.server, None
        server_cmd = server_command("skirmish", args, steps, "0.0.0.0", remote_port)
    else:
        port = free_port()
        server_cmd = server_command(server_bin, args, steps, "127.0.0.1", port)
        if args.pin:
            server_cmd = ["taskset", "-c", str(SERVER_CPU)] + server_cmd
        server = subprocess.Popen(server_cmd, stdout=subprocess.DEVNULL, stderr=server_log,
                                  env={**os.environ, "RUST_LOG": "warn"})
    rows = []
    try:
        cores = os.cpu_count() or 1
        if server is None:
            try:
                values = scrape(port)
            except (OSError, ValueError) as e:
                print(f"no /metrics at http://{port}/metrics ({e}): is the server running there, started with "
                      "the command `python3 scripts/capacity.py --print-server-command` prints?", file=sys.stderr)
                return 1
            if server_cpu(None, values) is None:
                print("note: the server exports no process_* series (not on Linux?): its CPU and memory print –")
            print(f"server at {port} (elsewhere: its CPU and memory from its /metrics), map {args.map}, "
                  f"mix {args.mix}; the bots on this machine's {cores} cores")
        else:
            failed = wait_serving(server, port)
            if failed:
                server_log.seek(0)
                print(f"{failed}:\n{server_log.read().decode(errors='replace')[-2000:]}", file=sys.stderr)
                return 1
            if args.pin:
                where = f"server pinned to CPU {SERVER_CPU}, bots to CPU {BOTS_CPU} (taskset)"
            else:
                where = f"not pinned: bots and server share all {cores} cores"
            print(f"server pid {server.pid} on port {port}, map {args.map}, mix {args.mix}; {cores} cores; {where}")
        print(f"machine speed: a fixed loop took {calibration['before_ms']:.0f} ms (lower is faster; only runs "
              "with a similar figure compare)")
        if args.runs > 1:
            print(f"each row is the median of {args.runs} runs of that step")
        print()
        header = (f"{'bots':>6} {'conn':>6} {'delivery':>8} {'lat p50':>8} {'lat p99':>8} {'tick p99':>9} {'cpu p99':>8} {'cpu mean':>8} "
                  f"{'B/snap':>7} {'B/ship':>6} {'view p50':>8} {'view p99':>8} {'srv CPU':>7} {'bots CPU':>8} "
                  f"{'bot µs/s (sys)':>14} {'KiB/player':>10} {'down KiB/s':>10} {'ended':>5}")
        print(header)
        print("-" * len(header))
        # `failed`: a step over the limits; `broken`: one that could not be measured (the bots or
        # the server failed, or the server is not set up for the benchmark), which exits 1.
        capacity, failed, broken = 0, False, False
        # `refused`: the server's per-address caps turned bots away (a broken run too).
        refused = False
        rss_fresh = server_rss_kib(server, None if server else scrape(port))
        for n in steps:
            runs = []
            for _ in range(args.runs):
                try:
                    row, error = measure(args, n, port, server, bots_bin, args.pin, rss_fresh)
                except OSError as e:  # /metrics stopped answering: show why the server went away
                    if server is None:
                        row, error = None, f"the server stopped answering ({e})"
                    else:
                        server_log.seek(0)
                        log = server_log.read().decode(errors="replace")[-2000:]
                        row, error = None, f"the server stopped answering ({e}); exit {server.poll()}; log:\n{log}"
                if error:
                    print(f"{n:>6} {error}")
                    broken = True
                    break
                if args.floor:
                    row["floor_us_per_conn_s"], row["floor_sys_us_per_conn_s"] = measure_floor(
                        args, n, floor_bin, args.pin)
                runs.append(row)
            if len(runs) < args.runs:
                break
            row = median_row(runs)
            row["runs"] = runs
            rows.append(row)
            print(f"{n:>6} {fmt(row['connected'], '.0f'):>6} {fmt(row['delivery'], '.4f'):>8} "
                  f"{fmt(row['latency_p50_ms'], '.1f', suffix='ms'):>8} "
                  f"{fmt(row['latency_p99_ms'], '.1f', suffix='ms'):>8} "
                  f"{fmt(row['tick_p99_ms'], '.1f', 'ms', '≤'):>9} {fmt(row['tick_cpu_p99_ms'], '.1f', 'ms', '≤'):>8} "
                  f"{fmt(row['tick_cpu_mean_ms'], '.2f', suffix='ms'):>8} "
                  f"{fmt(row['bytes_per_snapshot'], '.0f'):>7} "
                  f"{fmt(row['bytes_per_ship_record'], '.2f'):>6} {fmt(row['ships_in_view_p50'], 'g', prefix='≤'):>8} "
                  f"{fmt(row['ships_in_view_p99'], 'g', prefix='≤'):>8} {fmt(row['server_cpu_pct'], '.0f', suffix='%'):>7} "
                  f"{fmt(row['bots_cpu_pct'], '.0f', suffix='%'):>8} "
                  f"{fmt(row['bots_cpu_us_per_bot_s'], '.0f') + ' (' + fmt(row['bots_sys_us_per_bot_s'], '.0f') + ')':>14} "
                  f"{fmt(row['server_rss_kib_per_player'], '.1f'):>10} {fmt(row['bot_down_kib_s'], '.2f'):>10} "
                  f"{fmt(row['ended_abnormally'], '.0f'):>5}", flush=True)
            if any(r["ended_abnormally"] for r in runs):
                print("       ended other than normally (run by run): "
                      + "; ".join(r["ended_reasons"] or "none" for r in runs), flush=True)
            if args.floor:
                floor, bots_us = row["floor_us_per_conn_s"], row["bots_cpu_us_per_bot_s"]
                over = "" if floor is None or bots_us is None else f"; bots − floor {bots_us - floor:+.0f}"
                print(f"       floor (the same traffic without Skirmish): {fmt(floor, '.0f')} "
                      f"({fmt(row['floor_sys_us_per_conn_s'], '.0f')}) µs per connection-second{over}", flush=True)
            # No latency measured (the bots' JSON says null: no bot got a snapshot) fails too.
            p99 = row["latency_p99_ms"]
            ok = (row["connected"] == n and row["delivery"] >= args.min_delivery
                  and p99 is not None and p99 <= args.max_p99_latency)
            bots_pct, srv_pct = row["bots_cpu_pct"] or 0, row["server_cpu_pct"] or 0
            if server is None:
                if bots_pct > 80 * cores:
                    print(f"       warning: the bots used {bots_pct:.0f}% of a core on this machine's {cores}: "
                          "the bots, not the server, may be the limit")
            elif args.pin:
                if bots_pct > 90:
                    print(f"       warning: the bots used {row['bots_cpu_pct']:.0f}% of their one core: "
                          "the bots, not the server, may be the limit")
            elif bots_pct > srv_pct and bots_pct > 80 * cores / 2:
                print(f"       warning: the bots used more CPU ({row['bots_cpu_pct']:.0f}%) than the server "
                      f"({row['server_cpu_pct']:.0f}%): on this machine the bots, not the server, may be the limit")
            if not ok:
                why = []
                if row["connected"] < n:
                    failures = "; ".join(r["failures"] for r in runs if r["failures"])
                    why.append(f"only {row['connected']:.0f} of {n} connected ({failures or 'no reason given'})")
                    if "429" in failures:
                        # Refused by a per-address cap: the server is not set up for the benchmark,
                        # which is no capacity figure (from an outside test: it said "capacity: 0
                        # bots" and exited 0).
                        print(f"{n:>6} the server refused bots at its connection caps ({failures}): start it "
                              "with the caps off, as --print-server-command shows")
                        broken = refused = True
                        break
                if row["delivery"] < args.min_delivery:
                    why.append(f"delivery {row['delivery']:.4f} < {args.min_delivery}")
                if p99 is None:
                    why.append("no latency measured")
                elif p99 > args.max_p99_latency:
                    why.append(f"latency p99 {p99:.1f} ms > {args.max_p99_latency} ms")
                if args.keep_going:
                    print(f"       over the limits at {n} bots: " + "; ".join(why))
                    failed = True
                    continue
                print(f"\nstopped at {n} bots: " + "; ".join(why))
                break
            if not failed:
                capacity = n
        if refused:
            # No capacity line: the run measured the server's caps, not its capacity (from an
            # outside test: "capacity: 0 bots" still followed the explanation).
            print("\nno capacity figure: the server refused the bots at its caps (above)")
        else:
            print(f"\ncapacity: {capacity} bots in one room "
                  f"(delivery ≥ {args.min_delivery}, latency p99 ≤ {args.max_p99_latency} ms"
                  f"{f', medians of {args.runs} runs' if args.runs > 1 else ''})")
        calibration["after_ms"] = calibrate()
        print(f"machine speed at the end: the fixed loop took {calibration['after_ms']:.0f} ms")
        if args.json:
            with open(args.json, "w") as f:
                report = {"capacity": capacity, "steps": rows, "params": vars(args), "server_command": server_cmd,
                          "calibration": calibration}
                json.dump(strict_json(report), f, indent=2)
    finally:
        if server is not None:
            stop_process(server)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
