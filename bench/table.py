#!/usr/bin/env python3
"""Rows for docs/benchmarks.md from peers.sh JSON: per server the median
round's figures, CPU per query (CPU share / qps of the median-qps round)
and its ratio to Knot's, plus every round's ratio.

    bench/table.py bench/results/mixed.json bench/results/large.json
"""
import json
import sys


def rows(path):
    d = json.load(open(path))
    label = d.get("data", {}).get("set") or path
    per = {}
    for s in d["servers"]:
        ms = [m for m in s.get("measurements", []) if m.get("qps")]
        if not ms:
            continue
        med = sorted(ms, key=lambda m: m["qps"])[len(ms) // 2]
        per[s["name"]] = (s, med, [m["server_cpu_pct"] / 100 / m["qps"] * 1e6 for m in ms])
    knot = per.get("knot")
    for name, (s, med, rounds) in per.items():
        us = med["server_cpu_pct"] / 100 / med["qps"] * 1e6
        vs = us / (knot[1]["server_cpu_pct"] / 100 / knot[1]["qps"] * 1e6) if knot else float("nan")
        each = " ".join(f"{a / b:.2f}" for a, b in zip(rounds, knot[2])) if knot else ""
        print(f"| {label} | {name} | {s['load_s']:.2f} | {s['qps']:,.0f} | {s['ratio_to_best_peer']:.2f} "
              f"| {s['avg_in_flight']:.0f}/100 | {s['server_cpu_pct']:.0f}% / {s['client_core_busy_pct']:.0f}% "
              f"| {us:.2f} | {vs:.2f} ({each}) | {s['avg_latency_ms']:.3f} | {s['rss_peak_kb'] / 1024:.1f} |")


for p in sys.argv[1:]:
    rows(p)
