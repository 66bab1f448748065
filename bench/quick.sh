#!/usr/bin/env bash
# Quick A/B check of Candor alone: server on CPU 1, dnsperf on CPU 0, and
# the server's CPU time per answered query from /proc. For comparisons with
# the peers use bench/peers.sh; this is for iterating on one change.
#
#   bench/quick.sh DATA_DIR [SECONDS [QPS]]     (DATA_DIR from gen_zones.py)
#
# With QPS, dnsperf offers that fixed load (-Q) instead of all it can: on a
# noisy machine the load a server is offered changes its batch sizes and so
# its CPU per query, so A/B runs compare best at one fixed rate below what
# every variant sustains. CANDOR_BIN may be a wrapper script that `exec`s
# the binary (with extra flags), so the PID stays the server's.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/quick.sh DATA_DIR [SECONDS [QPS]]}
secs=${2:-10}
rate=${3:+-Q $3}
port=15399
bin=${CANDOR_BIN:-target/release/candor}
taskset -c 1 "$bin" serve --zones "$data/zones" --listen 127.0.0.1:$port --workers 1 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do
	kdig +short +timeout=1 @127.0.0.1 -p $port "$(head -1 "$data/zones.txt")" SOA >/dev/null 2>&1 && break
	sleep 0.1
done
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
before=$(ticks)
out=$(taskset -c 0 dnsperf -s 127.0.0.1 -p $port -d "$data/queries.txt" -c 4 -q 100 -t 2 -e -l "$secs" $rate 2>&1)
after=$(ticks)
qps=$(grep 'Queries per second' <<<"$out" | awk '{print $4}')
done_=$(grep 'Queries completed' <<<"$out" | awk '{print $3}')
hz=$(getconf CLK_TCK)
awk -v q="$qps" -v d="$done_" -v t=$((after - before)) -v hz="$hz" -v s="$secs" 'BEGIN {
	printf "qps %.0f  server cpu %.0f%%  %.2f us/query\n", q, 100 * t / hz / s, 1e6 * t / hz / d }'
