// Writes a showcase pattern file: every pattern family on some heads, so the heatmap explorer can show each one
// (grid and boundary heads with their permutation) on the embedded demo. Each family gets its own search — the
// "short" candidate ladder restricted to that family, on the given calibration video — and head (layer, h) takes
// the result of family (layer · heads + h) mod 6. So every head holds its family's best candidate with the recall
// and density the search measured; only the family is imposed. A searched file (`mmi search-patterns`) is what
// a real model should use; this one exists to demonstrate the patterns (docs/algorithm.md §3).
//
//   npm run build && node scripts/make-showcase-patterns.mjs --model DIR --video FILE --out FILE.json
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { presetCandidates } from '../dist/app/domain/pattern-candidates.js';
import { parsePatternFile } from '../dist/app/domain/pattern-file-check.js';

const families = ['a_shape', 'vertical_slash', 'block_sparse', 'grid', 'q_boundary', 'two_d_boundary'];

const { values } = parseArgs({
  options: { model: { type: 'string' }, video: { type: 'string' }, out: { type: 'string' } },
});
if (!values.model || !values.video || !values.out) {
  console.error('usage: node scripts/make-showcase-patterns.mjs --model DIR --video FILE --out FILE.json');
  process.exit(2);
}

const mmi = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'bin', 'mmi.js');
const work = mkdtempSync(path.join(tmpdir(), 'mmi-showcase-'));
try {
  const searched = families.map((family) => {
    const candidates = presetCandidates('short').filter((c) => c.pattern === family);
    const candidatesFile = path.join(work, `${family}-candidates.json`);
    writeFileSync(candidatesFile, JSON.stringify(candidates));
    const out = path.join(work, `${family}.json`);
    // Cost target 1: within its family every candidate qualifies and the best recall wins.
    const args = [mmi, 'search-patterns', '--model', values.model, '--videos', values.video];
    args.push('--out', out, '--candidates', candidatesFile, '--cost-target', '1');
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`the ${family} search failed (exit ${r.status})`);
    return JSON.parse(readFileSync(out, 'utf8'));
  });
  const [first] = searched;
  const heads = first.model.heads;
  const file = {
    ...first,
    search: {
      ...first.search,
      cost_target: 1,
      candidates: searched.flatMap((f) => f.search.candidates),
    },
    layers: first.layers.map((layer, l) => ({
      layer: layer.layer,
      heads: layer.heads.map((_, h) => searched[(l * heads + h) % families.length].layers[l].heads[h]),
    })),
  };
  const text = `${JSON.stringify(file, null, 1)}\n`;
  parsePatternFile(text);
  writeFileSync(values.out, text);
  console.log(`wrote ${values.out}: ${families.join(', ')} over ${first.model.layers} × ${heads} heads`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
