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
export BENCH_CMD='target/release/candor serve --zones {zones} --listen 127.0.0.1:{port} --workers 1'
exec "$shared/peers.sh" "$@"
