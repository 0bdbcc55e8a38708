#!/usr/bin/env bash
# Runs a command with Receive Flow Steering on loopback, then puts the settings back: the
# question is whether one machine can stand in for two. Over loopback a send runs the receiver
# socket's receive path (a softirq) inside the sender's own system call, so the bots pay for the
# server's receiving of their inputs and the server for the bots' receiving of its snapshots.
# With RFS (`rps_sock_flow_entries`, and `rps_cpus` / `rps_flow_cnt` on `lo`) the kernel queues
# each packet to the core where its reader last read and runs the receive path there, as on
# two machines each side receives on its own; pin the two sides to different cores so that the
# cores are theirs:
#   SERVER_WRAP="taskset -c 0" BOTS_WRAP="taskset -c 1" bash scripts/rfs_loopback.sh \
#       bash scripts/bots_cpu.sh 1000
# and the same without this script for the baseline (alternate them: the machine's hours move
# every figure). `bots_cpu.sh` prints the machine's softirq time too: RFS runs the receive path
# on the reader's core, in whatever runs there, or on an idle core where no process pays for it.
# Needs root (it writes /proc/sys and /sys); the values in force before are restored on exit,
# also on Ctrl-C or failure. They are also saved to /run/skirmish-rfs-loopback.saved until
# then: a run killed with SIGKILL (which no trap sees) leaves the file behind, and the next run,
# or `--restore` alone, puts those values back first. One run at a time (a lock in /run).
# Usage: scripts/rfs_loopback.sh COMMAND [ARGS...] | scripts/rfs_loopback.sh --restore
set -euo pipefail
cd "$(dirname "$0")/.."
USAGE="usage: scripts/rfs_loopback.sh COMMAND [ARGS...] | scripts/rfs_loopback.sh --restore"
[ $# -gt 0 ] || { echo "$USAGE" >&2; exit 2; }
[ "$1" != --restore ] || [ $# -eq 1 ] || { echo "$USAGE" >&2; exit 2; }
ENTRIES=/proc/sys/net/core/rps_sock_flow_entries
QUEUE=/sys/class/net/lo/queues/rx-0
if [ ! -w "$ENTRIES" ] || [ ! -w "$QUEUE/rps_cpus" ]; then
    echo "RFS settings are not writable here (needs root and a kernel with CONFIG_RPS)" >&2
    exit 1
fi
# In /run (a tmpfs): the saved values are those of this boot, and a reboot resets both.
SAVED=/run/skirmish-rfs-loopback.saved
# The lock lasts while any process holds descriptor 9 (this script or the command it runs,
# however they end): a saved file found while holding it is a finished run's, not a live one's.
exec 9>/run/skirmish-rfs-loopback.lock
flock -n 9 || { echo "another rfs_loopback.sh run is in progress" >&2; exit 1; }
restore() {
    echo "$old_cpus" >"$QUEUE/rps_cpus"
    echo "$old_cnt" >"$QUEUE/rps_flow_cnt"
    echo "$old_entries" >"$ENTRIES"
    rm -f "$SAVED"
}
if [ -f "$SAVED" ]; then
    # Three lines, as written below: rps_cpus, rps_flow_cnt, rps_sock_flow_entries.
    { read -r old_cpus; read -r old_cnt; read -r old_entries; } <"$SAVED"
    restore
    echo "restored the RFS settings a killed run left on lo: rps_cpus $old_cpus," \
        "rps_flow_cnt $old_cnt, rps_sock_flow_entries $old_entries" >&2
fi
[ "$1" != --restore ] || exit 0
old_entries=$(cat "$ENTRIES")
old_cpus=$(cat "$QUEUE/rps_cpus")
old_cnt=$(cat "$QUEUE/rps_flow_cnt")
printf '%s\n' "$old_cpus" "$old_cnt" "$old_entries" >"$SAVED"
trap restore EXIT
# Every core may receive; the flow table steers each flow to its reader's core.
# The mask is hex in comma-separated 32-bit groups, highest first.
CORES=$(nproc --all)
mask=
for (( low = 0; low < CORES; low += 32 )); do
    bits=$(( CORES - low < 32 ? CORES - low : 32 ))
    mask=$(printf '%08x' $(( (1 << bits) - 1 )))${mask:+,$mask}
done
echo "$mask" >"$QUEUE/rps_cpus"
echo 32768 >"$QUEUE/rps_flow_cnt"
echo 32768 >"$ENTRIES"
echo "RFS on lo: rps_cpus $(cat "$QUEUE/rps_cpus"), rps_flow_cnt 32768, rps_sock_flow_entries 32768"
"$@"
