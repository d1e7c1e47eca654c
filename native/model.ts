// The model runtime from TypeScript (Qwen2.5-VL on the GPU when one is usable, else on the CPU): load a model
// folder, encode video frames into a video's features, pre-fill a session and decode tokens as they come. Every
// long call runs on a native thread of its own (the event loop never waits), takes an AbortSignal and reports
// progress; failures are MmiError with the engine's code, kind, file and subject. Cancellation is checked between
// temporal patches, layers and tokens.
// Calls on one model are serialised by the engine; a session or encoder runs one job at a time, and its quick
// calls (state, rewind) throw while a job runs on it rather than wait.
import {
  loadAddon,
  type BackendInfo,
  type DecodeStop,
  type Device,
  type HeadHeatmap,
  type HeadReport,
  type NativeEncoder,
  type NativeModel,
  type NativeDecodeOptions as DecodeOptions,
  type NativeModelInfo,
  type NativePatternFile,
  type NativeSession,
  type NativeSessionState,
  type NativeVideo,
  type NativeVideoInfo,
  type PatternKind,
  type ProgressCallback,
} from './addon.js';
import { callSync, runJob } from './errors.js';

export type {
  BackendInfo,
  DecodeStop,
  Device,
  NativeDecodeOptions as DecodeOptions,
  DenseReason,
  HeadHeatmap,
  HeadReport,
  NativeModelInfo as ModelInfo,
  NativeSessionState as SessionState,
  NativeVideoInfo as VideoInfo,
} from './addon.js';

export interface JobOptions {
  /** Aborting cancels the work at its next check (a temporal patch, a layer, a token); rejects MMI_CANCELLED. */
  signal?: AbortSignal;
  /** Units done of total (temporal patches, layers, tokens); at most every 100 ms, and always the last. */
  onProgress?: ProgressCallback;
}

export interface LoadOptions {
  /** CPU threads; 0 or absent: one per core. */
  threads?: number;
  /** Temporal patches the vision tower encodes at once (memory grows with it); default 1. */
  visionChunkFrames?: number;
  /** Rows per chunk of the language model's projections and MLP; default 512. */
  tokenChunk?: number;
  /** 'auto' (default): the GPU when one is usable, else the CPU; the environment variable MMI_DEVICE (cpu, gpu or
   * auto) overrides what 'auto' picks. 'gpu' fails with MMI_DEVICE_UNAVAILABLE saying why when there is none. */
  device?: Device | 'auto';
  signal?: AbortSignal;
}

/** Where the engine can compute: the CPU always; the GPUs the CUDA runtime sees when this build has CUDA code; and
 * where a model loaded with device 'auto' runs now. */
export function backendInfo(): BackendInfo {
  return callSync(() => loadAddon().backendInfo());
}

/** The prompt length below which a pre-fill runs dense when Attention.denseBelowTokens is left out. */
export function defaultDenseBelowTokens(): number {
  return loadAddon().defaultDenseBelowTokens;
}

export class Model {
  private constructor(
    /** @internal */
    readonly native: NativeModel,
  ) {}

  /** Loads (memory-maps) a Hugging Face model folder, and on the GPU uploads its weights; MMI_NOT_FOUND /
   * MMI_MODEL_INVALID / MMI_UNSUPPORTED_MODEL name the file and the tensor or key, MMI_DEVICE_UNAVAILABLE and
   * MMI_OUT_OF_MEMORY say why the GPU cannot take it. */
  static async load(dir: string, options: LoadOptions = {}): Promise<Model> {
    const { signal, ...rest } = options;
    return new Model(await runJob(signal, () => loadAddon().loadModel(dir, rest)));
  }

  info(): NativeModelInfo {
    return callSync(() => this.native.info());
  }

  /** A conversation's KV cache; kvCapacity reserves room for that many tokens (default: grows as needed). */
  createSession(kvCapacity?: number): Session {
    return new Session(callSync(() => this.native.createSession(kvCapacity)));
  }

  /** Streams frames of height × width (RGB24, sides multiples of patch · merge) through the vision tower. */
  createEncoder(height: number, width: number): VideoEncoder {
    return new VideoEncoder(callSync(() => this.native.createEncoder(height, width)));
  }

  /** Loads a pattern file for this model: MMI_PATTERN_FILE_INVALID (kind WrongModel, UnknownPattern, ...) names
   * the file and the JSON path. requireSameConfig false accepts a file searched on another checkpoint of the same
   * architecture. */
  async loadPatternFile(
    path: string,
    options: { requireSameConfig?: boolean; signal?: AbortSignal } = {},
  ): Promise<PatternFile> {
    const { signal, ...rest } = options;
    return new PatternFile(await runJob(signal, () => loadAddon().loadPatternFile(path, this.native, rest)));
  }

  /** Releases the model once its sessions and encoders are gone (running jobs keep it alive). */
  dispose(): void {
    this.native.dispose();
  }
}

/** A pattern file checked against its model. */
export class PatternFile {
  /** @internal */
  constructor(readonly native: NativePatternFile) {}

  /** Each head's pattern, [layer · heads + head]. */
  kinds(layers: number, heads: number): PatternKind[] {
    return callSync(() => this.native.kinds(layers, heads));
  }

  dispose(): void {
    this.native.dispose();
  }
}

/** One video's frames on their way to vision features; only one chunk of temporal patches is held at a time. */
export class VideoEncoder {
  /** @internal */
  constructor(private readonly native: NativeEncoder) {}

  /** Adds `frames` frames (rgb holds frames · height · width · 3 bytes, read in place until this settles). A
   * cancelled push leaves the encoder spent. onProgress: temporal patches encoded (total -1). */
  push(rgb: Uint8Array, frames: number, options: JobOptions = {}): Promise<void> {
    return runJob(options.signal, () => this.native.push(rgb, frames, options.onProgress)).then(
      () => undefined,
    );
  }

  /** Encodes what is left (an odd last frame is repeated) and returns the video. */
  async finish(options: JobOptions = {}): Promise<Video> {
    return new Video(await runJob(options.signal, () => this.native.finish(options.onProgress)));
  }

  dispose(): void {
    this.native.dispose();
  }
}

/** A video's vision features, ready to fill its <|video_pad|> tokens in a pre-fill. */
export class Video {
  /** @internal */
  constructor(readonly native: NativeVideo) {}

  info(): NativeVideoInfo {
    return callSync(() => this.native.info());
  }

  /** A copy of the features [tokens, hidden]. */
  features(): Float32Array {
    return callSync(() => this.native.features());
  }

  dispose(): void {
    this.native.dispose();
  }
}

/** How a pre-fill attends. On a model on the GPU: the GPU runs every pattern (sparse heads at head dims 64, 80 and
 * 128, indices estimated on the device) and computes the heatmaps on the device, delivered as on the CPU; head
 * reports come after the pre-fill, with the pattern's tile density, the recall a head's heatmap measured and no
 * per-head times; the recall floor needs the CPU (MMI_INVALID_ARGUMENT). */
export interface Attention {
  /** Per-head sparse patterns; absent or null: every head dense. */
  patterns?: PatternFile | null;
  /** Prompts shorter than this run dense (default defaultDenseBelowTokens(): below it sparse attention does not
   * pay). */
  denseBelowTokens?: number;
  /** 0 (default): off; else heads whose estimated recall is lower run dense (CPU only). */
  recallFloor?: number;
  recallSamples?: number;
  /** Heads whose heatmaps onHeatmap receives (fresh pre-fills); grid G (default 64), sampled rows (64). */
  heatmaps?: { heads: { layer: number; head: number }[]; grid?: number; samples?: number };
}

export interface PrefillInput {
  ids: Int32Array;
  /** Rows t, h, w of ids.length positions each; absent: text continuing the cache. */
  positions?: BigInt64Array;
  /** One per run of <|video_pad|> tokens, in order. */
  videos?: Video[];
  /** Pattern file, head reports and heatmaps; absent: the runtime's dense attention, no reports. */
  attention?: Attention;
}

export interface PrefillJobOptions extends JobOptions {
  /** Each head as it finishes (needs `attention`). */
  onHead?: (report: HeadReport) => void;
  /** Each requested head's heatmap (needs `attention.heatmaps`). */
  onHeatmap?: (heatmap: HeadHeatmap) => void;
}

export interface DecodeJobOptions extends JobOptions {
  /** Each token as soon as it is generated, in order. */
  onToken?: (token: number) => void;
}

export class Session {
  /** @internal */
  constructor(private readonly native: NativeSession) {}

  /** Appends the tokens to the cache and answers the last token's logits with the new state. A cancelled pre-fill
   * leaves the cache as it was. onProgress: layers done. */
  prefill(
    input: PrefillInput,
    options: PrefillJobOptions = {},
  ): Promise<NativeSessionState & { logits: Float32Array }> {
    const { patterns, ...attention } = input.attention ?? {};
    const native = {
      ids: input.ids,
      ...(input.positions ? { positions: input.positions } : {}),
      ...(input.videos ? { videos: input.videos.map((v) => v.native) } : {}),
      ...(input.attention ? { attention: { ...attention, patterns: patterns?.native ?? null } } : {}),
    };
    return runJob(options.signal, () =>
      this.native.prefill(native, {
        onProgress: options.onProgress,
        onHead: options.onHead,
        onHeatmap: options.onHeatmap,
      }),
    );
  }

  /** Generates from the last logits, feeding every token back into the cache. */
  decode(
    options: DecodeOptions,
    job: DecodeJobOptions = {},
  ): Promise<NativeSessionState & { tokens: Int32Array; stop: DecodeStop }> {
    return runJob(job.signal, () =>
      this.native.decode(options, { onProgress: job.onProgress, onToken: job.onToken }),
    );
  }

  /** The cache now; throws MMI_INVALID_ARGUMENT while a pre-fill or decode runs on this session. */
  state(): NativeSessionState {
    return callSync(() => this.native.state());
  }

  /** Drops every token after the first `length` (e.g. to ask another question about the same video). */
  rewind(length: number): void {
    callSync(() => this.native.rewind(length));
  }

  dispose(): void {
    this.native.dispose();
  }
}
