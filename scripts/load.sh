# Sourced by the profiling scripts (perf_fanout.sh, syscalls.sh, bots_cpu.sh, loopback_floor.sh).
# `start_load BOTS DURATION OUT`
# starts a release server on a free loopback port on the expanse map (one endless match, no
# connection caps), then BOTS bots (wander=60,fight=40, seed 1) playing DURATION seconds after a
# ramp-up of BOTS/200 s (at least 2), their summary to OUT; it returns once they are all in and
# settled. Sets PORT, SERVER and BOTS_PID, and FRESH_RSS_KIB and FRESH_ANON_KIB (the server's RSS and
# its anonymous part before the first bot); the server is killed when the script exits.
# SERVER_WRAP and BOTS_WRAP, if set, go before each binary's command (`chrt -b 0`, `env X=1`):
# they must exec it, so that the pid is the binary's. BOTS_ARGS, if set, is added to the bots'
# options (`--threads 1`).
start_load() {
    local bots=$1 duration=$2 out=$3
    local target=${CARGO_TARGET_DIR:-target}
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    ${SERVER_WRAP:-} "$target/release/skirmish" --bind 127.0.0.1 --port "$PORT" --map expanse --max-players-per-room 10000 \
        --min-players 1 --countdown 0 --score-limit 0 --match-duration 24h \
        --max-connections-per-ip 0 --max-connections 0 --max-http-connections-per-ip 0 --max-http-connections 0 --connections-per-ip-per-sec 0 --chat-per-ip 0 >/dev/null 2>&1 &
    SERVER=$!
    trap 'kill $SERVER 2>/dev/null || true' EXIT
    sleep 1
    FRESH_RSS_KIB=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")
    FRESH_ANON_KIB=$(awk '/^RssAnon/ {print $2}' "/proc/$SERVER/status")
    local ramp=$(( bots / 200 > 2 ? bots / 200 : 2 ))
    ${BOTS_WRAP:-} "$target/release/skirmish-bots" --url "ws://127.0.0.1:$PORT/ws" -c "$bots" --ramp-up "$ramp" \
        --duration "$duration" --mix wander=60,fight=40 --seed 1 ${BOTS_ARGS:-} >"$out" 2>&1 &
    BOTS_PID=$!
    sleep $(( ramp + 5 ))
}

# CPU clock ticks of process PID, all its threads: "user+system system" (proc(5) fields 14, 15).
cpu_ticks() { awk '{print $14 + $15, $15}' "/proc/$1/stat"; }

# Context switches of process PID, summed over its threads: "voluntary involuntary".
ctx_switches() {
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v, n}' \
        /proc/"$1"/task/*/status
}

# The whole machine's CPU in clock ticks (/proc/stat's cpu line): "busy,softirq", busy being
# user, nice, system, irq and softirq (not idle, iowait or a hypervisor's steal). Softirq time
# counts in a process's own CPU only when the softirq ran on its thread; this also holds what
# ran on an idle core.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 "," $8}' /proc/stat; }

# Counts perf events of process PID over SECONDS (`perf stat` on tracepoints, so it needs access
# to them) and prints "COUNT NAME" per event that happened, a system call's tracepoint named by the
# call: `perf_counts PID SECONDS context-switches syscalls:sys_enter_sendto ...`.
perf_counts() {
    local pid=$1 secs=$2
    shift 2
    local events
    events=$(IFS=,; echo "$*")
    perf stat -x, -e "$events" -p "$pid" -- sleep "$secs" 2>&1 >/dev/null \
        | awk -F, '$1 ~ /^[0-9]+$/ && $1 > 0 {sub("syscalls:sys_enter_", "", $3); print $1, $3}'
}
