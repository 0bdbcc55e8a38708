#!/usr/bin/env bash
# What the server and the bots ask of the kernel under load: starts a release server on the
# expanse map, runs N bots (default 1000, wander=60,fight=40) against it, and counts for 10 s of
# steady play each process's socket system calls and context switches (`perf stat` on syscall
# tracepoints), per second and per player. The floor of a bot is one send per input and one
# read per snapshot: 30 + 30 a second; anything above that is overhead worth finding.
# Usage: scripts/syscalls.sh [BOTS]   (needs `perf` with tracepoint access, and a release build:
# cargo build --release -p skirmish-server -p skirmish-bots)
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
SECONDS_COUNTED=10
. scripts/load.sh
start_load "$BOTS" $(( 2 * SECONDS_COUNTED + 10 )) /tmp/skirmish-syscalls-bots.txt
EVENTS=(context-switches)
for call in recvfrom sendto sendmsg read write readv writev epoll_wait futex; do
    EVENTS+=("syscalls:sys_enter_$call")
done
count() {  # count NAME PID: one line per event, per second and per player
    perf_counts "$2" "$SECONDS_COUNTED" "${EVENTS[@]}" | awk -v name="$1" -v s="$SECONDS_COUNTED" -v n="$BOTS" \
        '{printf "%-7s %-17s %9.0f /s %7.1f /s per player\n", name, $2, $1 / s, $1 / s / n}'
}
count server "$SERVER" &
COUNTING=$!
count bots "$BOTS_PID"
wait $COUNTING
wait $BOTS_PID || true
grep -E "snapshots|latency ms" /tmp/skirmish-syscalls-bots.txt | head -2
