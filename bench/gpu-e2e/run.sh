#!/usr/bin/env bash
# The end-to-end GPU check of the engine from Node (issue 6 item 6), on a GPU machine without Node or ffmpeg, in two
# consecutive calls on the same machine (what they carry does not fit one call; bench/gpu-e2e/pack.sh builds it):
#
#   bash bench/gpu-e2e/run.sh a   # carry .gpu-e2e/a: Node, ffmpeg and the binaries go to /opt/mmi; mmi-kernels
#                                 # check --quick (and under compute-sanitizer memcheck), the runtime's GPU tests
#   bash bench/gpu-e2e/run.sh b   # carry .gpu-e2e/b: the app; the GPU tests of the binding and the engine host;
#                                 # mmi ask on the GPU and on the CPU (tiny-a, the demo video) and their agreement;
#                                 # a 7B-shaped random model and mmi ask on a synthetic video, with its timings
#
# Logs and results under $OUT (at most 8 files); a summary is printed last. MMI_E2E_SECONDS (default 300) is the
# call's own time budget: optional steps are skipped when it would run out.
set -uo pipefail
STEP=${1:?usage: run.sh a|b}
OUT=${OUT:-/tmp/mmi-gpu-e2e}
mkdir -p "$OUT"
ROOT=$PWD
OPT=/opt/mmi
CARRY=$ROOT/.gpu-e2e
BUDGET=${MMI_E2E_SECONDS:-300}
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }
left() { echo $((BUDGET - $(elapsed))); }
SUMMARY=$OUT/summary.txt
note() { echo "$*" | tee -a "$SUMMARY"; }
# run NAME LIMIT LOG COMMAND...: the command's output appended to LOG, its exit status noted.
run() {
  local name=$1 limit=$2 log=$3
  shift 3
  echo "== $(elapsed)s $name: $*" >> "$log"
  timeout "$limit" "$@" >> "$log" 2>&1
  local rc=$?
  note "$name: exit $rc at $(elapsed)s"
  return $rc
}

export MMI_FIXTURES_DIR=$ROOT/models/qwen2_5_vl/fixtures
export PATH=$OPT:$PATH FFMPEG_PATH=$OPT/ffmpeg FFPROBE_PATH=$OPT/ffprobe MMI_ADDON_PATH=$OPT/mmi.node
. "$ROOT/bench/cublaslt-env.sh"

case $STEP in
a)
  : > "$SUMMARY"
  mkdir -p $OPT
  xz -dc "$CARRY/a/node.xz" > $OPT/node && xz -dc "$CARRY/a/ffmpeg.xz" > $OPT/ffmpeg && chmod +x $OPT/node $OPT/ffmpeg
  tar -xJf "$CARRY/a/bin.tar.xz" -C $OPT
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    echo "node $($OPT/node --version), cuBLASLt $MMI_CUBLASLT"
    git -C "$ROOT" log -1 --format='commit %h %s' 2>/dev/null
  } > "$OUT/gpu.txt" 2>&1
  cat "$OUT/gpu.txt" >> "$SUMMARY"
  run "mmi-kernels check --quick" 120 "$OUT/kernels.log" $OPT/mmi-kernels check --quick
  grep -E "^(PASS|FAIL)|^check:" "$OUT/kernels.log" | grep -E "FAIL|check:|heatmaps|grid" | tee -a "$SUMMARY"
  for t in memory_plan ops qwen; do
    run "runtime_cuda_${t}_test" 240 "$OUT/runtime.log" $OPT/runtime_cuda_${t}_test
  done
  grep -E "^(PASS|FAIL|SKIP)|passed|failed" "$OUT/runtime.log" | tail -40 >> "$SUMMARY"
  if [ "$(left)" -gt 60 ]; then
    run "compute-sanitizer memcheck mmi-kernels check --quick" $(($(left) - 20)) "$OUT/memcheck.log" \
      compute-sanitizer --tool memcheck --error-exitcode 9 $OPT/mmi-kernels check --quick
    grep -E "ERROR SUMMARY|^check:" "$OUT/memcheck.log" | tee -a "$SUMMARY"
  else
    note "compute-sanitizer: skipped, $(left)s left"
  fi
  ;;
b)
  xz -dc "$CARRY/b/ffprobe.xz" > $OPT/ffprobe && chmod +x $OPT/ffprobe
  tar -xJf "$CARRY/b/app.tar.xz" -C "$ROOT" && mv "$ROOT/mmi.node" $OPT/mmi.node
  LOG=$OUT/b.log
  note "b: node $(node --version), GPU $(nvidia-smi --query-gpu=name --format=csv,noheader)"
  run "vitest: the binding's and the engine host's device tests" 150 "$OUT/tests.log" \
    node node_modules/vitest/vitest.mjs run test/addon/device.test.ts test/integration/engine/engine-device.test.ts
  grep -E "✓|×|skipped|Tests |device.test|engine-device.test" "$OUT/tests.log" | sed 's/\x1b\[[0-9;]*m//g' |
    tail -25 >> "$SUMMARY"
  tiny=models/qwen2_5_vl/fixtures/tiny-a/model
  demo=models/qwen2_5_vl/demo/testsrc2-4s.mp4
  question="What is moving in this video?"
  run "mmi ask tiny-a (auto: GPU)" 120 "$LOG" sh -c \
    "node bin/mmi.js ask --model $tiny --video $demo --max-tokens 16 --json '$question' > $OUT/ask-gpu.json"
  run "mmi ask tiny-a (MMI_DEVICE=cpu)" 120 "$LOG" sh -c \
    "MMI_DEVICE=cpu node bin/mmi.js ask --model $tiny --video $demo --max-tokens 16 --json '$question' > $OUT/ask-cpu.json"
  run "GPU answer vs CPU backend" 120 "$LOG" sh -c \
    "node bench/gpu-e2e/ask-agreement.mjs $OUT/ask-gpu.json $OUT/ask-cpu.json > $OUT/agreement.json"
  if [ "$(left)" -gt 150 ]; then
    model=/tmp/mmi-qwen2_5_vl-7b
    video=/tmp/mmi-synthetic-64s.mp4
    run "7B-shaped model" 150 "$LOG" sh -c \
      "PYTHONUNBUFFERED=1 python3 models/qwen2_5_vl/fixtures/scale/make_model.py $model &&
       python3 bench/gpu-e2e/scale_prompt_files.py $model"
    run "synthetic video (64 s, 1008x560)" 60 "$LOG" $OPT/ffmpeg -v error -y -f lavfi \
      -i testsrc2=size=1008x560:rate=4 -t 64 -c:v libx264 -preset ultrafast -pix_fmt yuv420p $video
    run "mmi ask 7B-shaped (auto: GPU)" $(($(left) - 10)) "$LOG" sh -c \
      "node bin/mmi.js ask --model $model --video $video --fps 2 --max-frames 128 --max-pixels 564480 \
       --max-tokens 32 --json 'Describe the video.' > $OUT/ask-7b.json"
  else
    note "7B-shaped model: skipped, $(left)s left"
  fi
  node -e '
    const fs = require("fs");
    const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch { return null; } };
    for (const name of ["ask-gpu", "ask-cpu", "ask-7b"]) {
      const r = read(`${process.argv[1]}/${name}.json`);
      if (!r) { console.log(`${name}: no result`); continue; }
      const t = r.timings;
      console.log(`${name}: device ${r.device}, ${r.prefilledTokens} tokens pre-filled (${r.videoTokens} video),` +
        ` tokens ${JSON.stringify(r.tokens)}; load ${t.loadMs.toFixed(0)} ms, video ${t.videoMs.toFixed(0)} ms,` +
        ` vision ${t.visionMs.toFixed(0)} ms, pre-fill ${t.prefillMs.toFixed(0)} ms, first token` +
        ` ${t.firstTokenMs?.toFixed(0)} ms, decode ${t.decodeTokensPerSec.toFixed(1)} tok/s, total ${t.totalMs.toFixed(0)} ms`);
    }
    const a = read(`${process.argv[1]}/agreement.json`);
    if (a) {
      const { detail, ...rest } = a;
      console.log(`agreement: ${JSON.stringify(rest)}`);
    }
  ' "$OUT" | tee -a "$SUMMARY"
  ;;
esac
echo "---- summary ($(elapsed)s)"
cat "$SUMMARY"
