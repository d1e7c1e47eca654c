// Loads the native addon (build/addon/Release/mmi.node, built by `npm install`) and describes its raw surface.
// Application code uses the typed API in attention.ts, which wraps these calls with AbortSignal and typed errors.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The C API version this TypeScript layer was written for (MMI_API_VERSION in native/include/mmi.h). */
export const API_VERSION = 3;

export type DType = 'f32' | 'f16' | 'bf16';

/** q [heads, tokens, dim] (or k/v): fp32 as Float32Array, fp16/bf16 as their raw bits in a Uint16Array. */
export type Tensor =
  | { dtype: 'f32'; data: Float32Array; heads: number; tokens: number; dim: number }
  | { dtype: 'f16' | 'bf16'; data: Uint16Array; heads: number; tokens: number; dim: number };

export type Segment = { kind: 'text'; tokens: number } | { kind: 'video'; t: number; h: number; w: number };

export type PatternKind =
  'dense' | 'a_shape' | 'vertical_slash' | 'block_sparse' | 'grid' | 'q_boundary' | 'two_d_boundary';

export interface VsBudget {
  vertical: number;
  slash: number;
}

/** A head's pattern; budgets left out take their defaults (kernels/README.md). */
export interface Pattern {
  kind: PatternKind;
  sinkTokens?: number;
  localTokens?: number;
  verticalSlash?: VsBudget;
  topKBlocks?: number;
  gridLines?: number;
  textRows?: VsBudget;
  videoRows?: VsBudget;
  textToText?: VsBudget;
  textToVideo?: VsBudget;
  videoToText?: VsBudget;
  videoToVideo?: VsBudget;
}

/** One head's sparse index (kernels/include/mmi/sparse_index.hpp), copied out of the engine. */
export interface IndexHead {
  tokens: number;
  blockOffsets: BigInt64Array;
  blockIds: Int32Array;
  columnOffsets: BigInt64Array;
  columnIds: Int32Array;
  rowPerm: Int32Array | null;
  colPerm: Int32Array | null;
}

export interface GridChoice {
  start: number;
  length: number;
  stride: number;
  prior: number;
  score: number;
  phases: number[];
}

export interface Density {
  computed: number;
  total: number;
  value: number;
}

export interface NativeJob<T> {
  promise: Promise<T>;
  cancel(): void;
}

export type ProgressCallback = (done: number, total: number) => void;

export interface NativeIndex {
  readonly heads: number;
  readonly tokens: number;
  head(head: number): IndexHead;
  grid(head: number): GridChoice[];
  density(head: number, onProgress?: ProgressCallback): NativeJob<Density>;
  dispose(): void;
}

export interface NativeHeatmap {
  head: number;
  grid: number;
  /** G×G row-major (row bin × key bin): mean softmax mass of the sampled rows in each cell, original order. */
  mass: Float32Array;
  /** The same in the index's kernel (permuted) order. */
  massPermuted: Float32Array;
  /** G×G: share of each cell's causal (row, key) pairs of sampled rows that the mask keeps. */
  mask: Float32Array;
  maskPermuted: Float32Array;
  /** Sampled rows per row bin (bins without one hold zeros in mass). */
  rowSamples: Int32Array;
  rowSamplesPermuted: Int32Array;
  /** The sampled original row positions. */
  rows: BigInt64Array;
  /** Attention mass inside the mask, mean over the sampled rows. */
  recall: number;
  /** Kept pairs over causal pairs of the sampled rows. */
  coverage: number;
}

export interface NativeRunOptions {
  threads?: number;
  /** Dense, sparse and heatmap calls (mmi_run_options.device). */
  device?: Device | 'auto';
}

/** What a model folder holds and the rules its inputs follow (Model.info()). */
export interface NativeModelInfo {
  family: string;
  visionLayers: number;
  textLayers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  tensors: number;
  weightBytes: number;
  dtypes: string[];
  files: string[];
  videoTokenId: number;
  visionStartTokenId: number;
  visionEndTokenId: number;
  eosTokenIds: number[];
  /** Frame sides must be multiples of patch · merge. */
  patch: number;
  merge: number;
  temporalPatch: number;
  tokensPerSecond: number;
  minPixels: number;
  maxPixels: number;
  /** CPU threads the model computes with. */
  threads: number;
  /** Where it computes. */
  device: Device;
  /** One line for people: "cpu (16 threads)" or "cuda: <GPU>, <cuBLASLt>". */
  backend: string;
}

/** Where a model computes. */
export type Device = 'cpu' | 'gpu';

export interface NativeVideoInfo {
  /** Grid in patches: temporal patches, patch rows, patch columns. */
  t: number;
  h: number;
  w: number;
  /** <|video_pad|> tokens the video fills: t · (h/merge) · (w/merge). */
  tokens: number;
  hidden: number;
}

export interface NativeVideo {
  info(): NativeVideoInfo;
  /** A copy of the features [tokens, hidden]. */
  features(): Float32Array;
  dispose(): void;
}

export interface NativeEncoder {
  push(rgb: Uint8Array, frames: number, onProgress?: ProgressCallback): NativeJob<undefined>;
  finish(onProgress?: ProgressCallback): NativeJob<NativeVideo>;
  cancel(): void;
  dispose(): void;
}

/** The session's cache: tokens, the position the next text token gets, and the modality layout (merged grids). */
export interface NativeSessionState {
  length: number;
  nextPosition: number;
  layout: Segment[];
}

export type DecodeStop = 'stop_token' | 'max_tokens' | 'caller';

export interface NativeDecodeOptions {
  maxTokens: number;
  /** 0 (default): greedy. */
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Tokens that end the answer (they are emitted and cached too). */
  stopIds?: readonly number[];
}

export interface NativePatternFile {
  /** Each head's pattern name, [layer · heads + head]. */
  kinds(layers: number, heads: number): PatternKind[];
  dispose(): void;
}

export type DenseReason =
  'none' | 'no_pattern_file' | 'pattern_is_dense' | 'short_prompt' | 'recall_floor' | 'continued_queries';

/** What one head of a pre-fill did (native/patterns/README.md). */
export interface HeadReport {
  layer: number;
  head: number;
  planned: PatternKind;
  applied: PatternKind;
  denseReason: DenseReason;
  queries: number;
  keys: number;
  density: number;
  recall: number | null;
  estimationMs: number;
  attentionMs: number;
}

/** One head's attention during a pre-fill, pooled to G×G (see NativeHeatmap for the grids). */
export interface HeadHeatmap extends Omit<NativeHeatmap, 'head' | 'rows'> {
  layer: number;
  head: number;
  /** N: bins are position · grid / N. */
  tokens: number;
  pattern: PatternKind;
  rows: number[];
  gridChoices: GridChoice[];
}

/** How a pre-fill attends: per-head patterns from a file (dense without one), heatmaps of chosen heads. */
export interface NativeAttention {
  patterns?: NativePatternFile | null;
  /** Prompts shorter than this run dense (default: NativeAddon.defaultDenseBelowTokens). */
  denseBelowTokens?: number;
  /** 0 (default): off; else heads whose estimated recall is lower run dense. */
  recallFloor?: number;
  recallSamples?: number;
  heatmaps?: { heads: { layer: number; head: number }[]; grid?: number; samples?: number };
}

export interface NativeSession {
  prefill(
    input: {
      ids: Int32Array;
      positions?: BigInt64Array;
      videos?: NativeVideo[];
      attention?: NativeAttention;
    },
    events?: {
      onProgress?: ProgressCallback;
      onHead?: (report: HeadReport) => void;
      onHeatmap?: (heatmap: HeadHeatmap) => void;
    },
  ): NativeJob<NativeSessionState & { logits: Float32Array }>;
  decode(
    options: NativeDecodeOptions,
    events?: { onProgress?: ProgressCallback; onToken?: (token: number) => void },
  ): NativeJob<NativeSessionState & { tokens: Int32Array; stop: DecodeStop }>;
  state(): NativeSessionState;
  rewind(length: number): void;
  dispose(): void;
}

export interface NativeModel {
  info(): NativeModelInfo;
  createSession(kvCapacity?: number): NativeSession;
  createEncoder(height: number, width: number): NativeEncoder;
  dispose(): void;
}

export interface BackendInfo {
  /** Whether this build holds CUDA code. */
  cudaBuilt: boolean;
  /** GPUs the CUDA runtime reports (0 without CUDA in the build, a driver or a device). */
  gpuCount: number;
  cpuThreads: number;
  detail: string;
  /** Whether models can run on the GPU (a GPU and cuBLASLt). */
  gpuUsable: boolean;
  /** Where a model loaded with device 'auto' runs now (the environment's MMI_DEVICE included). */
  autoDevice: Device;
}

export interface NativeAddon {
  apiVersion: number;
  /** The engine's default of Attention.denseBelowTokens (mmi_default_dense_below_tokens). */
  defaultDenseBelowTokens: number;
  backendInfo(): BackendInfo;
  loadModel(
    dir: string,
    options?: {
      threads?: number;
      visionChunkFrames?: number;
      tokenChunk?: number;
      device?: Device | 'auto';
    },
  ): NativeJob<NativeModel>;
  loadPatternFile(
    path: string,
    model: NativeModel,
    options?: { requireSameConfig?: boolean },
  ): NativeJob<NativePatternFile>;
  attentionDense(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    options?: NativeRunOptions & {
      causal?: boolean;
      segments?: number[];
      scale?: number;
      queryOffset?: number;
    },
    out?: Float32Array | null,
    onProgress?: ProgressCallback,
  ): NativeJob<Float32Array>;
  estimateIndex(
    q: Tensor,
    k: Tensor,
    layout: Segment[] | null,
    patterns: Pattern | Pattern[],
    options?: NativeRunOptions & { scale?: number },
    onProgress?: ProgressCallback,
  ): NativeJob<NativeIndex>;
  attentionSparse(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    index: NativeIndex,
    options?: NativeRunOptions & { causal?: boolean; scale?: number },
    out?: Float32Array | null,
    onProgress?: ProgressCallback,
  ): NativeJob<Float32Array>;
  heatmaps(
    q: Tensor,
    k: Tensor,
    index: NativeIndex,
    heads: number[],
    options?: NativeRunOptions & { samples?: number; grid?: number; causal?: boolean; scale?: number },
    onProgress?: ProgressCallback,
  ): NativeJob<NativeHeatmap[]>;
  synthetic(
    spec: {
      layout: Segment[];
      headsQ: number;
      headsKv: number;
      dim: number;
      seed: number;
      sinkTokens?: number;
    },
    options?: NativeRunOptions,
    onProgress?: ProgressCallback,
  ): NativeJob<{ q: Float32Array; k: Float32Array; v: Float32Array; tokens: number }>;
  syntheticLayout(tokens: number, h?: number, w?: number): Segment[];
  createIndex(heads: IndexHead[]): NativeJob<NativeIndex>;
  layoutCheck(layout: Segment[], tokens?: number): void;
  patternDefaults(kind: PatternKind): Required<Pattern>;
}

/** Where the addon is: $MMI_ADDON_PATH, else build/addon/Release/mmi.node of this package (from native/ in the
 * sources or dist/native/ once compiled). */
export function addonPath(): string {
  const fromEnv = process.env.MMI_ADDON_PATH;
  if (fromEnv) return fromEnv;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ['..', path.join('..', '..')].map((up) =>
    path.join(here, up, 'build', 'addon', 'Release', 'mmi.node'),
  );
  return candidates.find((file) => existsSync(file)) ?? candidates[0]!;
}

let cached: NativeAddon | undefined;

/** Loads the addon once; throws an Error with code MMI_ADDON_UNAVAILABLE saying why it cannot. */
export function loadAddon(): NativeAddon {
  if (cached) return cached;
  let file = '';
  try {
    file = addonPath();
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    if (addon.apiVersion !== API_VERSION) {
      throw new Error(`addon API version ${addon.apiVersion}, expected ${API_VERSION}: rebuild it`);
    }
    cached = addon;
    return addon;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw Object.assign(
      new Error(`cannot load the native addon ${file || ''} (run \`npm run build:native\`): ${detail}`),
      { code: 'MMI_ADDON_UNAVAILABLE', cause },
    );
  }
}
