#!/usr/bin/env bash
# The least a bot can cost on this machine: runs client/bots/examples/loopback_floor.rs, which
# moves the real bots' traffic at N connections (default 1000: 30 messages a second each way per
# connection, the server's side in one burst a tick) over loopback TCP with tokio and nothing of
# Skirmish, and over 20 s reads /proc for its two processes' CPU as scripts/bots_cpu.sh does for
# the real ones. What the `play` side costs per connection-second is the floor under
# `skirmish-bots`' CPU per bot-second; the kernel's part of it is what no bot code can remove.
# Extra options go to both roles: --websocket puts the bots' WebSocket library on both sides,
# --rate 60 doubles the messages. COUNT_SYSCALLS=1 also counts the `play` side's socket system
# calls over the window with `perf stat` (as scripts/syscalls.sh does for the real bots; perf
# then adds to its CPU). COUNT_SEGMENTS=1 counts the TCP segments the machine sent over the window
# (`nstat`, both sides together, so the machine must be otherwise idle), the delayed ACKs sent
# and the pure ACKs received, against the messages (60 per connection-second at the default
# --rate): as many segments as messages means acknowledgements ride on the messages, so no ACK
# setting can save a trip.
# --node replaces the `serve` side by a hand-written Node.js server on the `ws` library
# (scripts/node_floor/serve.mjs; the client side then speaks WebSocket): what the same room's
# traffic costs such a server per connection-second, to set beside the `skirmish` server's CPU
# per player-second (`scripts/bots_cpu.sh`). It needs node and npm; the first run installs `ws`
# from scripts/node_floor/package-lock.json.
# Usage: scripts/loopback_floor.sh [N] [--node] [OPTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/load.sh
N=${1:-1000}
shift || true
SERVE_NAME=serve
NODE=
args=()
for arg in "$@"; do
    if [ "$arg" = --node ]; then NODE=1; else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}
WINDOW=20
target=${CARGO_TARGET_DIR:-target}
# Messages a second each way per connection: the example's --rate, 30 unless given.
RATE=30
prev=
for arg in "$@"; do
    [ "$prev" != --rate ] || RATE=$arg
    case $arg in --rate=*) RATE=${arg#--rate=} ;; esac
    prev=$arg
done
if [ -n "${COUNT_SEGMENTS:-}" ] && ! command -v nstat >/dev/null; then
    echo "COUNT_SEGMENTS needs nstat (Debian: apt-get install iproute2)" >&2
    exit 1
fi
cargo build --release --locked -q -p skirmish-bots --example loopback_floor
floor=$target/release/examples/loopback_floor
OUT=$(mktemp)
if [ -n "$NODE" ]; then
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "--node needs node and npm (Debian: apt-get install nodejs npm)" >&2
        exit 1
    fi
    [ -d scripts/node_floor/node_modules/ws ] || npm ci --prefix scripts/node_floor --no-audit --no-fund --silent
    SERVE_NAME="serve (Node.js ws $(node -p 'require("./scripts/node_floor/node_modules/ws/package.json").version'), node $(node --version))"
    node scripts/node_floor/serve.mjs "$@" >"$OUT" &
    set -- "$@" --websocket
else
    "$floor" serve "$@" >"$OUT" &
fi
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 50); do [ -s "$OUT" ] && break; sleep 0.1; done
ADDR=$(head -1 "$OUT")
"$floor" play --addr "$ADDR" -c "$N" --duration $((WINDOW + 10)) "$@" &
PLAY=$!
sleep 5
read -r p0 pk0 < <(cpu_ticks "$PLAY"); read -r s0 sk0 < <(cpu_ticks "$SERVER")
read -r pv0 pn0 < <(ctx_switches "$PLAY")
[ -z "${COUNT_SEGMENTS:-}" ] || nstat -n
if [ -n "${COUNT_SYSCALLS:-}" ]; then
    CALLS=$(perf_counts "$PLAY" "$WINDOW" syscalls:sys_enter_recvfrom syscalls:sys_enter_sendto \
        syscalls:sys_enter_epoll_wait)
else
    sleep "$WINDOW"
fi
read -r p1 pk1 < <(cpu_ticks "$PLAY"); read -r s1 sk1 < <(cpu_ticks "$SERVER")
read -r pv1 pn1 < <(ctx_switches "$PLAY")
[ -z "${COUNT_SEGMENTS:-}" ] || SEGMENTS=$(nstat -z TcpOutSegs TcpExtDelayedACKs TcpExtTCPPureAcks)
wait "$PLAY"
HZ=$(getconf CLK_TCK)
awk -v n="$N" -v w="$WINDOW" -v hz="$HZ" -v p="$((p1 - p0))" -v pk="$((pk1 - pk0))" -v s="$((s1 - s0))" \
    -v sk="$((sk1 - sk0))" -v pc="$((pv1 + pn1 - pv0 - pn0))" -v cores="$(nproc)" -v name="$SERVE_NAME" 'BEGIN {
    printf "play (the bots'"'"' floor): %.0f µs per connection-second (kernel %.0f), %.0f %% of a core, %.2f context switches per connection-second\n", p / hz * 1e6 / (n * w), pk / hz * 1e6 / (n * w), 100 * p / hz / w, pc / w / n
    printf "%s: %.0f µs per connection-second (kernel %.0f), %.0f %% of a core\n", name, s / hz * 1e6 / (n * w), sk / hz * 1e6 / (n * w), 100 * s / hz / w
    printf "both: %.0f %% of the machine'"'"'s %d cores, for the traffic alone\n", 100 * (p + s) / hz / w / cores, cores
}'
if [ -n "${COUNT_SYSCALLS:-}" ]; then
    echo "$CALLS" | awk -v n="$N" -v w="$WINDOW" '{printf "play %-10s %.1f per connection-second\n", $2, $1 / w / n}'
fi
if [ -n "${COUNT_SEGMENTS:-}" ]; then
    echo "$SEGMENTS" | awk -v n="$N" -v w="$WINDOW" -v m="$((2 * RATE))" '$1 ~ /^Tcp/ {
        printf "machine %-18s %.1f per connection-second%s\n", $1, $2 / w / n, $1 == "TcpOutSegs" ? " (messages: " m ")" : ""}'
fi
