#!/usr/bin/env python3
"""Per-kernel instruction counts from `cuobjdump -sass` (stdin): the matrix instructions we meant to use (HGMMA on
Hopper, HMMA elsewhere), local-memory traffic (LDL/STL: spills), exponentials, shuffles and barriers."""
import re
import sys

OPS = ("HGMMA", "HMMA", "LDL", "STL", "MUFU.EX2", "SHFL", "BAR", "LDGSTS", "SYNCS", "WARPGROUP")


def main():
    name, counts, total = None, {}, 0
    rows = []

    def flush():
        if name:
            rows.append((name, total, dict(counts)))

    for line in sys.stdin:
        m = re.search(r"Function : (\S+)", line)
        if m:
            flush()
            name, counts, total = m.group(1), {op: 0 for op in OPS}, 0
            continue
        m = re.match(r"\s+/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)", line)
        if m and name:
            total += 1
            op = m.group(1)
            for key in OPS:
                if op == key or op.startswith(key + "."):
                    counts[key] += 1
    flush()
    print("kernel".ljust(70), "instr", *OPS)
    for n, t, c in rows:
        short = re.sub(r"_ZN3mmi4cuda6detail\w*?(sm\d\d_attention_kernel)", r"\1", n)[:70]
        print(short.ljust(70), t, *(c[o] for o in OPS))


if __name__ == "__main__":
    main()
