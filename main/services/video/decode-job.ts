import type { JobResult } from '../../../app/contract/jobs.js';
import type { SamplingPlan } from '../../../app/contract/video.js';
import type { JobControl } from '../jobs/registry.js';
import { decodeFrames, type DecodeSource, type DecodedFrame } from './decode.js';

// The decode job: every planned frame through the pipeline, progress as frames arrive. There is no engine to feed
// yet, so frames go to `sink` (nothing, by default) and the job reports what it delivered.

export async function runDecodeJob(
  ffmpeg: string,
  source: DecodeSource,
  plan: SamplingPlan,
  job: JobControl,
  sink: (frame: DecodedFrame) => void | Promise<void> = () => undefined,
): Promise<JobResult> {
  const started = performance.now();
  let frames = 0;
  let bytes = 0;
  job.progress(0, plan.times.length);
  for await (const frame of decodeFrames(ffmpeg, source, plan, {
    signal: job.signal,
    onProgress: (done, total) => job.progress(done, total),
  })) {
    await sink(frame);
    frames += 1;
    bytes += frame.data.length;
  }
  return {
    kind: 'video.decode',
    summary: {
      frames,
      width: plan.width,
      height: plan.height,
      bytes,
      elapsedSec: (performance.now() - started) / 1000,
    },
  };
}
