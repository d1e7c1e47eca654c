#!/usr/bin/env python3
"""Baselines timed in the same run as mmi-kernels bench, on the same shapes (28 heads, head dim 128, bf16, causal):
PyTorch SDPA with the cuDNN and FlashAttention backends (dense), and MInference's Triton vertical-slash kernel with
the fixed structure (first 1000 key columns + the 6096 nearest diagonals) when a copy of its source is given.
Median of CUDA-event timings after a warm-up; every input set is far larger than L2, so one set is not flattered.
Appends one JSON line per result to --json."""
import argparse
import importlib.util
import json
import math
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

HEADS, DIM = 28, 128


def median_ms(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def emit(out, record):
    print(json.dumps(record), flush=True)
    out.write(json.dumps(record) + "\n")
    out.flush()


def reps_for(flops):
    return 3 if flops > 2e15 else 5 if flops > 2e14 else 10


def dense(out, sizes):
    for n in sizes:
        q, k, v = (torch.randn(1, HEADS, n, DIM, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flops = 2.0 * n * n * HEADS * DIM
        for name, backend in (("cudnn-sdpa", SDPBackend.CUDNN_ATTENTION), ("flash-sdpa", SDPBackend.FLASH_ATTENTION)):
            try:
                with sdpa_kernel([backend]):
                    ms = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), reps_for(flops))
                emit(out, {"kind": "baseline-dense", "name": name, "n": n, "heads_q": HEADS, "heads_kv": HEADS,
                           "dim": DIM, "ms": ms, "tflops": flops / ms / 1e9})
            except Exception as e:  # a backend that refuses a shape is a result too
                emit(out, {"kind": "baseline-dense", "name": name, "n": n, "error": str(e)[:200]})
        if n == 131072:  # the model's shape: 4 kv heads (GQA)
            k4, v4 = k[:, :4].contiguous(), v[:, :4].contiguous()
            for name, backend in (("cudnn-sdpa-gqa", SDPBackend.CUDNN_ATTENTION),
                                  ("flash-sdpa-gqa", SDPBackend.FLASH_ATTENTION)):
                try:
                    with sdpa_kernel([backend]):
                        ms = median_ms(lambda: F.scaled_dot_product_attention(q, k4, v4, is_causal=True,
                                                                              enable_gqa=True), reps_for(flops))
                    emit(out, {"kind": "baseline-dense", "name": name, "n": n, "heads_q": HEADS, "heads_kv": 4,
                               "dim": DIM, "ms": ms, "tflops": flops / ms / 1e9})
                except Exception as e:
                    emit(out, {"kind": "baseline-dense", "name": name, "n": n, "error": str(e)[:200]})
            del k4, v4
        del q, k, v
        torch.cuda.empty_cache()


def minference_index(n, verticals=1000, slashes=6096, width_s=128, width_v=1000):
    """MInference's block_count/block_offset/column_count/column_index for the fixed structure, built here from the
    semantics of its converter: one merged slash range per query block, starting 64 before the key its largest
    in-range offset reaches, grown in 64-key steps to the block's end; verticals before the range become columns."""
    nb = (n + 63) // 64
    end_m = (torch.arange(nb, device="cuda", dtype=torch.int64) + 1) * 64
    o_max = torch.clamp(end_m - 1, max=slashes - 1)
    s0 = torch.clamp(end_m - o_max, min=64)
    start = s0 - 64
    count = 1 + torch.div(end_m - s0 + 63, 64, rounding_mode="floor")
    j = torch.arange(width_s, device="cuda", dtype=torch.int64)
    offsets = (start[:, None] + 64 * j[None, :]).to(torch.int32)
    cols = torch.clamp(start, max=verticals)
    col_index = torch.arange(width_v, device="cuda", dtype=torch.int32).expand(nb, width_v)
    expand = lambda t: t.expand(1, HEADS, *t.shape).contiguous()
    return (expand(count.to(torch.int32)), expand(offsets), expand(cols.to(torch.int32)), expand(col_index))


def minference(out, path, sizes):
    spec = importlib.util.spec_from_file_location("minference_pit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for n in sizes:
        q, k, v = (torch.randn(1, HEADS, n, DIM, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        bc, bo, cc, ci = minference_index(n)
        seqlens = torch.tensor([n], dtype=torch.int32, device="cuda")
        pairs = 64.0 * HEADS * (bc[0, 0].double().sum().item() * 64 + cc[0, 0].double().sum().item())
        try:
            run = lambda: mod._triton_mixed_sparse_attention(q, k, v, seqlens, bc, bo, cc, ci, DIM ** -0.5, 64, 64)
            ms = median_ms(run, 5)
            torch.cuda.synchronize()
            emit(out, {"kind": "baseline-sparse", "name": "minference-triton vs-fixed", "n": n, "heads_q": HEADS,
                       "heads_kv": HEADS, "dim": DIM, "ms": ms, "tflops": 4 * DIM * pairs / ms / 1e9})
        except Exception as e:
            emit(out, {"kind": "baseline-sparse", "name": "minference-triton vs-fixed", "n": n, "error": str(e)[:300]})
            return
        del q, k, v, bc, bo, cc, ci
        torch.cuda.empty_cache()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--dense", default="32768,65536,131072,262144")
    parser.add_argument("--minference", default="")
    parser.add_argument("--minference-sizes", default="262144,524288")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}",
          flush=True)
    with open(args.json, "a") as out:
        if args.dense:
            dense(out, [int(x) for x in args.dense.split(",") if x])
        if args.minference:
            minference(out, args.minference, [int(x) for x in args.minference_sizes.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
