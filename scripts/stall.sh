#!/usr/bin/env bash
# Does the server give back what a stall of its clients made it hold? Starts a release server on
# the expanse map and N bots (default 1000, wander=60,fight=40; `scripts/load.sh`), lets them
# settle, then stops the bots' process (SIGSTOP) for STALL seconds (default 3: under the server's
# 5 s send-stall timeout, so no one is cut): as after a network hiccup or a frozen load generator,
# no client reads or acknowledges, sockets back up and every delta history fills. Then it resumes
# them and prints the server's RSS and live heap every 5 s before, during and for AFTER seconds
# (default 60) after. A server that keeps what the stall made it allocate ends higher than it
# started.
# Usage: scripts/stall.sh [BOTS]   (needs a release build: cargo build --release -p
# skirmish-server -p skirmish-bots; STALL=3 AFTER=60 ROUNDS=1 change the stalls)
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
STALL=${STALL:-3}
AFTER=${AFTER:-60}
ROUNDS=${ROUNDS:-1}
. scripts/load.sh
start_load "$BOTS" $(( 20 + ROUNDS * (STALL + AFTER) + 10 )) /tmp/skirmish-stall-bots.txt
# The RSS from /proc, and jemalloc's live heap from /metrics (the RSS alone mixes what the
# program holds with what the allocator keeps cached for it).
rss() {
    awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"
    curl -s "http://127.0.0.1:$PORT/metrics" \
        | awk '/^skirmish_heap_allocated_bytes / {printf ", heap %.2f", $2 / 1048576}'
}
trap 'kill -CONT "$BOTS_PID" 2>/dev/null || true; kill "$SERVER" 2>/dev/null || true' EXIT
echo "t 0: server RSS $(rss) MiB"
sleep 10
echo "t 10: server RSS $(rss) MiB"
sleep 10
echo "t 20: server RSS $(rss) MiB (before the first stall)"
t=20
for round in $(seq "$ROUNDS"); do
    kill -STOP "$BOTS_PID"
    sleep "$STALL"
    t=$(( t + STALL ))
    echo "t $t: server RSS $(rss) MiB at the end of stall $round (${STALL} s)"
    kill -CONT "$BOTS_PID"
    for _ in $(seq 5 5 "$AFTER"); do
        sleep 5
        t=$(( t + 5 ))
        echo "t $t: server RSS $(rss) MiB"
    done
done
wait "$BOTS_PID" || true
grep -E "snapshots|latency" /tmp/skirmish-stall-bots.txt | head -2
