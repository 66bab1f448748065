#!/usr/bin/env bash
# What scraping /metrics costs the query path: bench/peers.sh twice on the
# same data, Candor with --metrics-listen both times, once alone and once
# with a scraper reading /metrics every INTERVAL seconds (curl on CPU 0, the
# client's; the rendering runs in Candor's process on CPU 1). Compare
# Candor's qps, its ratio to the best peer and, with --rate, its CPU.
#
#   bench/metrics_overhead.sh [--interval 1] [--label NAME] [peers.sh args...]
#   e.g. bench/metrics_overhead.sh --servers knot --rounds 3
#        bench/metrics_overhead.sh --servers knot --rounds 3 --rate 100000
#
# Writes bench/results/metrics-<label>-{off,on}.json and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
interval=1
label=saturating
while [[ $# -gt 0 ]]; do
	case $1 in
	--interval) interval=$2; shift 2 ;;
	--label) label=$2; shift 2 ;;
	*) break ;;
	esac
done
port=15390
data=${METRICS_BENCH_DATA:-/tmp/candor-metrics-bench-data}
shared=${CANDOR_SHARED_BENCH:-../shared/bench}
# The release binary as built (`cargo build --release -p candor` first):
# bench/peers.sh would rebuild it whenever the commit changes.
export BENCH_NAME=candor
export BENCH_VERSION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
export BENCH_CMD="target/release/candor serve --zones {zones} --listen 127.0.0.1:{port} --workers 1 --metrics-listen 127.0.0.1:$port"
out_off=bench/results/metrics-$label-off.json
out_on=bench/results/metrics-$label-on.json

"$shared/peers.sh" --data "$data" --out "$out_off" "$@"

scrapes=0
scraper() {
	while true; do
		curl -s -o /dev/null "http://127.0.0.1:$port/metrics" || true
		sleep "$interval"
	done
}
taskset -c 0 bash -c "$(declare -f scraper); port=$port interval=$interval scraper" &
scraper_pid=$!
trap 'kill $scraper_pid 2>/dev/null || true' EXIT
"$shared/peers.sh" --data "$data" --out "$out_on" "$@"
kill $scraper_pid 2>/dev/null || true

python3 - "$out_off" "$out_on" "$interval" <<'PY'
import json, sys
off, on, interval = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def candor(d):
    return next(s for s in d["servers"] if s["name"] == "candor")
def peer(d):
    return next(s for s in d["servers"] if s["name"] == d["best_peer"])
a, b = candor(off), candor(on)
print(f"scraping /metrics every {interval} s vs not scraping (median of rounds):")
for key in ("qps", "server_cpu_pct", "avg_latency_ms", "ratio_to_best_peer"):
    x, y = a.get(key), b.get(key)
    ratio = f"{y / x:.3f}" if x else "-"
    print(f"  {key:20} off {x:>12}  on {y:>12}  on/off {ratio}")
pa, pb = peer(off), peer(on)
print(f"  best peer ({off['best_peer']}) qps: off run {pa['qps']}, on run {pb['qps']}")
PY
