#!/usr/bin/env bash
# The offline pattern search on a GPU machine (issue 7 item 6), in one call: the runtime's GPU tests (the observed
# q/k of the GPU backend against the CPU backend's among them), the host's scoring cost per candidate at the
# prompt length, then mmi-search-bench's search on the 7B-shaped random model over a synthetic video prompt.
# Binaries are built here for sm_90a (bench/gpu-search/pack.sh) and carried in .gpu-search/.
#
#   bash bench/gpu-search/run.sh [TOKENS] [CANDIDATES]    # defaults 65536 and the set in RESULTS.md
#
# Logs and results under $OUT; a summary is printed last.
set -uo pipefail
TOKENS=${1:-65536}
CANDIDATES=${2:-0,1,2,4,8,9,10,11,14,20,26}
OUT=${OUT:-/tmp/mmi-gpu-search}
mkdir -p "$OUT"
ROOT=$PWD
BIN=/opt/mmi-search
MODEL=/tmp/mmi-qwen2_5_vl-7b
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }
SUMMARY=$OUT/summary.txt
note() { echo "$*" | tee -a "$SUMMARY"; }
: > "$SUMMARY"

export MMI_FIXTURES_DIR=$ROOT/models/qwen2_5_vl/fixtures PYTHONUNBUFFERED=1
. "$ROOT/bench/cublaslt-env.sh"

mkdir -p $BIN
tar -xJf "$ROOT/.gpu-search/bin.tar.xz" -C $BIN
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "cuBLASLt $MMI_CUBLASLT"
  git -C "$ROOT" log -1 --format='commit %h %s' 2>/dev/null
} >> "$SUMMARY" 2>&1
cat "$SUMMARY"

timeout 240 $BIN/runtime_cuda_qwen_test > "$OUT/qwen-test.log" 2>&1
note "runtime_cuda_qwen_test: exit $? at $(elapsed)s"
grep -E "observ|^(ok|FAIL)|cases" "$OUT/qwen-test.log" >> "$SUMMARY"

timeout 60 $BIN/mmi-search-bench cost --tokens "$TOKENS" --heads 1 --candidates "$CANDIDATES" \
  > "$OUT/cost.jsonl" 2> "$OUT/cost.err"
note "scoring cost (one head, one thread): exit $? at $(elapsed)s"
tail -2 "$OUT/cost.jsonl" >> "$SUMMARY"

python3 models/qwen2_5_vl/fixtures/scale/make_model.py "$MODEL" > "$OUT/model.log" 2>&1
note "7B-shaped model: exit $? at $(elapsed)s"

left=$((570 - $(elapsed)))
timeout $left $BIN/mmi-search-bench search --model "$MODEL" --tokens "$TOKENS" --candidates "$CANDIDATES" \
  --out "$OUT/patterns.json" > "$OUT/search.jsonl" 2> "$OUT/search.err"
note "search: exit $? at $(elapsed)s (limit ${left}s)"
tail -3 "$OUT/search.err" >> "$SUMMARY"
grep -v '"layer"' "$OUT/search.jsonl" >> "$SUMMARY"
echo "---- summary ($(elapsed)s)"
cat "$SUMMARY"
