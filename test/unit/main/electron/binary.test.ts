import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../../../main/electron/binary.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('finding the Electron binary without requiring the electron package', () => {
  it('finds the executable in ELECTRON_OVERRIDE_DIST_PATH', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mmi-electron-dist-'));
    await writeFile(path.join(dir, 'electron'), '#!/bin/sh\n', { mode: 0o755 });
    expect(findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: dir })).toEqual({
      found: true,
      path: path.join(dir, 'electron'),
    });
  });

  it('says where it looked when the override folder has no executable', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mmi-electron-dist-'));
    const lookup = findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: dir });
    expect(lookup.found).toBe(false);
    if (!lookup.found) expect(lookup.reason).toContain(dir);
  });
});
