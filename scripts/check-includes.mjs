#!/usr/bin/env node
// Checks that the C++/CUDA sources include only the layers below their own (docs/architecture.md §2): kernels →
// runtime (with the GPU model ops above it) → model families and patterns → C API → binding. Each public header lives
// under its layer's include/mmi/<name>/ folder, so an include names the layer it reaches. A model family includes
// no other family; the C API names a family only in its registry (native/capi/src/families.cpp). Tools, benches and
// tests may include any layer. Prints every include that breaks the table and exits 1 if there is one.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The layer a source file belongs to, by its folder; null: tools, benches and tests (any include allowed). */
function layerOfFile(file) {
  if (file.startsWith('kernels/ops/cuda/')) return 'ops-cuda';
  if (file.startsWith('kernels/ops/')) return 'ops';
  if (file.startsWith('kernels/cuda/')) return 'attention-cuda';
  if (file.startsWith('kernels/')) return 'attention';
  if (file.startsWith('native/runtime/')) return 'runtime';
  if (file.startsWith('native/patterns/')) return 'patterns';
  if (file.startsWith('native/capi/') || file.startsWith('native/include/')) return 'capi';
  if (file.startsWith('native/addon/')) return 'binding';
  if (/^models\/[^/]+\/(src|include)\//.test(file)) return 'model';
  return null;
}

/** The family folder of a model source (models/<family>/...), or null. */
function familyOfFile(file) {
  return /^models\/([^/]+)\//.exec(file)?.[1] ?? null;
}

/** The layer an include names; null: a private header of the including folder. */
function layerOfInclude(name) {
  if (name === 'mmi.h') return 'capi';
  if (name.startsWith('mmi/ops/cuda/')) return 'ops-cuda';
  if (name.startsWith('mmi/ops/')) return 'ops';
  if (name.startsWith('mmi/cuda/')) return 'attention-cuda';
  if (name.startsWith('mmi/attention/') || name === 'mmi/sparse_index.hpp' || name === 'mmi/error.hpp') {
    return 'attention';
  }
  if (name.startsWith('mmi/runtime/')) return 'runtime';
  if (name.startsWith('mmi/patterns/')) return 'patterns';
  if (name.startsWith('mmi/')) return 'model';
  return null;
}

const kernels = ['attention', 'ops', 'attention-cuda', 'ops-cuda'];
/** What each layer may include besides itself. */
const mayInclude = {
  attention: [],
  ops: [],
  'attention-cuda': ['attention'],
  // The model ops on the GPU allocate and check their calls through the runtime's CUDA layer.
  'ops-cuda': ['ops', 'runtime'],
  runtime: ['attention', 'ops', 'attention-cuda'],
  model: ['runtime', ...kernels],
  patterns: ['runtime', ...kernels],
  capi: ['model', 'patterns', 'runtime', ...kernels],
  binding: ['capi'],
};
const familyRegistry = 'native/capi/src/families.cpp';

const files = execFileSync('git', ['ls-files', '*.cpp', '*.hpp', '*.h', '*.c', '*.cu', '*.cuh'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const { readFileSync } = await import('node:fs');
const broken = [];
for (const file of files) {
  const layer = layerOfFile(file);
  if (layer === null) continue;
  readFileSync(path.join(root, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const m = /^\s*#\s*include\s+"([^"]+)"/.exec(line);
      if (!m) return;
      const target = layerOfInclude(m[1]);
      if (target === null) return;
      if (target === 'model') {
        const family = /^mmi\/([^/]+)\//.exec(m[1])?.[1];
        if (layer === 'model' && family !== familyOfFile(file)) {
          broken.push(`${file}:${i + 1}: a model family includes another family's ${m[1]}`);
        } else if (layer === 'capi' && file !== familyRegistry) {
          broken.push(`${file}:${i + 1}: the C API names a family (${m[1]}) outside ${familyRegistry}`);
        }
        if (layer === 'model' || layer === 'capi') return;
      }
      if (target === layer || mayInclude[layer].includes(target)) return;
      broken.push(`${file}:${i + 1}: ${layer} includes ${m[1]} (${target})`);
    });
}
if (broken.length > 0) {
  console.error(`C++ includes that break the layer table (docs/architecture.md §2):\n${broken.join('\n')}`);
  process.exit(1);
}
console.log(`C++ includes follow the layer table (${files.length} files).`);
