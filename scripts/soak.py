#!/usr/bin/env python3
"""Soak test: does a realistically configured Skirmish server stay flat over a long run?

Builds release, starts the server on loopback with its default connection caps ON (32 sockets
and 20 new sockets a second per address), matches that cycle on the clock (2-minute matches, the
default 5 s countdown and 10 s results, maps in rotation) and the default 100 players a room: the
bots spread over --rooms (4) rooms, 60 well-behaved in each, rather than a raised room cap that
production would not have. Then, for --minutes (default 20), 300 bots:

    80 % well-behaved   one skirmish-bots process from 127.0.0.2-127.0.0.40 (mix wander/fight),
                        spread over the 4 rooms; a tenth of them (--reconnect-share) reconnect
                        every 2 s, the others stay the whole run and are the ones whose delivery
                        is measured (skirmish-bots --stats writes it every 10 s)
    20 % misbehaving    flood, garbage, never-read, slow-handshake and oversized in equal shares
                        from their own addresses 127.0.1.2-127.0.1.40. Each misbehaves once and is
                        dropped, so the script relaunches them for the whole run, a launch as soon
                        as the last one is over (every bot dealt with, or its time up): the quick
                        kinds for at most 40 s (--rogue-cycle), never-read apart, also for at most
                        40 s (--never-read-cycle; the server cuts it about 7 s in: its inputs go
                        on acknowledging the same old snapshot)

Every --interval (10 s) it samples and prints:

    RSS            server VmRSS (/proc/PID/status), MiB
    heap           its live heap allocations (skirmish_heap_allocated_bytes: jemalloc's own count;
                   "–" for a server without jemalloc), MiB. RSS that creeps while this stays
                   level is the allocator keeping pages, not the server holding more
    fds            server's open descriptors (entries of /proc/PID/fd)
    conn, players  the server's skirmish_connections and skirmish_players gauges
    tick p99       skirmish_tick_duration_seconds over the interval (difference of two scrapes;
                   the upper bound of the bucket it falls in), ms
    CPU            server CPU over the interval, % of one core
    delivery       the steady well-behaved bots' snapshots received / due over the last
                   --stats interval (skirmish-bots --stats)
    lat p99        their input latency p99 over that interval, ms
    drops          connections the server ended in the interval (skirmish_disconnects_total)
    refused        upgrades it refused in the interval (skirmish_connections_refused_total)

Once the bots are gone it samples twice more: "after", seconds later, and "later", --settle
(60) seconds after that, once the empty rooms are removed and the memory they used given back.

The check: no RSS sample in the last five minutes exceeds the mean RSS of minutes 5–10 by more
than --tolerance (5 %). PASS/FAIL is printed and FAIL exits 1 (runs under 15 minutes skip the
check). Minutes count from the start of the bots. --csv/--json write the samples, --plot a PNG
(matplotlib; without it the script says how to draw the plot later with --plot-only).
Everything runs on loopback and stops by itself; the server and the bots are killed on exit,
Ctrl-C included. Linux only (/proc, 127.x.y.z source addresses).

    python3 scripts/soak.py --minutes 22 --json soak.json --plot docs/soak.png
    python3 scripts/soak.py --plot-only soak.json --plot docs/soak.png    # redraw

One big room instead (the v3 paths: area of interest, per-client delta history, radar, scores
sent when they change, match changes with hundreds of ships): --map names the server's map and
--room-size raises its players-a-room cap (the connection caps stay on); the misbehaving share is
of --bots as before:

    python3 scripts/soak.py --minutes 22 --bots 800 --misbehaving-share 8 --rooms 1 \
        --map expanse --room-size 800 --json big.json --plot big.png

What grows, when the heap creeps: --heaptrack FILE runs the server under heaptrack (apt install
heaptrack), built on the system's malloc as scripts/heap_profile.sh builds it (heaptrack sees
only malloc's calls). RSS and CPU are then the traced server's, heaptrack's overhead included,
and the heap column is "–". scripts/heap_growth.py FILE.zst T1 T2 then names the allocation
stacks whose live bytes grew between two times of the run (seconds from the server's start):

    python3 scripts/soak.py --minutes 22 --bots 1000 --misbehaving-share 6 --rooms 1 \
        --map expanse --room-size 1200 --heaptrack /tmp/soak-heap
    python3 scripts/heap_growth.py /tmp/soak-heap.zst 300 1320 --at 600,900
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import (ROOT, cpu_seconds, fmt, free_port, histogram_quantile, release_dir, rss_kib, scrape,
                     stop_process, strict_json, wait_serving)

# Matches that end on the clock (score limit 0: the fighting bots' aim does not decide how often
# rooms reset), short enough to cycle ten times in a 20-minute run, so per-match state that leaks
# shows; one player is enough to start. Countdown and results keep their defaults.
SERVER_MATCH_FLAGS = ["--min-players", "1", "--score-limit", "0", "--match-duration", "2m"]
WELL_BEHAVED_IPS = "127.0.0.2-127.0.0.40"
MISBEHAVING_IPS = "127.0.1.2-127.0.1.40"
# Equal shares of the misbehaving bots; never-read runs apart, on a cycle of its own.
QUICK_MISBEHAVIOURS = "flood=25,garbage=25,slow-handshake=25,oversized=25"
NEVER_READ_SHARE = 0.2
# How long after the end of an interval it is sampled: the bots write their --stats line for it
# at the same moment, give or take milliseconds.
STATS_GRACE_S = 1.0
# The RSS check: baseline minutes and the final window, in minutes from the start of the bots.
BASELINE_MIN = (5, 10)
FINAL_WINDOW_MIN = 5


def mib(value):
    """Bytes from a scrape as MiB; None when the server did not report them."""
    return None if value is None else value / (1024 * 1024)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def family_delta(before, after, name):
    """Growth of every series of counter family `name` between two scrapes, summed."""
    prefix = name + "{"
    return sum(v - before.get(k, 0.0) for k, v in after.items() if k == name or k.startswith(prefix))


class StatsReader:
    """Follows the well-behaved bots' --stats file (one JSON line per interval)."""

    def __init__(self, path):
        self.path, self.seen = path, 0

    def new_lines(self):
        try:
            with open(self.path) as f:
                lines = [line for line in f.read().splitlines() if line.strip()]
        except OSError:
            return []
        out = []
        for line in lines[self.seen:]:
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a line being written: read it next time
        self.seen += len(out)
        return out


def delivery_of(lines):
    """Delivery ratio and the worst latency p99 over some --stats lines (None without data)."""
    due = sum(l["expected_snapshots"] for l in lines)
    got = sum(l["snapshots"] for l in lines)
    p99s = [l["latency_p99_ms"] for l in lines if l.get("latency_p99_ms") is not None]
    return (got / due if due > 0 else None), (max(p99s) if p99s else None)


def rss_check(samples, minutes, tolerance_pct):
    """The soak's verdict: every RSS sample of the last FINAL_WINDOW_MIN minutes at most
    `tolerance_pct` % over the mean of minutes BASELINE_MIN. None when the run is too short."""
    lo, hi = BASELINE_MIN
    if minutes < hi + FINAL_WINDOW_MIN:
        return None
    base = [s["rss_mib"] for s in samples if s["phase"] == "bots" and lo * 60 <= s["t_s"] < hi * 60]
    final = [s for s in samples if s["phase"] == "bots" and s["t_s"] >= (minutes - FINAL_WINDOW_MIN) * 60]
    if not base or not final:
        return None
    mean = sum(base) / len(base)
    limit = mean * (1 + tolerance_pct / 100)
    worst = max(final, key=lambda s: s["rss_mib"])
    return {
        "baseline_mean_mib": mean,
        "baseline_samples": len(base),
        "limit_mib": limit,
        "final_max_mib": worst["rss_mib"],
        "final_max_at_s": worst["t_s"],
        "final_samples": len(final),
        "over_baseline_pct": 100 * (worst["rss_mib"] / mean - 1),
        "tolerance_pct": tolerance_pct,
        "passed": worst["rss_mib"] <= limit,
    }


HEADER = (f"{'t':>6} {'RSS MiB':>8} {'heap':>5} {'fds':>5} {'conn':>5} {'players':>7} {'tick p99':>9} {'CPU':>5} "
          f"{'delivery':>8} {'lat p99':>8} {'drops':>5} {'refused':>7}")


def row_text(s):
    t = s["t_s"]
    when = f"{int(t // 60)}:{int(t % 60):02d}" if t >= 0 else "idle"
    if s["phase"] == "after":
        when = "after"
    elif s["phase"] == "settled":
        when = "later"
    return (f"{when:>6} {s['rss_mib']:>8.1f} {fmt(s.get('heap_mib'), '.1f'):>5} {s['fds']:>5} {fmt(s['connections'], '.0f'):>5} "
            f"{fmt(s['players'], '.0f'):>7} {fmt(s['tick_p99_ms'], '.1f', 'ms'):>9} "
            f"{fmt(s['cpu_pct'], '.0f', '%'):>5} {fmt(s['delivery'], '.4f'):>8} "
            f"{fmt(s['latency_p99_ms'], '.1f', 'ms'):>8} {fmt(s['drops'], '.0f'):>5} {fmt(s['refused'], '.0f'):>7}")


def plot(report, path):
    """Draws RSS, descriptors, tick p99 and delivery over time into a PNG. False (with a message)
    when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot was drawn: `pip install matplotlib` (add "
              "--break-system-packages outside a venv), then redraw from the --json file with\n"
              f"    python3 {os.path.relpath(__file__)} --plot-only REPORT.json --plot {path}", file=sys.stderr)
        return False
    samples = [s for s in report["samples"] if s["phase"] == "bots"]

    def num(v):
        return float("nan") if v is None or v == "+Inf" else v

    t = [s["t_s"] / 60 for s in samples]
    fig, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)
    p = report["params"]
    # Reports of before --room-size and --map have neither key.
    where = (f"one room of up to {p['room_size']}" if p.get("rooms") == 1 and p.get("room_size")
             else f"{p['rooms']} rooms")
    where += f" on {p['map']}" if p.get("map") else ""
    fig.suptitle(f"Skirmish soak: {p['bots']} bots ({p['misbehaving_share']} % misbehaving), {where}, "
                 f"{p['minutes']} min, default connection caps", fontsize=12)
    ax = axes[0]
    ax.plot(t, [s["rss_mib"] for s in samples], color="tab:blue", label="server RSS")
    # Reports of before the heap gauges have no heap figures.
    if any(s.get("heap_mib") is not None for s in samples):
        ax.plot(t, [num(s.get("heap_mib")) for s in samples], color="tab:purple",
                label="live heap (jemalloc's allocated)")
    check = report.get("check")
    if check:
        lo, hi = BASELINE_MIN
        ax.axvspan(lo, hi, color="tab:green", alpha=0.12, label=f"baseline: minutes {lo}–{hi}")
        ax.axvspan(p["minutes"] - FINAL_WINDOW_MIN, p["minutes"], color="tab:orange", alpha=0.12,
                   label=f"checked: last {FINAL_WINDOW_MIN} minutes")
        ax.axhline(check["baseline_mean_mib"], color="tab:green", lw=1, ls="--",
                   label=f"baseline mean {check['baseline_mean_mib']:.1f} MiB")
        ax.axhline(check["limit_mib"], color="tab:red", lw=1, ls=":",
                   label=f"limit +{check['tolerance_pct']:g} % ({check['limit_mib']:.1f} MiB)")
    ax.set_ylabel("RSS (MiB)")
    lo_rss = min([s["rss_mib"] for s in samples] + [s["heap_mib"] for s in samples if s.get("heap_mib") is not None])
    ax.set_ylim(bottom=max(0, lo_rss * 0.9))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[1]
    ax.plot(t, [s["fds"] for s in samples], color="tab:purple", label="open descriptors")
    ax.plot(t, [num(s["connections"]) for s in samples], color="tab:gray", lw=1, label="WebSocket connections")
    ax.set_ylabel("count")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[2]
    ax.step(t, [num(s["tick_p99_ms"]) for s in samples], where="post", color="tab:red", label="tick p99 (bucket bound)")
    ax.set_ylabel("tick p99 (ms)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)

    ax = axes[3]
    ax.plot(t, [100 * num(s["delivery"]) for s in samples], color="tab:green", label="delivery (steady well-behaved)")
    ax.set_ylabel("delivery (%)")
    # A 10 s interval's ratio jitters by about a tick's worth (±0.3 %) at its boundaries.
    got = [100 * num(s["delivery"]) for s in samples if s["delivery"] not in (None, "+Inf")]
    ax.set_ylim(min([95.0] + got) - 0.5, max([101.0] + got) + 0.5)
    ax.set_xlabel("minutes since the bots started")
    ax.grid(alpha=0.3)
    lat = ax.twinx()
    lat.plot(t, [num(s["latency_p99_ms"]) for s in samples], color="tab:olive", lw=1, alpha=0.7,
             label="input latency p99")
    lat.set_ylabel("latency p99 (ms, log)")
    # Log: a stall's seconds would flatten the usual 35 ms into the axis.
    lat.set_yscale("log")
    lat.set_ylim(10, max([1000.0] + [num(s["latency_p99_ms"]) for s in samples if s["latency_p99_ms"]]) * 1.5)
    lines = ax.get_legend_handles_labels()
    more = lat.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    print(f"plot written to {path}")
    return True


class Rogues:
    """Misbehaving bots of some kinds: one skirmish-bots process at a time, lasting at most
    `cycle` seconds, relaunched until the run ends; their reactions tallied over all launches."""

    def __init__(self, name, count, misbehave, cycle, ramp, bots_bin, url, rooms, logdir, end_at):
        self.name, self.count, self.misbehave, self.cycle, self.ramp = name, count, misbehave, cycle, ramp
        self.bots_bin, self.url, self.rooms, self.logdir, self.end_at = bots_bin, url, rooms, logdir, end_at
        self.proc, self.report, self.launches, self.bots = None, None, 0, 0
        self.tally = {}  # kind → {reaction → count}
        self.log = open(os.path.join(logdir, f"{name}.log"), "ab")

    def tend(self):
        """Collects an ended launch and starts the next while there is time left."""
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.proc is not None:
            self.collect()
        left = self.end_at - time.monotonic()
        if left < self.ramp + 5:
            return
        duration = min(self.cycle - self.ramp, left - self.ramp)
        self.report = os.path.join(self.logdir, f"{self.name}-{self.launches}.json")
        cmd = [self.bots_bin, "--url", self.url, "-c", str(self.count), "--rooms", str(self.rooms),
               "--misbehave", self.misbehave, "--source-ips", MISBEHAVING_IPS, "--ramp-up", f"{self.ramp:g}",
               "--duration", f"{duration:.1f}", "--seed", str(1000 + self.launches), "--json", self.report]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
        self.launches += 1

    def collect(self):
        proc, self.proc = self.proc, None
        try:
            with open(self.report) as f:
                r = json.load(f)
        except (OSError, ValueError):
            t = self.tally.setdefault(f"({self.name} launch failed)", {})
            t[f"exit {proc.returncode}"] = t.get(f"exit {proc.returncode}", 0) + 1
            return
        for kind, s in r.get("misbehaving", {}).items():
            self.bots += s["bots"]
            t = self.tally.setdefault(kind, {})
            for group in ("closed", "lost", "failed"):
                for why, n in s.get(group, {}).items():
                    # "1007 malformed message: <the decoder's complaint>" → "closed 1007 malformed message"
                    key = f"{group} {why.split(':')[0]}"
                    t[key] = t.get(key, 0) + n
            if s.get("endured"):
                t["endured to the end of its launch"] = t.get("endured to the end of its launch", 0) + s["endured"]

    def stop(self):
        """Ends the launch under way like Ctrl-C, which still writes its report, and tallies it."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pass
            stop_process(self.proc)
            self.collect()
        if not self.log.closed:
            self.log.close()

    def kill(self):
        if self.proc is not None:
            stop_process(self.proc)
        if not self.log.closed:
            self.log.close()


def run(args):
    release = release_dir(not args.no_build, nice=True)
    server_bin = os.path.join(release, "skirmish")
    if args.heaptrack:
        # A build of its own, on the system's malloc: heaptrack hooks malloc, not jemalloc. Built
        # even with --no-build (cargo does nothing when it is current): nothing else keeps that
        # directory up to date, and a stale build would profile old code under today's name.
        heaptrack_dir = os.path.join(ROOT, "target", "heaptrack")
        subprocess.run(["nice", "-n", "10", "cargo", "build", "--release", "--locked", "-p", "skirmish-server",
                        "--no-default-features", "--target-dir", heaptrack_dir], cwd=ROOT, check=True)
        server_bin = os.path.join(heaptrack_dir, "release", "skirmish")
    bots_bin = os.path.join(release, "skirmish-bots")
    logdir = tempfile.mkdtemp(prefix="skirmish-soak-")
    well_behaved = args.bots - args.misbehaving
    run_s = args.minutes * 60

    port = free_port()
    server_cmd = [server_bin, "--bind", "127.0.0.1", "--port", str(port)] + SERVER_MATCH_FLAGS
    if args.map:
        server_cmd += ["--map", args.map]
    if args.room_size:
        server_cmd += ["--max-players-per-room", str(args.room_size)]
    server_log = open(os.path.join(logdir, "server.log"), "ab")
    wrapper = ["heaptrack", "-o", args.heaptrack] if args.heaptrack else []
    for stale in (args.heaptrack + ".zst", args.heaptrack + ".gz") if args.heaptrack else ():
        if os.path.exists(stale):
            os.remove(stale)
    server = subprocess.Popen(wrapper + server_cmd, stdout=subprocess.DEVNULL, stderr=server_log,
                              env={**os.environ, "RUST_LOG": "warn"})
    procs, rogues = [server], []
    samples = []
    # The server's own pid: under heaptrack, `server` is heaptrack's script and the server its child.
    pid = None
    try:
        failed = wait_serving(server, port)
        if failed:
            print(f"{failed}; log in {logdir}/server.log", file=sys.stderr)
            return 1
        pid = server.pid
        if args.heaptrack:
            pid = int(subprocess.check_output(["pgrep", "-f", f"^{server_bin} --bind 127.0.0.1 --port {port} "])
                      .split()[0])
        print(f"server pid {pid}{' under heaptrack' if args.heaptrack else ''} on 127.0.0.1:{port} (default connection caps), "
              f"{' '.join(server_cmd[5:])}; logs in {logdir}")
        print(f"{args.bots} bots for {args.minutes:g} min: {well_behaved} well-behaved from {WELL_BEHAVED_IPS} "
              f"({args.reconnect_share} % of them reconnecting every 2 s), {args.misbehaving} misbehaving from "
              f"{MISBEHAVING_IPS} ({QUICK_MISBEHAVIOURS} in launches of at most {args.rogue_cycle:g} s, "
              f"never-read of at most {args.never_read_cycle:g} s, relaunched until the end); "
              f"{args.rooms} rooms of at most {args.room_size or 'the default'} players"
              f"{' on ' + args.map if args.map else ''}; {os.cpu_count()} cores shared by everything\n")
        print(HEADER)
        print("-" * len(HEADER), flush=True)

        url = f"ws://127.0.0.1:{port}/ws"
        stats_path = os.path.join(logdir, "well-behaved-stats.jsonl")
        bots_report = os.path.join(logdir, "well-behaved.json")
        # They play a little past the last sample, so every sample sees them all.
        bots_cmd = [bots_bin, "--url", url, "-c", str(well_behaved), "--rooms", str(args.rooms), "--mix", args.mix,
                    "--source-ips", WELL_BEHAVED_IPS, "--ramp-up", f"{args.ramp_up:g}",
                    "--duration", f"{run_s - args.ramp_up + args.interval + 5:g}", "--seed", "1",
                    "--stats", stats_path, "--stats-every", f"{args.interval:g}s", "--json", bots_report]
        if args.reconnect_share:
            bots_cmd += ["--misbehave", f"reconnect={args.reconnect_share}"]

        def sample(t_s, phase, before, cpu_before, wall_before, stats_lines):
            values = scrape(port)
            cpu, wall = cpu_seconds(pid)[0], time.monotonic()
            tick = histogram_quantile(before, values, "skirmish_tick_duration_seconds", 0.99) if before else None
            delivery, lat = delivery_of(stats_lines)
            s = {
                "t_s": round(t_s, 1),
                "phase": phase,
                "rss_mib": rss_kib(pid) / 1024,
                "heap_mib": mib(values.get("skirmish_heap_allocated_bytes")),
                "allocator_mib": mib(values.get("skirmish_heap_resident_bytes")),
                "fds": open_fds(pid),
                "connections": values.get("skirmish_connections"),
                "players": values.get("skirmish_players"),
                "rooms": values.get("skirmish_rooms"),
                "tick_p99_ms": None if tick is None else tick * 1000,
                "cpu_pct": None if cpu_before is None else 100 * (cpu - cpu_before) / (wall - wall_before),
                "delivery": delivery,
                "latency_p99_ms": lat,
                "drops": family_delta(before, values, "skirmish_disconnects_total") if before else None,
                "refused": family_delta(before, values, "skirmish_connections_refused_total") if before else None,
            }
            samples.append(s)
            print(row_text(s), flush=True)
            return values, cpu, wall

        time.sleep(2)
        prev, cpu, wall = sample(-2.0, "idle", None, None, None, [])
        t0 = time.monotonic()
        bots = subprocess.Popen(bots_cmd, stdout=open(os.path.join(logdir, "well-behaved.log"), "ab"),
                                stderr=subprocess.STDOUT)
        procs.append(bots)
        never_read = round(args.misbehaving * NEVER_READ_SHARE)
        rogues = [
            Rogues("misbehaving-quick", args.misbehaving - never_read, QUICK_MISBEHAVIOURS, args.rogue_cycle,
                   args.rogue_ramp, bots_bin, url, args.rooms, logdir, t0 + run_s),
            Rogues("misbehaving-never-read", never_read, "never-read=100", args.never_read_cycle,
                   args.rogue_ramp, bots_bin, url, args.rooms, logdir, t0 + run_s),
        ]
        stats = StatsReader(stats_path)
        k = 0
        while True:
            k += 1
            # A second after the bots' --stats line for the interval, so the sample has it.
            due = t0 + k * args.interval + STATS_GRACE_S
            while True:
                for r in rogues:
                    r.tend()
                if time.monotonic() >= due:
                    break
                time.sleep(min(1.0, max(0.0, due - time.monotonic())))
            if server.poll() is not None:
                print(f"the server exited ({server.returncode}) during the soak; log in {logdir}/server.log",
                      file=sys.stderr)
                return 1
            if bots.poll() is not None:
                print(f"the well-behaved bots exited early ({bots.returncode}); log in {logdir}/well-behaved.log",
                      file=sys.stderr)
                return 1
            prev, cpu, wall = sample(time.monotonic() - t0, "bots", prev, cpu, wall, stats.new_lines())
            if k * args.interval >= run_s:
                break

        for r in rogues:
            r.stop()
        bots.wait(timeout=args.interval + 60)
        time.sleep(3)
        prev, cpu, wall = sample(time.monotonic() - t0, "after", prev, cpu, wall, [])
        print(f"(after: {samples[-1]['t_s']:.0f} s, every bot gone)")
        if args.settle > 0:
            # The empty rooms go after the server's grace (30 s), idle threads flush their
            # allocator caches 5 s after their last session, and jemalloc returns freed pages
            # after its 10 s decay: what the run used comes back only then.
            time.sleep(args.settle)
            prev, cpu, wall = sample(time.monotonic() - t0, "settled", prev, cpu, wall, [])
            print(f"(later: {samples[-1]['t_s']:.0f} s, {args.settle:g} s after the bots)")

        with open(bots_report) as f:
            final = json.load(f)
        check = rss_check(samples, args.minutes, args.tolerance)
        report = {
            "params": {"minutes": args.minutes, "bots": args.bots, "well_behaved": well_behaved,
                       "reconnect_share": args.reconnect_share, "misbehaving": args.misbehaving,
                       "misbehaving_share": round(100 * args.misbehaving / args.bots), "rooms": args.rooms,
                       "room_size": args.room_size, "map": args.map, "mix": args.mix,
                       "interval_s": args.interval, "cores": os.cpu_count()},
            "server_command": server_cmd,
            "well_behaved_command": bots_cmd,
            "samples": samples,
            "check": check,
            "well_behaved_summary": {k: final.get(k) for k in (
                "connected", "failed", "delivery_ratio", "latency_ms", "disconnects", "misbehaving")},
            "misbehaving": {r.name: {"launches": r.launches, "bots": r.bots, "every_s": r.cycle,
                                     "reactions": r.tally} for r in rogues},
        }
        summarise(report)
        if args.csv:
            with open(args.csv, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(samples[0]))
                w.writeheader()
                w.writerows(strict_json(samples))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(strict_json(report), f, indent=2)
        if args.plot:
            plot(strict_json(report), args.plot)
        if check is None:
            # Not a pass: a CI job that shortened the soak must not go green without the check.
            print(f"\nRSS check SKIPPED: it needs --minutes ≥ {BASELINE_MIN[1] + FINAL_WINDOW_MIN} "
                  f"(exit {EXIT_NO_CHECK}: no check was made)")
            return EXIT_NO_CHECK
        verdict = "PASS" if check["passed"] else "FAIL"
        print(f"\nRSS check {verdict}: the largest RSS of the last {FINAL_WINDOW_MIN} minutes, "
              f"{check['final_max_mib']:.1f} MiB at {check['final_max_at_s'] / 60:.1f} min, is "
              f"{check['over_baseline_pct']:+.2f} % against the mean of minutes {BASELINE_MIN[0]}–{BASELINE_MIN[1]}, "
              f"{check['baseline_mean_mib']:.1f} MiB (limit +{args.tolerance:g} %, {check['limit_mib']:.1f} MiB)")
        return 0 if check["passed"] else 1
    finally:
        for r in rogues:
            r.kill()
        if args.heaptrack and pid is not None:
            # heaptrack's script does not pass signals on: stop the server itself, gracefully, so
            # the recording ends cleanly, then let heaptrack finish writing it.
            try:
                os.kill(pid, signal.SIGTERM)
                server.wait(timeout=60)
                print(f"heaptrack's recording: {args.heaptrack}.zst")
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for p in reversed(procs):
            stop_process(p)
        server_log.close()


# Exit status of a soak too short for the RSS check (1 is a failed check).
EXIT_NO_CHECK = 3


def summarise(report):
    """Start and end figures, the well-behaved bots' whole-run figures and the rogues' tally."""
    s = [x for x in report["samples"] if x["phase"] == "bots"]
    full = [x for x in s if x["delivery"] is not None]
    start = full[0] if full else s[0]
    end = s[-1]
    after = [x for x in report["samples"] if x["phase"] == "after"]
    rows = [("idle (before the bots)", report["samples"][0]), (f"start ({start['t_s'] / 60:.1f} min)", start),
            (f"end ({end['t_s'] / 60:.1f} min)", end)] + [("after (bots gone)", x) for x in after]
    later = [x for x in report["samples"] if x["phase"] == "settled"]
    if after and later:
        rows.append((f"{later[0]['t_s'] - after[0]['t_s']:.0f} s after that", later[0]))
    print(f"\n{'':>24} {'RSS MiB':>8} {'heap':>5} {'fds':>5} {'tick p99':>9} {'delivery':>8}")
    for name, x in rows:
        print(f"{name:>24} {x['rss_mib']:>8.1f} {fmt(x.get('heap_mib'), '.1f'):>5} {x['fds']:>5} "
              f"{fmt(x['tick_p99_ms'], '.1f', 'ms'):>9} "
              f"{fmt(x['delivery'], '.4f'):>8}")
    w = report["well_behaved_summary"]
    lat = w.get("latency_ms") or {}
    print(f"\nwell-behaved (steady) bots over the whole run: {w['connected']} connected, delivery "
          f"{fmt(w['delivery_ratio'], '.4f')}, latency p99 {fmt(lat.get('p99'), '.1f', ' ms')}, "
          f"disconnects {w['disconnects']}")
    for kind, t in (w.get("misbehaving") or {}).items():
        print(f"  {kind}: {t['bots']} bots, {t['reconnects']} reconnects, "
              f"closed {sum(t['closed'].values())}, lost {sum(t['lost'].values())}, failed {sum(t['failed'].values())}")
    for name, m in report["misbehaving"].items():
        print(f"{name}: {m['bots']} bots over {m['launches']} launches (each at most {m['every_s']:g} s); "
              "what the server did:")
        for kind, reactions in sorted(m["reactions"].items()):
            text = ", ".join(f"{why} × {n}" for why, n in sorted(reactions.items(), key=lambda kv: -kv[1]))
            print(f"  {kind:>15}: {text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20, help="length of the soak, from the start of the bots")
    ap.add_argument("--bots", type=int, default=300, help="all bots, well-behaved and misbehaving")
    ap.add_argument("--misbehaving-share", type=int, default=20, help="%% of --bots that misbehave")
    ap.add_argument("--reconnect-share", type=int, default=10,
                    help="%% of the well-behaved bots that reconnect every 2 s (not in the delivery figures)")
    ap.add_argument("--rooms", type=int, default=4, help="rooms the bots spread over (default room size 100)")
    ap.add_argument("--room-size", type=int, help="the server's --max-players-per-room (default: its own, 100)")
    ap.add_argument("--map", help="the server's --map (default: its rotation of the normal maps)")
    ap.add_argument("--mix", default="wander=60,fight=40", help="well-behaved behaviours (skirmish-bots --mix)")
    ap.add_argument("--interval", type=float, default=10, help="seconds between samples")
    ap.add_argument("--ramp-up", type=float, default=10, help="seconds to connect the well-behaved bots")
    ap.add_argument("--rogue-cycle", type=float, default=40,
                    help="seconds per launch of the flood, garbage, slow-handshake and oversized bots")
    ap.add_argument("--never-read-cycle", type=float, default=40, help="seconds per launch of the never-read bots")
    ap.add_argument("--settle", type=float, default=60,
                    help="seconds after the bots are gone to sample once more, when the empty rooms are "
                         "removed and memory given back (0: no such sample)")
    ap.add_argument("--rogue-ramp", type=float, default=5, help="seconds to connect the misbehaving bots")
    ap.add_argument("--tolerance", type=float, default=5, help="%% over the baseline RSS allowed at the end")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument("--heaptrack", metavar="FILE",
                    help="run the server under heaptrack, recording to FILE.zst (a system-malloc build in "
                         "target/heaptrack, brought up to date even with --no-build)")
    ap.add_argument("--csv", help="write the samples as CSV here")
    ap.add_argument("--json", help="write the samples, the check and the bots' reports as JSON here")
    ap.add_argument("--plot", help="draw the PNG plot here (needs matplotlib)")
    ap.add_argument("--plot-only", metavar="JSON", help="only draw --plot from an earlier --json report")
    args = ap.parse_args()
    if args.plot_only:
        if not args.plot:
            ap.error("--plot-only needs --plot FILE")
        with open(args.plot_only) as f:
            return 0 if plot(json.load(f), args.plot) else 1
    args.misbehaving = round(args.bots * args.misbehaving_share / 100)
    if not 0 < args.misbehaving < args.bots:
        ap.error("--bots and --misbehaving-share must leave both well-behaved and misbehaving bots")
    if args.interval < 1 or args.minutes * 60 < 2 * args.interval:
        ap.error("--interval must be at least 1 s and fit twice into --minutes")
    # SIGTERM ends the run like Ctrl-C: the finally blocks stop every process. (SIGHUP is left
    # alone, so that nohup keeps working.)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args)
    except KeyboardInterrupt:
        print("\ninterrupted: the server and the bots were stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
