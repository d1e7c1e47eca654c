import { runAsk } from './ask.js';
import { runComparePatterns } from './compare-patterns.js';
import { runDoctor } from './doctor.js';
import { runFrames } from './frames.js';
import { processIo, reportError, usageError, type CliIo } from './io.js';
import { runProbe } from './probe.js';
import { runSearchPatterns } from './search-patterns.js';
import { packageVersion } from '../services/resources.js';

// `mmi`: the app's services from a shell. Each subcommand answers an exit code; bad input gives a non-zero code and
// one line `error CODE: message` on stderr.

export const usage = `Usage: mmi <command> [options]

Commands:
  probe FILE [--json]                     what a video is: duration, frame rate, size, codec, streams
  frames FILE --fps F --out DIR [...]     sample frames as the model sees them; writes images and plan.json
  ask [--model DIR] [--video FILE] "Q"     ask a question about a video; the answer streams to stdout
  search-patterns --videos F... --out P   find each attention head's sparse pattern on calibration videos
  compare-patterns --video F A [B|--dense]  compare two pattern files (or one and dense) on a video
  doctor [--json]                         which ffmpeg/ffprobe are used, and the engine's state
  serve [--port P] [--root DIR ...]       the app in a browser (web host on 127.0.0.1)
  start                                   the desktop app (Electron); points to \`mmi serve\` where it cannot run

Run \`mmi <command> --help\` for a command's options.`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'probe':
      return runProbe(rest, io);
    case 'frames':
      return runFrames(rest, io);
    case 'ask':
      return runAsk(rest, io);
    case 'search-patterns':
      return runSearchPatterns(rest, io);
    case 'compare-patterns':
      return runComparePatterns(rest, io);
    case 'doctor':
      return runDoctor(rest, io);
    case 'serve':
      return (await import('./serve.js')).run(rest);
    case 'start':
      return (await import('./start.js')).run(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(`${usage}\n`);
      return command === undefined ? 2 : 0;
    case '--version':
    case '-v':
      io.out(`${packageVersion()}\n`);
      return 0;
    default:
      return reportError(io, usageError(`unknown command "${command}" (run \`mmi help\`)`));
  }
}
