#!/usr/bin/env python3
"""The server's CPU per HTTP request, by path: starts the release server on loopback (default
flags), sends each path N times over one keep-alive connection, and prints the server's CPU
(user + system, from /proc) per request and the wall time per request. What an endpoint costs
the threads that also write the players' snapshots; `/livez` is the baseline.

    python3 scripts/request_cpu.py [--no-build] [-n 1000] [PATH ...]

`{i}` in a path is replaced by the request's number. Default paths: /livez, /invite.svg, the
invite code of a room that is open (one bot holds room `cpu-a` for the run) asked for again and
again (drawn once, then kept), and a made-up room's at every request (`?room=new-{i}`: 404, as
codes are drawn only for open rooms, then 429 once the address's connection rate is spent, as
each look-up costs a new connection's token; a drawing costs about 1.2 ms).
Only the standard library; Linux only."""

import argparse
import http.client
import json
import subprocess
import time

from harness import cpu_seconds, free_port, release_dir, stop_process, wait_serving

DEFAULT_PATHS = ["/livez", "/invite.svg", "/invite.svg?room=cpu-a", "/invite.svg?room=new-{i}"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=DEFAULT_PATHS, help="request paths, in order")
    ap.add_argument("-n", type=int, default=1000, help="requests per path")
    ap.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    args = ap.parse_args()
    port = free_port()
    release = release_dir(not args.no_build)
    server = subprocess.Popen([f"{release}/skirmish", "--bind", "127.0.0.1", "--port", str(port), "--no-qr"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bot = None
    try:
        wait_serving(server, port)
        # Room codes are drawn only for open rooms: one bot keeps `cpu-a` open for the run.
        bot = subprocess.Popen([f"{release}/skirmish-bots", "--url", f"ws://127.0.0.1:{port}/ws", "-c", "1",
                                "--duration", "3600", "--room", "cpu-a", "--max-failed", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not any(r["name"] == "cpu-a" for r in rooms(port)):
            if time.monotonic() > deadline:
                raise SystemExit("the bot never opened room cpu-a")
            time.sleep(0.1)
        print(f"{'path':<34} {'status':>6} {'bytes':>6} {'server CPU µs/req':>18} {'wall µs/req':>12}")
        for path in args.paths:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            statuses = set()
            body = b""
            cpu0 = cpu_seconds(server.pid)[0]
            t0 = time.monotonic()
            for i in range(args.n):
                conn.request("GET", path.replace("{i}", str(i)))
                response = conn.getresponse()
                body = response.read()
                statuses.add(response.status)
            wall = time.monotonic() - t0
            cpu = cpu_seconds(server.pid)[0] - cpu0
            conn.close()
            status = ",".join(str(s) for s in sorted(statuses))
            print(f"{path:<34} {status:>6} {len(body):>6} {cpu / args.n * 1e6:>18.0f} {wall / args.n * 1e6:>12.0f}")
    finally:
        if bot is not None:
            stop_process(bot)
        stop_process(server)


def rooms(port):
    """The server's public rooms (`/api/rooms`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/api/rooms")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


if __name__ == "__main__":
    main()
