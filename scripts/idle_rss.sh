#!/usr/bin/env bash
# Does the server give its memory back once a big match's players have left? Starts a release
# server on the expanse map and N bots (default 1000, wander=60,fight=40; `scripts/load.sh`) for
# PLAY seconds (default 20), then prints the server's RSS every 5 s for AFTER seconds (default 60)
# after they have all gone. The room is removed `--empty-room-grace` (30 s) after its last player
# leaves; heaptrack (`IDLE=40 bash scripts/heap_profile.sh`) shows the heap back at 0.5 MB then,
# so what RSS keeps beyond that is the allocator's, not the game's.
# Usage: scripts/idle_rss.sh [BOTS]   (needs a release build: cargo build --release -p
# skirmish-server -p skirmish-bots)
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
PLAY=${PLAY:-20}
AFTER=${AFTER:-60}
. scripts/load.sh
start_load "$BOTS" "$PLAY" /tmp/skirmish-idle-bots.txt
# RSS, and the anonymous part of it (heap, stacks): the rest is the binary's code and libraries
# read in from their files, which the kernel can take back at any time.
rss() { awk '/^Rss:/ {r = $2} /^Anonymous:/ {a = $2} END {printf "%.1f (anonymous %.1f)", r / 1024, a / 1024}' \
    "/proc/$SERVER/smaps_rollup"; }
echo "server RSS $(awk -v k="$FRESH_RSS_KIB" 'BEGIN {printf "%.1f", k / 1024}') MiB before the bots (anonymous $(awk -v k="$FRESH_ANON_KIB" 'BEGIN {printf "%.1f", k / 1024}'))"
echo "server RSS $(rss) MiB with $BOTS bots in play"
wait "$BOTS_PID" || true
grep -E "^  bots|snapshots" /tmp/skirmish-idle-bots.txt | head -2
echo "t 0: server RSS $(rss) MiB, the bots gone"
for t in $(seq 5 5 "$AFTER"); do
    sleep 5
    echo "t $t: server RSS $(rss) MiB"
done
