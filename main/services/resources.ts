import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Where the app's own files are, in one place, for the sources (tests), dist/ (the CLI, the web host, `electron .`)
// and the installed app. Installed, the app folder is resources/app.asar (Electron's app.getAppPath()) and
// app.isPackaged is true; electron-builder.yml's asarUnpack keeps native addons, executables and memory-mapped
// model files beside it in resources/app.asar.unpacked, since neither dlopen, exec nor mmap can read an archive.
// Electron's fs reads inside the archive, so the page, the preload and the compiled JavaScript stay in it.

export interface AppLayout {
  /** The app folder: the package folder, or resources/app.asar when installed. */
  root: string;
  /** Installed from a package (app.isPackaged): the unpacked files lie beside the archive. */
  packaged: boolean;
}

export interface ResourcePaths {
  /** The built renderer the window and the web host serve (in the archive when installed). */
  renderer: string;
  preload: string;
  /** The engine host process's entry point. */
  engineHost: string;
  /** A pattern worker process's entry point. */
  patternWorker: string;
  /** Where cmake-js builds the addon; the folder diagnostics look in. */
  addonDir: string;
  /** The addon the engine host and pattern workers load. */
  addon: string;
  /** The embedded default (models/qwen2_5_vl/demo/README.md). */
  embedded: { modelDir: string; patterns: string; video: string };
}

const packageName = 'mmi-studio';

/** The package's own folder, found from this module whether it runs from sources, dist/ or the archive. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && readManifest(manifest).name === packageName) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`Cannot find the ${packageName} package folder`);
    dir = up;
  }
}

export function packageVersion(): string {
  return readManifest(path.join(packageRoot(), 'package.json')).version ?? '0.0.0';
}

function readManifest(file: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
}

/** This process's layout. Electron's main passes app.isPackaged; its engine host and workers, which have no
 * `app`, find the same answer from where their code lies: an installed app's code is inside app.asar. */
export function appLayout(root: string = packageRoot()): AppLayout {
  return { root, packaged: path.basename(root) === 'app.asar' };
}

/** Where a file of the app folder really lies on disk once installed: outside the archive when unpacked. */
export function unpackedPath(layout: AppLayout, file: string): string {
  if (!layout.packaged) return file;
  const rel = path.relative(layout.root, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return path.join(`${layout.root}.unpacked`, rel);
}

export function resourcePaths(layout: AppLayout = appLayout()): ResourcePaths {
  const inApp = (...parts: string[]): string => path.join(layout.root, ...parts);
  const onDisk = (...parts: string[]): string => unpackedPath(layout, inApp(...parts));
  const family = ['models', 'qwen2_5_vl'];
  return {
    renderer: inApp('dist', 'renderer'),
    preload: inApp('dist', 'preload', 'preload.cjs'),
    engineHost: inApp('dist', 'main', 'services', 'engine', 'host-main.js'),
    patternWorker: inApp('dist', 'main', 'services', 'patterns', 'worker-main.js'),
    addonDir: onDisk('build', 'addon'),
    addon: onDisk('build', 'addon', 'Release', 'mmi.node'),
    embedded: {
      modelDir: onDisk(...family, 'demo', 'model'),
      patterns: onDisk(...family, 'patterns', 'demo-showcase.json'),
      video: onDisk(...family, 'demo', 'needle-12s.mp4'),
    },
  };
}

export type BundledTool = 'ffmpeg' | 'ffprobe';

/** The ffmpeg or ffprobe of the @ffmpeg-installer / @ffprobe-installer packages, or null without that package.
 * Installed, the package lies in the archive's node_modules and its binary beside the archive. */
export function bundledToolPath(
  name: BundledTool,
  layout: AppLayout = appLayout(),
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string | null {
  const pkg = `@${name}-installer/${platform}-${arch}`;
  const binary = platform === 'win32' ? `${name}.exe` : name;
  if (layout.packaged) return unpackedPath(layout, path.join(layout.root, 'node_modules', pkg, binary));
  try {
    const manifest = createRequire(path.join(layout.root, 'package.json')).resolve(`${pkg}/package.json`);
    return path.join(path.dirname(manifest), binary);
  } catch {
    return null;
  }
}

/** Points the binding (native/addon.ts, which may not import main/) at this layout's addon, unless the user
 * already chose one with MMI_ADDON_PATH. Called by the processes that load it before they do. */
export function useLayoutAddon(env: NodeJS.ProcessEnv = process.env): void {
  env['MMI_ADDON_PATH'] ??= resourcePaths().addon;
}
