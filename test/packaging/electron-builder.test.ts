import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { listPackage, statFile } from '@electron/asar';
import { Packager, Platform, type Configuration } from 'electron-builder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appLayout,
  bundledToolPath,
  resourcePaths,
  type AppLayout,
  type ResourcePaths,
} from '../../main/services/resources.js';

// electron-builder.yml, checked by electron-builder itself: it loads and validates the file, then packs the built
// app (`npm run build`) for Linux as a plain folder (`--dir`). The Electron binary comes from MMI_ELECTRON_ZIP
// when it names Electron's release zip (electron-vX.Y.Z-linux-x64.zip); otherwise a stub stands in for it, as
// Electron cannot be downloaded everywhere. The AppImage and deb targets need the internet (appimagetool, fpm)
// and are not run. The packed folder is then read with the app's own path rules (main/services/resources.ts).

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
let archive: string;
let layout: AppLayout;
let paths: ResourcePaths;
const electronZip = process.env['MMI_ELECTRON_ZIP'];

/** A file of the app folder (named inside the archive or beside it) as the asar header records it: absent,
 * packed in the archive, or unpacked beside it. */
function entryOf(file: string): 'absent' | 'packed' | 'unpacked' {
  const beside = path.relative(`${layout.root}.unpacked`, file);
  const rel = beside.startsWith('..') ? path.relative(layout.root, file) : beside;
  if (rel.startsWith('..')) throw new Error(`${file} is not in the app folder`);
  try {
    const entry = statFile(archive, rel, false) as { unpacked?: boolean };
    return entry.unpacked ? 'unpacked' : 'packed';
  } catch {
    return 'absent';
  }
}

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
  if (electronZip) {
    execFileSync('unzip', ['-q', electronZip, '-d', electronDist]);
  } else {
    console.warn('packaging: MMI_ELECTRON_ZIP is unset, so a stub stands in for the Electron binary');
    await writeFile(
      path.join(electronDist, 'electron'),
      `#!/bin/sh\nexit 0\n# ${fuseSentinel}\x01\x08${defaultWire}\n`,
      'latin1',
    );
    await chmod(path.join(electronDist, 'electron'), 0o755);
    await writeFile(path.join(electronDist, 'chrome-sandbox'), '');
    await writeFile(path.join(electronDist, 'LICENSE'), 'stub');
  }

  const packager = new Packager({
    projectDir: repoRoot,
    targets: Platform.LINUX.createTarget('dir'),
    config: { electronDist, directories: { output: path.join(work, 'out') } },
  });
  await packager.build();
  config = packager.config;
  appDir = path.join(work, 'out', 'linux-unpacked');
  archive = path.join(appDir, 'resources', 'app.asar');
  asarEntries = listPackage(archive, { isPack: false });
  // Installed, app.getAppPath() is the archive and app.isPackaged is true; the engine host infers the same.
  layout = appLayout(archive);
  paths = resourcePaths(layout);
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
      /^\/models(\/qwen2_5_vl(\/(patterns(\/demo-showcase\.json)?|demo(\/[^/]+\.mp4|\/model(\/[^/]+)?)?))?)?$/;
    expect(own.filter((e) => e.startsWith('/models') && !embedded.test(e))).toEqual([]);
    expect(
      asarEntries.filter((e) =>
        /^\/node_modules\/(electron|electron-builder|vitest|playwright-core)\//.test(e),
      ),
    ).toEqual([]);
  });

  it('has the page, the preload and the compiled code where the installed app looks: inside the archive', () => {
    for (const file of [
      path.join(paths.renderer, 'index.html'),
      paths.preload,
      paths.engineHost,
      paths.patternWorker,
      path.join(layout.root, 'dist', 'main', 'electron', 'main.js'),
    ]) {
      expect(entryOf(file), file).toBe('packed');
    }
  });

  it('ships ffmpeg and ffprobe where the app looks for them: outside the archive, executable', async () => {
    for (const tool of ['ffmpeg', 'ffprobe'] as const) {
      const file = bundledToolPath(tool, layout, 'linux', 'x64');
      if (file === null) throw new Error(`no path for ${tool}`);
      expect(file).toContain(`app.asar.unpacked${path.sep}`);
      expect(entryOf(file), tool).toBe('unpacked');
      expect((await stat(file)).isFile(), tool).toBe(true);
      await expect(access(file, constants.X_OK)).resolves.toBeUndefined();
      // The very binary: it runs and names itself.
      expect(execFileSync(file, ['-hide_banner', '-version'], { encoding: 'utf8' })).toMatch(
        new RegExp(`^${tool} version`),
      );
    }
  });

  it('unpacks the addon the engine host loads, and every other native addon the build produced', async (ctx) => {
    const addons = await filesUnder(path.join(repoRoot, 'build', 'addon'), '.node');
    if (addons.length === 0) {
      const reason = 'no addon built under build/addon (the native build made none)';
      console.warn(`packaging: addon check SKIPPED: ${reason}`);
      ctx.skip(reason);
    }
    expect(paths.addon).toContain(`app.asar.unpacked${path.sep}`);
    expect(addons).toContain(path.join('build', 'addon', 'Release', 'mmi.node'));
    for (const addon of addons) {
      expect(entryOf(path.join(layout.root, addon)), addon).toBe('unpacked');
      expect((await stat(path.join(`${layout.root}.unpacked`, addon))).isFile(), addon).toBe(true);
    }
    expect((await stat(paths.addon)).isFile()).toBe(true);
    // The addon links nothing from the build folder, which does not travel.
    const needed = execFileSync('readelf', ['-d', paths.addon], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('(NEEDED)'))
      .map((line) => /\[(.+)\]/.exec(line)?.[1] ?? line);
    expect(needed.filter((lib) => lib.startsWith('libmmi'))).toEqual([]);
  });

  it('ships the embedded default model, pattern file and video as plain files the engine can map', async () => {
    const { modelDir, patterns, video } = paths.embedded;
    for (const file of [
      path.join(modelDir, 'model.safetensors'),
      path.join(modelDir, 'config.json'),
      path.join(modelDir, 'tokenizer.json'),
      patterns,
      video,
    ]) {
      expect(entryOf(file), file).toBe('unpacked');
      expect((await stat(file)).isFile(), file).toBe(true);
    }
  });
});
