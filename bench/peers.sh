#!/usr/bin/env bash
# Candor next to Knot, NSD, BIND and PowerDNS on the same data and core,
# measured by the shared harness (see ../shared/bench/README.md).
#
#   bench/peers.sh --rounds 3 --out bench/results/mixed.json
#   bench/peers.sh --set large --rounds 3 --out bench/results/large.json
#
# CANDOR_SHARED_BENCH overrides where the shared harness lives.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p candor
shared=${CANDOR_SHARED_BENCH:-../shared/bench}
export BENCH_NAME=candor
export BENCH_VERSION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# Candor runs with its defaults, response rate limiting on. The large set
# sends ~30,000 NXDOMAIN a second for one zone from one address, which is a
# random-subdomain flood by the rules of any rate limiter (the harness runs
# NSD with rrl-ratelimit 0 for the same reason): there, it is turned off.
rrl=""
for arg in "$@"; do
	if [[ $arg == large || $arg == --set=large ]]; then
		rrl=" --rrl-rate 0"
		echo "peers.sh: the large set: candor runs with --rrl-rate 0" >&2
	fi
done
export BENCH_CMD="target/release/candor serve --zones {zones} --listen 127.0.0.1:{port} --workers 1$rrl"
exec "$shared/peers.sh" "$@"
