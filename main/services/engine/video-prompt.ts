import { performance } from 'node:perf_hooks';
import { AppError } from '../../../app/contract/errors.js';
import { loadPromptRules } from '../../../models/families.js';
import type { ChatMessage, PromptRules } from '../../../models/family.js';
import { Model, type LoadOptions, type Video } from '../../../native/model.js';
import { decodeFrames } from '../video/decode.js';
import type { VideoInput } from './protocol.js';

// What every pre-fill about a video starts with, for the engine's asks and the pattern jobs alike: the model and
// its prompt rules, the video decoded by ffmpeg straight into the vision encoder (one frame held at a time), and
// the prompt built through the chat template with the video in the first user message. One copy, so that a
// pattern searched or compared on a prompt sees the very prompt `mmi ask` pre-fills.

export type VideoStageProgress = (
  stage: 'load' | 'video' | 'vision',
  done: number,
  total: number | null,
) => void;

export interface LoadedModel {
  model: Model;
  rules: PromptRules;
}

/** Loads a model folder with its prompt rules; the model is disposed when the rules do not load. */
export async function loadModel(
  dir: string,
  options: LoadOptions & { progress?: VideoStageProgress },
): Promise<LoadedModel> {
  const { progress, ...load } = options;
  progress?.('load', 0, 1);
  const model = await Model.load(dir, load);
  try {
    const rules = await loadPromptRules(dir);
    progress?.('load', 1, 1);
    return { model, rules };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Decodes the planned frames and pushes each into the vision encoder as it arrives. visionFromStart reports the
 * vision stage at 0 before the first frame, for views that show both stages at once. */
export async function encodeVideo(
  model: Model,
  input: VideoInput,
  signal: AbortSignal,
  progress: VideoStageProgress,
  options: { visionFromStart?: boolean } = {},
): Promise<{ video: Video; encodeMs: number; decodeMs: number }> {
  const { plan, source, ffmpeg } = input;
  const encoder = model.createEncoder(plan.height, plan.width);
  let encodeMs = 0;
  const started = performance.now();
  try {
    const onVision = { signal, onProgress: (done: number) => progress('vision', done, plan.gridT) };
    progress('video', 0, plan.times.length);
    if (options.visionFromStart) progress('vision', 0, plan.gridT);
    for await (const frame of decodeFrames(ffmpeg, source, plan, {
      signal,
      onProgress: (done, total) => progress('video', done, total),
    })) {
      const t0 = performance.now();
      await encoder.push(frame.data, 1, onVision);
      encodeMs += performance.now() - t0;
    }
    const t0 = performance.now();
    const video = await encoder.finish(onVision);
    encodeMs += performance.now() - t0;
    progress('vision', plan.gridT, plan.gridT);
    const info = video.info();
    if (info.t !== plan.gridT || info.h !== plan.gridH || info.w !== plan.gridW) {
      video.dispose();
      throw new AppError(
        'INTERNAL',
        `The encoded grid ${info.t}x${info.h}x${info.w} is not the plan's ${plan.gridT}x${plan.gridH}x${plan.gridW}`,
      );
    }
    return { video, encodeMs, decodeMs: performance.now() - started - encodeMs };
  } finally {
    encoder.dispose();
  }
}

/** A question about a video after the earlier turns (none for a first question, whose message then holds the
 * video): its ids and M-RoPE positions (3 rows of ids.length) as a pre-fill takes them. */
export function videoPrompt(
  rules: PromptRules,
  video: Video,
  sampleFps: number,
  question: string,
  history: readonly ChatMessage[] = [],
): { ids: Int32Array; positions: BigInt64Array } {
  const info = video.info();
  const prompt = rules.videoQuestion({ t: info.t, h: info.h, w: info.w, sampleFps }, question, history);
  return {
    ids: Int32Array.from(prompt.ids),
    positions: BigInt64Array.from(prompt.positions.flat(), (p) => BigInt(p)),
  };
}
