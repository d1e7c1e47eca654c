#!/usr/bin/env bash
# One call on a GPU machine (repository root) for the patterns estimated on the device (block-sparse, Q-boundary,
# 2D-boundary) and the pre-fill's heatmaps: the kernels' checks against the CPU core's float64 references, the
# model's CUDA tests (every pattern at full budget = dense, interleaved videos, heatmaps), the patterns' kernel bench
# on a mixed-modality prompt with cuDNN dense timed in the same call, and the 7B-shaped model on text and three
# interleaved videos (dense, the boundary pattern file, the same with one layer's heatmaps). Logs under $OUT.
#
#   bash bench/gpu/patterns.sh [TOKENS]     # default 262144
#
# MMI_STEPS: a subset of "check model kbench scale" (default all). Binaries: $MMI_BIN (default .devcarry/gpu:
# mmi-kernels, runtime_cuda_qwen_test, mmi-qwen-gpu-bench built elsewhere for sm_90a), or built here when absent.
set -uo pipefail
OUT=${OUT:-/tmp/mmi-gpu-out}
mkdir -p "$OUT"
N=${1:-262144}
ROOT=$PWD
BIN=${MMI_BIN:-$ROOT/.devcarry/gpu}
STEPS=${MMI_STEPS:-check model kbench scale}
MODEL=${MMI_SCALE_MODEL:-/tmp/mmi-qwen2_5_vl-7b}
export MMI_FIXTURES_DIR=$ROOT/models/qwen2_5_vl/fixtures PYTHONUNBUFFERED=1
. "$ROOT/bench/cublaslt-env.sh"
want() { [[ " $STEPS " == *" $1 "* ]]; }
step() { echo "== $(date +%T) $*"; }
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  git -C "$ROOT" log -1 --format='commit %H' 2>/dev/null || true
} | tee "$OUT/gpu.txt"
if [ ! -x "$BIN/mmi-kernels" ]; then
  step "building (no carried binaries)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMI_CUDA=ON -DMMI_CUDA_ARCHS=90a-real > "$OUT/build.log" 2>&1
  cmake --build build-gpu -j16 --target mmi-kernels runtime_cuda_qwen_test mmi-qwen-gpu-bench >> "$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log"; exit 1; }
  mkdir -p "$BIN"
  cp build-gpu/native/tools/kernels/mmi-kernels build-gpu/test/native/runtime/cuda/{runtime_cuda_qwen_test,mmi-qwen-gpu-bench} "$BIN/"
fi
status=0
if want check; then
  step "mmi-kernels check --no-large"
  timeout 240 "$BIN/mmi-kernels" check --no-large --json "$OUT/check.jsonl" > "$OUT/check.txt" 2>&1 || status=1
  grep -v '^PASS' "$OUT/check.txt" | cut -c1-220
  grep -c '^PASS' "$OUT/check.txt"
fi
if want model; then
  step "runtime_cuda_qwen_test"
  timeout 240 "$BIN/runtime_cuda_qwen_test" > "$OUT/model.txt" 2>&1 || status=1
  grep -E "FAIL|failed|passed|full budget|interleaved|heatmaps|keeps" "$OUT/model.txt" | cut -c1-200 | tail -40
fi
if want kbench; then
  step "patterns bench at $N, cuDNN in the same call"
  timeout 200 "$BIN/mmi-kernels" bench --dense none --sparse none --grid none --patterns "$N" --json "$OUT/kbench.jsonl" 2>&1 | cut -c1-400
  timeout 60 python3 bench/gpu/baselines.py --json "$OUT/kbench.jsonl" --dense "$N" 2>&1 | tail -3
fi
if want scale; then
  step "7B-shaped model, interleaved videos at $N"
  [ -f "$MODEL/model.safetensors.index.json" ] ||
    python3 models/qwen2_5_vl/fixtures/scale/make_model.py "$MODEL" > "$OUT/make_model.log" 2>&1
  timeout 240 "$BIN/mmi-qwen-gpu-bench" --model "$MODEL" --tokens "" --decode 0 --dense-layers "${MMI_DENSE_LAYERS:-3}" \
    --interleaved "$N" > "$OUT/scale.jsonl" 2> "$OUT/scale.err"
  echo "bench exit $?"
  grep interleaved "$OUT/scale.jsonl" | cut -c1-600
  tail -3 "$OUT/scale.err"
fi
echo "status $status"
