import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The package's own folder, found from this module whether it runs from sources (tests) or from dist/.
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mmi-studio'
    ) {
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Cannot find the mmi-studio package folder');
    dir = up;
  }
}

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? '0.0.0';
}

/**
 * Where a packaged file really lies on disk: electron-builder's asarUnpack keeps executables, native addons and
 * memory-mapped model files beside the archive, since neither exec nor mmap can read inside it.
 */
export function unpackedPath(file: string): string {
  return file.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}
