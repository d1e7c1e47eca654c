#!/usr/bin/env python3
"""Writes one synthetic video as a real file (ffmpeg lavfi, H.264) and prints its question and answer as JSON.

    python3 models/qwen2_5_vl/train/make_video.py --task colour --frames 40 --seed 3 OUT.mp4
    python3 models/qwen2_5_vl/train/make_video.py --task colour --frames 400 --depth 0.5 OUT.mp4

--frames counts the frames the app samples (2 a second), so a video lasts frames / 2 seconds; --depth pins a single
needle's time (0: start, 1: end). The scene, needles, question and answer are those `synth.make_spec` gives for the
seed, the same as the training videos of that task.
"""

import argparse
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import synth  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--task", choices=synth.TASKS, default="colour")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--depth", type=float, default=None)
    ap.add_argument("--size", default="320x240", help="source width x height")
    ap.add_argument("--file-fps", type=int, default=10)
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    spec = synth.make_spec(random.Random(f"video-{args.task}-{args.seed}"), args.task, args.frames, (w, h),
                           depth=args.depth)
    subprocess.run(synth.ffmpeg_command(spec, args.out, args.file_fps), check=True)
    print(json.dumps(dict(file=args.out, task=spec.task, question=spec.question, answer=spec.answer,
                          scene=spec.scene, frames=spec.frames,
                          needles=[n.__dict__ for n in spec.needles])))


if __name__ == "__main__":
    main()
