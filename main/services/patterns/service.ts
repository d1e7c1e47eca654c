import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EmitEvent } from '../../../app/contract/contract.js';
import { AppError } from '../../../app/contract/errors.js';
import type { JobResult } from '../../../app/contract/jobs.js';
import {
  defaultCalibrationQuestion,
  type CompareParams,
  type HeatmapsParams,
  type LoadedPatternFile,
  type PatternFileEntry,
  type PatternProgress,
  type SearchParams,
  type SearchStarted,
} from '../../../app/contract/patterns.js';
import { presetCandidates, shortPromptCostTarget } from '../../../app/domain/pattern-candidates.js';
import {
  checkPatternModel,
  parsePatternFile,
  PatternFileError,
} from '../../../app/domain/pattern-file-check.js';
import { summarizePatternFile } from '../../../app/domain/pattern-summary.js';
import type { EngineService } from '../engine/service.js';
import { forkLauncher, type EngineLauncher } from '../engine/launcher.js';
import { videoInput } from '../engine/video-input.js';
import type { FileAccessPolicy } from '../files/policy.js';
import type { JobControl, JobRegistry } from '../jobs/registry.js';
import type { ProbeCache } from '../video/probe-cache.js';
import type { VideoTools } from '../video/tools.js';
import { patternsError } from './errors.js';
import { modelIdentity } from './pattern-files.js';
import { patternWorkerEntry, runWorker } from './worker-client.js';
import type { WorkerJob, WorkerProgress } from './worker-protocol.js';

// Pattern files and the jobs that make and use them, as the app's commands see them: which model and videos a
// job runs on (a model folder the caller may list, or the model questions go to; videos the caller may read,
// sampled by the app's rule), where a search writes (the app's pattern folder, or a folder the caller may list),
// which pattern files may be read (the caller's, and the app's own folder), and each job run in a worker process
// (worker-client.ts) whose progress goes to the caller as patterns.progress.

export interface PatternsServiceOptions {
  /** How a worker is started (Electron passes utilityProcess); default child_process.fork. */
  launcher?: EngineLauncher;
  /** The worker's entry point; default the compiled one. */
  entry?: () => string | null;
  /** The app's pattern folder; default $MMI_PATTERNS_DIR, else the user's data folder. */
  dir?: string;
  /** CPU threads of the workers' engine; 0 (default): one per core. */
  threads?: number;
}

export interface PatternsContext {
  files: FileAccessPolicy;
  jobs: JobRegistry;
  probes: ProbeCache;
  tools: VideoTools;
  engine: EngineService;
  emit: EmitEvent;
  signal: AbortSignal;
}

const progressIntervalMs = 100;
/** Files listed from the pattern folder at most (the newest). */
const listLimit = 200;

export function defaultPatternsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MMI_PATTERNS_DIR) return path.resolve(env.MMI_PATTERNS_DIR);
  const data = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'mmi-studio', 'patterns');
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
}

export class PatternsService {
  readonly dir: string;
  private readonly launcher: EngineLauncher;
  private readonly entry: () => string | null;
  private readonly threads: number;

  constructor(options: PatternsServiceOptions = {}) {
    this.dir = options.dir ?? defaultPatternsDir();
    this.launcher = options.launcher ?? forkLauncher;
    this.entry = options.entry ?? patternWorkerEntry;
    this.threads = options.threads ?? 0;
  }

  async search(params: SearchParams, ctx: PatternsContext): Promise<SearchStarted> {
    const model = await this.modelDir(params.model, ctx);
    const videos = await Promise.all(
      params.videos.map(async (v) => videoInput(await ctx.files.checkRead(v), params.sampling, ctx)),
    );
    const out = params.out === undefined ? await this.newFile(model) : await this.writable(params.out, ctx);
    const checkpoint = `${out}.ckpt`;
    const preset = typeof params.candidates === 'string' ? params.candidates : null;
    const candidates =
      typeof params.candidates === 'string' ? presetCandidates(params.candidates) : params.candidates;
    const costTarget = params.costTarget ?? (preset === 'short' ? shortPromptCostTarget : undefined);
    const job: WorkerJob = {
      kind: 'search',
      model: { dir: model, threads: this.threads },
      videos: videos.map((input) => ({ name: path.basename(input.source.path), input })),
      question: params.question ?? defaultCalibrationQuestion,
      settings: {
        ...(costTarget !== undefined ? { costTarget } : {}),
        ...(params.recallSamples !== undefined ? { recallSamples: params.recallSamples } : {}),
        ...(candidates ? { candidates } : {}),
      },
      out,
      checkpoint,
      resume: params.resume ?? false,
    };
    const jobId = this.start(job, ctx, params.jobId);
    return { jobId, out, checkpoint, plans: videos.map((v) => v.plan), model };
  }

  async compare(params: CompareParams, ctx: PatternsContext): Promise<{ jobId: string }> {
    const model = await this.modelDir(params.model, ctx);
    const input = await videoInput(await ctx.files.checkRead(params.video), params.sampling, ctx);
    const job: WorkerJob = {
      kind: 'compare',
      model: { dir: model, threads: this.threads },
      video: { name: path.basename(input.source.path), input },
      question: params.question ?? defaultCalibrationQuestion,
      a: await this.readable(params.a, ctx),
      b: params.b === null ? null : await this.readable(params.b, ctx),
      maxTokens: params.maxTokens ?? 16,
    };
    return { jobId: this.start(job, ctx, params.jobId) };
  }

  async heatmaps(params: HeatmapsParams, ctx: PatternsContext): Promise<{ jobId: string }> {
    const model = await this.modelDir(params.model, ctx);
    const input = await videoInput(await ctx.files.checkRead(params.video), params.sampling, ctx);
    const job: WorkerJob = {
      kind: 'heatmaps',
      model: { dir: model, threads: this.threads },
      video: { name: path.basename(input.source.path), input },
      question: params.question ?? defaultCalibrationQuestion,
      patterns: params.patterns === null ? null : await this.readable(params.patterns, ctx),
      heads: params.heads,
      grid: params.grid ?? 64,
      samples: params.samples ?? 64,
    };
    return { jobId: this.start(job, ctx, params.jobId) };
  }

  /** The app's pattern folder, newest first. */
  async list(
    engine: EngineService,
  ): Promise<{ dir: string; files: PatternFileEntry[]; inUse: PatternFileEntry | null }> {
    await mkdir(this.dir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    const entries = await Promise.all(
      names.map(async (name) => {
        const file = path.join(this.dir, name);
        const info = await stat(file);
        return { file, name, info };
      }),
    );
    entries.sort((a, b) => b.info.mtimeMs - a.info.mtimeMs);
    const files = await Promise.all(entries.slice(0, listLimit).map(({ file, info }) => entryOf(file, info)));
    const used = (await engine.current()).patterns;
    const inUse =
      used === null
        ? null
        : await stat(used).then(
            (info) => entryOf(used, info),
            () => null,
          );
    return { dir: this.dir, files, inUse };
  }

  /** Reads and checks a file; against a model when asked (the file still loads when made for another one). */
  async load(
    file: string,
    model: string | null | undefined,
    ctx: PatternsContext,
  ): Promise<LoadedPatternFile> {
    const real = await this.readable(file, ctx);
    let parsed;
    try {
      parsed = parsePatternFile(await readFile(real, 'utf8'), real);
    } catch (err) {
      throw patternsError(err);
    }
    let fitsModel: boolean | null = null;
    let problem: string | null = null;
    if (model !== null) {
      const dir = await this.modelDir(model, ctx);
      const info = model === undefined ? (await ctx.engine.current()).info : await ctx.engine.inspect(dir);
      try {
        checkPatternModel(parsed, await modelIdentity(dir, info), {}, real);
        fitsModel = true;
      } catch (err) {
        if (!(err instanceof PatternFileError)) throw err;
        fitsModel = false;
        problem = err.message;
      }
    }
    return { path: real, file: parsed, summary: summarizePatternFile(parsed), fitsModel, problem };
  }

  /** Runs a job in a worker; its progress goes to the caller, at most every 100 ms per stage (the last and every
   * scored layer always). */
  private start(job: WorkerJob, ctx: PatternsContext, id: string | undefined): string {
    return ctx.jobs.start(
      async (control: JobControl): Promise<JobResult> => {
        const last = new Map<string, number>();
        const emit = (p: WorkerProgress): void => {
          const key = `${p.stage}:${p.item ?? ''}`;
          const now = performance.now();
          const previous = last.get(key);
          // Each scored layer is reported (a unit of the search's own pace); frames, patches and tokens are
          // throttled.
          const throttled = p.stage !== 'search' && p.done !== p.total;
          if (previous !== undefined && throttled && now - previous < progressIntervalMs) return;
          last.set(key, now);
          const payload: PatternProgress = { jobId: control.jobId, ...p };
          ctx.emit('patterns.progress', payload);
        };
        emit({ stage: 'queued', done: 0, total: null });
        return runWorker(this.launcher, this.entry(), job, emit, control.signal);
      },
      ctx.emit,
      ctx.signal,
      id,
    );
  }

  private async modelDir(model: string | undefined, ctx: PatternsContext): Promise<string> {
    return model === undefined ? (await ctx.engine.current()).dir : ctx.files.checkList(model);
  }

  /** A pattern file the caller may read: one of the app's own, or one its file policy allows. */
  /** The app's own files (its pattern folder, the file questions are pre-filled with), or one the caller may read. */
  private async readable(file: string, ctx: PatternsContext): Promise<string> {
    if (path.isAbsolute(file)) {
      const real = await realpath(file).catch(() => null);
      const dir = await realpath(this.dir).catch(() => null);
      if (real !== null && dir !== null && inside(dir, real)) return real;
      const used = (await ctx.engine.current()).patterns;
      if (real !== null && used !== null && real === (await realpath(used).catch(() => null))) return real;
    }
    return ctx.files.checkRead(file);
  }

  /** An output path in a folder the caller may list. */
  private async writable(file: string, ctx: PatternsContext): Promise<string> {
    if (!path.isAbsolute(file)) throw new AppError('BAD_REQUEST', `Not an absolute path: ${file}`);
    const dir = await ctx.files.checkList(path.dirname(file));
    return path.join(dir, path.basename(file));
  }

  /** A new file in the app's pattern folder, named for the model and the time. */
  private async newFile(model: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const name = path.basename(model) === 'model' ? path.basename(path.dirname(model)) : path.basename(model);
    return path.join(this.dir, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}-${stamp(new Date())}.json`);
  }
}

/** A listed file: its summary, or why it does not read as a pattern file. */
async function entryOf(file: string, info: { size: number; mtimeMs: number }): Promise<PatternFileEntry> {
  const name = path.basename(file);
  const base = { path: file, name, sizeBytes: info.size, modifiedMs: info.mtimeMs };
  try {
    return {
      ...base,
      summary: summarizePatternFile(parsePatternFile(await readFile(file, 'utf8'), name)),
      problem: null,
    };
  } catch (err) {
    return { ...base, summary: null, problem: err instanceof Error ? err.message : String(err) };
  }
}
