"""cuDNN's fused attention (PyTorch SDPA, cuDNN backend) on the language model's attention shape: 28 heads, head
dim 128, bf16, causal, batch 1, at the given lengths. One JSON line each, for the FLOP-count limit of the dense
pre-fill (bench/gpu-model/summarize.py). Median of three timed calls after one warm-up, CUDA events."""

import json
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel


def main():
    heads, dim = 28, 128
    for n in [int(x) for x in sys.argv[1].split(",")]:
        q, k, v = (torch.randn(1, heads, n, dim, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        times = []
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            for i in range(4):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                end.record()
                end.synchronize()
                if i > 0:
                    times.append(start.elapsed_time(end))
        ms = sorted(times)[len(times) // 2]
        flop = 2.0 * n * n * heads * dim
        print(json.dumps({"kind": "cudnn", "n": n, "ms": round(ms, 2), "tflops": round(flop / ms / 1e9, 1)}), flush=True)
        del q, k, v
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
