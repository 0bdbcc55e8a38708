#!/usr/bin/env bash
# The bots' CPU without a profiler attached: starts a release server on the expanse map and N
# bots (default 1000, wander=60,fight=40; scripts/load.sh), then over 20 s of steady play reads
# /proc for the bots' CPU per bot-second (all, and the kernel's part), their memory per bot, the
# server's CPU (also per player-second, to set beside `scripts/loopback_floor.sh`'s `serve` side
# or `--node`), the voluntary and involuntary context switches of both processes (summed over
# their threads), and the whole machine's busy and softirq time (a softirq run on an idle core,
# as with `scripts/rfs_loopback.sh`, is in no process's account).
# `perf record` adds to every context switch, so its profiles overstate their cost; this does not.
# SERVER_WRAP / BOTS_WRAP put a command before a binary (SERVER_WRAP="chrt -b 0",
# BOTS_WRAP="env X=1"), BOTS_ARGS adds to the bots' options (BOTS_ARGS="--threads 1"),
# CARGO_TARGET_DIR picks the build. Needs a release build:
# cargo build --release -p skirmish-server -p skirmish-bots
# Usage: scripts/bots_cpu.sh [BOTS]
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
WINDOW=20
OUT=/tmp/skirmish-bots-cpu.txt
. scripts/load.sh
start_load "$BOTS" $((WINDOW + 15)) "$OUT"
read -r b0 bk0 < <(cpu_ticks "$BOTS_PID"); read -r s0 sk0 < <(cpu_ticks "$SERVER")
read -r bv0 bn0 < <(ctx_switches "$BOTS_PID"); read -r sv0 sn0 < <(ctx_switches "$SERVER")
read -r m0 < <(machine_ticks)
sleep "$WINDOW"
read -r b1 bk1 < <(cpu_ticks "$BOTS_PID"); read -r s1 sk1 < <(cpu_ticks "$SERVER")
read -r bv1 bn1 < <(ctx_switches "$BOTS_PID"); read -r sv1 sn1 < <(ctx_switches "$SERVER")
read -r m1 < <(machine_ticks)
RSS_KIB=$(awk '/^VmRSS/ {print $2}' "/proc/$BOTS_PID/status")
wait "$BOTS_PID" || true
HZ=$(getconf CLK_TCK)
awk -v n="$BOTS" -v w="$WINDOW" -v hz="$HZ" -v b="$((b1 - b0))" -v bk="$((bk1 - bk0))" -v s="$((s1 - s0))" \
    -v sk="$((sk1 - sk0))" -v rss="$RSS_KIB" -v bv="$((bv1 - bv0))" -v bn="$((bn1 - bn0))" -v sv="$((sv1 - sv0))" \
    -v sn="$((sn1 - sn0))" -v m0="$m0" -v m1="$m1" 'BEGIN {
    printf "bots: %.0f µs per bot-second (kernel %.0f), %.0f %% of a core\n", b / hz * 1e6 / (n * w), bk / hz * 1e6 / (n * w), 100 * b / hz / w
    printf "bots memory: %.0f KiB per bot (the process RSS at the end of the window)\n", rss / n
    printf "server: %.0f %% of a core, %.0f µs per player-second (kernel %.0f)\n", 100 * s / hz / w, s / hz * 1e6 / (n * w), sk / hz * 1e6 / (n * w)
    printf "context switches a second: bots %.0f voluntary, %.0f involuntary (%.2f, %.2f per bot); server %.0f, %.0f\n", bv / w, bn / w, bv / w / n, bn / w / n, sv / w, sn / w
    split(m0, a, ","); split(m1, z, ",")
    printf "machine: busy %.0f %%, softirq %.0f %% of a core (all processes, and softirqs run on an idle core)\n", 100 * (z[1] - a[1]) / hz / w, 100 * (z[2] - a[2]) / hz / w
}'
grep -E "snapshots|latency" "$OUT" | head -2
