import { VideoMetaSchema, type VideoMeta } from '../../app/contract/video.js';
import { absolute, call, parseCli, withCliContext } from './context.js';
import { reportError, usageError, type CliIo } from './io.js';

export const probeUsage = 'Usage: mmi probe FILE [--json]';

export async function runProbe(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCli({
      args: argv,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${probeUsage}\n`);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0] === undefined)
      throw usageError(`expected one FILE (${probeUsage})`);
    const file = absolute(positionals[0]);
    const meta = VideoMetaSchema.parse(
      await withCliContext((ctx) => call(ctx, 'video.probe', { path: file })),
    );
    io.out(values.json ? `${JSON.stringify(meta, null, 2)}\n` : describe(meta));
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const ss = s.toFixed(3).padStart(6, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function describe(meta: VideoMeta): string {
  const rate = meta.variableFrameRate
    ? `variable, ${meta.fps.toFixed(3)} fps on average (nominal ${meta.nominalFps.toFixed(3)})`
    : `${meta.fps.toFixed(3)} fps`;
  const rows: Array<[string, string]> = [
    ['file', meta.path],
    ['size', `${meta.sizeBytes} bytes`],
    ['container', meta.container],
    ['duration', `${formatDuration(meta.durationSec)} (${meta.durationSec} s)`],
    [
      'video',
      `${meta.codec}, ${meta.width}x${meta.height}${meta.rotation ? ` (rotated ${meta.rotation}°)` : ''}`,
    ],
    ['frame rate', rate],
    ['frames', meta.frameCount === null ? 'not recorded in the container' : String(meta.frameCount)],
    ['streams', meta.streams.map((s) => `#${s.index} ${s.type} ${s.codec}`).join(', ')],
  ];
  return rows.map(([k, v]) => `${k.padEnd(11)}${v}\n`).join('');
}
