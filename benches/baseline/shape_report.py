#!/usr/bin/env python3
"""The Timber-shaped part of a benches/compare.sh run as Markdown (issue 17's targets).

  shape_report.py OUT_DIR

Reads OUT_DIR/shape.jsonl (shape_bench.py's lines). Every ratio is between two numbers of the
same run on the same rows: floor / ours for the rotation (target >= 0.7) and the census
(>= 0.5), health / census (<= 2), Python / ours (about 50x is 0.7x of the raw rewrite), the
census through a delaying proxy against 1.5x its local time + 0.5 s, and ours' peak memory
at the largest size against the smallest (flat in row count).
"""

import json
import os
import sys


def verdict(ok):
    return "met" if ok else "**short**"


def main():
    path = os.path.join(sys.argv[1], "shape.jsonl")
    if not os.path.exists(path):
        print("\n(Timber-shaped benchmark skipped: no shape.jsonl)")
        return
    runs = {}
    for line in open(path):
        r = json.loads(line)
        runs.setdefault((r["backend"], r["rows"]), {})[r["contender"]] = r
    print("\n## Timber-shaped data (issue 17)\n")
    print("N user_profiles rows (3 encrypted columns) + N/2 research_sessions rows (4 encrypted"
          " columns, 3 of them JSON), values of the Python Timber fixture's sizes.\n")
    print("| backend | rows | work | ours | floor (same run) | floor / ours | target | |")
    print("|---|---|---|---|---|---|---|---|")
    peaks = {}
    for (backend, n), r in sorted(runs.items()):
        label = f"{n} + {n // 2}"
        ours, raw = r.get("ours"), r.get("raw_rewrite")
        if ours and raw:
            ratio = raw["seconds"] / ours["seconds"]
            print(f"| {backend} | {label} | rotate --all | {ours['seconds']:.2f} s "
                  f"(cpu {ours['cpu_seconds']:.2f} s, peak {ours['peak_kib'] // 1024} MiB) | "
                  f"raw rewrite {raw['seconds']:.2f} s | {ratio:.2f}x | >= 0.7x | {verdict(ratio >= 0.7)} |")
            peaks.setdefault(backend, []).append((n, ours["peak_kib"]))
        py = r.get("python")
        if ours and py:
            speedup = py["seconds"] / ours["seconds"]
            print(f"| {backend} | {label} | rotate vs Python Timber | {ours['seconds']:.2f} s | "
                  f"Python {py['seconds']:.2f} s (peak {py['peak_kib'] // 1024} MiB) | "
                  f"{speedup:.1f}x faster | ~50x | {verdict(speedup >= 50)} |")
        census, read = r.get("census"), r.get("raw_read")
        if census and read:
            ratio = read["seconds"] / census["seconds"]
            print(f"| {backend} | {label} | census | {census['seconds']:.2f} s (peak "
                  f"{census['peak_kib'] // 1024} MiB) | raw read {read['seconds']:.2f} s | {ratio:.2f}x | "
                  f">= 0.5x | {verdict(ratio >= 0.5)} |")
        health = r.get("health")
        if health and census:
            ratio = health["seconds"] / census["seconds"]
            print(f"| {backend} | {label} | health | {health['seconds']:.2f} s | census "
                  f"{census['seconds']:.2f} s | {ratio:.2f}x of the census | <= 2x | {verdict(ratio <= 2)} |")
        proxy = r.get("census_proxy")
        if proxy and census:
            bound = 1.5 * census["seconds"] + 0.5
            print(f"| {backend} | {label} | census, {2 * proxy['delay_ms_each_way']:.0f} ms round trip | "
                  f"{proxy['seconds']:.2f} s | local {census['seconds']:.2f} s | bound {bound:.2f} s | "
                  f"<= 1.5x + 0.5 s | {verdict(proxy['seconds'] <= bound)} |")
    for backend, sizes in sorted(peaks.items()):
        if len(sizes) >= 2:
            (n0, p0), (n1, p1) = min(sizes), max(sizes)
            flat = p1 <= p0 * 1.5
            print(f"| {backend} | {n0} -> {n1} | rotate peak memory | {p1 // 1024} MiB | {p0 // 1024} MiB | "
                  f"{p1 / p0:.2f}x for {n1 / n0:.0f}x rows | flat | {verdict(flat)} |")
    scaling = [(k, r) for k, r in sorted(runs.items()) if any(c.startswith("workers_") for c in r)]
    if scaling:
        print("\n### Many workers on one job (issue 18)\n")
        print("`timber rotate --all --workers W` from the same pristine rows each time; server CPU is the"
              " database processes' user + system seconds during the run. Client and server share"
              " this machine's cores, so more workers mostly move CPU between them.\n")
        print("| backend | rows | workers | seconds | rows/s | vs 1 worker | client CPU s | server CPU s |"
              " raw rewrite (same run) | raw / ours |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for (backend, n), r in scaling:
            one = r.get("workers_1")
            raw = r.get("workers_raw_rewrite")
            for name in sorted((c for c in r if c.startswith("workers_") and c[8:].isdigit()),
                               key=lambda c: int(c[8:])):
                w = r[name]
                speedup = one["seconds"] / w["seconds"] if one else float("nan")
                ratio = f"{raw['seconds'] / w['seconds']:.2f}x" if raw else "-"
                print(f"| {backend} | {n} + {n // 2} | {w['workers']} | {w['seconds']:.2f} | "
                      f"{w['rows_per_second']} | {speedup:.2f}x | {w['cpu_seconds']:.2f} | "
                      f"{w['server_cpu_seconds']:.2f} | {raw['seconds'] if raw else '-'} s | {ratio} |")
    loads = [r.get("load") for run in runs.values() for r in run.values() if r.get("load") is not None]
    if loads:
        print(f"\nLoad average (1 min) during these measurements: {min(loads):.1f} to {max(loads):.1f}.")


if __name__ == "__main__":
    main()
