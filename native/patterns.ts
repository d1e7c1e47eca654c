// The offline pattern search from TypeScript (native/patterns/README.md "The search"): on a model and calibration
// prompts (ids, M-RoPE positions and the encoded videos, as a pre-fill takes them), or on post-RoPE q/k given per
// layer. Each runs on a native thread of its own, reports progress per (prompt, layer), is cancelled through an
// AbortSignal (rejecting MMI_CANCELLED) and, with a checkpoint file, resumes where an interrupted search stopped.
// The result is the pattern file's text exactly as the native writer makes it (equal searches, equal bytes),
// saved atomically to `out` first when one is given. Also: inputs with planted attention structure (the attention
// core's generators) for testing the search.
import type { PatternModelIdentity } from '../app/domain/pattern-file-check.js';
import {
  loadAddon,
  type NativeJob,
  type NativeModel,
  type NativeVideo,
  type Segment,
  type Tensor,
} from './addon.js';
import { MmiError, runJob } from './errors.js';
import type { Model, Video } from './model.js';

export interface SearchSettings {
  /** Kernel tiles / dense causal tiles a head may cost, 0…1 (default 0.1). */
  costTarget?: number;
  /** Query rows recall is measured on (default 64). */
  recallSamples?: number;
  /** Recalls this close tie and the cheaper estimation wins (default 0.005). */
  tieTolerance?: number;
  /** A head whose best recall is lower stays dense (default 0.6). */
  denseBelowRecall?: number;
  /** Candidates as a pattern file's search.candidates ({pattern, budgets}); absent: the engine's defaults. */
  candidates?: readonly unknown[];
}

export interface SearchProgress {
  stage: 'encoding' | 'scoring' | 'done';
  prompt: number;
  prompts: number;
  /** Scoring: the layer just finished. */
  layer: number;
  layers: number;
  /** (prompt, layer) units finished, those from the checkpoint included. */
  done: number;
  total: number;
}

export interface SearchOptions {
  /** Finished (prompt, layer) units are kept here; a later search with the same inputs and settings skips them.
   * A checkpoint of another search is refused (MMI_PATTERN_FILE_INVALID, kind CheckpointInvalid). */
  checkpoint?: string;
  /** Saves the file here (atomically) before answering. */
  out?: string;
  signal?: AbortSignal;
  onProgress?: (progress: SearchProgress) => void;
}

/** One calibration prompt as a pre-fill takes it. */
export interface CalibrationPrompt {
  /** Recorded in the file (e.g. the video's file name). */
  name: string;
  ids: Int32Array;
  /** Rows t, h, w of ids.length positions each. */
  positions: BigInt64Array;
  /** One per run of <|video_pad|> tokens, in order. */
  videos: Video[];
}

/** A calibration prompt as post-RoPE q/k: q[l] is [heads, N, headDim], k[l] is [kvHeads, N, headDim]. */
export interface QkPrompt {
  name: string;
  layout: Segment[];
  q: Tensor[];
  k: Tensor[];
  /** 0 or absent: 1/sqrt(headDim). */
  scale?: number;
}

export type PlantedSpec = {
  layout: Segment[];
  /** Query heads over the one kv head. */
  headsQ: number;
  /** 64…256. */
  dim: number;
  seed: number;
} & (
  | { kind: 'vertical_slash'; columns: number[]; offsets: number[] }
  | { kind: 'grid'; stride: number; phase: number }
);

interface NativeSettings {
  costTarget?: number;
  recallSamples?: number;
  tieTolerance?: number;
  denseBelowRecall?: number;
  candidates?: string;
}

interface NativeSearchEvents {
  onProgress?: ((progress: SearchProgress) => void) | undefined;
}

/** The addon's raw surface for the search (native/addon/src/patterns.cpp). */
interface NativePatternSearch {
  searchPatterns(
    model: NativeModel,
    prompts: { name: string; ids: Int32Array; positions: BigInt64Array; videos: NativeVideo[] }[],
    settings: NativeSettings,
    options: { checkpoint?: string; out?: string },
    events: NativeSearchEvents,
  ): NativeJob<string>;
  searchPatternsQk(
    identity: PatternModelIdentity,
    prompts: QkPrompt[],
    settings: NativeSettings,
    options: { checkpoint?: string; out?: string; threads?: number },
    events: NativeSearchEvents,
  ): NativeJob<string>;
  plantedQkv(
    spec: PlantedSpec,
  ): NativeJob<{ q: Float32Array; k: Float32Array; v: Float32Array; tokens: number }>;
}

function addon(): NativePatternSearch {
  const loaded: Partial<NativePatternSearch> = loadAddon() as Partial<NativePatternSearch>;
  if (
    typeof loaded.searchPatterns !== 'function' ||
    typeof loaded.searchPatternsQk !== 'function' ||
    typeof loaded.plantedQkv !== 'function'
  ) {
    throw new MmiError(
      'MMI_ADDON_UNAVAILABLE',
      'the native addon has no pattern search: rebuild it with `npm run build:native`',
    );
  }
  return loaded as NativePatternSearch;
}

function nativeSettings(settings: SearchSettings): NativeSettings {
  const { candidates, ...rest } = settings;
  return candidates === undefined ? rest : { ...rest, candidates: JSON.stringify(candidates) };
}

function outputs(options: SearchOptions): { checkpoint?: string; out?: string } {
  return {
    ...(options.checkpoint !== undefined ? { checkpoint: options.checkpoint } : {}),
    ...(options.out !== undefined ? { out: options.out } : {}),
  };
}

/** Runs the search on the model (CPU) and answers the pattern file's text. */
export function searchPatterns(
  model: Model,
  prompts: CalibrationPrompt[],
  settings: SearchSettings = {},
  options: SearchOptions = {},
): Promise<string> {
  return runJob(options.signal, () =>
    addon().searchPatterns(
      model.native,
      prompts.map((p) => ({
        name: p.name,
        ids: p.ids,
        positions: p.positions,
        videos: p.videos.map((v) => v.native),
      })),
      nativeSettings(settings),
      outputs(options),
      { onProgress: options.onProgress },
    ),
  );
}

/** The same search on q/k given per layer; threads: 0 or absent, one per core. */
export function searchPatternsQk(
  identity: PatternModelIdentity,
  prompts: QkPrompt[],
  settings: SearchSettings = {},
  options: SearchOptions & { threads?: number } = {},
): Promise<string> {
  return runJob(options.signal, () =>
    addon().searchPatternsQk(
      identity,
      prompts,
      nativeSettings(settings),
      { ...outputs(options), ...(options.threads !== undefined ? { threads: options.threads } : {}) },
      { onProgress: options.onProgress },
    ),
  );
}

/** fp32 q [headsQ, N, dim], k and v [1, N, dim] with planted structure; deterministic per seed. */
export function plantedQkv(
  spec: PlantedSpec,
  options: { signal?: AbortSignal } = {},
): Promise<{ q: Float32Array; k: Float32Array; v: Float32Array; tokens: number }> {
  return runJob(options.signal, () => addon().plantedQkv(spec));
}
