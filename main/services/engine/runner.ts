import { performance } from 'node:perf_hooks';
import type { PatternFile as PatternFileJson } from '../../../app/contract/pattern-file.js';
import { AppError } from '../../../app/contract/errors.js';
import { openPatternFile } from '../patterns/pattern-files.js';
import {
  encodeF32,
  heatmapDefaults,
  type AskStage,
  type HeatmapRequest,
  type PatternName,
} from '../../../app/contract/engine.js';
import {
  Model,
  type Attention,
  type Device,
  type HeadHeatmap,
  type HeadReport,
  type PatternFile,
  type Session,
} from '../../../native/model.js';
import { loadPromptRules } from '../../../models/families.js';
import type { ChatMessage, PromptRules } from '../../../models/family.js';
import { AnswerText } from './answer-text.js';
import type { AskEvent, EngineAskParams, EngineAskResult, InspectResult, ModelRef } from './protocol.js';
import { encodeVideo, loadModel, videoPrompt } from './video-prompt.js';

// What the engine process does: keeps one model loaded (with its prompt rules) and the KV caches of the latest
// conversations, and runs an ask end to end — frames from ffmpeg straight into the vision encoder, the prompt
// through the chat template and tokenizer, pre-fill with the pattern file, decode streaming tokens. A follow-up
// whose conversation is cached pre-fills only its new turn; otherwise the whole conversation is pre-filled again.

/** Conversations whose KV cache stays in memory; older ones are rebuilt when asked again. */
const cachedConversations = 4;

interface Loaded {
  key: string;
  dir: string;
  model: Model;
  rules: PromptRules;
}

interface Conversation {
  modelKey: string;
  session: Session;
  /** Turns (question + answer) in the cache. */
  turns: number;
}

export type EmitAskEvent = (event: AskEvent) => void;

/** A pattern file as the engine holds it: the native file the pre-fill runs, and the file as read. */
interface LoadedPatterns {
  native: PatternFile;
  json: PatternFileJson;
}

const modelKey = (ref: ModelRef): string => `${ref.dir}\0${ref.threads}\0${ref.device ?? 'auto'}`;

export class EngineRunner {
  private loaded: Loaded | null = null;
  private readonly conversations = new Map<string, Conversation>();
  private readonly patternFiles = new Map<string, LoadedPatterns>();

  /** Reads a model folder (and a pattern file against it) without keeping it: on the CPU, whose load only maps the
   * weights (a GPU load would upload them). */
  async inspect(ref: ModelRef, patterns: string | null): Promise<InspectResult> {
    const model = await Model.load(ref.dir, { threads: ref.threads || undefined, device: 'cpu' });
    try {
      await loadPromptRules(ref.dir);
      const info = model.info();
      let patternKinds: string[] | null = null;
      if (patterns !== null) {
        const file = await model.loadPatternFile(patterns);
        patternKinds = file.kinds(info.textLayers, info.heads);
        file.dispose();
      }
      return {
        family: info.family,
        visionLayers: info.visionLayers,
        textLayers: info.textLayers,
        hidden: info.hidden,
        heads: info.heads,
        kvHeads: info.kvHeads,
        headDim: info.headDim,
        vocab: info.vocab,
        tensors: info.tensors,
        weightBytes: info.weightBytes,
        dtypes: info.dtypes,
        files: info.files,
        patternKinds,
      };
    } finally {
      model.dispose();
    }
  }

  forget(conversationId: string): void {
    this.conversations.get(conversationId)?.session.dispose();
    this.conversations.delete(conversationId);
  }

  async ask(params: EngineAskParams, emit: EmitAskEvent, signal: AbortSignal): Promise<EngineAskResult> {
    const started = performance.now();
    const progress = (stage: AskStage, done: number, total: number | null): void =>
      emit({ event: 'progress', payload: { stage, done, total } });

    progress('load', 0, 1);
    const loadStart = performance.now();
    const wasLoaded = this.loaded?.key === modelKey(params.model);
    const loaded = await this.load(params.model, signal);
    const loadMs = wasLoaded ? 0 : performance.now() - loadStart;
    const loadedPatterns =
      params.patterns === null ? null : await this.patternFile(loaded, params.patterns, signal);
    const patterns = loadedPatterns?.native ?? null;
    progress('load', 1, 1);

    const device = loaded.model.info().device;
    const attention: Attention = {
      patterns,
      ...(params.denseBelowTokens !== null ? { denseBelowTokens: params.denseBelowTokens } : {}),
      ...(params.heatmaps ? { heatmaps: heatmapHeads(params.heatmaps, loaded.model) } : {}),
    };
    const prefillEvents = {
      onHead: (r: HeadReport) =>
        emit({ event: 'head', payload: headReportPayload(r, loadedPatterns?.json ?? null) }),
      onHeatmap: (h: HeadHeatmap) => emit({ event: 'heatmap', payload: heatmapPayload(h) }),
    };

    // Continue the cached conversation, or pre-fill the whole of it (with the video) in a new session.
    let conversation = this.conversations.get(params.conversationId);
    const continues =
      conversation !== undefined &&
      conversation.modelKey === loaded.key &&
      params.history.length > 0 &&
      conversation.turns * 2 === params.history.length;
    let videoMs = 0;
    let visionMs = 0;
    let videoTokens = 0;
    let prefillMs = 0;
    let cachedTokens = 0;
    let prefilledTokens: number;
    // Where the cache goes back to if this turn fails (a cancelled decode leaves its tokens in it); -1: drop it.
    let rewindTo = -1;
    if (continues && conversation) {
      const ids = loaded.rules.followUp(params.history as ChatMessage[], params.question, params.answerEnded);
      cachedTokens = conversation.session.state().length;
      rewindTo = cachedTokens;
      const t0 = performance.now();
      await conversation.session.prefill(
        { ids: Int32Array.from(ids), attention },
        { signal, onProgress: (done, total) => progress('prefill', done, total), ...prefillEvents },
      );
      prefillMs = performance.now() - t0;
      prefilledTokens = ids.length;
      videoTokens = videoTokensOf(conversation.session);
    } else {
      this.forget(params.conversationId);
      const { video, decodeMs, encodeMs } = await encodeVideo(loaded.model, params.video, signal, progress, {
        visionFromStart: true,
      });
      videoMs = decodeMs;
      visionMs = encodeMs;
      videoTokens = video.info().tokens;
      const prompt = videoPrompt(
        loaded.rules,
        video,
        params.video.plan.sampleFps,
        params.question,
        params.history as ChatMessage[],
      );
      const session = loaded.model.createSession();
      const t0 = performance.now();
      try {
        await session.prefill(
          { ...prompt, videos: [video], attention },
          { signal, onProgress: (done, total) => progress('prefill', done, total), ...prefillEvents },
        );
      } catch (err) {
        session.dispose();
        throw err;
      } finally {
        video.dispose();
      }
      prefillMs = performance.now() - t0;
      prefilledTokens = prompt.ids.length;
      conversation = { modelKey: loaded.key, session, turns: Math.floor(params.history.length / 2) };
      this.remember(params.conversationId, conversation);
    }

    try {
      return await this.answer(loaded, conversation, params, emit, signal, {
        device,
        started,
        loadMs,
        videoMs,
        visionMs,
        prefillMs,
        prefilledTokens,
        cachedTokens,
        videoTokens,
      });
    } catch (err) {
      if (rewindTo >= 0) conversation.session.rewind(rewindTo);
      else this.forget(params.conversationId);
      throw err;
    }
  }

  /** Decodes the answer, streaming each token with the text it completes. */
  private async answer(
    loaded: Loaded,
    conversation: Conversation,
    params: EngineAskParams,
    emit: EmitAskEvent,
    signal: AbortSignal,
    done: {
      device: Device;
      started: number;
      loadMs: number;
      videoMs: number;
      visionMs: number;
      prefillMs: number;
      prefilledTokens: number;
      cachedTokens: number;
      videoTokens: number;
    },
  ): Promise<EngineAskResult> {
    const progress = (stage: AskStage, n: number, total: number | null): void =>
      emit({ event: 'progress', payload: { stage, done: n, total } });
    const { generation } = params;
    const stopIds = new Set(loaded.rules.stopIds);
    const text = new AnswerText(loaded.rules.tokenBytes, stopIds);
    let index = 0;
    let firstTokenMs: number | null = null;
    const t0 = performance.now();
    const out = await conversation.session.decode(
      {
        maxTokens: generation.maxTokens,
        temperature: generation.temperature,
        topP: generation.topP,
        topK: generation.topK,
        seed: generation.seed,
        stopIds: [...stopIds],
      },
      {
        signal,
        onProgress: (done) => progress('decode', done, generation.maxTokens),
        onToken: (token) => {
          firstTokenMs ??= performance.now() - done.started;
          const last = stopIds.has(token) || index + 1 === generation.maxTokens;
          emit({ event: 'token', payload: { index, token, text: text.push(token, last) } });
          index += 1;
        },
      },
    );
    const decodeMs = performance.now() - t0;
    conversation.turns += 1;
    const tokens = Array.from(out.tokens);
    return {
      answer: text.text,
      tokens,
      stop: out.stop === 'stop_token' ? 'stop_token' : 'max_tokens',
      contextTokens: out.length,
      prefilledTokens: done.prefilledTokens,
      cachedTokens: done.cachedTokens,
      videoTokens: done.videoTokens,
      device: done.device,
      timings: {
        loadMs: done.loadMs,
        videoMs: done.videoMs,
        visionMs: done.visionMs,
        prefillMs: done.prefillMs,
        firstTokenMs,
        decodeMs,
        decodeTokensPerSec: decodeMs > 0 ? (tokens.length * 1000) / decodeMs : 0,
        totalMs: performance.now() - done.started,
      },
    };
  }

  private async load(ref: ModelRef, signal: AbortSignal): Promise<Loaded> {
    const key = modelKey(ref);
    if (this.loaded?.key === key) return this.loaded;
    // One model at a time: the previous one's caches go with it.
    for (const id of [...this.conversations.keys()]) this.forget(id);
    for (const file of this.patternFiles.values()) file.native.dispose();
    this.patternFiles.clear();
    this.loaded?.model.dispose();
    this.loaded = null;
    const { model, rules } = await loadModel(ref.dir, {
      threads: ref.threads || undefined,
      device: ref.device ?? 'auto',
      signal,
    });
    this.loaded = { key, dir: ref.dir, model, rules };
    return this.loaded;
  }

  private async patternFile(loaded: Loaded, file: string, signal: AbortSignal): Promise<LoadedPatterns> {
    const hit = this.patternFiles.get(file);
    if (hit) return hit;
    const patterns = await openPatternFile(loaded.model, loaded.dir, file, signal);
    this.patternFiles.set(file, patterns);
    return patterns;
  }

  private remember(id: string, conversation: Conversation): void {
    this.conversations.set(id, conversation);
    while (this.conversations.size > cachedConversations) {
      this.forget(this.conversations.keys().next().value as string);
    }
  }
}

function videoTokensOf(session: Session): number {
  return session.state().layout.reduce((sum, s) => sum + (s.kind === 'video' ? s.t * s.h * s.w : 0), 0);
}

function heatmapHeads(request: HeatmapRequest, model: Model): NonNullable<Attention['heatmaps']> {
  const info = model.info();
  const heads =
    request.heads === 'all'
      ? Array.from({ length: info.textLayers * info.heads }, (_, i) => ({
          layer: Math.floor(i / info.heads),
          head: i % info.heads,
        }))
      : request.heads;
  for (const h of heads) {
    if (h.layer >= info.textLayers || h.head >= info.heads) {
      throw new AppError(
        'BAD_REQUEST',
        `Heatmap head (${h.layer}, ${h.head}) is outside the model's ${info.textLayers} layers × ${info.heads} heads`,
      );
    }
  }
  return {
    heads,
    grid: request.grid ?? heatmapDefaults.grid,
    samples: request.samples ?? heatmapDefaults.samples,
  };
}

/** A head's report as the contract carries it, with its calibration recall from the pattern file it ran under. */
export function headReportPayload(
  r: HeadReport,
  file: PatternFileJson | null,
): Extract<AskEvent, { event: 'head' }>['payload'] {
  return {
    ...r,
    planned: r.planned as PatternName,
    applied: r.applied as PatternName,
    calibrationRecall: file?.layers[r.layer]?.heads[r.head]?.calibration?.recall ?? null,
  };
}

/** A captured heatmap as the contract carries it (grids as base64 float32, recall and coverage clamped to 1). */
export function heatmapPayload(h: HeadHeatmap): Extract<AskEvent, { event: 'heatmap' }>['payload'] {
  return {
    layer: h.layer,
    head: h.head,
    pattern: h.pattern,
    grid: h.grid,
    tokens: h.tokens,
    mass: encodeF32(h.mass),
    massPermuted: encodeF32(h.massPermuted),
    mask: encodeF32(h.mask),
    maskPermuted: encodeF32(h.maskPermuted),
    rowSamples: Array.from(h.rowSamples),
    rowSamplesPermuted: Array.from(h.rowSamplesPermuted),
    recall: Math.min(1, Math.max(0, h.recall)),
    coverage: Math.min(1, Math.max(0, h.coverage)),
    gridChoices: h.gridChoices.map((g) => ({
      start: g.start,
      length: g.length,
      stride: g.stride,
      phases: g.phases,
    })),
  };
}
