#!/usr/bin/env bash
# Where the server's time goes under load: starts a release server on the expanse map, runs
# N bots (default 1000, wander=60,fight=40) against it, and samples the server with
# `perf record -e cpu-clock -g` for 20 s of steady play. Prints the top symbols by self time and
# the number of samples (CPU time at perf's default 4000 Hz: comparable between runs).
# Usage: scripts/perf_fanout.sh [BOTS] [OUT.perf] [server|bots]   (needs `perf` and a release
# build; the third argument samples the bots' process instead of the server's)
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-1000}
OUT=${2:-/tmp/skirmish-fanout.perf}
WHAT=${3:-server}
. scripts/load.sh
start_load "$BOTS" 30 /tmp/skirmish-fanout-bots.txt
if [ "$WHAT" = bots ]; then SAMPLED=$BOTS_PID; else SAMPLED=$SERVER; fi
perf record -e cpu-clock -g -p "$SAMPLED" -o "$OUT" -- sleep 20 >/dev/null 2>&1
wait $BOTS_PID || true
perf report -i "$OUT" --no-children --sort dso,symbol --percent-limit 1 --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40
echo "--- samples of the $WHAT: $(perf script -i "$OUT" -F comm 2>/dev/null | wc -l)"
echo "--- samples by thread (the server: the room thread is the busy one with the fewest; the two"
echo "    with the most are the workers; perf report -i OUT --tid TID shows one)"
perf script -i "$OUT" -F tid 2>/dev/null | sort | uniq -c | sort -rn | head -4
echo "--- the kernel's paths, inclusive (% of all samples): a send, the receiver's softirq run inside"
echo "    it (loopback delivers in the sender's context), its wake-up of the reader, reads, epoll, switches"
perf report -i "$OUT" --children --sort symbol --stdio 2>/dev/null \
    | awk '$3 == "[k]" && $4 ~ /^(__sys_sendto|__sys_sendmsg|handle_softirqs|sock_def_readable|__sys_recvfrom|do_epoll_wait|__schedule)$/ {print "   ", $1, $4}'
echo "--- by object"
perf report -i "$OUT" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8
grep -E "snapshots|latency|bots " /tmp/skirmish-fanout-bots.txt | head -5
