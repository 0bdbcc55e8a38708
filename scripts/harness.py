"""What the load scripts (capacity.py, soak.py, abuse.py, http_flood.py, request_cpu.py,
client_memory.py) share: building and finding the release binaries, the flags that turn the
server's connection caps off, a free loopback port, a process's CPU and RSS from /proc, the
server's /metrics, its start-up wait and its stop, and the printing of measured values. Only
the standard library; Linux only (/proc). The scripts import it from their own folder
(`python3 scripts/X.py` puts that folder first on `sys.path`)."""

import os
import re
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")
# Flags that turn off the server's protective caps for a load test (all bots come from one IP,
# thousands of them within seconds).
SERVER_LOAD_TEST_FLAGS = ["--max-connections-per-ip", "0", "--max-connections", "0",
                          "--max-http-connections-per-ip", "0", "--max-http-connections", "0",
                          "--connections-per-ip-per-sec", "0", "--chat-per-ip", "0"]


def release_dir(build, nice=False, examples=()):
    """The folder of the release binaries (`$CARGO_TARGET_DIR` is honoured), after building the
    server and the bots (and the bots' `examples`) when `build`. `nice` builds at a lower
    priority, for a script whose earlier runs may still be measuring."""
    if build:
        cmd = ["cargo", "build", "--release", "--locked", "-p", "skirmish-server", "-p", "skirmish-bots"]
        if nice:
            cmd = ["nice", "-n", "10"] + cmd
        subprocess.run(cmd, cwd=ROOT, check=True)
        for example in examples:
            subprocess.run(cmd[: cmd.index("-p")] + ["-p", "skirmish-bots", "--example", example], cwd=ROOT,
                           check=True)
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """CPU seconds of a process (all its threads) and its reaped children: (user + system,
    system alone)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14 to 17 of proc(5), counted from the pid.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / TICKS, (stime + cstime) / TICKS


def try_cpu_seconds(pid):
    """`cpu_seconds`, or None once the process is gone."""
    try:
        return cpu_seconds(pid)
    except OSError:
        return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def try_rss_kib(pid):
    """`rss_kib`, or 0 once the process is gone."""
    try:
        return rss_kib(pid)
    except OSError:
        return 0


def scrape(port):
    """The server's /metrics as {series: value}, the series with its labels as printed. `port` is
    a port on loopback, or a "HOST:PORT" text for a server elsewhere."""
    addr = port if isinstance(port, str) else f"127.0.0.1:{port}"
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values


def wait_serving(server, port, seconds=10):
    """Waits until the server started as `server` (a Popen) answers /metrics on `port`. None once
    it does, else what went wrong, for the caller to print with where its log is."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"the server exited ({server.returncode})"
        try:
            scrape(port)
            return None
        except OSError:
            time.sleep(0.1)
    return f"the server did not answer /metrics within {seconds:g} s"


def stop_process(proc, grace=10):
    """SIGTERM (the server drains and says goodbye to its players), SIGKILL after `grace` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def histogram_quantile(before, after, name, q):
    """Quantile of the observations between two scrapes, from cumulative `le` buckets: the upper
    bound of the bucket it falls in (inf past the last finite bucket). None without data."""
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


def strict_json(value):
    """`value` with infinities (a quantile past the last bucket) as the string "+Inf": plain JSON
    has no infinity."""
    if isinstance(value, float) and value == float("inf"):
        return "+Inf"
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    return value


def fmt(value, spec, suffix="", prefix=""):
    """A measured value for a table: "–" when not measured, "+Inf" past the last bucket."""
    if value is None:
        return "–"
    if value == float("inf"):
        return "+Inf"
    return f"{prefix}{value:{spec}}{suffix}"
