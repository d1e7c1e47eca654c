import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ToolSource, ToolStatus } from '../../../app/contract/diagnostics.js';
import { AppError } from '../../../app/contract/errors.js';
import { runTool } from './run-tool.js';
import { bundledToolPath } from '../resources.js';

// Finding ffmpeg and ffprobe (README, "Which ffmpeg is used"): an explicit setting, else FFMPEG_PATH / FFPROBE_PATH, else the
// binaries shipped in the @ffmpeg-installer / @ffprobe-installer npm packages, else PATH. An explicit choice that
// does not work is reported, never silently replaced by another binary. Each candidate must run `-version`.

export type ToolName = 'ffmpeg' | 'ffprobe';

export interface ToolSettings {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
}

export interface ResolvedTool {
  path: string;
  version: string;
  source: ToolSource;
}

interface Candidate {
  path: string;
  source: ToolSource;
}

const envNames: Record<ToolName, string> = { ffmpeg: 'FFMPEG_PATH', ffprobe: 'FFPROBE_PATH' };
const npmPackages: Record<ToolName, string> = { ffmpeg: '@ffmpeg-installer', ffprobe: '@ffprobe-installer' };

export async function resolveTool(
  name: ToolName,
  settings: ToolSettings = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<ToolStatus> {
  const explicit = name === 'ffmpeg' ? settings.ffmpegPath : settings.ffprobePath;
  const fromEnv = env[envNames[name]];
  if (explicit) return tryCandidate(name, { path: explicit, source: 'setting' });
  if (fromEnv) return tryCandidate(name, { path: fromEnv, source: 'env' });
  const reasons: string[] = [];
  for (const candidate of [npmCandidate(name), ...pathCandidates(name, env)]) {
    if (candidate === null) continue;
    const status = await tryCandidate(name, candidate);
    if (status.found) return status;
    reasons.push(status.reason);
  }
  if (reasons.length === 0) reasons.push(`no ${npmPackages[name]} package and no ${name} on PATH`);
  return { found: false, reason: reasons.join('; ') };
}

/** The resolved tool, or FFMPEG_MISSING with every reason why not. */
export function requireTool(name: ToolName, status: ToolStatus): ResolvedTool {
  if (status.found) return { path: status.path, version: status.version, source: status.source };
  throw new AppError(
    'FFMPEG_MISSING',
    `${name} not found (${status.reason}): install ffmpeg or set ${envNames[name]} (see \`mmi doctor\`)`,
    status.reason,
  );
}

async function tryCandidate(name: ToolName, candidate: Candidate): Promise<ToolStatus> {
  const where = `${candidate.path} (${candidate.source})`;
  try {
    const info = await stat(candidate.path);
    if (!info.isFile()) return { found: false, reason: `${where} is not a file` };
    await access(candidate.path, constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { found: false, reason: `${where} ${code === 'EACCES' ? 'is not executable' : 'does not exist'}` };
  }
  try {
    const run = await runTool(candidate.path, ['-hide_banner', '-version'], { timeoutMs: 15_000 });
    const first = run.stdout.toString('utf8').split('\n', 1)[0]?.trim() ?? '';
    if (run.code !== 0 || !first.startsWith(`${name} version`)) {
      return { found: false, reason: `${where} does not answer \`-version\` like ${name}` };
    }
    return {
      found: true,
      path: candidate.path,
      version: first.replace(/\s+Copyright.*$/, ''),
      source: candidate.source,
    };
  } catch (err) {
    return {
      found: false,
      reason: `${where} cannot run: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

function npmCandidate(name: ToolName): Candidate | null {
  const binary = bundledToolPath(name);
  return binary === null ? null : { path: binary, source: 'npm' };
}

function pathCandidates(name: ToolName, env: NodeJS.ProcessEnv): Candidate[] {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  return dirs
    .map((dir) => path.join(dir, name))
    .filter((file) => existsSync(file))
    .map((file) => ({ path: file, source: 'path' as const }));
}
