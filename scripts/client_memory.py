#!/usr/bin/env python3
"""Does the browser client stay flat in a big room? A player may leave the page open for hours.

Starts the release server on loopback (the expanse map, one room of up to --room-size players,
2-minute matches so the results and the new match come round, connection caps off), --bots bots
in it (wander=60,fight=40, a tenth of them reconnecting every few seconds so that players come
and go), and one headless Chromium (Debian's chromium and chromium-driver, driven over
WebDriver) that opens the page and joins the same room with no key pressed: it sends empty
inputs, as a player who walked away does, and its ship stays where it spawned until shot. Every
--every seconds it asks the page, through chromedriver's DevTools endpoint, after a garbage
collection:

    JS heap    the page's live JavaScript heap (Runtime.getHeapUsage), MiB
    wasm       the size of the client's WebAssembly memory (every WebAssembly.Memory the page
               holds: Runtime.queryObjects), MiB. It grows and never shrinks, so a leak in the
               Rust client shows here as steps
    nodes      DOM nodes and JS event listeners of the page (Memory.getDOMCounters)
    renderer   the proportional set size (PSS: private pages and a share of the shared ones) of
               Chromium's renderer processes (/proc/PID/smaps_rollup), MiB, and of all its processes
    fps        frames the page drew over the interval (a requestAnimationFrame counter the script
               installs), per second
    CPU        the renderers' CPU over the interval, and all of Chromium's (software compositing
               included: the browser runs with --disable-gpu), % of one core
    players    the server's skirmish_players gauge (the room's players, the page's included)
    status     the page's #status text

At the end: the wasm memory, the DOM nodes and the JS heap of the last sample against the first
sample after --settle seconds (past the first match's end, whose results table adds its rows
once). Growth is reported, not judged by a threshold: a memory figure is a benchmark, not a test.
Everything runs on loopback and stops by itself; every process is killed on exit, Ctrl-C
included. Linux only (/proc); only the standard library.

    python3 scripts/client_memory.py --bots 1000 --minutes 20 --json client-memory.json
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import harness

CHROME_FLAGS = [
    # NOTES.md: headless without the background networking, which floods a closed network.
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--mute-audio",
    "--window-size=1280,800",
]


class Driver:
    """A chromedriver on a free port and one session in it: W3C WebDriver over HTTP."""

    def __init__(self, profile):
        self.port = harness.free_port()
        exe = shutil.which("chromedriver")
        if exe is None:
            sys.exit("chromedriver not found: apt-get install -y chromium chromium-driver")
        self.proc = subprocess.Popen([exe, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("chromedriver did not answer within 20 s")
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium") or "/usr/bin/chromium",
            "args": CHROME_FLAGS + [f"--user-data-dir={profile}"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())["value"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, source, *args):
        return self.s("POST", "/execute/sync", {"script": source, "args": list(args)})

    def cdp(self, cmd, **params):
        return self.s("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params})

    def element(self, css):
        found = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def close(self):
        try:
            self.s("DELETE", "")
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def descendants(pid):
    """Every process below `pid` (from /proc's parent links)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pss_mib(pid):
    """A process's proportional set size (its private pages and its share of the shared ones: RSS
    summed over processes counts shared pages once per process), MiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def chromium_usage(driver_pid):
    """Chromium's processes below chromedriver: (renderers' PSS MiB, all processes' PSS MiB,
    renderers' CPU seconds, all processes' CPU seconds)."""
    renderer = total = renderer_cpu = total_cpu = 0.0
    for pid in descendants(driver_pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"chrom" not in cmdline.split(b"\0")[0]:
            continue
        pss = pss_mib(pid)
        cpu = harness.try_cpu_seconds(pid)
        cpu = cpu[0] if cpu else 0.0
        total += pss
        total_cpu += cpu
        if b"--type=renderer" in cmdline:
            renderer += pss
            renderer_cpu += cpu
    return renderer, total, renderer_cpu, total_cpu


def wasm_bytes(driver):
    """Bytes of every WebAssembly.Memory the page holds."""
    proto = driver.cdp("Runtime.evaluate", expression="WebAssembly.Memory.prototype")["result"]["objectId"]
    found = driver.cdp("Runtime.queryObjects", prototypeObjectId=proto)["objects"]["objectId"]
    sizes = driver.cdp("Runtime.callFunctionOn", objectId=found, returnByValue=True,
                       functionDeclaration="function () { return this.map(m => m.buffer.byteLength); }")
    return sum(sizes["result"]["value"])


def sample(driver, started, port):
    driver.cdp("HeapProfiler.collectGarbage")
    heap = driver.cdp("Runtime.getHeapUsage")
    dom = driver.cdp("Memory.getDOMCounters")
    frames = driver.script("return window.__frames || 0;")
    status = driver.script("const e = document.querySelector('#status'); return e ? e.textContent : '';")
    renderer, total, renderer_cpu, total_cpu = chromium_usage(driver.proc.pid)
    return {
        "t": round(time.monotonic() - started, 1),
        "players": harness.scrape(port).get("skirmish_players"),
        "js_heap_mib": heap["usedSize"] / 2**20,
        "wasm_mib": wasm_bytes(driver) / 2**20,
        "nodes": dom["nodes"],
        "listeners": dom["jsEventListeners"],
        "renderer_mib": renderer,
        "chromium_mib": total,
        "renderer_cpu_s": renderer_cpu,
        "chromium_cpu_s": total_cpu,
        "frames": frames,
        "status": status.strip(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--bots", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--every", type=float, default=30, help="seconds between samples (30)")
    ap.add_argument("--settle", type=float, default=150,
                    help="seconds after the page joined before the sample growth counts from (150: past the "
                         "first match's end, which fills the results table once)")
    ap.add_argument("--room-size", type=int, default=1200)
    ap.add_argument("--no-build", action="store_true", help="use the release binaries as they are")
    ap.add_argument("--json", metavar="FILE", help="also write the samples as JSON")
    args = ap.parse_args()

    release = harness.release_dir(not args.no_build)
    port = harness.free_port()
    logdir = tempfile.mkdtemp(prefix="skirmish-client-memory-")
    server = subprocess.Popen(
        [os.path.join(release, "skirmish"), "--bind", "127.0.0.1", "--port", str(port), "--map", "expanse",
         "--max-players-per-room", str(args.room_size), "--min-players", "1", "--score-limit", "0",
         "--match-duration", "2m"] + harness.SERVER_LOAD_TEST_FLAGS,
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(logdir, "server.log"), "wb"))
    procs = [server]
    driver = None
    profile = tempfile.mkdtemp(prefix="skirmish-chromium-")

    def cleanup(*_):
        if driver is not None:
            driver.close()
        for proc in procs:
            harness.stop_process(proc, grace=5)
        shutil.rmtree(profile, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        problem = harness.wait_serving(server, port)
        if problem:
            sys.exit(f"{problem}; log in {logdir}")
        ramp = max(2, args.bots // 200)
        seconds = int(args.minutes * 60) + 60
        bots = subprocess.Popen(
            [os.path.join(release, "skirmish-bots"), "--url", f"ws://127.0.0.1:{port}/ws", "-c", str(args.bots),
             "--ramp-up", str(ramp), "--duration", str(seconds), "--mix", "wander=60,fight=40",
             "--misbehave", "reconnect=10", "--seed", "1", "--max-failed", "1"],
            stdout=open(os.path.join(logdir, "bots.log"), "wb"), stderr=subprocess.STDOUT)
        procs.append(bots)
        time.sleep(ramp + 3)
        print(f"server on 127.0.0.1:{port}, {args.bots} bots in its default room; logs in {logdir}", flush=True)

        driver = Driver(profile)
        driver.s("POST", "/url", {"url": f"http://127.0.0.1:{port}/?room=main"})
        deadline = time.monotonic() + 60
        while not driver.script("const b = document.querySelector('#play'); return !!b && !b.disabled;"):
            if time.monotonic() > deadline:
                sys.exit("the page's Play button was not enabled within 60 s")
            time.sleep(0.2)
        name = driver.element("#name")
        driver.s("POST", f"/element/{name}/clear", {})
        driver.s("POST", f"/element/{name}/value", {"text": "watcher"})
        driver.s("POST", f"/element/{driver.element('#play')}/click", {})
        driver.script("window.__frames = 0; const f = () => { window.__frames++; requestAnimationFrame(f); };"
                      " requestAnimationFrame(f);")
        joined = time.monotonic()
        print(f"{'t s':>6} {'players':>7} {'JS heap':>8} {'wasm':>6} {'nodes':>6} {'listen':>6} {'renderer':>9} "
              f"{'chromium':>9} {'fps':>5} {'CPU rend/all':>12}  status", flush=True)
        samples = []
        end = joined + args.minutes * 60
        prev = None
        while True:
            s = sample(driver, joined, port)

            def per_second(key, prev=prev, s=s):
                return None if prev is None else (s[key] - prev[key]) / max(s["t"] - prev["t"], 1e-9)

            s["fps"] = per_second("frames")
            s["renderer_cpu_pct"] = None if prev is None else 100 * per_second("renderer_cpu_s")
            s["chromium_cpu_pct"] = None if prev is None else 100 * per_second("chromium_cpu_s")
            samples.append(s)
            prev = s
            print(f"{s['t']:6.0f} {harness.fmt(s['players'], '7.0f')} {s['js_heap_mib']:8.2f} "
                  f"{s['wasm_mib']:6.2f} {s['nodes']:6d} {s['listeners']:6d} {s['renderer_mib']:9.1f} "
                  f"{s['chromium_mib']:9.1f} {harness.fmt(s['fps'], '5.1f')} "
                  f"{harness.fmt(s['renderer_cpu_pct'], '5.0f', '%')} {harness.fmt(s['chromium_cpu_pct'], '5.0f', '%')}"
                  f"  {s['status'][:40]}", flush=True)
            if time.monotonic() + args.every > end:
                break
            time.sleep(args.every)
        base = next((s for s in samples if s["t"] >= args.settle), samples[0])
        last = samples[-1]
        print(f"from t={base['t']:.0f} s to t={last['t']:.0f} s: JS heap {base['js_heap_mib']:.2f} → "
              f"{last['js_heap_mib']:.2f} MiB, wasm {base['wasm_mib']:.2f} → {last['wasm_mib']:.2f} MiB, "
              f"DOM nodes {base['nodes']} → {last['nodes']}, listeners {base['listeners']} → {last['listeners']}, "
              f"renderer PSS {base['renderer_mib']:.1f} → {last['renderer_mib']:.1f} MiB")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"bots": args.bots, "minutes": args.minutes, "samples": harness.strict_json(samples)}, f,
                          indent=1)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
