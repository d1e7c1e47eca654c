import {
  encodeF32,
  type AskResult,
  type AskStarted,
  type HeadReport,
  type HeatmapEvent,
  type ModelChoice,
  type ModelInfo,
} from '../../app/contract/engine.js';
import type { SamplingPlan } from '../../app/contract/video.js';

// Engine answers that pass the contract's schemas, shaped like the bundled tiny model's (3 layers × 4 heads).

export const tinyInfo: ModelInfo = {
  dir: '/models/tiny',
  family: 'qwen2_5_vl',
  visionLayers: 4,
  textLayers: 3,
  hidden: 64,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  vocab: 352,
  tensors: 120,
  weightBytes: 1_800_000,
  dtypes: ['F32'],
  files: ['model.safetensors'],
};

export const embeddedChoice: ModelChoice = {
  dir: '/models/tiny',
  embedded: true,
  notice: 'The bundled demo model was trained only on synthetic videos.',
  demoVideo: '/videos/demo.mp4',
  patterns: null,
  info: tinyInfo,
};

export const askPlan: SamplingPlan = {
  times: [0, 0.5, 1, 1.5],
  width: 392,
  height: 280,
  sampleFps: 2,
  gridT: 2,
  gridH: 20,
  gridW: 28,
  visualTokens: 280,
};

export function started(jobId: string, turn = 0): AskStarted {
  return {
    jobId,
    conversationId: 'conv-1',
    turn,
    plan: askPlan,
    video: '/v.mp4',
    model: embeddedChoice,
  };
}

export function result(answer: string, tokens: number[], turn = 0): AskResult {
  return {
    conversationId: 'conv-1',
    turn,
    answer,
    tokens,
    stop: 'max_tokens',
    contextTokens: 320,
    prefilledTokens: 300,
    cachedTokens: 0,
    videoTokens: 280,
    device: 'cpu',
    model: { dir: '/models/tiny', embedded: true },
    notice: embeddedChoice.notice,
    patterns: null,
    timings: {
      loadMs: 12,
      videoMs: 40,
      visionMs: 80,
      prefillMs: 120,
      firstTokenMs: 260,
      decodeMs: 50,
      decodeTokensPerSec: 60,
      totalMs: 310,
    },
  };
}

export function headReport(jobId: string, layer: number, head: number): HeadReport {
  return {
    jobId,
    layer,
    head,
    planned: 'grid',
    applied: 'grid',
    denseReason: 'none',
    queries: 300,
    keys: 300,
    density: 0.25,
    recall: 0.97,
    calibrationRecall: 0.95,
    estimationMs: 0.5,
    attentionMs: 2,
  };
}

/** A G×G heatmap event whose mass is `mass(row, col)` in both orders and whose mask keeps everything. */
export function heatmap(
  jobId: string,
  layer: number,
  head: number,
  grid: number,
  mass: (row: number, col: number) => number,
): HeatmapEvent {
  const values = new Float32Array(grid * grid);
  for (let r = 0; r < grid; r++) for (let c = 0; c < grid; c++) values[r * grid + c] = mass(r, c);
  const ones = encodeF32(new Float32Array(grid * grid).fill(1));
  return {
    jobId,
    layer,
    head,
    pattern: 'grid',
    grid,
    tokens: 300,
    mass: encodeF32(values),
    massPermuted: encodeF32(values),
    mask: ones,
    maskPermuted: ones,
    rowSamples: Array.from({ length: grid }, () => 1),
    rowSamplesPermuted: Array.from({ length: grid }, () => 1),
    recall: 0.97,
    coverage: 0.25,
    gridChoices: [],
  };
}
