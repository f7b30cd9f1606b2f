#!/usr/bin/env python3
"""Prints the comparison of one benches/compare.sh run as Markdown: every number with the
baseline measured beside it in the same run, the ratios, and each target met or not.

  report.py OUT_DIR CRITERION_DIR

Reads OUT_DIR/machine.txt, OUT_DIR/python_fernet.json, OUT_DIR/rotation.jsonl (each optional:
what was skipped is said, not invented) and criterion's `new/estimates.json` medians for the
codec bench under CRITERION_DIR.
"""

import json
import os
import sys

SIZES = ("24B", "1KB")


def criterion_medians(root):
    """full_id ("ours/decrypt/24B") -> median ns, from criterion's latest estimates."""
    medians = {}
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(dirpath, "estimates.json")) as f:
            medians[full_id] = json.load(f)["median"]["point_estimate"]
    return medians


def ns(value):
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.2f} µs"
    return f"{value:.0f} ns"


def verdict(ok):
    return "met" if ok else "**short**"


def codec_rows(ours, python):
    """(summary rows, detail lines) for the codec part."""
    summary, detail = [], []
    detail.append("| operation | ours | floor (primitives alone) | ours / floor | Python cryptography | Python / ours |")
    detail.append("|---|---|---|---|---|---|")
    for size in SIZES:
        dec = ours.get(f"ours/decrypt/{size}")
        enc = ours.get(f"ours/encrypt/{size}")
        parts = [ours.get(f"floor/{p}/{size}") for p in ("base64_decode", "hmac_verify", "aes_cbc_decrypt")]
        floor_dec = sum(parts) if None not in parts else None
        parts = [ours.get(f"floor/{p}/{size}") for p in ("aes_cbc_encrypt", "hmac_sign", "base64_encode")]
        iv = ours.get("floor/iv_16B")
        floor_enc = sum(parts) + iv if None not in parts and iv is not None else None
        py_dec = python.get(f"decrypt/{size}")
        py_enc = python.get(f"encrypt/{size}")
        for name, mine, floor, py in (("decrypt", dec, floor_dec, py_dec), ("encrypt", enc, floor_enc, py_enc)):
            if mine is None:
                continue
            detail.append(
                f"| {name} {size} | {ns(mine)} | {ns(floor) if floor else '-'} | "
                f"{mine / floor:.2f}x | {ns(py) if py else '-'} | {py / mine:.0f}x |"
                if floor and py
                else f"| {name} {size} | {ns(mine)} | - | - | - | - |"
            )
        if dec and floor_dec:
            r = dec / floor_dec
            summary.append((f"decrypt {size} within 1.3x of the primitives' floor", f"{r:.2f}x ({ns(dec)} vs {ns(floor_dec)})", verdict(r <= 1.3)))
        if dec and py_dec:
            r = py_dec / dec
            summary.append((f"decrypt {size} at least 40x Python's Fernet", f"{r:.0f}x ({ns(dec)} vs {ns(py_dec)})", verdict(r >= 40)))
        if enc and py_enc:
            r = py_enc / enc
            summary.append((f"encrypt {size} at least 25x Python's Fernet", f"{r:.0f}x ({ns(enc)} vs {ns(py_enc)})", verdict(r >= 25)))
    for label in ("first_key", "last_key"):
        mine = ours.get(f"identify_3_keys/{label}")
        py = python.get(f"multifernet_decrypt_3_keys/{label}")
        if mine is None:
            continue
        rate = 1e9 / mine
        detail.append(
            f"| identify among 3 keys, token under the {label.replace('_', ' ')} | {ns(mine)} "
            f"({rate / 1e6:.2f} M tokens/s) | - | - | {ns(py) + ' (MultiFernet.decrypt)' if py else '-'} | "
            f"{f'{py / mine:.0f}x' if py else '-'} |"
        )
        summary.append((f"census: identification at least 2M tokens/s per core (token under the {label.replace('_', ' ')})", f"{rate / 1e6:.2f} M/s", verdict(rate >= 2e6)))
    for part in ("base64_decode", "hmac_verify", "aes_cbc_decrypt", "aes_cbc_encrypt", "hmac_sign", "base64_encode"):
        values = [ours.get(f"floor/{part}/{s}") for s in SIZES]
        if None not in values:
            detail.append(f"| floor: {part} | {' / '.join(ns(v) for v in values)} (24 B / 1 KiB) | | | | |")
    if ours.get("floor/iv_16B"):
        detail.append(f"| floor: 16-byte IV from the thread CSPRNG | {ns(ours['floor/iv_16B'])} | | | | |")
    return summary, detail


def rotation_rows(records):
    summary, detail = [], []
    by = {}
    for r in records:
        by[(r["backend"], r["rows"], r["contender"])] = r
    detail.append(
        "| backend | rows | raw UPDATE (no crypto) | ours: `timber rotate --all` | ours / raw (rate) | Python Timber (SQLAlchemy) | ours / Python (rate) | peak RSS ours | peak RSS Python | `timber census` values per CPU-second |"
    )
    detail.append("|---|---|---|---|---|---|---|---|---|---|")
    peaks = {}
    for backend in ("sqlite", "postgres"):
        for n in sorted({r["rows"] for r in records if r["backend"] == backend}):
            raw = by.get((backend, n, "raw"))
            ours = by.get((backend, n, "ours"))
            py = by.get((backend, n, "python"))
            census = by.get((backend, n, "census"))
            if not ours:
                continue
            vs_raw = raw["seconds"] / ours["seconds"] if raw else None
            vs_py = py["seconds"] / ours["seconds"] if py else None
            census_rate = 2 * n / census["cpu_seconds"] if census and census.get("cpu_seconds") else None
            peaks.setdefault(backend, []).append((n, ours["peak_kib"], py["peak_kib"] if py else None))
            cells = [
                backend,
                str(n),
                f"{raw['seconds']:.2f} s" if raw else "-",
                f"{ours['seconds']:.2f} s",
                f"{vs_raw:.2f}x" if vs_raw else "-",
                f"{py['seconds']:.2f} s" if py else "-",
                f"{vs_py:.0f}x" if vs_py else "-",
                f"{ours['peak_kib'] / 1024:.0f} MiB",
                f"{py['peak_kib'] / 1024:.0f} MiB" if py else "-",
                f"{census_rate / 1e6:.2f} M" if census_rate else "- (too short to time)",
            ]
            detail.append("| " + " | ".join(cells) + " |")
            if vs_raw is not None:
                summary.append((f"rotation at least 0.7x the raw rewrite ({backend}, {n} rows)", f"{vs_raw:.2f}x ({ours['seconds']:.2f} s vs {raw['seconds']:.2f} s)", verdict(vs_raw >= 0.7)))
            if vs_py is not None:
                summary.append((f"rotation at least 50x Python Timber's ({backend}, {n} rows)", f"{vs_py:.0f}x ({ours['seconds']:.2f} s vs {py['seconds']:.2f} s)", verdict(vs_py >= 50)))
    for backend, sizes in peaks.items():
        if len(sizes) < 2:
            continue
        (n1, o1, p1), (n2, o2, p2) = sizes[0], sizes[-1]
        growth = o2 / o1
        py_growth = f", Python {p1 / 1024:.0f} → {p2 / 1024:.0f} MiB" if p1 and p2 else ""
        summary.append((
            f"rotation peak memory flat in row count ({backend}, {n1} → {n2} rows)",
            f"ours {o1 / 1024:.0f} → {o2 / 1024:.0f} MiB ({growth:.2f}x for {n2 / n1:.0f}x rows){py_growth}",
            verdict(growth <= 1.25),
        ))
    return summary, detail


def main():
    out, criterion = sys.argv[1], sys.argv[2]
    machine = open(os.path.join(out, "machine.txt")).read().strip()
    python, fernet_meta = {}, None
    path = os.path.join(out, "python_fernet.json")
    if os.path.exists(path):
        fernet_meta = json.load(open(path))
        python = fernet_meta["ns_per_op"]
    ours = criterion_medians(criterion) if python else {}
    records = []
    path = os.path.join(out, "rotation.jsonl")
    if os.path.exists(path):
        records = [json.loads(line) for line in open(path) if line.strip()]
    s1, d1 = codec_rows(ours, python)
    s2, d2 = rotation_rows(records)
    print(f"Run: `benches/compare.sh` ({os.path.basename(out)})\n")
    print("```\n" + machine + "\n```\n")
    print("| target | measured (ours vs baseline, same run) | |")
    print("|---|---|---|")
    for target, measured, ok in s1 + s2:
        print(f"| {target} | {measured} | {ok} |")
    if d1 and ours:
        print("\nCodec (criterion medians; Python: median of 5 loops of 20 000 calls):\n")
        print("\n".join(d1))
    else:
        print("\nCodec: not measured in this run (SKIP_CODEC).")
    if records:
        print("\nRotation (wall time; ours = the whole `timber` process, Python = its own clock"
              " around load, crypto and commit, without interpreter start; raw = the database's"
              " own timer for one UPDATE):\n")
        print("\n".join(d2))
    else:
        print("\nRotation: not measured in this run (SKIP_ROTATION).")


if __name__ == "__main__":
    main()
