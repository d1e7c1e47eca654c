#!/usr/bin/env bash
# Builds what bench/gpu-search/run.sh runs on a GPU machine, here (a machine with nvcc; no GPU needed): the
# runtime's GPU tests and mmi-search-bench for sm_90a (CUDA runtime linked statically), packed into .gpu-search/
# (git-ignored through .git/info/exclude), which the call carries. Run from the repository root.
set -euo pipefail
ROOT=$PWD
BUILD=build/gpu-search
EXCLUDE=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$EXCLUDE")"
grep -qsx '/.gpu-search/' "$EXCLUDE" || echo '/.gpu-search/' >> "$EXCLUDE"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMI_CUDA=ON -DMMI_CUDA_ARCHS=90a-real > /dev/null
cmake --build "$BUILD" -j2 --target runtime_cuda_qwen_test mmi-search-bench
for b in "$BUILD/test/native/runtime/cuda/runtime_cuda_qwen_test" "$BUILD/test/native/patterns/mmi-search-bench"; do
  if ldd "$b" | grep -q cudart; then
    echo "$b needs libcudart" >&2
    exit 1
  fi
done
rm -rf .gpu-search
mkdir -p .gpu-search
tar -cJf .gpu-search/bin.tar.xz -C "$BUILD/test/native/runtime/cuda" runtime_cuda_qwen_test \
  -C "$ROOT/$BUILD/test/native/patterns" mmi-search-bench
du -sh .gpu-search/bin.tar.xz
