import { SamplingRequestSchema } from '../../../app/contract/contract.js';
import { AppError } from '../../../app/contract/errors.js';
import type { SamplingOptions } from '../../../app/contract/video.js';
import { defaultSamplingOptions, planSampling } from '../../../app/domain/sampling.js';
import type { ProbeCache } from '../video/probe-cache.js';
import type { VideoTools } from '../video/tools.js';
import type { VideoInput } from './protocol.js';

// A video as the engine and the pattern jobs read it: the ffmpeg binary, the probed source and the plan of the
// sampling asked for (the app's defaults where the request says nothing), so that an ask and a pattern job on the
// same video and options sample the same frames.

/** The video input of a file the caller may read (the caller checks that first). */
export async function videoInput(
  file: string,
  sampling: Partial<SamplingOptions> | undefined,
  ctx: { probes: ProbeCache; tools: VideoTools },
): Promise<VideoInput> {
  const options = SamplingRequestSchema.safeParse({ ...defaultSamplingOptions, ...sampling });
  if (!options.success) throw new AppError('BAD_REQUEST', 'Invalid sampling options', options.error.message);
  const meta = await ctx.probes.probe(file);
  const plan = planSampling(meta, options.data);
  const { ffmpeg } = await ctx.tools.require();
  return {
    ffmpeg: ffmpeg.path,
    source: {
      path: meta.path,
      fps: meta.fps,
      nominalFps: meta.nominalFps,
      durationSec: meta.durationSec,
      startSec: meta.startSec,
      videoStreamIndex: meta.videoStreamIndex,
    },
    plan,
  };
}
