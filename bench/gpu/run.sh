#!/usr/bin/env bash
# One call on the GPU machine: build mmi-kernels for sm_90a, read its resource usage and SASS, check every kernel
# against the CPU reference, time the kernels, time PyTorch's cuDNN and FlashAttention SDPA backends (and
# MInference's Triton kernel when its source is carried in .devcarry/minference), profile one launch with ncu, and
# print the results table last. Full logs go under $OUT (or the first argument).
#   MMI_GPU_STEPS: space-separated subset of: build sass check bench baselines minference1m sanitize ncu summary
#   MMI_BENCH_ARGS: extra arguments of `mmi-kernels bench` (sizes, "none" to skip a part); MMI_BASELINE_DENSE:
#   sizes for the SDPA baselines (empty: none); MMI_CHECK_ARGS: e.g. --no-large. The full check runs last: the table
#   comes first. MMI_NCU_ARGS: the bench arguments whose first Hopper launch ncu profiles (default: dense 32K);
#   MMI_NCU_MODE: the Sm90Mode number of the kernel instance whose SASS is saved (1 dense TMA, 3 sparse TMA).
set -uo pipefail
OUT=${1:-${OUT:-/tmp/mmi-gpu-out}}
mkdir -p "$OUT"
LOG=$OUT/log.txt
RES=$OUT/results.jsonl
BUILD=${MMI_GPU_BUILD:-/tmp/mmi-gpu-build}
BIN=$BUILD/native/tools/kernels/mmi-kernels
STEPS=${MMI_GPU_STEPS:-build sass check bench baselines sanitize summary}
MINF=.devcarry/minference/minference_pit.py
export PYTHONUNBUFFERED=1

step() { echo "== $1 ($(date +%T))" | tee -a "$LOG"; }
want() { [[ " $STEPS " == *" $1 "* ]]; }

{
  echo "commit: ${MMI_COMMIT:-unknown}"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
} 2>&1 | tee -a "$LOG"

if want build; then
  step build
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMI_BUILD_TESTS=OFF -DMMI_CUDA=ON \
    -DMMI_CUDA_ARCHS=90a-real >>"$LOG" 2>&1 &&
    cmake --build "$BUILD" --target mmi-kernels -j 16 >>"$LOG" 2>&1 || {
    grep -E "error|Error" "$LOG" | head -40
    exit 1
  }
fi

if want sass; then
  step sass
  cuobjdump -res-usage "$BIN" 2>&1 | grep -B1 -A1 "attention_kernel" | grep -E "Function|REG" >"$OUT/sass.txt"
  cuobjdump -sass "$BIN" 2>/dev/null | python3 bench/gpu/sass_summary.py >>"$OUT/sass.txt"
  cat "$OUT/sass.txt" | cut -c1-160 | tee -a "$LOG" | tail -40
fi

if want check; then
  step check-quick
  timeout 120 "$BIN" check --quick 2>&1 | tee -a "$LOG" | tail -12
fi

if want bench; then
  step bench
  # shellcheck disable=SC2086
  timeout 170 "$BIN" bench ${MMI_BENCH_ARGS:-} --json "$RES" 2>&1 | tee -a "$LOG" | tail -40
fi

if want baselines; then
  step baselines
  extra=()
  [[ -f $MINF ]] && extra=(--minference "$MINF")
  timeout 100 python3 bench/gpu/baselines.py --json "$RES" --dense "${MMI_BASELINE_DENSE-32768,65536,131072,262144}" \
    "${extra[@]}" 2>&1 | tee -a "$LOG" | tail -12
fi

if want minference1m && [[ -f $MINF ]]; then
  step minference-1M  # its own process: an illegal address poisons the CUDA context
  timeout 90 python3 bench/gpu/baselines.py --json "$RES" --dense "" --minference "$MINF" \
    --minference-sizes 1048576 2>&1 | tee -a "$LOG" | tail -4
fi

if want sanitize; then
  step memcheck
  timeout 80 compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN" check --quick >"$OUT/sanitizer.txt" 2>&1
  echo "memcheck exit $?" | tee -a "$OUT/sanitizer.txt" "$LOG"
  tail -3 "$OUT/sanitizer.txt" | tee -a "$LOG"
  step racecheck
  timeout 80 compute-sanitizer --tool racecheck --error-exitcode 9 "$BIN" check --quick >>"$OUT/sanitizer.txt" 2>&1
  echo "racecheck exit $?" | tee -a "$OUT/sanitizer.txt" "$LOG"
  tail -3 "$OUT/sanitizer.txt" | tee -a "$LOG"
fi

if want ncu; then
  # One launch of the Hopper kernel (by default the first sm90 launch of the dense bench: TMA, ping-pong, 32K), full
  # set, then its per-instruction stall samples.
  step ncu
  read -r -a ncu_args <<<"${MMI_NCU_ARGS:---dense 32768 --sparse none --grid none}"
  timeout 200 ncu --clock-control none --set full --import-source no -k regex:sm90_attention_kernel -c 1 \
    -o /tmp/mmi-prof -f "$BIN" bench "${ncu_args[@]}" >>"$LOG" 2>&1
  ncu -i /tmp/mmi-prof.ncu-rep --print-summary none >"$OUT/ncu.txt" 2>&1
  ncu -i /tmp/mmi-prof.ncu-rep --page source --csv --print-source sass >/tmp/mmi-src.csv 2>&1
  python3 bench/gpu/ncu_source.py /tmp/mmi-src.csv >"$OUT/ncu_source.txt" 2>&1
  grep -E "Duration|Compute \(SM\) Throughput|Registers Per|Issue Slots|Executed Ipc|No Eligible|Active Warps Per Scheduler|Eligible Warps" \
    "$OUT/ncu.txt" | head -20 | tee -a "$LOG"
  head -25 "$OUT/ncu_source.txt" | cut -c1-200 | tee -a "$LOG"
  # And the instance's SASS, for reading.
  fn=$(cuobjdump -symbols "$BIN" 2>/dev/null | grep -o "_Z[A-Za-z0-9_]*sm90_attention_kernelI13__nv_bfloat16Li128ELNS1_8Sm90ModeE${MMI_NCU_MODE:-1}ELb1E[A-Za-z0-9_]*" | head -1)
  cuobjdump -sass -fun "$fn" "$BIN" >"$OUT/sass_profiled.txt" 2>&1
fi

if want check; then
  step check
  # shellcheck disable=SC2086
  timeout "${MMI_CHECK_TIMEOUT:-330}" "$BIN" check ${MMI_CHECK_ARGS:-} --json "$RES" >>"$LOG" 2>&1
  echo "check exit $?" | tee -a "$LOG"
  grep -E "^(FAIL|check:)" "$LOG" | tail -30
fi

if want summary; then
  step summary
  python3 bench/gpu/summarize.py "$RES" | tee "$OUT/summary.md"
fi
