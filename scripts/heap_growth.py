#!/usr/bin/env python3
"""Which allocation sites hold more live heap at one time than at another, from a heaptrack file.

heaptrack_print answers "what was live at the peak" and "what leaked at exit"; neither says what
grew while a server ran steadily, which is what a soak's creeping heap asks. This replays the
recording's allocations and frees (heaptrack's own trace format, `v 10400 3`) and takes the live
bytes of every allocation stack at the times asked for (seconds from the start of the traced
program), then prints the stacks whose live bytes changed most from the first of those times to
the last, each with its first frames outside the allocator and the standard library.

    python3 scripts/heap_growth.py RECORDING.zst 300 1200 [--at 600,900] [--top 15] [--frames 8]
    python3 scripts/heap_growth.py RECORDING.zst 300 1200 --largest   (where the heap is, not what moved)

Each column is the live bytes (and live allocations) of that stack at that time. A stack that
grows across every column, by a similar step, is a creep; one that goes up and down is a phase
of the game (a match restart, a burst of joins). `scripts/soak.py --heaptrack FILE` records a
soak this way; `scripts/heap_profile.sh` records a short steady run.
"""

import argparse
import subprocess
import sys
from collections import defaultdict

# Frames of the allocator, the standard library and the allocation shims: the interesting frame
# of a stack is the first one outside these.
NOISE = ("alloc::", "core::", "std::", "<alloc::", "<core::", "<std::", "hashbrown::", "<hashbrown::",
         "__rust", "__rdl", "malloc", "realloc", "calloc", "operator new", "heaptrack", "<T as ",
         "bytes::bytes_mut", "<bytes::", "bytes::")


def open_recording(path):
    """heaptrack writes zstd or gzip; either is read through its command-line decompressor."""
    tool = ["zstdcat"] if path.endswith(".zst") else ["zcat"] if path.endswith(".gz") else ["cat"]
    proc = subprocess.Popen(tool + [path], stdout=subprocess.PIPE, text=True, bufsize=1 << 20,
                            errors="replace")
    return proc


# The escapes of Rust's legacy mangling, which heaptrack leaves in the names it demangles.
ESCAPES = (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$BP$", "*"), ("$C$", ","),
           ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("$u27$", "'"), ("..", "::"))


def demangle(names):
    """c++filt (binutils) demangles both Rust manglings, legacy and v0; then the legacy escapes."""
    if names:
        out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout
        lines = out.split("\n")
        names = lines[:len(names)] if len(lines) >= len(names) else names
    cleaned = []
    for name in names:
        if "::h" in name and len(name.rsplit("::h", 1)[1]) == 16:
            name = name.rsplit("::h", 1)[0]
        name = name.lstrip("_") if name.startswith("_$") else name
        for escape, text in ESCAPES:
            name = name.replace(escape, text)
        cleaned.append(name)
    return cleaned


def replay(path, times_ms):
    """The live allocations of every allocation record (a size and a trace) at each of `times_ms`,
    the last time reached, and the tables that name the traces."""
    strings = [""]          # 1-based
    ips = [0]               # 1-based: the function's string index (0: unknown)
    traces = [(0, 0)]       # 1-based: (ip index, parent trace)
    infos = []              # 0-based: (size, trace)
    live = []               # per info: allocations live now
    snaps = []
    pending = sorted(times_ms)
    now = 0
    proc = open_recording(path)
    for line in proc.stdout:
        tag = line[:1]
        if tag == "+":
            live[int(line[2:], 16)] += 1
        elif tag == "-":
            live[int(line[2:], 16)] -= 1
        elif tag == "c":
            now = int(line[2:], 16)
            while pending and now >= pending[0]:
                pending.pop(0)
                snaps.append(list(live))
            if not pending:
                break
        elif tag == "a":
            size, trace = line[2:].split()
            infos.append((int(size, 16), int(trace, 16)))
            live.append(0)
        elif tag == "t":
            ip, parent = line[2:].split()
            traces.append((int(ip, 16), int(parent, 16)))
        elif tag == "i":
            f = line[2:].split()
            ips.append(int(f[2], 16) if len(f) > 2 else 0)
        elif tag == "s":
            # "s <hex length> <string>": the string may itself hold spaces.
            parts = line[2:].rstrip("\n").split(" ", 1)
            strings.append(parts[1] if len(parts) > 1 else "")
    proc.stdout.close()
    proc.kill()
    return snaps, now, strings, ips, traces, infos


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recording", help="heaptrack's .zst (or .gz) file")
    ap.add_argument("start", type=float, help="first time, seconds from the program's start")
    ap.add_argument("end", type=float, help="last time, seconds")
    ap.add_argument("--at", default="", help="more times between, comma-separated seconds")
    ap.add_argument("--top", type=int, default=15, help="stacks to print")
    ap.add_argument("--largest", action="store_true",
                    help="print the stacks holding most at the last time instead of those that changed most")
    ap.add_argument("--frames", type=int, default=5,
                    help="frames past the noise that name a site (and are printed)")
    args = ap.parse_args()

    times = sorted({args.start, args.end} | {float(t) for t in args.at.split(",") if t})
    snaps, last_ms, strings, ips, traces, infos = replay(args.recording, [round(t * 1000) for t in times])
    if len(snaps) < len(times):
        sys.exit(f"the recording ends at {last_ms / 1000:.1f} s, before {times[len(snaps)]:g} s")

    # Name every stack by its first frames past the noise: stacks that differ only below those
    # frames, or in the addresses within the same functions, are one site.
    used = sorted({ips[ip] for ip, _ in traces[1:]} - {0})
    names = dict(zip(used, demangle([strings[i] for i in used])))
    site_of = {}

    def site(trace):
        if trace not in site_of:
            frames, t, depth = [], trace, 0
            while t and len(frames) < args.frames and depth < 200:
                ip = traces[t][0]
                name = names.get(ips[ip], "??")
                if frames or not (name.startswith(NOISE) or name == "??"):
                    frames.append(name)
                t, depth = traces[t][1], depth + 1
            site_of[trace] = tuple(frames)
        return site_of[trace]

    # Live bytes and allocations per site at each time.
    per_site = defaultdict(lambda: [[0, 0] for _ in snaps])
    for i, (size, trace) in enumerate(infos):
        for k, live in enumerate(snaps):
            n = live[i] if i < len(live) else 0
            if n:
                cell = per_site[site(trace)][k]
                cell[0] += n * size
                cell[1] += n
    totals = [sum(v[k][0] for v in per_site.values()) for k in range(len(snaps))]
    print("time (s)      " + "".join(f"{t:>9g}" for t in times))
    print("live heap KiB " + "".join(f"{b / 1024:9.0f}" for b in totals))
    which = "holding most at the last time" if args.largest else "that changed most"
    print(f"change {times[0]:g} s -> {times[-1]:g} s: {(totals[-1] - totals[0]) / 1024:+.1f} KiB; "
          f"the sites {which}, live KiB (and allocations) at each time:\n")
    def order(kv):
        cells = kv[1]
        return -cells[-1][0] if args.largest else -abs(cells[-1][0] - cells[0][0])

    grown = sorted(per_site.items(), key=order)[:args.top]
    for frames, cells in grown:
        print(f"{(cells[-1][0] - cells[0][0]) / 1024:+9.1f} KiB " + "".join(f"{b / 1024:9.1f}" for b, _ in cells))
        print("     allocations" + "".join(f"{n:9d}" for _, n in cells))
        for name in frames:
            print(f"      {name[:150]}")
        print()


if __name__ == "__main__":
    main()
