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
TARGET=${CARGO_TARGET_DIR:-target}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$TARGET/release/skirmish" --bind 127.0.0.1 --port "$PORT" --map expanse --max-players-per-room 10000 \
    --min-players 1 --countdown 0 --score-limit 0 --match-duration 24h \
    --max-connections-per-ip 0 --max-connections 0 --connections-per-ip-per-sec 0 >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
RAMP=$(( BOTS / 200 > 2 ? BOTS / 200 : 2 ))
"$TARGET/release/skirmish-bots" --url "ws://127.0.0.1:$PORT/ws" -c "$BOTS" --ramp-up "$RAMP" \
    --duration $(( 2 * SECONDS_COUNTED + 10 )) --mix wander=60,fight=40 --seed 1 >/tmp/skirmish-syscalls-bots.txt 2>&1 &
BOTS_PID=$!
sleep $(( RAMP + 5 ))
EVENTS=context-switches
for call in recvfrom sendto sendmsg read write readv writev epoll_wait futex; do
    EVENTS="$EVENTS,syscalls:sys_enter_$call"
done
count() {  # count NAME PID: one line per event, per second and per player
    perf stat -x, -e "$EVENTS" -p "$2" -- sleep "$SECONDS_COUNTED" 2>&1 >/dev/null \
        | awk -F, -v name="$1" -v s="$SECONDS_COUNTED" -v n="$BOTS" \
            '$1 ~ /^[0-9]+$/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3);
             printf "%-7s %-17s %9.0f /s %7.1f /s per player\n", name, $3, $1 / s, $1 / s / n}'
}
count server "$SERVER" &
COUNTING=$!
count bots "$BOTS_PID"
wait $COUNTING
wait $BOTS_PID || true
grep -E "snapshots|latency ms" /tmp/skirmish-syscalls-bots.txt | head -2
