import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// Runs in plain Node (the CLI and tests): finds an Electron executable on disk the way the electron package's own
// index.js would, but never requires that package, which tries to download the binary and throws without one.

export type ElectronLookup = { found: true; path: string } | { found: false; reason: string };

export function findElectronBinary(env: NodeJS.ProcessEnv = process.env): ElectronLookup {
  let packageDir: string;
  try {
    packageDir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { found: false, reason: 'the electron npm package is not installed' };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const override = env['ELECTRON_OVERRIDE_DIST_PATH'];
  const candidate = override ? path.join(override, relative) : path.join(packageDir, 'dist', relative);
  if (existsSync(candidate)) return { found: true, path: candidate };
  const where = override
    ? `ELECTRON_OVERRIDE_DIST_PATH=${override} has no ${relative}`
    : `${path.join(packageDir, 'dist')} holds no Electron binary and ELECTRON_OVERRIDE_DIST_PATH is unset`;
  return { found: false, reason: where };
}
