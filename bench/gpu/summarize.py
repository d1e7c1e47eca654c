#!/usr/bin/env python3
"""Turns the JSON lines of mmi-kernels check/bench and baselines.py into the tables of bench/RESULTS.md."""
import json
import sys

ISSUE_SPARSE_MS = {262144: ("36.4", "62.5"), 524288: ("66.8", "146.4")}  # MInference, FlexAttention (issue 4)


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def main(path):
    rows = load(path)
    checks = [r for r in rows if r["kind"] == "check"]
    if checks:
        passed = sum(1 for r in checks if r["pass"])
        print(f"check: {passed}/{len(checks)} passed")
        for r in checks:
            if not r["pass"]:
                print(f"  FAIL {r['name']} {r.get('rel_l2', r.get('detail', ''))}")
    best = {}
    for r in rows:
        if r["kind"] == "dense" and "ms" in r:
            best.setdefault((r["kind"], r["n"], r["heads_kv"]), []).append(r)
    base = {(r["name"], r["n"]): r for r in rows if r["kind"].startswith("baseline") and "ms" in r}

    print("\n| N | ours (GQA 28/4) ms | TFLOP/s | ours (MHA 28/28) ms | cuDNN SDPA ms | FA2 SDPA ms | vs cuDNN | vs FA2 |")
    print("|---|---|---|---|---|---|---|---|")
    sizes = sorted({n for (k, n, _) in best if k == "dense"})
    for n in sizes:
        gqa = min(best.get(("dense", n, 4), []), key=lambda r: r["ms"], default=None)
        mha = min(best.get(("dense", n, 28), []), key=lambda r: r["ms"], default=None)
        cud = base.get(("cudnn-sdpa", n))
        fa2 = base.get(("flash-sdpa", n))
        ours = mha or gqa
        print(f"| {n} | {fmt(gqa and gqa['ms'], 2)} ({gqa and gqa['name']}) | {fmt(gqa and gqa['tflops'])} | "
              f"{fmt(mha and mha['ms'], 2)} | {fmt(cud and cud['ms'], 2)} | {fmt(fa2 and fa2['ms'], 2)} | "
              f"{fmt(cud and ours and cud['ms'] / ours['ms'], 2)}x | {fmt(fa2 and ours and fa2['ms'] / ours['ms'], 2)}x |")

    fixed = [r for r in rows if r["kind"] == "sparse" and r["name"].startswith("vs-fixed") and "ms" in r]
    print("\n| N | ours sparse ms | TFLOP/s | note | MInference (this run) ms | MInference (issue) ms | "
          "FlexAttention (issue) ms | vs MInference (this run) |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sorted({r["n"] for r in fixed}):
        ours = min((r for r in fixed if r["n"] == n and r["name"].startswith("vs-fixed hopper")),
                   key=lambda r: r["ms"], default=None) or min((r for r in fixed if r["n"] == n), key=lambda r: r["ms"])
        mi = base.get(("minference-triton vs-fixed", n))
        issue = ISSUE_SPARSE_MS.get(n, ("-", "-"))
        print(f"| {n} | {ours['ms']:.2f} ({ours['name']}) | {ours['tflops']:.1f} | {ours.get('note', '')} | "
              f"{fmt(mi and mi['ms'], 2)} | {issue[0]} | {issue[1]} | {fmt(mi and mi['ms'] / ours['ms'], 2)}x |")

    est = [r for r in rows if r["kind"] == "sparse" and r["name"].startswith("vs-estimated") and "ms" in r]
    if est:
        print("\n| N | vertical-slash estimated on the GPU: kernel ms | TFLOP/s | note |")
        print("|---|---|---|---|")
        for r in sorted(est, key=lambda r: r["n"]):
            print(f"| {r['n']} | {r['ms']:.2f} | {r['tflops']:.1f} | {r.get('note', '')} |")

    grid = [r for r in rows if r["kind"] == "grid" and "ms" in r]
    if grid:
        print("\n| N | grid pattern, synthetic video, all included ms | vs cuDNN dense (this run) | note |")
        print("|---|---|---|---|")
        for r in grid:
            cud = base.get(("cudnn-sdpa", r["n"]))
            print(f"| {r['n']} | {r['ms']:.2f} ({r['name']}) | {fmt(cud and cud['ms'] / r['ms'], 1)}x | "
                  f"{r.get('note', '')} |")
    errors = [r for r in rows if "error" in r]
    for r in errors:
        print(f"error: {r['name']} N={r.get('n')}: {r['error']}")


if __name__ == "__main__":
    main(sys.argv[1])
