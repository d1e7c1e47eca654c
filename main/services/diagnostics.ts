import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Diagnostics, EngineStatus } from '../../app/contract/diagnostics.js';
import { engineHostEntry } from './engine/launcher.js';
import { packageVersion, resourcePaths } from './resources.js';
import type { VideoTools } from './video/tools.js';

// What `app.diagnostics` and `mmi doctor` report. The engine line states what is on disk (the addon and the engine
// host); whether the engine process runs, and on what, is engine.status.

export async function collectDiagnostics(tools: VideoTools): Promise<Diagnostics> {
  const [status, hwaccels, engine] = await Promise.all([tools.status(), tools.hwaccels(), engineStatus()]);
  return {
    appVersion: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    ffmpeg: status.ffmpeg,
    ffprobe: status.ffprobe,
    hwaccels,
    engine,
  };
}

/** The native addon is built by cmake-js into build/addon; the engine host is compiled with the TypeScript. */
export async function engineStatus(
  buildDir: string = resourcePaths().addonDir,
  hostEntry: string | null = engineHostEntry(),
): Promise<EngineStatus> {
  const addons = await findAddons(buildDir);
  if (addons.length === 0) {
    return {
      available: false,
      message: `Not built yet: no engine addon (*.node) under ${buildDir}. Video tools work without it.`,
    };
  }
  if (hostEntry === null) {
    return {
      available: false,
      message: `An addon is built (${addons.join(', ')}) but the engine host is not: run \`npm run build:ts\`.`,
    };
  }
  return {
    available: true,
    message: `Addon ${addons.join(', ')}; questions run in the engine host process (${hostEntry}).`,
  };
}

async function findAddons(dir: string, depth = 3): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.node')) found.push(full);
    else if (entry.isDirectory() && depth > 0 && entry.name !== 'CMakeFiles')
      found.push(...(await findAddons(full, depth - 1)));
  }
  return found;
}
