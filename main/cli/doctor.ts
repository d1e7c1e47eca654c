import { DiagnosticsSchema, type ToolStatus } from '../../app/contract/diagnostics.js';
import { call, parseCli, withCliContext } from './context.js';
import { reportError, type CliIo } from './io.js';

export const doctorUsage = 'Usage: mmi doctor [--json]';

/** What the app runs on; exit code 1 when ffmpeg or ffprobe is missing. */
export async function runDoctor(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values } = parseCli({
      args: argv,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      io.out(`${doctorUsage}\n`);
      return 0;
    }
    const d = DiagnosticsSchema.parse(await withCliContext((ctx) => call(ctx, 'app.diagnostics', {})));
    if (values.json) io.out(`${JSON.stringify(d, null, 2)}\n`);
    else {
      const tool = (status: ToolStatus): string =>
        status.found
          ? `${status.path}\n${' '.repeat(10)}${status.version} (from ${status.source})`
          : `MISSING: ${status.reason}`;
      io.out(
        [
          `mmi       ${d.appVersion} on Node ${d.node}, ${d.platform}`,
          `ffmpeg    ${tool(d.ffmpeg)}`,
          `ffprobe   ${tool(d.ffprobe)}`,
          `hwaccels  ${d.hwaccels.length > 0 ? d.hwaccels.join(', ') : 'none'}`,
          `engine    ${d.engine.message}`,
          '',
        ].join('\n'),
      );
    }
    if (!d.ffmpeg.found || !d.ffprobe.found) {
      io.err('error FFMPEG_MISSING: install ffmpeg, or set FFMPEG_PATH and FFPROBE_PATH\n');
      return 1;
    }
    return 0;
  } catch (err) {
    return reportError(io, err);
  }
}
