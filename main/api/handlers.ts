import { AppError } from '../../app/api/errors.js';
import { planSampling } from '../../app/domain/sampling.js';
import { collectDiagnostics } from '../services/diagnostics.js';
import { listFolder } from '../services/files/list.js';
import { runDecodeJob } from '../services/video/decode-job.js';
import type { Handlers } from './context.js';

// The one handler table both hosts serve (and the CLI calls through the same dispatcher). Params arrive already
// validated against the contract; results are validated again on the way out.

export const handlers: Handlers = {
  'app.diagnostics': async (_params, ctx) => collectDiagnostics(ctx.services.tools),

  'video.probe': async ({ path }, ctx) => ctx.services.probes.probe(await ctx.files.checkRead(path)),

  'video.decode': async ({ path, options }, ctx) => {
    const meta = await ctx.services.probes.probe(await ctx.files.checkRead(path));
    const plan = planSampling(meta, options);
    const { ffmpeg } = await ctx.services.tools.require();
    const jobId = ctx.services.jobs.start(
      (job) => runDecodeJob(ffmpeg.path, meta, plan, job),
      ctx.emit,
      ctx.signal,
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

  'model.inspect': async () => notYet(),
  'model.choose': async () => notYet(),
  'model.current': async () => notYet(),
  'engine.status': async () => notYet(),
  'engine.restart': async () => notYet(),
  'engine.ask': async () => notYet(),
};

// The engine host lands in main/services/engine/; until then its commands say so.
function notYet(): never {
  throw new AppError('ENGINE_UNAVAILABLE', 'The engine host is not wired into this build yet');
}
