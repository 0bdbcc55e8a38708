#!/usr/bin/env python3
"""Capacity benchmark: how many bots can one Skirmish server hold in one room?

Builds release, starts the server on loopback, and runs `skirmish-bots` in growing steps
(100, 250, 500, 1000, 2000, 3000, ... by default) until delivery falls below 99.9 % or input
latency p99 passes 40 ms. For each step it prints bots, delivery, latency p50/p99, tick p99 (from
the server's /metrics histogram), bytes per snapshot, server and bots CPU %, server RSS, and at
the end the capacity found. Only the standard library; Linux only (/proc).

    python3 scripts/capacity.py                 # the default ladder
    python3 scripts/capacity.py --steps 100,200 --duration 20 --json capacity.json
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def histogram_quantile(before, after, name, q):
    """Quantile of the observations between two scrapes, from cumulative `le` buckets."""
    pattern = re.compile(re.escape(name) + r'_bucket\{le="([^"]+)"\}')
    buckets = []
    for key, value in after.items():
        m = pattern.fullmatch(key)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets.append((le, value - before.get(key, 0.0)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    for le, count in buckets:
        if count >= q * total:
            return le
    return float("inf")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="100,250,500,1000,2000,3000,4000,5000")
    ap.add_argument("--duration", type=float, default=20, help="seconds of measurement per step")
    ap.add_argument("--ramp-up", type=float, default=None, help="seconds to connect all bots (default: bots/200, ≥ 2)")
    ap.add_argument("--mix", default="wander=100")
    ap.add_argument("--min-delivery", type=float, default=0.999)
    ap.add_argument("--max-p99-latency", type=float, default=40.0)
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument("--json", help="write the table as JSON here")
    args = ap.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "skirmish-server", "-p", "skirmish-bots"],
                       cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    server_bin = os.path.join(target, "release", "skirmish")
    bots_bin = os.path.join(target, "release", "skirmish-bots")

    port = free_port()
    server = subprocess.Popen(
        [server_bin, "--bind", "127.0.0.1", "--port", str(port), "--max-players-per-room", "100000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
    rows = []
    try:
        for _ in range(100):
            try:
                scrape(port)
                break
            except OSError:
                time.sleep(0.1)
        print(f"server pid {server.pid} on port {port}; {os.cpu_count()} cores; bots and server share them\n")
        header = (f"{'bots':>6} {'conn':>6} {'delivery':>9} {'lat p50':>8} {'lat p99':>8} {'tick p99':>9} "
                  f"{'B/snap':>8} {'srv CPU':>8} {'bots CPU':>9} {'srv RSS':>9}")
        print(header)
        print("-" * len(header))
        capacity = 0
        for n in [int(s) for s in args.steps.split(",")]:
            ramp = args.ramp_up if args.ramp_up is not None else max(2.0, n / 200)
            report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
            cmd = [bots_bin, "--url", f"ws://127.0.0.1:{port}/ws", "-c", str(n), "--ramp-up", str(ramp),
                   "--duration", str(args.duration), "--room", "capacity", "--mix", args.mix, "--json", report]
            before = scrape(port)
            srv_cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
            bots = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            peak_rss, bots_cpu = 0, 0.0
            while bots.poll() is None:
                peak_rss = max(peak_rss, rss_kib(server.pid))
                try:
                    bots_cpu = cpu_seconds(bots.pid)
                except OSError:
                    pass
                time.sleep(0.25)
            wall = time.monotonic() - wall0
            srv_cpu = cpu_seconds(server.pid) - srv_cpu0
            after = scrape(port)
            try:
                with open(report) as f:
                    r = json.load(f)
            except (OSError, ValueError):
                print(f"{n:>6} bots run failed: {bots.stderr.read().decode()[-500:]}")
                break
            finally:
                os.unlink(report)
            sent = after.get("skirmish_snapshots_sent_total", 0) - before.get("skirmish_snapshots_sent_total", 0)
            sent_bytes = after.get("skirmish_snapshot_bytes_total", 0) - before.get("skirmish_snapshot_bytes_total", 0)
            tick_p99 = histogram_quantile(before, after, "skirmish_tick_duration_seconds", 0.99)
            row = {
                "bots": n,
                "connected": r["connected"],
                "delivery": r["delivery_ratio"],
                "latency_p50_ms": r["latency_ms"]["p50"],
                "latency_p99_ms": r["latency_ms"]["p99"],
                "tick_p99_ms": None if tick_p99 is None else tick_p99 * 1000,
                "bytes_per_snapshot": sent_bytes / sent if sent else 0,
                "server_cpu_pct": 100 * srv_cpu / wall,
                "bots_cpu_pct": 100 * bots_cpu / wall,
                "server_rss_mib": peak_rss / 1024,
            }
            rows.append(row)
            tick = "n/a" if row["tick_p99_ms"] is None else f"≤{row['tick_p99_ms']:.1f}ms"
            print(f"{n:>6} {row['connected']:>6} {row['delivery']:>9.4f} {row['latency_p50_ms']:>6.1f}ms "
                  f"{row['latency_p99_ms']:>6.1f}ms {tick:>9} {row['bytes_per_snapshot']:>8.0f} "
                  f"{row['server_cpu_pct']:>7.0f}% {row['bots_cpu_pct']:>8.0f}% {row['server_rss_mib']:>7.1f}MiB",
                  flush=True)
            ok = (row["connected"] == n and row["delivery"] >= args.min_delivery
                  and row["latency_p99_ms"] <= args.max_p99_latency)
            if row["bots_cpu_pct"] > row["server_cpu_pct"] and row["bots_cpu_pct"] > 80 * (os.cpu_count() or 1) / 2:
                print(f"       warning: the bots used more CPU ({row['bots_cpu_pct']:.0f}%) than the server "
                      f"({row['server_cpu_pct']:.0f}%): on this machine the bots, not the server, may be the limit")
            if not ok:
                why = []
                if row["connected"] < n:
                    why.append(f"only {row['connected']} of {n} connected")
                if row["delivery"] < args.min_delivery:
                    why.append(f"delivery {row['delivery']:.4f} < {args.min_delivery}")
                if row["latency_p99_ms"] > args.max_p99_latency:
                    why.append(f"latency p99 {row['latency_p99_ms']:.1f} ms > {args.max_p99_latency} ms")
                print(f"\nstopped at {n} bots: " + "; ".join(why))
                break
            capacity = n
        print(f"\ncapacity: {capacity} bots in one room "
              f"(delivery ≥ {args.min_delivery}, latency p99 ≤ {args.max_p99_latency} ms)")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"capacity": capacity, "steps": rows, "params": vars(args)}, f, indent=2)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
