// The attention core from TypeScript: dense and sparse attention, pattern estimation, heatmaps, synthetic inputs.
// Every long call runs on a native thread of its own (the event loop never waits), takes an AbortSignal and a
// progress callback, and rejects with an MmiError whose `code` names the failure. Inputs are read in place from
// the caller's typed arrays: do not modify or transfer them until the promise settles. Dense and sparse attention and
// heatmaps run on the GPU's kernels when one is present (see DeviceOption); estimation runs on the CPU.
import {
  loadAddon,
  type Density,
  type GridChoice,
  type IndexHead,
  type NativeHeatmap,
  type NativeIndex,
  type Pattern,
  type PatternKind,
  type ProgressCallback,
  type Segment,
  type Tensor,
} from './addon.js';
import { callSync as call, runJob as run } from './errors.js';

export type {
  Density,
  GridChoice,
  IndexHead,
  Pattern,
  PatternKind,
  Segment,
  Tensor,
  VsBudget,
} from './addon.js';

export interface RunOptions {
  /** Aborting cancels the work between units (a head's query block, a head); the promise rejects MMI_CANCELLED. */
  signal?: AbortSignal;
  /** Work units done of total; at most every 100 ms, and always the last. */
  onProgress?: ProgressCallback;
  /** Worker threads; 0 or absent: one per core. */
  threads?: number;
}

/** Where dense, sparse and heatmap calls run. 'auto' (default): fp16/bf16 inputs on the GPU when one is present,
 * fp32 inputs on the CPU (at their precision), and on the CPU what the GPU kernels do not take (non-causal, segments,
 * a query offset, head dims other than 64/80/128 for attention); 'gpu': the GPU, fp32 rounded to bf16, refusing what
 * its kernels do not take (MMI_INVALID_ARGUMENT) or a machine without one (MMI_DEVICE_UNAVAILABLE); 'cpu': never the
 * GPU, as MMI_DEVICE=cpu in the environment makes 'auto'. On the GPU progress comes once, at the end. */
export interface DeviceOption {
  device?: 'auto' | 'cpu' | 'gpu';
}

/** Per query head, a sparse index estimated for one input (or built from exported heads). */
export class SparseIndex {
  /** @internal */
  constructor(readonly native: NativeIndex) {}
  get heads(): number {
    return call(() => this.native.heads);
  }
  get tokens(): number {
    return call(() => this.native.tokens);
  }
  /** A copy of head `head`'s block and column lists and permutations. */
  head(head: number): IndexHead {
    return call(() => this.native.head(head));
  }
  /** The grid pattern's stride and line phases per video run (empty for other patterns). */
  grid(head: number): GridChoice[] {
    return call(() => this.native.grid(head));
  }
  /** Computed (row, key) pairs over causal pairs for head `head`. */
  density(head: number, options: RunOptions = {}): Promise<Density> {
    return run(options.signal, () => this.native.density(head, options.onProgress));
  }
  /** Frees the native memory now (running jobs keep their own reference); later calls throw. */
  dispose(): void {
    this.native.dispose();
  }
}

export interface DenseOptions extends RunOptions, DeviceOption {
  /** Default true: key k attends only rows r >= k. */
  causal?: boolean;
  /** cu_seqlens: [0, s1, ..., N]; attention stays within each segment (the vision tower's windows). */
  segments?: number[];
  /** Softmax scale; default 1/sqrt(dim). */
  scale?: number;
  /** q holds rows [queryOffset, queryOffset + q.tokens) of the k/v sequence (a chunk against a longer cache). */
  queryOffset?: number;
  /** Output [Hq, q.tokens, D] written in place; a new Float32Array when absent. */
  out?: Float32Array;
}

export function attentionDense(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: DenseOptions = {},
): Promise<Float32Array> {
  const { signal, onProgress, out, ...rest } = options;
  return run(signal, () => loadAddon().attentionDense(q, k, v, rest, out ?? null, onProgress));
}

export interface EstimateOptions extends RunOptions {
  /** The prompt's modality layout; absent: all text. */
  layout?: Segment[];
  /** One pattern for every head, or one per query head. */
  pattern: Pattern | Pattern[];
  scale?: number;
}

export async function estimateIndex(q: Tensor, k: Tensor, options: EstimateOptions): Promise<SparseIndex> {
  const { signal, onProgress, layout, pattern, ...rest } = options;
  const native = await run(signal, () =>
    loadAddon().estimateIndex(q, k, layout ?? null, pattern, rest, onProgress),
  );
  return new SparseIndex(native);
}

export interface SparseOptions extends RunOptions, DeviceOption {
  causal?: boolean;
  scale?: number;
  out?: Float32Array;
}

export function attentionSparse(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  index: SparseIndex,
  options: SparseOptions = {},
): Promise<Float32Array> {
  const { signal, onProgress, out, ...rest } = options;
  return run(signal, () => loadAddon().attentionSparse(q, k, v, index.native, rest, out ?? null, onProgress));
}

export interface HeatmapOptions extends RunOptions, DeviceOption {
  /** Query rows sampled evenly, first and last included (default 256). */
  samples?: number;
  /** G: the grid is G×G (default 256, at most 4096). */
  grid?: number;
  causal?: boolean;
  scale?: number;
}

/** A head's heatmap (see NativeHeatmap for the fields), with the sampled rows as numbers. */
export type Heatmap = Omit<NativeHeatmap, 'rows'> & { rows: number[] };

export async function heatmaps(
  q: Tensor,
  k: Tensor,
  index: SparseIndex,
  heads: number[],
  options: HeatmapOptions = {},
): Promise<Heatmap[]> {
  const { signal, onProgress, ...rest } = options;
  const maps = await run(signal, () => loadAddon().heatmaps(q, k, index.native, heads, rest, onProgress));
  return maps.map((m) => ({ ...m, rows: Array.from(m.rows, Number) }));
}

export interface SyntheticSpec {
  layout: Segment[];
  headsQ: number;
  headsKv: number;
  /** 64 to 256 */
  dim: number;
  /** Integer in [0, 2^53]; the same seed gives the same data on every machine and thread count. */
  seed: number;
  sinkTokens?: number;
}

/** Video-like fp32 q/k/v (kernels/include/mmi/attention/synthetic.hpp). */
export async function synthetic(
  spec: SyntheticSpec,
  options: RunOptions = {},
): Promise<{ q: Tensor; k: Tensor; v: Tensor }> {
  const { signal, onProgress, ...rest } = options;
  const r = await run(signal, () => loadAddon().synthetic(spec, rest, onProgress));
  const shape = (data: Float32Array, heads: number): Tensor => ({
    dtype: 'f32',
    data,
    heads,
    tokens: r.tokens,
    dim: spec.dim,
  });
  return { q: shape(r.q, spec.headsQ), k: shape(r.k, spec.headsKv), v: shape(r.v, spec.headsKv) };
}

/** A benchmark layout: system text, one video run of t×h×w, question text; `tokens` in all. */
export function syntheticLayout(tokens: number, h?: number, w?: number): Segment[] {
  return call(() => loadAddon().syntheticLayout(tokens, h, w));
}

/** Throws MmiError MMI_INVALID_ARGUMENT naming the first bad segment, or when the total differs from `tokens`. */
export function checkLayout(layout: Segment[], tokens?: number): void {
  call(() => loadAddon().layoutCheck(layout, tokens));
}

export function patternDefaults(kind: PatternKind): Required<Pattern> {
  return call(() => loadAddon().patternDefaults(kind));
}

/** An index from exported heads (validated): to reuse or edit an index made elsewhere. */
export async function createIndex(
  heads: IndexHead[],
  options: { signal?: AbortSignal } = {},
): Promise<SparseIndex> {
  return new SparseIndex(await run(options.signal, () => loadAddon().createIndex(heads)));
}
