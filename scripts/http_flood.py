#!/usr/bin/env python3
"""The HTTP caps under a flood from many addresses: what a new visitor and the players in a room
see while plain HTTP connections hold every place under `--max-http-connections`.

Builds release (unless --no-build), starts the server on loopback with its default caps (or with
--server-args), puts --bots bots in one room, then opens --addresses × --per-address TCP
connections (default 40 × 60 = 2400, each address within its 64) from 127.0.1.x, each sending
a request head whose body never follows, and holds them --hold seconds. Meanwhile one
`GET /livez` from another address measures how long a newcomer waits to be answered. It prints
that wait, the same after the flood ends, the server's peak open descriptors, its WARN lines
about the cap, the gauge `skirmish_http_connections` after, and the bots' delivery, latency p99
and disconnects. Everything is bounded (connections, seconds) and on loopback. Only the standard
library; Linux only (127.x.y.z sources).

    python3 scripts/http_flood.py
    python3 scripts/http_flood.py --no-build --addresses 20 --per-address 50 --hold 15
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import free_port, release_dir, scrape, stop_process, wait_serving

# A request whose body never comes: the server waits for it until its request timeout (10 s).
BODY_PENDING = (b"POST /admin/login HTTP/1.1\r\nHost: flood\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n")


def livez_wait(port, source, timeout):
    """Seconds until `GET /livez` from `source` is answered (None: not within `timeout`)."""
    start = time.monotonic()
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /livez HTTP/1.1\r\nHost: flood\r\nConnection: close\r\n\r\n")
            answer = s.recv(64)
        except OSError:
            return None
    return time.monotonic() - start if answer.startswith(b"HTTP/1.1 200") else None


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addresses", type=int, default=40, help="flooding source addresses (at most 250)")
    ap.add_argument("--per-address", type=int, default=60, help="connections from each")
    ap.add_argument("--hold", type=float, default=20, help="seconds the flood is held (at most 60)")
    ap.add_argument("--bots", type=int, default=10, help="bots playing in one room meanwhile")
    ap.add_argument("--server-args", default="", help="more server options, e.g. '--max-http-connections 4096'")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    ap.add_argument("--json", help="write the figures as JSON here")
    args = ap.parse_args()
    addresses, hold = min(args.addresses, 250), min(args.hold, 60)

    release = release_dir(not args.no_build)
    server_bin, bots_bin = (os.path.join(release, b) for b in ("skirmish", "skirmish-bots"))
    port = free_port()
    log = tempfile.NamedTemporaryFile(suffix=".log", delete=False)
    server = subprocess.Popen([server_bin, "--bind", "127.0.0.1", "--port", str(port), "--no-qr",
                               "--min-players", "1", "--countdown", "0", "--match-duration", "1h"]
                              + args.server_args.split(), stdout=subprocess.DEVNULL, stderr=log)
    held = []
    try:
        failed = wait_serving(server, port, 30)
        if failed:
            sys.exit(f"{failed}; its log: {log.name}")
        baseline = scrape(port).get("skirmish_http_connections")
        report = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
        bots = subprocess.Popen([bots_bin, "--url", f"ws://127.0.0.1:{port}/ws", "-c", str(args.bots),
                                 "--duration", str(hold + 15), "--room", "flood", "--mix", "wander=60,fight=40",
                                 "--source-ips", "127.0.0.2-127.0.0.40", "--json", report],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(5)
        peak = [fds(server.pid)]
        stop = threading.Event()

        def watch():
            while not stop.wait(0.2):
                peak.append(fds(server.pid))
        watcher = threading.Thread(target=watch)
        watcher.start()
        for a in range(addresses):
            for _ in range(args.per_address):
                s = socket.socket()
                try:
                    s.bind((f"127.0.1.{a + 1}", 0))
                    s.settimeout(2)
                    s.connect(("127.0.0.1", port))
                    s.sendall(BODY_PENDING)
                    held.append(s)
                except OSError:
                    s.close()
        opened = len(held)
        during = livez_wait(port, "127.0.2.1", hold)
        time.sleep(max(0.0, hold - (during or hold)))
        for s in held:
            s.close()
        held.clear()
        after = livez_wait(port, "127.0.2.2", 30)
        stop.set()
        watcher.join()
        bots.wait(timeout=hold + 120)
        with open(report) as f:
            out = json.load(f)
        os.unlink(report)
        time.sleep(1)
        gauge = scrape(port).get("skirmish_http_connections")
    finally:
        for s in held:
            s.close()
        stop_process(server)
    with open(log.name) as f:
        warns = sum("--max-http-connections" in line for line in f)
    os.unlink(log.name)
    figures = {
        "flood_connections": opened,
        "livez_wait_during_s": during,
        "livez_wait_after_s": after,
        "server_fds_peak": max(peak),
        "cap_warnings": warns,
        "http_connections_gauge_before": baseline,
        "http_connections_gauge_after": gauge,
        "bots_delivery": out.get("delivery_ratio"),
        "bots_latency_p99_ms": (out.get("latency_ms") or {}).get("p99"),
        "bots_disconnects": out.get("disconnects"),
    }
    wait = lambda w: f"{w:.2f} s" if w is not None else "not answered"  # noqa: E731
    print(f"flood: {opened} connections from {addresses} addresses, held {hold:g} s")
    print(f"GET /livez from a new address: during the flood {wait(during)}, after it {wait(after)}")
    print(f"server: at most {max(peak)} open descriptors, {warns} WARN line(s) about the cap; "
          f"skirmish_http_connections {baseline:g} before, {gauge:g} after")
    delivery, p99 = figures["bots_delivery"], figures["bots_latency_p99_ms"]
    print(f"{args.bots} bots meanwhile: delivery {delivery:.4f}, latency p99 {p99:.1f} ms, "
          f"disconnects {figures['bots_disconnects'] or 'none'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
