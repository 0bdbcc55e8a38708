#!/usr/bin/env python3
"""Abuse table: what the server does to each kind of misbehaving client, and what the
well-behaved players in the same room see meanwhile.

Builds release (unless --no-build), starts the server on loopback with its default connection
caps ON, and for each kind (flood, garbage, never-read, slow-handshake, oversized, reconnect)
runs one skirmish-bots process of --bots bots (default 110) in one room for --duration seconds,
--share % of them (default 10) misbehaving that way, all spread over loopback source addresses so
the per-address caps are not what stops them. Per kind it prints: how the server answered the
misbehaving bots (close code and reason, HTTP status, reset, or "endured" until the run ended)
and how long that took, and the well-behaved bots' delivery (snapshots received / due) and input
latency p99 from the same run. Only the standard library; Linux only (127.x.y.z sources).

    python3 scripts/abuse.py
    python3 scripts/abuse.py --kinds flood,garbage --duration 30 --json abuse.json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from harness import free_port, release_dir, stop_process, wait_serving

KINDS = ["flood", "garbage", "never-read", "slow-handshake", "oversized", "reconnect"]


def reaction(summary):
    """The server's answers to one kind's bots, most frequent first."""
    # "1007 malformed message: <the decoder's complaint>" → "1007 malformed message": the table
    # groups by code and reason; the JSON keeps every detail.
    closed = {}
    for why, n in summary.get("closed", {}).items():
        head = why.split(":")[0]
        closed[head] = closed.get(head, 0) + n
    parts = [f"{n}× {why}" for why, n in sorted(closed.items(), key=lambda kv: -kv[1])]
    parts += [f"{n}× reset/lost ({why})" for why, n in summary.get("lost", {}).items()]
    if summary.get("endured"):
        parts.append(f"{summary['endured']}× endured")
    if summary.get("failed"):
        parts += [f"{n}× could not misbehave ({why})" for why, n in summary["failed"].items()]
    if summary.get("reconnects"):
        parts.append(f"{summary['reconnects']} reconnects")
    return "; ".join(parts) or "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated misbehaviours")
    ap.add_argument("--bots", type=int, default=110, help="bots per run, misbehaving ones included")
    ap.add_argument("--share", type=int, default=10, help="%% of the bots that misbehave")
    ap.add_argument("--duration", type=float, default=20, help="seconds each run plays")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument("--json", help="write the table as JSON here")
    args = ap.parse_args()

    release = release_dir(not args.no_build)
    server_bin, bots_bin = (os.path.join(release, b) for b in ("skirmish", "skirmish-bots"))
    port = free_port()
    server = subprocess.Popen([server_bin, "--bind", "127.0.0.1", "--port", str(port), "--no-qr",
                               "--min-players", "1", "--countdown", "0", "--match-duration", "1h"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        failed = wait_serving(server, port, 30)
        if failed:
            sys.exit(failed)
        print(f"{'kind':<15} {'server reaction':<70} {'took':>11} {'delivery':>9} {'p99 ms':>7}")
        for kind in args.kinds.split(","):
            report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
            cmd = [bots_bin, "--url", f"ws://127.0.0.1:{port}/ws", "-c", str(args.bots), "--duration",
                   str(args.duration), "--ramp-up", "3", "--room", f"abuse-{kind}", "--mix", "wander=60,fight=40",
                   "--misbehave", f"{kind}={args.share}", "--source-ips", "127.0.0.2-127.0.0.40",
                   "--json", report]
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=args.duration + 120)
            with open(report) as f:
                out = json.load(f)
            os.unlink(report)
            summary = out.get("misbehaving", {}).get(kind, {})
            took = summary.get("took_ms") or {}
            row = {
                "kind": kind,
                "reaction": reaction(summary),
                "took_ms": [took.get("min"), took.get("max")] if took else None,
                "delivery": out.get("delivery_ratio"),
                "latency_p99_ms": (out.get("latency_ms") or {}).get("p99"),
                "misbehaving": summary,
            }
            rows.append(row)
            took_text = f"{took['min'] / 1000:.1f}–{took['max'] / 1000:.1f} s" if took else "–"
            delivery = f"{row['delivery']:.4f}" if row["delivery"] is not None else "–"
            p99 = f"{row['latency_p99_ms']:.1f}" if row["latency_p99_ms"] is not None else "–"
            print(f"{kind:<15} {row['reaction'][:70]:<70} {took_text:>11} {delivery:>9} {p99:>7}", flush=True)
    finally:
        stop_process(server)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
