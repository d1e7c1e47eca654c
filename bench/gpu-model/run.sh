#!/usr/bin/env bash
# One run on a GPU machine (repository root): the Qwen2.5-VL CUDA backend's checks — the tiny fixtures against
# transformers, CUDA vs CPU, the model ops and kernels, compute-sanitizer on a tiny model — then the scale run on a
# 7B-shaped random model built here (64K/128K/256K-token synthetic videos: vision, dense and sparse pre-fill,
# decode, peak memory, and the refusal of a prompt that does not fit). Logs under $OUT; the table is printed last.
#
#   bash bench/gpu-model/run.sh [TOKENS] [REFUSE]     # defaults 65536,131072,262144 and 1048576
#
# MMI_SCALE_ONLY=1 skips the checks and compute-sanitizer (the scale run alone, e.g. 1M tokens on a GPU with the
# memory for it); MMI_DENSE_LAYERS=K times the dense pre-fills on their first K layers and extrapolates (see the
# bench's --dense-layers); MMI_SDPA_TOKENS: the sizes cuDNN is timed at (default: TOKENS).
#
# Binaries: .gpu-bin/ (built elsewhere and carried) or, when absent, built here into build-gpu/.
set -uo pipefail
OUT=${OUT:-/tmp/mmi-gpu-out}
mkdir -p "$OUT"
TOKENS=${1:-65536,131072,262144}
REFUSE=${2:-1048576}
ROOT=$PWD
BIN=$ROOT/.gpu-bin
MODEL=${MMI_SCALE_MODEL:-/tmp/mmi-qwen2_5_vl-7b}
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started )); }
step() { echo "== $(elapsed)s: $*" | tee -a "$OUT/checks.log"; }

export MMI_FIXTURES_DIR=$ROOT/models/qwen2_5_vl/fixtures
export PYTHONUNBUFFERED=1
. "$ROOT/bench/cublaslt-env.sh"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "cuBLASLt: $MMI_CUBLASLT"
  git -C "$ROOT" log -1 --format='commit %H %s' 2>/dev/null || true
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

if [ ! -x "$BIN/runtime_cuda_qwen_test" ]; then
  step "building (no carried binaries)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMI_CUDA=ON -DMMI_CUDA_ARCHS=90a-real >> "$OUT/checks.log" 2>&1
  targets=(mmi-qwen-gpu-bench)
  [ -z "${MMI_SCALE_ONLY:-}" ] && targets+=(runtime_cuda_ops_test runtime_cuda_qwen_test runtime_cuda_memory_plan_test)
  cmake --build build-gpu -j16 --target "${targets[@]}" >> "$OUT/checks.log" 2>&1 ||
    { echo "BUILD FAILED"; tail -30 "$OUT/checks.log"; exit 1; }
  BIN=$ROOT/build-gpu/test/native/runtime/cuda
fi

status=0
checks=(runtime_cuda_memory_plan_test runtime_cuda_ops_test runtime_cuda_qwen_test)
[ -n "${MMI_SCALE_ONLY:-}" ] && checks=()
step "memory plan, ops and kernels, model on CUDA"
for t in "${checks[@]}"; do
  "$BIN/$t" >> "$OUT/checks.log" 2>&1
  rc=$?
  echo "$t: exit $rc" | tee -a "$OUT/checks.log"
  [ $rc -ne 0 ] && status=1
done
grep -E "max rel error|greedy tokens|FAIL|failed|SKIP" "$OUT/checks.log" | tail -60

step "7B-shaped model"
# Built once per machine: a second call of this script reuses the folder.
if [ -f "$MODEL/model.safetensors.index.json" ]; then
  echo "{\"kind\":\"model\",\"reused\":\"$MODEL\"}" > "$OUT/scale.jsonl"
else
  python3 models/qwen2_5_vl/fixtures/scale/make_model.py "$MODEL" > "$OUT/scale.jsonl" 2> "$OUT/scale.err"
fi
step "cuDNN attention rates"
python3 bench/gpu-model/sdpa_rates.py "${MMI_SDPA_TOKENS:-$TOKENS}" >> "$OUT/scale.jsonl" 2>> "$OUT/scale.err"
step "scale run"
"$BIN/mmi-qwen-gpu-bench" --model "$MODEL" --tokens "$TOKENS" --decode 32 --refuse "$REFUSE" \
  --dense-layers "${MMI_DENSE_LAYERS:-0}" \
  >> "$OUT/scale.jsonl" 2>> "$OUT/scale.err"
echo "bench: exit $?" | tee -a "$OUT/checks.log"
grep -h REFUSAL "$OUT/scale.jsonl" | cut -c1-600
tail -5 "$OUT/scale.err"

# compute-sanitizer on a tiny model and on the kernels, with what time is left (the call's limit is 600 s).
left=$(( 540 - $(elapsed) ))
if [ $left -gt 60 ] && [ -z "${MMI_SCALE_ONLY:-}" ]; then
  step "compute-sanitizer ($left s left)"
  {
    timeout $(( left / 2 )) compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN/runtime_cuda_qwen_test" tiny_a
    echo "memcheck tiny_a: exit $?"
    timeout $(( left / 4 )) compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN/runtime_cuda_qwen_test" patterns
    echo "memcheck sparse patterns (random model): exit $?"
    timeout $(( left / 8 )) compute-sanitizer --tool racecheck --error-exitcode 9 "$BIN/runtime_cuda_ops_test" flash
    echo "racecheck flash: exit $?"
    timeout $(( left / 8 )) compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN/runtime_cuda_ops_test"
    echo "memcheck ops and kernels: exit $?"
  } > "$OUT/sanitizer.log" 2>&1
  grep -E "ERROR SUMMARY|exit|Killed|Terminated" "$OUT/sanitizer.log"
fi

step "summary"
python3 bench/gpu-model/summarize.py "$OUT/RESULTS.md" "$OUT/scale.jsonl"
echo "checks status: $status"
