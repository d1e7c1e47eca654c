#!/usr/bin/env python3
"""Top SASS lines of an `ncu --page source --csv --print-source sass` export by warp-stall samples, with the stall
reasons that dominate each: where the kernel's warps wait, instruction by instruction."""
import csv
import sys


def main(path, top=45):
    with open(path, newline="") as f:
        lines = [l for l in f if not l.startswith("==")]
    # Newer ncu versions put a "Kernel Name" line before the header.
    while lines and not lines[0].startswith('"Address"'):
        lines.pop(0)
    rows = list(csv.DictReader(lines))
    if not rows:
        print("no rows")
        return
    cols = list(rows[0].keys())
    sample_col = next((c for c in cols if "Sampling" in c and "All" in c), None) or next(
        (c for c in cols if "Sampling" in c), None)
    stall_cols = [c for c in cols if c.startswith("stall_") or "Stall" in c and c != sample_col]
    source_col = next((c for c in cols if c.lower() == "source"), cols[1])

    def num(v):
        try:
            return float(str(v).replace(",", ""))
        except ValueError:
            return 0.0

    total = sum(num(r.get(sample_col, 0)) for r in rows) or 1.0
    print(f"columns: {cols}")
    print(f"total samples: {total:.0f}")
    rows.sort(key=lambda r: -num(r.get(sample_col, 0)))
    for r in rows[:top]:
        reasons = sorted(((num(r[c]), c) for c in stall_cols), reverse=True)[:3]
        why = ", ".join(f"{c.replace('stall_', '')}={v:.0f}" for v, c in reasons if v > 0)
        print(f"{100 * num(r[sample_col]) / total:5.1f}%  {r.get('Address', '')}  {r[source_col][:70]:70s}  {why}")


if __name__ == "__main__":
    main(sys.argv[1])
