// Builds the Node addon with cmake-js into build/addon (run by `npm install`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build/addon'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
