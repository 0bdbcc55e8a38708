#!/usr/bin/env bash
# Instructions the room's tick executes, counted rather than timed: this machine's speed drifts
# by tens of percent from hour to hour (see "machine speed" in scripts/capacity.py), too much for
# criterion to see a change of a few percent in the tick, while an instruction count repeats to
# within a few parts in a hundred thousand. Runs the tick bench's set-up under valgrind's
# cachegrind with a filter that matches no benchmark, so what is counted is exactly its warm-up:
# 300 ticks of a room of 1000 players, then 300 of a room of 3000, each tick stepping the world
# and building every player's snapshot (server/benches/tick.rs). Prints the total and the
# functions with the most.
# Compare two commits by running it on each. Instructions are not time (a cache miss costs far
# more than an add), so a gain here still wants the criterion bench or the bots to confirm it.
# Usage: scripts/tick_instructions.sh [TOP]   (needs valgrind: apt-get install valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=${1:-12}
if ! command -v valgrind >/dev/null; then
    echo "needs valgrind (Debian: apt-get install valgrind)" >&2
    exit 1
fi
bench=$(cargo bench -p skirmish-server --bench tick --locked --no-run 2>&1 \
    | sed -n 's/.*Executable benches\/tick.rs (\(.*\))/\1/p' | tail -1)
[ -n "$bench" ] || { echo "could not build the tick bench" >&2; exit 1; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
# The bench's summary lines (snapshot size, ships in view) go to stderr with valgrind's.
# Criterion forks once at start-up (valgrind follows forks): its child's count comes first, and
# only the last count is the bench's.
valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$OUT" "$bench" --bench no-benchmark-matches 2>&1 \
    | awk '/^tick\// {print} /I +refs/ {total = $NF} END {print "instructions:", total}'
cg_annotate "$OUT" 2>/dev/null | grep -E '^ *[0-9,]+ \( *[0-9.]+%\)' | sed -n "2,$((TOP + 1))p"
