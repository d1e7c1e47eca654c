// Reads the committed Qwen2.5-VL fixtures: meta.json, preprocess.json and the integer tensors of
// reference.safetensors (the transformers reference outputs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../models/qwen2_5_vl/fixtures',
);
export const fixtureNames = ['tiny-a', 'tiny-b'] as const;

export function readJson<T>(...parts: string[]): T {
  return JSON.parse(readFileSync(path.join(fixturesDir, ...parts), 'utf8')) as T;
}

interface TensorEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** An I64 tensor of a fixture's reference.safetensors, as numbers, with its shape. */
export function referenceInts(fixture: string, name: string): { shape: number[]; values: number[] } {
  const bytes = readFileSync(path.join(fixturesDir, fixture, 'reference.safetensors'));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    TensorEntry
  >;
  const entry = header[name];
  if (!entry || entry.dtype !== 'I64') throw new Error(`${fixture}: no I64 tensor ${name}`);
  const start = 8 + headerLength + entry.data_offsets[0];
  const values: number[] = [];
  for (let at = start; at < 8 + headerLength + entry.data_offsets[1]; at += 8)
    values.push(Number(bytes.readBigInt64LE(at)));
  return { shape: entry.shape, values };
}

export interface PositionCase {
  grid_thw: [number, number, number];
  second_per_grid_t: number;
  tokens_per_second: number;
  input_ids: number[];
  position_ids: [number[], number[], number[]];
  rope_delta: number;
  transformers_agrees?: boolean;
}

export interface FixtureMeta {
  special_token_ids: Record<string, number>;
  prompt: {
    messages: { role: 'user'; content: ({ type: 'video' } | { type: 'text'; text: string })[] }[];
    text: string;
    template_ids: number[];
  };
  video: {
    frames: number[];
    sample_fps: number;
    second_per_grid_t: number;
    grid_thw: [number, number, number];
    video_tokens: number;
  };
  greedy: { tokens: number[]; text: string };
  position_cases: PositionCase[];
  versions: Record<string, string>;
}

export interface PreprocessTables {
  smart_resize: {
    height: number;
    width: number;
    min_pixels: number;
    max_pixels: number;
    qwen_vl_utils?: [number, number];
    qwen_vl_utils_error?: string;
  }[];
  frame_sampling: {
    total_frames: number;
    video_fps: number;
    height: number;
    width: number;
    options: {
      fps?: number;
      nframes?: number;
      min_frames?: number;
      max_frames?: number;
      total_pixels?: number;
      max_pixels?: number;
    };
    plan?: {
      nframes: number;
      indices: number[];
      sample_fps: number;
      max_pixels: number;
      resized_height: number;
      resized_width: number;
      second_per_grid_t: number;
      video_tokens: number;
    };
    error?: string;
  }[];
}
