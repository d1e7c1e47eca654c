import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appLayout,
  bundledToolPath,
  packageRoot,
  resourcePaths,
  unpackedPath,
  useLayoutAddon,
} from '../../../../main/services/resources.js';

// Where the app looks for its files, installed (app.isPackaged: the app folder is resources/app.asar) and not
// (the package folder). The installed layout is electron-builder's for Linux (electron-builder.yml); the
// packaging test builds it and checks these same paths on disk.

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const installed = '/opt/MMI Studio/resources/app.asar';
const unpacked = '/opt/MMI Studio/resources/app.asar.unpacked';

describe('resource paths', () => {
  it('installed: code and page inside the archive, the addon, models and ffmpeg beside it', () => {
    const layout = appLayout(installed);
    expect(layout).toEqual({ root: installed, packaged: true });
    expect(resourcePaths(layout)).toEqual({
      renderer: `${installed}/dist/renderer`,
      preload: `${installed}/dist/preload/preload.cjs`,
      engineHost: `${installed}/dist/main/services/engine/host-main.js`,
      patternWorker: `${installed}/dist/main/services/patterns/worker-main.js`,
      addonDir: `${unpacked}/build/addon`,
      addon: `${unpacked}/build/addon/Release/mmi.node`,
      embedded: {
        modelDir: `${unpacked}/models/qwen2_5_vl/demo/model`,
        patterns: `${unpacked}/models/qwen2_5_vl/patterns/demo-showcase.json`,
        video: `${unpacked}/models/qwen2_5_vl/demo/needle-12s.mp4`,
      },
    });
    expect(bundledToolPath('ffmpeg', layout, 'linux', 'x64')).toBe(
      `${unpacked}/node_modules/@ffmpeg-installer/linux-x64/ffmpeg`,
    );
    expect(bundledToolPath('ffprobe', layout, 'win32', 'x64')).toBe(
      `${unpacked}/node_modules/@ffprobe-installer/win32-x64/ffprobe.exe`,
    );
  });

  it('from the package folder: nothing is unpacked, even under a folder that happens to be named app.asar', () => {
    const dev = '/home/me/app.asar/mmi-studio';
    const layout = appLayout(dev);
    expect(layout.packaged).toBe(false);
    const paths = resourcePaths(layout);
    expect(paths.addon).toBe(`${dev}/build/addon/Release/mmi.node`);
    expect(paths.embedded.video).toBe(`${dev}/models/qwen2_5_vl/demo/needle-12s.mp4`);
    expect(unpackedPath(layout, `${dev}/models/x`)).toBe(`${dev}/models/x`);
  });

  it('maps only files of the archive, and never a path that merely starts with its name', () => {
    const layout = appLayout(installed);
    expect(unpackedPath(layout, `${installed}/build/addon/Release/mmi.node`)).toBe(
      `${unpacked}/build/addon/Release/mmi.node`,
    );
    expect(unpackedPath(layout, '/opt/MMI Studio/resources/app.asar-other/x')).toBe(
      '/opt/MMI Studio/resources/app.asar-other/x',
    );
    expect(unpackedPath(layout, '/tmp/video.mp4')).toBe('/tmp/video.mp4');
  });

  it('this checkout: the package folder, its installed ffmpeg packages, and the built files where they are', () => {
    expect(packageRoot()).toBe(repoRoot);
    const layout = appLayout();
    expect(layout).toEqual({ root: repoRoot, packaged: false });
    for (const tool of ['ffmpeg', 'ffprobe'] as const) {
      const binary = bundledToolPath(tool, layout);
      expect(existsSync(binary ?? ''), tool).toBe(true);
      // Resolution follows a linked node_modules to its real folder.
      expect(realpathSync(binary ?? '')).toBe(
        realpathSync(
          path.join(
            repoRoot,
            'node_modules',
            `@${tool}-installer`,
            `${process.platform}-${process.arch}`,
            tool,
          ),
        ),
      );
    }
    const paths = resourcePaths(layout);
    for (const file of [paths.embedded.modelDir, paths.embedded.patterns, paths.embedded.video]) {
      expect(existsSync(file), file).toBe(true);
    }
  });

  it('points the binding at the layout’s addon unless the user chose one', () => {
    const env: NodeJS.ProcessEnv = {};
    useLayoutAddon(env);
    expect(env['MMI_ADDON_PATH']).toBe(path.join(repoRoot, 'build', 'addon', 'Release', 'mmi.node'));
    const chosen: NodeJS.ProcessEnv = { MMI_ADDON_PATH: '/elsewhere/mmi.node' };
    useLayoutAddon(chosen);
    expect(chosen['MMI_ADDON_PATH']).toBe('/elsewhere/mmi.node');
  });
});
