#!/usr/bin/env bash
# Builds and packs what bench/gpu-e2e/run.sh needs on a GPU machine that has no Node and no ffmpeg, here (a machine
# with nvcc and Node; no GPU needed): the addon and the native tools for sm_90a, the compiled app, and compressed
# copies of Node, ffmpeg and ffprobe. Two folders, one per call (together they exceed what one call carries):
#   .gpu-e2e/a  Node, ffmpeg, mmi-kernels and the runtime's GPU tests
#   .gpu-e2e/b  ffprobe, the addon, dist/ and the production modules the CLI and the engine host import, and vitest
#               with its own modules for the GPU tests of the binding and the engine host
# Both are git-ignored through .git/info/exclude. Run from the repository root: bash bench/gpu-e2e/pack.sh
set -euo pipefail
ROOT=$PWD
PACK=$ROOT/.gpu-e2e
NATIVE=build/gpu-e2e-native
ADDON=build/gpu-e2e-addon
grep -qx '/.gpu-e2e/' .git/info/exclude || echo '/.gpu-e2e/' >> .git/info/exclude

echo "== building for sm_90a"
cmake -S . -B "$NATIVE" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMMI_CUDA=ON -DMMI_CUDA_ARCHS=90a-real > /dev/null
cmake --build "$NATIVE" -j2 --target mmi-kernels runtime_cuda_ops_test runtime_cuda_qwen_test \
  runtime_cuda_memory_plan_test
node node_modules/cmake-js/bin/cmake-js compile --out "$ADDON" --target mmi_addon --parallel 2 \
  --CDMMI_CUDA=ON --CDMMI_CUDA_ARCHS=90a-real > "$ADDON.log"
npm run build:ts > /dev/null
# The CUDA runtime is linked in: the addon loads where no CUDA toolkit is installed.
if ldd "$ADDON/Release/mmi.node" | grep -q cudart; then
  echo "mmi.node needs libcudart" >&2
  exit 1
fi

rm -rf "$PACK"
mkdir -p "$PACK/a" "$PACK/b"
echo "== .gpu-e2e/a"
xz -T2 -c "$(command -v node)" > "$PACK/a/node.xz"
xz -T2 -c node_modules/@ffmpeg-installer/linux-x64/ffmpeg > "$PACK/a/ffmpeg.xz"
tar -cJf "$PACK/a/bin.tar.xz" -C "$NATIVE/native/tools/kernels" mmi-kernels \
  -C "$ROOT/$NATIVE/test/native/runtime/cuda" runtime_cuda_memory_plan_test runtime_cuda_ops_test runtime_cuda_qwen_test

echo "== .gpu-e2e/b"
xz -T2 -c node_modules/@ffprobe-installer/linux-x64/ffprobe > "$PACK/b/ffprobe.xz"
# The modules the compiled CLI and engine host import at run time, and vitest's, each with its dependencies.
modules=$(node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  const walk = (name) => {
    const dir = path.join("node_modules", name);
    if (seen.has(name) || !fs.existsSync(dir)) return;
    seen.add(name);
    const p = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) walk(d);
  };
  ["zod", "@huggingface/tokenizers", "@huggingface/jinja", "d3-scale-chromatic", "vitest"].forEach(walk);
  console.log([...seen].map((n) => path.join("node_modules", n)).join(" "));
')
cp "$ADDON/Release/mmi.node" "$PACK/mmi.node"
# shellcheck disable=SC2086
tar -cJf "$PACK/b/app.tar.xz" dist $modules -C "$PACK" mmi.node
rm "$PACK/mmi.node"
du -sh "$PACK"/a/* "$PACK"/b/*
du -sh "$PACK/a" "$PACK/b"
