import { readFile } from 'node:fs/promises';
import { AppError } from '../../app/contract/errors.js';
import { CandidateSchema, type Candidate } from '../../app/contract/pattern-file.js';
import {
  defaultCalibrationQuestion,
  SearchStartedSchema,
  type PatternProgress,
  type SearchParams,
} from '../../app/contract/patterns.js';
import {
  candidatePresets,
  parseCandidateSpec,
  CandidateSpecError,
} from '../../app/domain/pattern-candidates.js';
import { parsePatternFile, PatternFileError } from '../../app/domain/pattern-file-check.js';
import { summaryLines } from '../../app/domain/pattern-summary.js';
import { defaultSamplingOptions } from '../../app/domain/sampling.js';
import { embeddedDefault } from '../services/engine/embedded.js';
import { absolute, call, parseCli, withCliContext } from './context.js';
import { number } from './frames.js';
import { reportError, usageError, type CliIo } from './io.js';
import { exportPatterns, parseHeads, sharedFlags } from './pattern-common.js';
import { PatternJobs } from './pattern-jobs.js';
import { samplingFrom } from './sampling-flags.js';

export const searchPatternsUsage = `Usage: mmi search-patterns --videos FILE... --out FILE [options]

Finds each attention head's sparse pattern for a model (docs/algorithm.md §9): the model runs dense on calibration
prompts (each video sampled as for a question, then the question), and for every layer and head each candidate
pattern is scored by the attention it keeps against the kernel tiles it costs; the best within the cost target is
written to a versioned pattern file. Progress goes to stderr; Ctrl+C stops cleanly and keeps what finished for
--resume. With no --model, the embedded demo model is searched.

  --model DIR            a Qwen2.5-VL model folder (Hugging Face layout)
  --videos FILE...       calibration videos (the flag may be repeated, or list the files after it)
  --question TEXT        the question of every calibration prompt (default "${defaultCalibrationQuestion}")
  --out FILE             the pattern file to write (its checkpoint is FILE.ckpt)
  --resume               continue an interrupted search with the same inputs and settings from FILE.ckpt
  --cost-target X        kernel tiles / dense tiles a head may cost, 0…1 (default 0.1; 0.45 with --candidates short)
  --candidates WHICH     ${candidatePresets.join(' | ')} (sized for 16K+ or 1K–4K-token prompts), or a JSON file: a list of
                         candidates, or a pattern file whose search's candidates to reuse
  --budget SPEC          a candidate instead of the preset, repeatable: PATTERN:FIELD=VALUE,... with the file's field
                         names; N is a count, N@R a count at R tokens (scaled), 0.F or A/B a fraction, e.g.
                         vertical_slash:vertical=1000@131072,slash=4096@131072  a_shape:sink_tokens=64,local_tokens=1/16
  --recall-samples N     query rows recall is measured on (default 64)
  --fps F, --max-frames N, --max-pixels P, --min-pixels P
                         sampling, as for mmi ask (defaults ${defaultSamplingOptions.fps}, ${defaultSamplingOptions.maxFrames}, ${defaultSamplingOptions.maxPixels}, ${defaultSamplingOptions.minPixels})
  --export DIR           also write the layer×head grid (grid.png, grid.svg) and the numbers (heads.csv) there
  --heatmaps L:H,...     with --export: these heads' heatmaps on the first video under the new file (PNG)
  --json                 print the summary as JSON instead of text`;

/** Candidates from --candidates FILE: a JSON list, or a pattern file's search candidates. */
async function candidatesFile(file: string): Promise<Candidate[]> {
  let root: unknown;
  try {
    root = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const detail = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new AppError(
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'BAD_REQUEST',
      `--candidates ${file}: ${detail}`,
    );
  }
  if (Array.isArray(root)) {
    const parsed = CandidateSchema.array().min(1).safeParse(root);
    if (!parsed.success) {
      throw usageError(`--candidates ${file}: ${parsed.error.issues[0]?.message ?? 'invalid candidates'}`);
    }
    return parsed.data;
  }
  try {
    const searched = parsePatternFile(JSON.stringify(root), file).search;
    if (!searched) throw usageError(`--candidates ${file}: the pattern file records no search`);
    return searched.candidates;
  } catch (err) {
    if (err instanceof PatternFileError) throw new AppError('PATTERN_FILE_INVALID', err.message);
    throw err;
  }
}

/** A progress event as one line; `first` marks the search's first report, which comes before any layer. */
function progressLine(p: PatternProgress, first: boolean): string {
  const of = (done: number, total: number | null): string => `${done}${total === null ? '' : `/${total}`}`;
  switch (p.stage) {
    case 'search':
      if (first) {
        return p.done > 0
          ? `search: ${of(p.done, p.total)} (video, layer) units from the checkpoint`
          : `search: ${of(p.done, p.total)} (video, layer) units`;
      }
      return p.video === undefined ||
        p.layer === undefined ||
        p.layers === undefined ||
        p.videos === undefined
        ? `search ${of(p.done, p.total)}`
        : `search: video ${p.video + 1}/${p.videos} layer ${p.layer + 1}/${p.layers} (${of(p.done, p.total)} done)`;
    case 'video':
    case 'vision':
      return `${p.stage} ${p.item ?? ''} ${of(p.done, p.total)}`;
    default:
      return `${p.stage} ${of(p.done, p.total)}`;
  }
}

export async function runSearchPatterns(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCli({
      args: argv,
      options: {
        model: { type: 'string' },
        videos: { type: 'string', multiple: true },
        question: { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'boolean', default: false },
        'cost-target': { type: 'string' },
        candidates: { type: 'string' },
        budget: { type: 'string', multiple: true },
        'recall-samples': { type: 'string' },
        ...sharedFlags,
      },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${searchPatternsUsage}\n`);
      return 0;
    }
    const videos = [...(values.videos ?? []), ...positionals];
    if (values.videos === undefined || videos.length === 0)
      throw usageError('--videos needs at least one file');
    if (values.out === undefined) throw usageError('--out is required');
    if (values.heatmaps !== undefined && values.export === undefined)
      throw usageError('--heatmaps needs --export');
    if (values.budget !== undefined && values.candidates !== undefined) {
      throw usageError('--budget and --candidates exclude each other');
    }
    const heads = values.heatmaps === undefined ? null : parseHeads(values.heatmaps);
    let candidates: SearchParams['candidates'];
    try {
      if (values.budget !== undefined) candidates = values.budget.map(parseCandidateSpec);
    } catch (err) {
      if (err instanceof CandidateSpecError) throw usageError(`--budget ${err.message}`);
      throw err;
    }
    if (values.candidates !== undefined) {
      candidates = (candidatePresets as readonly string[]).includes(values.candidates)
        ? (values.candidates as SearchParams['candidates'])
        : await candidatesFile(absolute(values.candidates));
    }
    const costTarget =
      values['cost-target'] === undefined ? undefined : number('--cost-target', values['cost-target']);
    if (costTarget !== undefined && !(costTarget >= 0 && costTarget <= 1)) {
      throw usageError('--cost-target must be in [0, 1]');
    }
    const recallSamples =
      values['recall-samples'] === undefined
        ? undefined
        : number('--recall-samples', values['recall-samples']);
    if (recallSamples !== undefined && !(Number.isInteger(recallSamples) && recallSamples >= 1)) {
      throw usageError('--recall-samples must be a positive integer');
    }
    const params: SearchParams = {
      model: values.model !== undefined ? absolute(values.model) : embeddedDefault().modelDir,
      videos: videos.map(absolute),
      ...(values.question !== undefined ? { question: values.question } : {}),
      sampling: samplingFrom(values),
      ...(costTarget !== undefined ? { costTarget } : {}),
      ...(recallSamples !== undefined ? { recallSamples } : {}),
      ...(candidates !== undefined ? { candidates } : {}),
      out: absolute(values.out),
      resume: values.resume,
    };
    const jobs = new PatternJobs();
    return await withCliContext(async (ctx) => {
      let lastLine = '';
      let searching = false;
      const job = await jobs.run(
        async (jobId) => SearchStartedSchema.parse(await call(ctx, 'patterns.search', { ...params, jobId })),
        {
          onProgress: (p) => {
            const line = progressLine(p, p.stage === 'search' && !searching);
            searching ||= p.stage === 'search';
            if (io.interactive) io.err(`\r\x1b[K${line}`);
            else if (p.stage === 'search' && line !== lastLine) io.err(`${line}\n`);
            lastLine = line;
          },
        },
      );
      const { started } = job;
      const tokens = started.plans.map((p) => p.visualTokens);
      if (Math.max(...tokens) < 16384 && candidates === undefined) {
        io.err(
          `note: the calibration videos give ${Math.min(...tokens)}–${Math.max(...tokens)} video tokens; the default ` +
            'candidates suit prompts of 16K tokens and more (consider --candidates short)\n',
        );
      }
      let outcome;
      try {
        outcome = await job.result;
      } catch (err) {
        if (io.interactive) io.err('\r\x1b[K');
        if (err instanceof AppError && err.code === 'CANCELLED') {
          io.err(
            `error CANCELLED: the search was stopped; what finished is kept in ${started.checkpoint}: run the same ` +
              'command with --resume to continue\n',
          );
          return 130;
        }
        throw err;
      }
      if (io.interactive) io.err('\r\x1b[K');
      if (outcome.kind !== 'patterns.search')
        throw new AppError('INTERNAL', `unexpected job result ${outcome.kind}`);
      const { search } = outcome;
      if (values.export !== undefined) {
        const dir = absolute(values.export);
        const written = await exportPatterns(ctx, jobs, dir, search.out, heads, {
          ...(params.model !== undefined ? { model: params.model } : {}),
          video: params.videos[0] ?? '',
          ...(params.question !== undefined ? { question: params.question } : {}),
          ...(params.sampling ? { sampling: params.sampling } : {}),
        });
        io.err(`exported ${written.length} files to ${dir}\n`);
      }
      if (values.json) io.out(`${JSON.stringify(search, null, 2)}\n`);
      else {
        io.out(`wrote ${search.out} in ${(search.elapsedMs / 1000).toFixed(1)} s`);
        io.out(search.resumedUnits > 0 ? ` (${search.resumedUnits} units from the checkpoint)\n` : '\n');
        for (const line of summaryLines(search.summary)) io.out(`${line}\n`);
      }
      return 0;
    }, jobs.emit);
  } catch (err) {
    return reportError(io, err);
  }
}
