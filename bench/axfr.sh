#!/usr/bin/env bash
# AXFR of one large zone out of Candor and out of Knot DNS, both on
# 127.0.0.1, fetched with `kdig +noall axfr` (which reads and checks every
# message): wall time per transfer (median of RUNS; kdig's own parsing is
# part of it), the server's CPU time per transfer (from /proc), bytes and
# messages, and each server's peak RSS (VmHWM) before and after.
#
#   bench/axfr.sh [RECORDS] [RUNS]      (defaults: 100000 records, 5 runs)
#
# CANDOR_BIN picks the binary (default target/release/candor).
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-100000}
runs=${2:-5}
bin=${CANDOR_BIN:-target/release/candor}
work=$(mktemp -d)
trap 'kill ${cpid:-} ${kpid:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

# The zone: names with A, AAAA, MX and TXT records, RECORDS in all.
mkdir -p "$work/zones" "$work/knot/run" "$work/knot/storage"
python3 - "$records" >"$work/zones/big.test.zone" <<'EOF'
import sys
n = int(sys.argv[1])
print("$TTL 300\n@ SOA ns1.big.test. hostmaster.big.test. 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1")
i = 0
left = n - 3
while left > 0:
    kind = i % 4
    if kind == 0:
        print(f"host{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
    elif kind == 1:
        print(f"host{i} AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}")
    elif kind == 2:
        print(f"mail{i} MX 10 host{i - 2}.big.test.")
    else:
        print(f'txt{i} TXT "record number {i} of the transfer benchmark"')
    i += 1
    left -= 1
EOF

cport=15411
kport=15412
"$bin" serve --zones "$work/zones" --listen 127.0.0.1:$cport --workers 1 \
	--xfr-allow 127.0.0.1 2>"$work/candor.log" &
cpid=$!
cat >"$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot/run"
    listen: 127.0.0.1@$kport
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot/storage"
acl:
  - id: local
    address: 127.0.0.1
    action: transfer
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$work/knot/storage"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
  - domain: big.test.
    file: "$work/zones/big.test.zone"
    acl: local
EOF
knotd -c "$work/knot/knot.conf" 2>"$work/knot.log" &
kpid=$!
for port in $cport $kport; do
	for _ in $(seq 300); do
		kdig +short +timeout=1 @127.0.0.1 -p $port big.test SOA 2>/dev/null | grep -q . && break
		sleep 0.1
	done
done

hwm() { awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' /proc/$1/status; }
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
measure() {
	local name=$1 port=$2 pid=$3
	local before times summary
	before=$(hwm "$pid")
	local cpu0
	cpu0=$(ticks "$pid")
	times=()
	for _ in $(seq "$runs"); do
		local start end
		start=$(date +%s.%N)
		summary=$(kdig +noall +stats @127.0.0.1 -p "$port" big.test AXFR 2>&1 | grep Received)
		end=$(date +%s.%N)
		times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')")
	done
	local median
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	local cpu
	cpu=$(awk -v t=$(($(ticks "$pid") - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$runs" \
		'BEGIN {printf "%.0f ms", 1000 * t / hz / n}')
	printf '%-7s median %.3f s, server CPU %s per transfer  (%s)  peak RSS %s before, %s after\n' \
		"$name" "$median" "$cpu" "${summary#;; }" "$before" "$(hwm "$pid")"
}
measure candor $cport $cpid
measure knot $kport $kpid
