import path from 'node:path';
import { AppError } from '../../app/contract/errors.js';
import {
  defaultCalibrationQuestion,
  type CompareParams,
  type Comparison,
} from '../../app/contract/patterns.js';
import { embeddedDefault } from '../services/engine/embedded.js';
import { writeComparison } from '../services/patterns/export.js';
import { absolute, call, parseCli, withCliContext } from './context.js';
import { number } from './frames.js';
import { reportError, usageError, type CliIo } from './io.js';
import { exportPatterns, parseHeads, sharedFlags } from './pattern-common.js';
import { PatternJobs } from './pattern-jobs.js';
import { samplingFrom } from './sampling-flags.js';

export const comparePatternsUsage = `Usage: mmi compare-patterns --video FILE A.json [B.json | --dense] [options]

Compares two pattern files, or one against dense attention, on a video: the video is sampled and the prompt built
as for a question; then for the dense reference and each file, a pre-fill (every pattern applied at any length)
and a greedy answer. Prints per run the measured pre-fill time beside the one the file's costs predict, the total
density and mean recall of the estimated indices, and how far the two answers agree. With no --model, the embedded
demo model is used.

  --model DIR          a Qwen2.5-VL model folder
  --video FILE         the video
  --dense              compare A against dense attention (instead of a second file)
  --question TEXT      the question (default "${defaultCalibrationQuestion}")
  --max-tokens N       greedy answer tokens per run (default 16)
  --fps F, --max-frames N, --max-pixels P, --min-pixels P
  --export DIR         write compare-heads.csv and compare-runs.csv, and each file's grid.png, grid.svg and heads.csv
                       in a/ and b/
  --heatmaps L:H,...   with --export: these heads' heatmaps under each file, in a/ and b/
  --json               print the comparison as JSON`;

const ms = (v: number | null): string => (v === null ? '—' : `${v.toFixed(0)} ms`);
const num = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

function report(c: Comparison): string[] {
  const lines = [
    `${path.basename(c.video)}: ${c.promptTokens} prompt tokens (${c.plan.visualTokens} video)`,
    ...c.runs.map(
      (r) =>
        `${r.run.padEnd(5)} ${(r.patterns === null ? 'dense attention' : path.basename(r.patterns)).padEnd(28)} ` +
        `pre-fill ${ms(r.prefillMs)} (predicted ${ms(r.predictedMs)}), density ${num(r.density)}, ` +
        `mean recall ${num(r.meanRecall)}; "${r.answer.replace(/\s+/g, ' ').slice(0, 60)}"`,
    ),
    `answers: ${c.agreement.prefix} tokens the same from the start, ${c.agreement.matching} of ${c.agreement.total} positions agree`,
  ];
  const differ = c.heads.filter((h) => h.a.applied !== h.b.applied).length;
  lines.push(`heads whose applied pattern differs: ${differ} of ${c.heads.length}`);
  return lines;
}

export async function runComparePatterns(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCli({
      args: argv,
      options: {
        model: { type: 'string' },
        video: { type: 'string' },
        dense: { type: 'boolean', default: false },
        question: { type: 'string' },
        'max-tokens': { type: 'string' },
        ...sharedFlags,
      },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${comparePatternsUsage}\n`);
      return 0;
    }
    if (values.video === undefined) throw usageError('--video is required');
    const files = positionals.map(absolute);
    if (values.dense ? files.length !== 1 : files.length !== 2) {
      throw usageError('give two pattern files, or one with --dense (see mmi compare-patterns --help)');
    }
    if (values.heatmaps !== undefined && values.export === undefined)
      throw usageError('--heatmaps needs --export');
    const heads = values.heatmaps === undefined ? null : parseHeads(values.heatmaps);
    const maxTokens = values['max-tokens'];
    const params: CompareParams = {
      model: values.model !== undefined ? absolute(values.model) : embeddedDefault().modelDir,
      video: absolute(values.video),
      ...(values.question !== undefined ? { question: values.question } : {}),
      sampling: samplingFrom(values),
      a: files[0] ?? '',
      b: values.dense ? null : (files[1] ?? null),
      ...(maxTokens !== undefined ? { maxTokens: number('--max-tokens', maxTokens) } : {}),
    };
    const jobs = new PatternJobs();
    return await withCliContext(async (ctx) => {
      const job = await jobs.run((jobId) => call(ctx, 'patterns.compare', { ...params, jobId }), {
        onProgress: (p) => {
          if (io.interactive)
            io.err(`\r\x1b[K${p.item ? `${p.item}: ` : ''}${p.stage} ${p.done}/${p.total ?? '?'}`);
        },
      });
      const result = await job.result;
      if (io.interactive) io.err('\r\x1b[K');
      if (result.kind !== 'patterns.compare')
        throw new AppError('INTERNAL', `unexpected job result ${result.kind}`);
      const { comparison } = result;
      if (values.export !== undefined) {
        const dir = absolute(values.export);
        const written = await writeComparison(dir, comparison);
        for (const [run, file] of [
          ['a', params.a],
          ['b', params.b],
        ] as const) {
          if (file === null) continue;
          written.push(
            ...(await exportPatterns(ctx, jobs, path.join(dir, run), file, heads, {
              ...(params.model !== undefined ? { model: params.model } : {}),
              video: params.video,
              ...(params.question !== undefined ? { question: params.question } : {}),
              ...(params.sampling ? { sampling: params.sampling } : {}),
            })),
          );
        }
        io.err(`exported ${written.length} files to ${dir}\n`);
      }
      if (values.json) io.out(`${JSON.stringify(comparison, null, 2)}\n`);
      else for (const line of report(comparison)) io.out(`${line}\n`);
      return 0;
    }, jobs.emit);
  } catch (err) {
    return reportError(io, err);
  }
}
