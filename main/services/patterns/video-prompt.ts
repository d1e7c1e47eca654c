import { performance } from 'node:perf_hooks';
import { AppError } from '../../../app/api/errors.js';
import type { PatternStage } from '../../../app/api/patterns.js';
import {
  buildPrompt,
  loadPromptRules,
  secondPerGrid,
  type PromptRules,
} from '../../../models/qwen2_5_vl/prompt.js';
import { Model, type Video } from '../../../native/model.js';
import type { VideoInput } from '../engine/protocol.js';
import { decodeFrames } from '../video/decode.js';

// What every pattern job starts with, in the worker: the model and its prompt rules, each video decoded by ffmpeg
// straight into the vision encoder (one frame held at a time), and the prompt of a first question about it, built
// exactly as `mmi ask` builds it (the chat template with the video, then the question).

export type StageProgress = (stage: PatternStage, done: number, total: number | null) => void;

export interface LoadedModel {
  model: Model;
  rules: PromptRules;
}

export async function loadModel(
  dir: string,
  threads: number,
  signal: AbortSignal,
  progress: StageProgress,
): Promise<LoadedModel> {
  progress('load', 0, 1);
  const model = await Model.load(dir, { threads: threads || undefined, signal });
  try {
    const rules = await loadPromptRules(dir);
    progress('load', 1, 1);
    return { model, rules };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Decodes the planned frames and pushes each into the vision encoder as it arrives. */
export async function encodeVideo(
  model: Model,
  input: VideoInput,
  signal: AbortSignal,
  progress: StageProgress,
): Promise<{ video: Video; encodeMs: number; decodeMs: number }> {
  const { plan, source, ffmpeg } = input;
  const encoder = model.createEncoder(plan.height, plan.width);
  let encodeMs = 0;
  const started = performance.now();
  try {
    const onVision = { signal, onProgress: (done: number) => progress('vision', done, plan.gridT) };
    progress('video', 0, plan.times.length);
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

/** The first question about a video: its ids and M-RoPE positions (3 rows of ids.length) as a pre-fill takes them. */
export function firstTurn(
  rules: PromptRules,
  video: Video,
  sampleFps: number,
  question: string,
): { ids: Int32Array; positions: BigInt64Array } {
  const info = video.info();
  const grid = { t: info.t, h: info.h, w: info.w, secondPerGrid: secondPerGrid(rules, sampleFps) };
  const prompt = buildPrompt(
    rules,
    [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: question }] }],
    [grid],
  );
  return {
    ids: Int32Array.from(prompt.ids),
    positions: BigInt64Array.from(prompt.positions.rows.flat(), (p) => BigInt(p)),
  };
}
