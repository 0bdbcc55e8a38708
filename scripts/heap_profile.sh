#!/usr/bin/env bash
# Where the server's memory per player goes: starts a release server under heaptrack on the
# expanse map, runs N bots (default 1000, wander=60,fight=40) against it for 20 s, stops the
# server and prints heaptrack's summary and its largest allocation sites at the peak, each with
# the first frames of its stack. Divide a site's bytes by N for its cost per connection.
# Usage: scripts/heap_profile.sh [BOTS] [OUT-prefix]   (needs `heaptrack` (apt install heaptrack)
# and a release build of the bots: cargo build --release -p skirmish-bots). The server is built
# here on the system's malloc (`--no-default-features`, in target/heaptrack): heaptrack sees only
# malloc's calls, not the jemalloc the server normally runs on; the sizes it reports are the
# program's requests either way.
# MATCH=25s cycles matches that long (with the default countdown and results) instead of one
# endless match, and PLAY=70 plays that many seconds: the timeline printed at the end (the heap's
# peak in each second) then shows what each phase change costs.
# IDLE=40 keeps the server running that many seconds after the bots have left (the room is
# removed 5 s after the last one leaves), so the timeline shows what the server keeps once empty.
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
OUT=${2:-/tmp/skirmish-heap}
PLAY=${PLAY:-20}
IDLE=${IDLE:-0}
if [ -n "${MATCH:-}" ]; then MATCH_FLAGS="--match-duration $MATCH"; else MATCH_FLAGS="--countdown 0 --match-duration 24h"; fi
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --locked -p skirmish-server --no-default-features --target-dir target/heaptrack
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -f "$OUT".zst "$OUT".gz
heaptrack -o "$OUT" target/heaptrack/release/skirmish --bind 127.0.0.1 --port "$PORT" --map expanse \
    --max-players-per-room 10000 --min-players 1 --score-limit 0 $MATCH_FLAGS \
    --max-connections-per-ip 0 --max-connections 0 --max-http-connections-per-ip 0 --max-http-connections 0 --connections-per-ip-per-sec 0 --chat-per-ip 0 --empty-room-grace 5s >/dev/null 2>&1 &
trap 'pkill -INT -f "release/skirmish --bind 127.0.0.1 --port $PORT" 2>/dev/null || true' EXIT
sleep 3
RAMP=$(( BOTS / 200 > 2 ? BOTS / 200 : 2 ))
"$TARGET/release/skirmish-bots" --url "ws://127.0.0.1:$PORT/ws" -c "$BOTS" --ramp-up "$RAMP" \
    --duration "$PLAY" --mix wander=60,fight=40 --seed 1 >/dev/null 2>&1 || true
sleep "$IDLE"
# A graceful stop (SIGINT) lets heaptrack write its data out.
pkill -INT -f "release/skirmish --bind 127.0.0.1 --port $PORT" || true
for _ in $(seq 1 100); do
    pgrep -f "release/skirmish --bind 127.0.0.1 --port $PORT" >/dev/null || break
    sleep 0.2
done
sleep 2
DATA=""
for f in "$OUT".zst "$OUT".gz; do [ -f "$f" ] && DATA=$f; done
[ -n "$DATA" ] || { echo "heaptrack wrote no data ($OUT.zst)" >&2; exit 1; }
heaptrack_print -f "$DATA" --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
    2>/dev/null | grep -E 'peak heap|peak RSS|total runtime'
echo "--- largest sites at the peak (bytes, calls, the first frames of the stack):"
heaptrack_print -f "$DATA" --print-peaks 1 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
    --peak-limit 12 2>/dev/null \
    | awk '/consumed over/ {n = 4; print "----"} n > 0 && !/^ +in \// && !/^ +at / {print; n--}' \
    | cut -c1-160
echo "--- the heap's peak in each second (MiB), from the start of the server:"
heaptrack_print -f "$DATA" --print-massif "$OUT.massif" --print-peaks 0 --print-allocators 0 \
    --print-temporary 0 --print-leaks 0 >/dev/null 2>&1
awk -F= '$1 == "time" {t = int($2)} $1 == "mem_heap_B" && $2 > peak[t] {peak[t] = $2; if (t > last) last = t}
    END {for (s = 0; s <= last; s++) if (s in peak) printf "%d:%.1f%s", s, peak[s] / 1048576, (s % 10 == 9 ? "\n" : " "); print ""}' \
    "$OUT.massif"
