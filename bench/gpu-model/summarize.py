"""Turns the GPU run's JSON lines into the scale table (markdown) and the target checks, printed and written to
the file given. Inputs: the bench's lines (mmi-qwen-gpu-bench), cuDNN's rates (sdpa_rates.py), the model line
(make_model.py)."""

import json
import sys


def load(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def main():
    out_path, paths = sys.argv[1], sys.argv[2:]
    rows = [r for p in paths for r in load(p)]
    model = next((r for r in rows if r["kind"] == "model"), {})
    load_line = next((r for r in rows if r["kind"] == "load"), {})
    gemm = {r["shape"]: r for r in rows if r["kind"] == "gemm"}
    cudnn = {r["n"]: r for r in rows if r["kind"] == "cudnn"}
    prefill = [r for r in rows if r["kind"] == "prefill"]
    refusal = next((r for r in rows if r["kind"] == "refusal"), None)

    # Qwen2.5-VL-7B language model: per-token linear FLOPs and the causal attention FLOPs (research/engine.md §0).
    D, I, H, KV, hd, L = 3584, 18944, 28, 4, 128, 28
    linear_per_token = 2 * L * (D * (H + 2 * KV) * hd + H * hd * D + 3 * D * I)
    gemm_rate = gemm.get("layer", {}).get("tflops", 0.0)

    lines = []
    lines.append(f"Model: {model.get('params', 0) / 1e9:.2f} B parameters, {model.get('bytes', 0) / 2**30:.1f} GiB bf16 in "
                 f"{model.get('shards', 0)} shards, built in {model.get('seconds', 0)} s (transformers "
                 f"{model.get('transformers', '?')}, torch {model.get('torch', '?')}); engine load "
                 f"{load_line.get('ms', 0) / 1000:.1f} s; {load_line.get('backend', '')}")
    lines.append(f"GEMM rate (one layer's four GEMMs, 4096 rows, cuBLASLt through the engine): {gemm_rate} TFLOP/s; "
                 + ", ".join(f"{k} {v['tflops']}" for k, v in gemm.items() if k != "layer"))
    lines.append("")
    lines.append("| tokens | video tokens | vision s | pre-fill dense s | sparse mixed s (index: estimate + build) | "
                 "speed-up | sparse video s (index) | speed-up | dense / FLOP limit | decode tok/s | peak GiB "
                 "dense / mixed / video |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    by_n = {}
    for r in prefill:
        by_n.setdefault(r["tokens"], {})[r["mode"]] = r
    checks, densities = [], []

    def sparse_cells(d, s):
        if not s:
            return "-", "-"
        cell = f"{s['prefill_ms'] / 1000:.2f} ({s['index_estimate_ms'] / 1000:.2f} + {s['index_build_ms'] / 1000:.2f})"
        return cell, f"{d['prefill_ms'] / s['prefill_ms']:.2f}x"

    for n in sorted(by_n):
        d = by_n[n].get("dense")
        if not d:
            continue
        m, v = by_n[n].get("sparse_mixed"), by_n[n].get("sparse_video")
        attn = 2.0 * n * n * H * hd * L
        near = min(cudnn, key=lambda x: abs(x - n)) if cudnn else None
        limit_s = None
        if near and gemm_rate:
            limit_s = linear_per_token * n / (gemm_rate * 1e12) + attn / (cudnn[near]["tflops"] * 1e12)
        ratio = d["prefill_ms"] / 1000 / limit_s if limit_s else None
        m_cell, m_speed = sparse_cells(d, m)
        v_cell, v_speed = sparse_cells(d, v)
        ratio_text = f"{ratio:.2f} (limit {limit_s:.2f} s)" if ratio else "-"
        peaks = " / ".join(f"{x['peak_gib']:.1f}" if x else "-" for x in (d, m, v))
        lines.append(f"| {n} | {d['video_tokens']} | {d['vision_ms'] / 1000:.2f} | {d['prefill_ms'] / 1000:.2f} | "
                     f"{m_cell} | {m_speed} | {v_cell} | {v_speed} | {ratio_text} | {d['decode_tps']:.1f} | {peaks} |")
        for name, x in (("mixed", m), ("video", v)):
            if x:
                densities.append(f"{n} {name}: " + ", ".join(f"{k} {val:.3f}" for k, val in x.get("density", {}).items()))
        best = max((d["prefill_ms"] / x["prefill_ms"] for x in (m, v) if x), default=None)
        if n >= 250000 and best:
            checks.append(f"sparse >= 5x dense at {n}: {'met' if best >= 5 else 'MISSED'} (best {best:.2f}x)")
        if ratio:
            checks.append(f"dense within 1.2x of the FLOP limit at {n}: {'met' if ratio <= 1.2 else 'MISSED'} ({ratio:.2f}x)")
        if 120000 <= n <= 140000:
            checks.append(f"decode >= 30 tok/s at {n}: {'met' if d['decode_tps'] >= 30 else 'MISSED'} ({d['decode_tps']:.1f})")
    lines.append("")
    lines.append("Key tiles computed / dense causal tiles, per pattern: " + "; ".join(densities))
    lines.append("")
    lines.append("cuDNN SDPA (28 heads, D 128, causal, bf16): " + ", ".join(
        f"{n}: {r['ms']} ms = {r['tflops']} TFLOP/s" for n, r in sorted(cudnn.items())))
    if refusal:
        lines.append(f"Refusal at {refusal['tokens']} tokens: {'refused with OutOfMemory' if refusal.get('refused') else 'NOT refused'}")
    lines.append("")
    lines += checks
    text = "\n".join(lines)
    print(text)
    with open(out_path, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
