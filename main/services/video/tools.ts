import type { ToolStatus } from '../../../app/contract/diagnostics.js';
import { requireTool, resolveTool, type ResolvedTool, type ToolSettings } from './binaries.js';
import { runTool } from './run-tool.js';

// The ffmpeg/ffprobe pair the services use, resolved once on first need, with what the ffmpeg build can decode
// (asked once): a file whose codec this ffmpeg has no decoder for is UNSUPPORTED_CODEC at probe time, not a
// mysterious failure mid-decode.

export interface VideoTools {
  status(): Promise<{ ffmpeg: ToolStatus; ffprobe: ToolStatus }>;
  /** Both tools, or FFMPEG_MISSING. */
  require(): Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }>;
  /** Codec names ffmpeg can decode (`-decoders`, by codec and by decoder name). */
  decoders(): Promise<ReadonlySet<string>>;
  /** Hardware decode methods ffmpeg was built with (`-hwaccels`). */
  hwaccels(): Promise<string[]>;
}

export function createVideoTools(
  settings: ToolSettings = {},
  env: NodeJS.ProcessEnv = process.env,
): VideoTools {
  let resolved: Promise<{ ffmpeg: ToolStatus; ffprobe: ToolStatus }> | undefined;
  let decoders: Promise<ReadonlySet<string>> | undefined;
  let hwaccels: Promise<string[]> | undefined;
  const status = (): Promise<{ ffmpeg: ToolStatus; ffprobe: ToolStatus }> => {
    resolved ??= Promise.all([
      resolveTool('ffmpeg', settings, env),
      resolveTool('ffprobe', settings, env),
    ]).then(([ffmpeg, ffprobe]) => ({ ffmpeg, ffprobe }));
    return resolved;
  };
  const require = async (): Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> => {
    const s = await status();
    return { ffmpeg: requireTool('ffmpeg', s.ffmpeg), ffprobe: requireTool('ffprobe', s.ffprobe) };
  };
  return {
    status,
    require,
    decoders: () => {
      decoders ??= require().then(async ({ ffmpeg }) => {
        const run = await runTool(ffmpeg.path, ['-hide_banner', '-decoders']);
        return parseDecoders(run.stdout.toString('utf8'));
      });
      return decoders;
    },
    hwaccels: () => {
      hwaccels ??= status().then(async ({ ffmpeg }) => {
        if (!ffmpeg.found) return [];
        const run = await runTool(ffmpeg.path, ['-hide_banner', '-hwaccels']);
        return parseHwaccels(run.stdout.toString('utf8'));
      });
      return hwaccels;
    },
  };
}

/**
 * `ffmpeg -decoders` lines look like ` V....D h264   H.264 / AVC ... (codec h264)`: the decoder name, and the
 * codec it decodes when the names differ. Only video decoders (flag V) are kept.
 */
export function parseDecoders(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^\s*V[.A-Z]{5}\s+(\S+)\s+(.*)$/.exec(line);
    if (!match?.[1] || match[1] === '=') continue;
    names.add(match[1]);
    const codec = /\(codec (\S+)\)\s*$/.exec(match[2] ?? '');
    if (codec?.[1]) names.add(codec[1]);
  }
  return names;
}

/** `ffmpeg -hwaccels`: a header line, then one method per line. */
export function parseHwaccels(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.endsWith(':'));
}
