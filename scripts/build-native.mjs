// Builds the Node addon with cmake-js into build/addon (run by `npm install`). Only the addon target and what it
// links: `npm run test:native` builds the whole tree, CUDA sources included.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const r = spawnSync(
  process.execPath,
  [cmakeJs, 'compile', '--out', 'build/addon', '--target', 'mmi_addon', '--parallel', '2'],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
