import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listPackage } from '@electron/asar';
import { Packager, Platform, type Configuration } from 'electron-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDefault } from '../../main/services/engine/embedded.js';

// electron-builder.yml, checked by electron-builder itself: it loads and validates the file, then packs the built
// app (`npm run build`) for Linux as a plain folder, with a stub in place of the Electron binary (which cannot be
// downloaded here). The AppImage and deb targets need the internet (appimagetool, fpm) and are not run.

const repoRoot = path.resolve(import.meta.dirname, '../..');

// Electron's fuse wire, as its binaries carry it: a sentinel, a version byte (1), a length byte, then one ASCII
// byte per fuse ('0' off, '1' on) in a fixed order. The stub carries Electron's default wire so the build can flip it.
const fuseSentinel = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const fuseOrder = [
  'runAsNode',
  'enableCookieEncryption',
  'enableNodeOptionsEnvironmentVariable',
  'enableNodeCliInspectArguments',
  'enableEmbeddedAsarIntegrityValidation',
  'onlyLoadAppFromAsar',
  'loadBrowserProcessSpecificV8Snapshot',
  'grantFileProtocolExtraPrivileges',
] as const;
const defaultWire = '10110001';

async function readFuses(binary: string): Promise<Record<(typeof fuseOrder)[number], boolean>> {
  const bytes = await readFile(binary);
  const at = bytes.indexOf(fuseSentinel) + fuseSentinel.length;
  if (at < fuseSentinel.length) throw new Error(`${binary} has no fuse wire`);
  expect(bytes[at]).toBe(1);
  const wire = bytes.subarray(at + 2, at + 2 + (bytes[at + 1] ?? 0)).toString('latin1');
  return Object.fromEntries(fuseOrder.map((name, i) => [name, wire[i] === '1'])) as Record<
    (typeof fuseOrder)[number],
    boolean
  >;
}
let work: string;
let appDir: string;
let config: Configuration;
let asarEntries: string[];

async function filesUnder(dir: string, suffix: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => path.relative(repoRoot, path.join(e.parentPath, e.name)));
}

beforeAll(async () => {
  for (const built of [
    'dist/main/electron/main.js',
    'dist/preload/preload.cjs',
    'dist/renderer/index.html',
  ]) {
    await access(path.join(repoRoot, built)).catch(() => {
      throw new Error(`${built} is missing: run \`npm run build\` before the packaging test`);
    });
  }
  work = await mkdtemp(path.join(tmpdir(), 'mmi-packaging-'));
  const electronDist = path.join(work, 'electron-dist');
  await mkdir(electronDist);
  await writeFile(
    path.join(electronDist, 'electron'),
    `#!/bin/sh\nexit 0\n# ${fuseSentinel}\x01\x08${defaultWire}\n`,
    'latin1',
  );
  await chmod(path.join(electronDist, 'electron'), 0o755);
  await writeFile(path.join(electronDist, 'chrome-sandbox'), '');
  await writeFile(path.join(electronDist, 'LICENSE'), 'stub');

  const packager = new Packager({
    projectDir: repoRoot,
    targets: Platform.LINUX.createTarget('dir'),
    config: { electronDist, directories: { output: path.join(work, 'out') } },
  });
  await packager.build();
  config = packager.config;
  appDir = path.join(work, 'out', 'linux-unpacked');
  asarEntries = listPackage(path.join(appDir, 'resources', 'app.asar'), { isPack: false });
}, 170_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('electron-builder.yml', () => {
  it('builds AppImage and deb for Linux, never rebuilds native modules, and keeps Electron hardened', () => {
    const linux = config.linux?.target;
    expect(Array.isArray(linux) ? linux : [linux]).toEqual(['AppImage', 'deb']);
    expect(config.npmRebuild).toBe(false);
    expect(config.electronVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(config.deb?.depends).toContain('ffmpeg');
  });

  it('flips the fuses in the packaged binary: no Node mode, no NODE_OPTIONS, no inspector, app only from the archive', async () => {
    expect(await readFuses(path.join(appDir, 'mmi-studio'))).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('packs the built app: main, preload and page in the archive, no sources, maps or tests', () => {
    for (const entry of ['/package.json', '/dist/main/electron/main.js', '/dist/preload/preload.cjs']) {
      expect(asarEntries).toContain(entry);
    }
    expect(asarEntries).toContain('/dist/renderer/index.html');
    const own = asarEntries.filter((e) => !e.startsWith('/node_modules/'));
    expect(own.filter((e) => e.endsWith('.map'))).toEqual([]);
    expect(own.filter((e) => /\.tsx?$/.test(e) && !e.endsWith('.d.ts'))).toEqual([]);
    expect(own.filter((e) => /^\/(test|renderer|main|app|native|kernels|scripts)\//.test(e))).toEqual([]);
    // Of models/, only the embedded default travels: no generator, no other fixture, no engine sources.
    const embedded =
      /^\/models(\/qwen2_5_vl(\/(fixtures(\/tiny-a(\/model(\/[^/]+)?)?)?|patterns(\/tiny-a\.json)?|demo(\/[^/]+\.mp4)?))?)?$/;
    expect(own.filter((e) => e.startsWith('/models') && !embedded.test(e))).toEqual([]);
    expect(
      asarEntries.filter((e) =>
        /^\/node_modules\/(electron|electron-builder|vitest|playwright-core)\//.test(e),
      ),
    ).toEqual([]);
  });

  it('ships ffmpeg and ffprobe outside the archive, executable', async () => {
    const unpacked = path.join(appDir, 'resources', 'app.asar.unpacked', 'node_modules');
    for (const tool of ['@ffmpeg-installer/linux-x64/ffmpeg', '@ffprobe-installer/linux-x64/ffprobe']) {
      const file = path.join(unpacked, tool);
      expect((await stat(file)).isFile(), tool).toBe(true);
      await expect(access(file, constants.X_OK)).resolves.toBeUndefined();
    }
  });

  it('unpacks every native addon the build produced', async (ctx) => {
    const addons = await filesUnder(path.join(repoRoot, 'build', 'addon'), '.node');
    if (addons.length === 0) {
      const reason = 'no addon built under build/addon (the native build made none)';
      console.warn(`packaging: addon check SKIPPED: ${reason}`);
      ctx.skip(reason);
    }
    for (const addon of addons) {
      expect((await stat(path.join(appDir, 'resources', 'app.asar.unpacked', addon))).isFile(), addon).toBe(
        true,
      );
    }
  });

  it('ships the embedded default model, pattern file and video as plain files the engine can map', async () => {
    // The path the packaged app computes from inside its archive must land on the unpacked copies.
    const embedded = embeddedDefault(path.join(appDir, 'resources', 'app.asar'));
    for (const file of [
      path.join(embedded.modelDir, 'model.safetensors'),
      path.join(embedded.modelDir, 'config.json'),
      path.join(embedded.modelDir, 'tokenizer.json'),
      embedded.patterns,
      embedded.video,
    ]) {
      expect(file).toContain(`app.asar.unpacked${path.sep}`);
      expect((await stat(file)).isFile(), file).toBe(true);
    }
  });
});
