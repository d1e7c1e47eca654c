import { AppError } from '../../app/contract/errors.js';
import { planSampling } from '../../app/domain/sampling.js';
import { collectDiagnostics } from '../services/diagnostics.js';
import { listFolder } from '../services/files/list.js';
import { runDecodeJob } from '../services/video/decode-job.js';
import type { PatternsContext } from '../services/patterns/service.js';
import type { ApiContext, Handlers } from './context.js';

// The one handler table both hosts serve (and the CLI calls through the same dispatcher). Params arrive already
// validated against the contract; results are validated again on the way out.

export const handlers: Handlers = {
  'app.diagnostics': async (_params, ctx) => collectDiagnostics(ctx.services.tools),

  'video.probe': async ({ path }, ctx) => ctx.services.probes.probe(await ctx.files.checkRead(path)),

  'video.decode': async ({ path, options, jobId: id }, ctx) => {
    const meta = await ctx.services.probes.probe(await ctx.files.checkRead(path));
    const plan = planSampling(meta, options);
    const { ffmpeg } = await ctx.services.tools.require();
    const jobId = ctx.services.jobs.start(
      (job) => runDecodeJob(ffmpeg.path, meta, plan, job),
      ctx.emit,
      ctx.signal,
      id,
    );
    return { jobId, plan };
  },

  'job.cancel': async ({ jobId }, ctx) => {
    await ctx.services.jobs.cancel(jobId);
    return {};
  },

  'files.list': async ({ dir }, ctx) => {
    if (dir === undefined && ctx.files.roots.length === 0) {
      throw new AppError('NOT_ALLOWED', 'This host offers no folders to browse: open a file instead');
    }
    return listFolder(ctx.files, dir);
  },

  'model.inspect': async ({ dir }, ctx) => ctx.services.engine.inspect(await ctx.files.checkList(dir)),

  'model.choose': async ({ dir, patterns }, ctx) =>
    ctx.services.engine.choose(
      typeof dir === 'string' ? await ctx.files.checkList(dir) : dir,
      typeof patterns === 'string' ? await ctx.files.checkRead(patterns) : patterns,
    ),

  'model.current': async (_params, ctx) => ctx.services.engine.current(),

  'engine.status': async (_params, ctx) => ctx.services.engine.status(),

  'engine.restart': async (_params, ctx) => ctx.services.engine.restart(),

  'engine.ask': async (params, ctx) =>
    ctx.services.engine.ask(params, {
      files: ctx.files,
      jobs: ctx.services.jobs,
      probes: ctx.services.probes,
      tools: ctx.services.tools,
      emit: ctx.emit,
      signal: ctx.signal,
    }),

  'patterns.search': async (params, ctx) => ctx.services.patterns.search(params, patternsContext(ctx)),

  'patterns.list': async (_params, ctx) => ctx.services.patterns.list(ctx.services.engine),

  'patterns.load': async ({ path, model }, ctx) =>
    ctx.services.patterns.load(path, model, patternsContext(ctx)),

  'patterns.compare': async (params, ctx) => ctx.services.patterns.compare(params, patternsContext(ctx)),

  'patterns.heatmaps': async (params, ctx) => ctx.services.patterns.heatmaps(params, patternsContext(ctx)),
};

function patternsContext(ctx: ApiContext): PatternsContext {
  return {
    files: ctx.files,
    jobs: ctx.services.jobs,
    probes: ctx.services.probes,
    tools: ctx.services.tools,
    engine: ctx.services.engine,
    emit: ctx.emit,
    signal: ctx.signal,
  };
}
