// M-RoPE position ids of a Qwen2.5-VL prompt (3 rows: temporal, height, width), as the original model code
// computes them (transformers 4.x get_rope_index, vLLM): text tokens get (p, p, p); the tokens of a video with
// merged grid T×H×W starting after text at offset s get (s + floor(t · secondPerGrid · tokensPerSecond), s + h,
// s + w) in float math; text after a video continues from the largest position so far + 1. transformers 5.x
// changed the last rule (it continues from s + max(H, W), ignoring the temporal extent) and truncates
// secondPerGrid to an integer; we follow the original, which the released weights were trained with.

export interface VideoGrid {
  /** Temporal patches and patch rows/columns (before the 2×2 merge), as the processor's video_grid_thw. */
  t: number;
  h: number;
  w: number;
  /** Seconds per temporal patch: temporal_patch_size / sample fps. */
  secondPerGrid: number;
}

export interface Positions {
  /** rows[0] temporal, rows[1] height, rows[2] width; one entry per token. */
  rows: [number[], number[], number[]];
  /** max position + 1 − token count: the offset decoding adds to the cache index. */
  ropeDelta: number;
  /** The position the next text token gets. */
  next: number;
}

export function mropePositions(
  ids: readonly number[],
  videoTokenId: number,
  videos: readonly VideoGrid[],
  tokensPerSecond: number,
  mergeSize: number,
): Positions {
  const rows: [number[], number[], number[]] = [[], [], []];
  let next = 0;
  let maxSoFar = -1;
  const push = (t: number, h: number, w: number) => {
    rows[0].push(t);
    rows[1].push(h);
    rows[2].push(w);
    maxSoFar = Math.max(maxSoFar, t, h, w);
  };
  let i = 0;
  for (const video of videos) {
    const T = video.t;
    const H = video.h / mergeSize;
    const W = video.w / mergeSize;
    if (![T, H, W].every((x) => Number.isInteger(x) && x > 0)) {
      throw new RangeError(
        `video grid ${video.t}x${video.h}x${video.w} does not fit merge size ${mergeSize}`,
      );
    }
    for (; i < ids.length && ids[i] !== videoTokenId; i++, next++) push(next, next, next);
    if (i === ids.length) throw new RangeError('fewer video token runs than videos');
    const count = T * H * W;
    for (let k = 0; k < count; k++) {
      if (ids[i + k] !== videoTokenId)
        throw new RangeError(`a video needs ${count} consecutive video tokens`);
    }
    const s = next;
    for (let t = 0; t < T; t++) {
      const tt = Math.floor(t * video.secondPerGrid * tokensPerSecond);
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) push(s + tt, s + h, s + w);
    }
    i += count;
    next = maxSoFar + 1;
  }
  for (; i < ids.length; i++) {
    if (ids[i] === videoTokenId) throw new RangeError('more video token runs than videos');
    push(next, next, next);
    next += 1;
  }
  return { rows, ropeDelta: maxSoFar + 1 - ids.length, next: maxSoFar + 1 };
}
