// Prompt rules of Qwen2.5-VL: the model folder's chat template (rendered with @huggingface/jinja), its tokenizer
// (@huggingface/tokenizers), one <|video_pad|> per merged video token, and the M-RoPE positions the runtime
// pre-fills with. Everything the folder provides is validated when it is loaded.
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';

import { readableUtf8 } from '../../app/domain/readable-utf8.js';
import { PromptFilesError, type ChatMessage } from '../family.js';
import { readModelJson as readJson } from '../model-files.js';
import { mropePositions, type Positions, type VideoGrid } from './rope-index.js';
import { tokenBytes, type TokenBytes } from './token-bytes.js';

const tokenId = z.number().int().nonnegative();

const configSchema = z.object({
  model_type: z.literal('qwen2_5_vl'),
  video_token_id: tokenId,
  vision_start_token_id: tokenId,
  vision_end_token_id: tokenId,
  vision_config: z.object({
    tokens_per_second: z.number().int().positive().default(2),
    spatial_merge_size: z.number().int().positive().default(2),
    temporal_patch_size: z.number().int().positive().default(2),
  }),
});

const tokenText = z.union([z.string(), z.object({ content: z.string() })]).nullish();

const tokenizerConfigSchema = z.object({
  chat_template: z.string().optional(),
  eos_token: tokenText,
  pad_token: tokenText,
});

const chatTemplateFileSchema = z.object({ chat_template: z.string() });

// What of tokenizer.json the library would otherwise take on trust: it builds a byte-level BPE from an unknown
// model type and encodes every text to no ids when the vocabulary is not a map.
const tokenizerSchema = z.object({
  model: z.object({
    type: z.literal('BPE'),
    vocab: z.record(z.string(), tokenId),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
  }),
  added_tokens: z.array(z.object({ id: tokenId, content: z.string() })),
});

/** Qwen2.5-VL's prompt rules as read from a folder; the services see them as models/family.ts's PromptRules. */
export interface QwenPromptRules {
  readonly tokenizer: Tokenizer;
  /** Each token's bytes (null: a special token), for decoding answers as a byte stream. */
  readonly tokenBytes: TokenBytes;
  readonly template: Template;
  readonly videoTokenId: number;
  readonly visionStartTokenId: number;
  readonly visionEndTokenId: number;
  /** Ids that end an answer: the tokenizer's eos (<|im_end|>) and <|endoftext|>. */
  readonly stopIds: number[];
  readonly tokensPerSecond: number;
  readonly mergeSize: number;
  readonly temporalPatchSize: number;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(top level)';
    throw new PromptFilesError('MODEL_FILE_INVALID', file, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

function tokenContent(t: z.infer<typeof tokenText>): string | undefined {
  if (t === null || t === undefined) return undefined;
  return typeof t === 'string' ? t : t.content;
}

/** Reads config.json, tokenizer.json, tokenizer_config.json (and chat_template.json when present). */
export async function loadPromptRules(dir: string): Promise<QwenPromptRules> {
  const config = parse(configSchema, await readJson(dir, 'config.json', true), 'config.json');
  const tokenizerJson = await readJson(dir, 'tokenizer.json', true);
  if (typeof tokenizerJson !== 'object' || tokenizerJson === null) {
    throw new PromptFilesError('MODEL_FILE_INVALID', 'tokenizer.json', 'is not a JSON object');
  }
  parse(tokenizerSchema, tokenizerJson, 'tokenizer.json');
  const tokenizerConfigRaw = await readJson(dir, 'tokenizer_config.json', true);
  const tokenizerConfig = parse(tokenizerConfigSchema, tokenizerConfigRaw, 'tokenizer_config.json');
  const templateFile = await readJson(dir, 'chat_template.json', false);
  const templateText =
    tokenizerConfig.chat_template ??
    (templateFile === undefined
      ? undefined
      : parse(chatTemplateFileSchema, templateFile, 'chat_template.json').chat_template);
  if (templateText === undefined) {
    throw new PromptFilesError(
      'MODEL_FILE_INVALID',
      'tokenizer_config.json',
      'no chat_template (nor chat_template.json)',
    );
  }

  let tokenizer: Tokenizer;
  let template: Template;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfigRaw as object);
  } catch (err) {
    throw new PromptFilesError(
      'MODEL_FILE_INVALID',
      'tokenizer.json',
      `cannot build the tokenizer (${(err as Error).message})`,
    );
  }
  try {
    template = new Template(templateText);
  } catch (err) {
    throw new PromptFilesError(
      'MODEL_FILE_INVALID',
      'tokenizer_config.json',
      `chat_template: ${(err as Error).message}`,
    );
  }

  const expect = (name: string, id: number) => {
    if (tokenizer.token_to_id(name) !== id) {
      throw new PromptFilesError(
        'MODEL_FILE_INVALID',
        'tokenizer.json',
        `${name} is not token ${id} as config.json says`,
      );
    }
  };
  expect('<|video_pad|>', config.video_token_id);
  expect('<|vision_start|>', config.vision_start_token_id);
  expect('<|vision_end|>', config.vision_end_token_id);

  const stopIds: number[] = [];
  for (const name of [tokenContent(tokenizerConfig.eos_token) ?? '<|im_end|>', '<|endoftext|>']) {
    const id = tokenizer.token_to_id(name);
    if (id !== undefined && !stopIds.includes(id)) stopIds.push(id);
  }
  return {
    tokenizer,
    tokenBytes: tokenBytes(tokenizer, (tokenizerJson as { decoder?: unknown }).decoder),
    template,
    videoTokenId: config.video_token_id,
    visionStartTokenId: config.vision_start_token_id,
    visionEndTokenId: config.vision_end_token_id,
    stopIds,
    tokensPerSecond: config.vision_config.tokens_per_second,
    mergeSize: config.vision_config.spatial_merge_size,
    temporalPatchSize: config.vision_config.temporal_patch_size,
  };
}

export function renderChat(
  rules: QwenPromptRules,
  messages: readonly ChatMessage[],
  addGenerationPrompt: boolean,
): string {
  return rules.template.render({ messages, add_generation_prompt: addGenerationPrompt });
}

export function encodeText(rules: QwenPromptRules, text: string): number[] {
  return rules.tokenizer.encode(text, { add_special_tokens: false }).ids;
}

export function decodeIds(rules: QwenPromptRules, ids: readonly number[], skipSpecialTokens = true): string {
  return rules.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
}

/** An answer's tokens as readable text: special tokens left out, undecodable bytes as <0xHH>. */
export function answerText(rules: QwenPromptRules, ids: readonly number[]): string {
  const bytes: number[] = [];
  for (const id of ids) bytes.push(...(rules.tokenBytes(id) ?? []));
  return readableUtf8(bytes);
}

/** Seconds per temporal patch for frames sampled at sampleFps: what feeds the temporal position ids. */
export function secondPerGrid(rules: QwenPromptRules, sampleFps: number): number {
  return rules.temporalPatchSize / sampleFps;
}

/** Tokens one video becomes: one per merged 2×2 cell per temporal patch. */
export function videoTokenCount(rules: QwenPromptRules, grid: Pick<VideoGrid, 't' | 'h' | 'w'>): number {
  return (grid.t * grid.h * grid.w) / (rules.mergeSize * rules.mergeSize);
}

/** Replaces the k-th <|video_pad|> by videoTokenCount(videos[k]) copies. */
export function expandVideoTokens(
  rules: QwenPromptRules,
  ids: readonly number[],
  videos: readonly VideoGrid[],
): number[] {
  const out: number[] = [];
  let k = 0;
  for (const id of ids) {
    if (id !== rules.videoTokenId) {
      out.push(id);
      continue;
    }
    const video = videos[k++];
    if (video === undefined) throw new RangeError('the prompt has more videos than were given');
    for (let i = videoTokenCount(rules, video); i > 0; i--) out.push(id);
  }
  if (k !== videos.length) throw new RangeError(`the prompt has ${k} videos, ${videos.length} were given`);
  return out;
}

export interface VideoPrompt {
  text: string;
  ids: number[];
  positions: Positions;
}

/** The first turn: the chat rendered with the generation prompt, tokenised, videos expanded, positions. */
export function buildPrompt(
  rules: QwenPromptRules,
  messages: readonly ChatMessage[],
  videos: readonly VideoGrid[],
): VideoPrompt {
  const text = renderChat(rules, messages, true);
  const ids = expandVideoTokens(rules, encodeText(rules, text), videos);
  return {
    text,
    ids,
    positions: mropePositions(ids, rules.videoTokenId, videos, rules.tokensPerSecond, rules.mergeSize),
  };
}

/**
 * The tokens a follow-up question adds after a cached answer. history holds every earlier message, the last one
 * the assistant's answer; answerEnded says whether the answer's stop token (<|im_end|>) is already in the cache.
 * Positions of these text tokens continue the cache's, which the runtime does itself.
 */
export function followUpIds(
  rules: QwenPromptRules,
  history: readonly ChatMessage[],
  question: string,
  answerEnded: boolean,
): number[] {
  const last = history[history.length - 1];
  if (last?.role !== 'assistant') throw new RangeError('the history must end with the assistant answer');
  const before = renderChat(rules, history, false);
  const after = renderChat(rules, [...history, { role: 'user', content: question }], true);
  const closing = '<|im_end|>\n';
  if (!after.startsWith(before) || !before.endsWith(closing)) {
    throw new RangeError('the chat template does not extend the conversation by appending');
  }
  // The cache ends with the answer (and its <|im_end|> when it stopped on it); the rest is new.
  const added = (answerEnded ? '\n' : closing) + after.slice(before.length);
  return encodeText(rules, added);
}
