#!/usr/bin/env python3
"""V-NIAH-style accuracy grid for the demo model: video length x needle depth, one heatmap per attention mode.

    npm run build && python3 bench/vniah/run.py --out DIR [--lengths 24,48] [--depths 0,0.5,1] [--per-cell 2]
        [--modes dense,searched,a_shape,vertical_slash,block_sparse,grid,q_boundary,two_d_boundary]

Each cell's videos are real H.264 files made by models/qwen2_5_vl/train/make_video.py (colour task: one needle,
its time pinned by the depth, 0 = start, 1 = end; seeds 0..per-cell-1 of the cell), asked through `mmi ask` with
the embedded demo model on the CPU: dense, with the searched file (models/qwen2_5_vl/patterns/demo.json), or with a
file holding one pattern family, found by a search restricted to that family's `short` candidates on the first
video of the shortest length. An answer counts when it equals the needle's colour. Writes DIR/results.csv,
DIR/table.md and DIR/MODE.png (matplotlib).
"""

import argparse
import csv
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MMI = ["node", os.path.join(ROOT, "bin", "mmi.js")]
MAKE = [sys.executable, os.path.join(ROOT, "models", "qwen2_5_vl", "train", "make_video.py")]
MODEL = os.path.join(ROOT, "models", "qwen2_5_vl", "demo", "model")
SEARCHED = os.path.join(ROOT, "models", "qwen2_5_vl", "patterns", "demo.json")


def family_file(family, video, out):
    """A pattern file whose heads all come from one family's short candidates (dense where none keeps enough)."""
    cands = json.loads(subprocess.run(
        ["node", "--input-type=module", "-e",
         "import { presetCandidates } from './dist/app/domain/pattern-candidates.js';"
         f"console.log(JSON.stringify(presetCandidates('short').filter((c) => c.pattern === '{family}')))"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    cfile = out + ".candidates.json"
    with open(cfile, "w") as f:
        json.dump(cands, f)
    subprocess.run(MMI + ["search-patterns", "--model", MODEL, "--videos", video, "--candidates", cfile,
                          "--cost-target", "1", "--out", out], check=True, capture_output=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="24,48", help="sampled frames (2 a second)")
    ap.add_argument("--depths", default="0,0.5,1")
    ap.add_argument("--per-cell", type=int, default=2)
    ap.add_argument("--modes", default="dense,searched")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lengths = [int(x) for x in args.lengths.split(",")]
    depths = [float(x) for x in args.depths.split(",")]
    modes = args.modes.split(",")
    videos = {}
    for n in lengths:
        for d in depths:
            for seed in range(args.per_cell):
                path = os.path.join(args.out, f"v-{n}-{d}-{seed}.mp4")
                info = json.loads(subprocess.run(MAKE + ["--task", "colour", "--frames", str(n), "--depth", str(d),
                                                         "--seed", str(seed), path],
                                                 check=True, capture_output=True, text=True).stdout)
                videos[(n, d, seed)] = info
    files = {"dense": None, "searched": SEARCHED}
    first = videos[(lengths[0], depths[0], 0)]["file"]
    for m in modes:
        if m not in files:
            files[m] = family_file(m, first, os.path.join(args.out, f"{m}.json"))
    rows = []
    for m in modes:
        for (n, d, seed), info in videos.items():
            flags = ["--dense"] if files[m] is None else ["--patterns", files[m]]
            r = subprocess.run(MMI + ["ask", "--video", info["file"], info["question"], "--max-tokens", "8", "--json",
                                      *flags], check=True, capture_output=True, text=True)
            res = json.loads(r.stdout)
            rows.append(dict(mode=m, frames=n, tokens=res["videoTokens"], depth=d, seed=seed, answer=res["answer"],
                             expected=info["answer"], correct=int(res["answer"].strip() == info["answer"]),
                             prefill_ms=round(res["timings"]["prefillMs"])))
            print(json.dumps(rows[-1]), flush=True)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    acc = {}
    for r in rows:
        acc.setdefault((r["mode"], r["frames"], r["depth"]), []).append(r["correct"])
    tokens = {r["frames"]: r["tokens"] for r in rows}
    lines = ["| mode | " + " | ".join(f"{tokens[n]} tokens, depth {d:g}" for n in lengths for d in depths)
             + " | mean |", "|---" * (len(lengths) * len(depths) + 2) + "|"]
    for m in modes:
        cells = [sum(acc[(m, n, d)]) / len(acc[(m, n, d)]) for n in lengths for d in depths]
        lines.append(f"| {m} | " + " | ".join(f"{c:.2f}" for c in cells) + f" | {sum(cells) / len(cells):.2f} |")
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for m in modes:
        grid = [[sum(acc[(m, n, d)]) / len(acc[(m, n, d)]) for n in lengths] for d in depths]
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(lengths), 1.2 + 0.6 * len(depths)))
        ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
        ax.set_xticks(range(len(lengths)), [str(tokens[n]) for n in lengths])
        ax.set_yticks(range(len(depths)), [f"{d:g}" for d in depths])
        ax.set_xlabel("visual tokens")
        ax.set_ylabel("needle depth")
        ax.set_title(m)
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center")
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, f"{m}.png"), dpi=100)
        plt.close(fig)


if __name__ == "__main__":
    main()
