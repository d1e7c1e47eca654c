import { randomUUID } from 'node:crypto';
import type { EmitEvent } from '../../../app/contract/contract.js';
import {
  GenerationOptionsSchema,
  type AskParams,
  type AskStage,
  type AskStarted,
  type EngineHostStatus,
  type ModelChoice,
  type ModelInfo,
} from '../../../app/contract/engine.js';
import { AppError } from '../../../app/contract/errors.js';
import type { FileAccessPolicy } from '../files/policy.js';
import type { JobControl, JobRegistry } from '../jobs/registry.js';
import type { ProbeCache } from '../video/probe-cache.js';
import type { VideoTools } from '../video/tools.js';
import { EngineClient } from './client.js';
import { embeddedDefault, embeddedNotice, type EmbeddedDefault } from './embedded.js';
import { engineHostEntry, forkLauncher, type EngineLauncher } from './launcher.js';
import type { AskEvent, EngineAskParams, VideoInput } from './protocol.js';
import { videoInput } from './video-input.js';

// The engine as the app's commands see it: which model questions go to (the embedded demo model until one is
// chosen), conversations (a video, a model and the turns so far, so a follow-up pre-fills only its new turn while
// the engine still holds the cache, and the whole conversation again after a restart), and each question as a
// job whose progress, tokens, head reports and heatmaps go to the caller that asked.

export interface EngineServiceOptions {
  /** How the engine process is started (Electron passes utilityProcess); default child_process.fork. */
  launcher?: EngineLauncher;
  /** The host's entry point; default the compiled one (engineHostEntry). */
  entry?: () => string | null;
  /** CPU threads the engine computes with; 0 (default): one per core. */
  threads?: number;
  embedded?: EmbeddedDefault;
}

interface Choice {
  dir: string;
  embedded: boolean;
  patterns: string | null;
  info: ModelInfo | null;
}

interface ConversationRecord {
  id: string;
  choice: ModelChoice;
  video: VideoInput;
  history: EngineAskParams['history'];
  answerEnded: boolean;
  /** A question of this conversation is being answered: its follow-up waits for the answer. */
  busy: boolean;
}

/** Conversations remembered for follow-ups (their text only; the engine keeps a few KV caches). */
const maxConversations = 256;
/** Questions answered or waiting at once, for every caller together: the engine answers one at a time, so a
 * longer queue only makes each wait longer; past it a question is refused at once, ENGINE_BUSY. */
export const maxAsksInFlight = 8;
const progressIntervalMs = 100;

export interface AskContext {
  files: FileAccessPolicy;
  jobs: JobRegistry;
  probes: ProbeCache;
  tools: VideoTools;
  emit: EmitEvent;
  signal: AbortSignal;
}

export class EngineService {
  readonly client: EngineClient;
  private readonly embedded: EmbeddedDefault;
  private readonly threads: number;
  private choice: Choice;
  private readonly conversations = new Map<string, ConversationRecord>();
  private asksInFlight = 0;

  constructor(options: EngineServiceOptions = {}) {
    this.client = new EngineClient(options.launcher ?? forkLauncher, options.entry ?? engineHostEntry);
    this.embedded = options.embedded ?? embeddedDefault();
    this.threads = options.threads ?? 0;
    this.choice = this.embeddedChoice();
  }

  /** What a folder holds, read by the engine (which validates every file on the way). */
  async inspect(dir: string, patterns: string | null = null): Promise<ModelInfo> {
    const { patternKinds: _kinds, ...info } = await this.client.request('inspect', {
      model: { dir, threads: this.threads },
      patterns,
    }).result;
    return { dir, ...info };
  }

  async current(): Promise<ModelChoice> {
    const choice = this.choice;
    choice.info ??= await this.inspect(choice.dir, choice.patterns);
    return this.describe(choice);
  }

  /** dir: a folder the caller may read (already checked), null for the embedded model, undefined to keep it. */
  async choose(dir: string | null | undefined, patterns: string | null | undefined): Promise<ModelChoice> {
    const base: Omit<Choice, 'info'> =
      dir === undefined
        ? this.choice
        : dir === null
          ? this.embeddedChoice()
          : { dir, embedded: false, patterns: null };
    const next: Choice = {
      ...base,
      patterns: patterns === undefined ? base.patterns : patterns,
      info: null,
    };
    next.info = await this.inspect(next.dir, next.patterns);
    this.choice = next;
    return this.describe(next);
  }

  async status(): Promise<EngineHostStatus> {
    return { ...this.client.status(), model: this.choice.info ? this.describe(this.choice) : null };
  }

  async restart(): Promise<EngineHostStatus> {
    await this.client.restart();
    return this.status();
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Starts a question as a job; answers at once with its id, the conversation and the sampling plan. */
  async ask(params: AskParams, ctx: AskContext): Promise<AskStarted> {
    if (this.asksInFlight >= maxAsksInFlight) {
      throw new AppError(
        'ENGINE_BUSY',
        `The engine is busy with ${this.asksInFlight} questions; ask again when one has been answered`,
      );
    }
    // The slot is taken before the first await, so questions arriving together cannot all pass the check; the
    // job gives it back when it ends, or this does when no job started.
    this.asksInFlight += 1;
    let started = false;
    try {
      const answer = await this.startAsk(params, ctx, () => (this.asksInFlight -= 1));
      started = true;
      return answer;
    } finally {
      if (!started) this.asksInFlight -= 1;
    }
  }

  private async startAsk(params: AskParams, ctx: AskContext, ended: () => void): Promise<AskStarted> {
    const record = params.conversationId
      ? await this.followUp(params.conversationId, params.video, ctx)
      : await this.newConversation(params, ctx);
    const patterns =
      params.patterns === undefined
        ? record.choice.patterns
        : params.patterns === null
          ? null
          : await ctx.files.checkRead(params.patterns);
    const request: EngineAskParams = {
      model: { dir: record.choice.dir, threads: this.threads, device: deviceFor(record.choice) },
      conversationId: record.id,
      history: record.history,
      answerEnded: record.answerEnded,
      question: params.question,
      video: record.video,
      generation: GenerationOptionsSchema.parse(params.generation ?? {}),
      patterns,
      denseBelowTokens: record.choice.embedded ? this.embedded.denseBelowTokens : null,
      heatmaps: params.heatmaps ?? null,
    };
    const turn = record.history.length / 2;
    const jobId = ctx.jobs.start(
      (job) =>
        this.run(record, request, turn, job, ctx.emit).finally(() => {
          record.busy = false;
          ended();
        }),
      ctx.emit,
      ctx.signal,
      params.jobId,
    );
    // Set once the job exists (a refused id starts nothing), before its run begins on a later tick.
    record.busy = true;
    return {
      jobId,
      conversationId: record.id,
      turn,
      plan: record.video.plan,
      video: record.video.source.path,
      model: record.choice,
    };
  }

  private async run(
    record: ConversationRecord,
    request: EngineAskParams,
    turn: number,
    job: JobControl,
    emit: EmitEvent,
  ) {
    const { jobId } = job;
    const last = new Map<AskStage, number>();
    const progress = (stage: AskStage, done: number, total: number | null): void => {
      const now = performance.now();
      const previous = last.get(stage);
      if (previous !== undefined && done !== total && now - previous < progressIntervalMs) return;
      last.set(stage, now);
      emit('engine.progress', { jobId, stage, done, total });
    };
    progress('queued', 0, null);
    const onEvent = (e: AskEvent): void => {
      switch (e.event) {
        case 'progress':
          progress(e.payload.stage, e.payload.done, e.payload.total);
          return;
        case 'token':
          emit('engine.token', { jobId, ...e.payload });
          return;
        case 'head':
          emit('engine.head', { jobId, ...e.payload });
          return;
        case 'heatmap':
          emit('engine.heatmap', { jobId, ...e.payload });
          return;
      }
    };
    job.signal.throwIfAborted();
    const { id, result } = this.client.request('ask', request, onEvent);
    const cancel = (): void => this.client.cancel(id);
    job.signal.addEventListener('abort', cancel, { once: true });
    let answer;
    try {
      answer = await result;
    } finally {
      job.signal.removeEventListener('abort', cancel);
    }
    const question = request.question;
    record.history.push(
      record.history.length === 0
        ? { role: 'user', content: [{ type: 'video' }, { type: 'text', text: question }] }
        : { role: 'user', content: question },
      { role: 'assistant', content: answer.answer },
    );
    record.answerEnded = answer.stop === 'stop_token';
    return {
      kind: 'engine.ask' as const,
      answer: {
        ...answer,
        conversationId: record.id,
        turn,
        model: { dir: record.choice.dir, embedded: record.choice.embedded },
        notice: record.choice.notice,
        patterns: request.patterns,
      },
    };
  }

  private async newConversation(params: AskParams, ctx: AskContext): Promise<ConversationRecord> {
    const choice = await this.current();
    let file: string;
    if (params.video !== undefined) file = await ctx.files.checkRead(params.video);
    else if (choice.embedded) file = this.embedded.video;
    else throw new AppError('BAD_REQUEST', 'Choose a video to ask about');
    const video = await videoInput(file, params.sampling, ctx);
    const record: ConversationRecord = {
      id: randomUUID(),
      choice,
      video,
      history: [],
      answerEnded: false,
      busy: false,
    };
    this.conversations.set(record.id, record);
    while (this.conversations.size > maxConversations) {
      const oldest = this.conversations.keys().next().value as string;
      this.conversations.delete(oldest);
      this.client.request('forget', { conversationId: oldest }).result.catch(() => undefined);
    }
    return record;
  }

  private async followUp(
    id: string,
    video: string | undefined,
    ctx: AskContext,
  ): Promise<ConversationRecord> {
    const record = this.conversations.get(id);
    if (!record) throw new AppError('BAD_REQUEST', `No conversation ${id}: ask a first question`);
    if (record.busy) throw new AppError('BAD_REQUEST', 'Wait for the answer before asking a follow-up');
    if (record.history.length === 0) {
      throw new AppError('BAD_REQUEST', `Conversation ${id} has no answer yet to follow up on`);
    }
    if (video !== undefined && (await ctx.files.checkRead(video)) !== record.video.source.path) {
      throw new AppError('BAD_REQUEST', 'A follow-up is about the video of its conversation');
    }
    return record;
  }

  private embeddedChoice(): Choice {
    return { dir: this.embedded.modelDir, embedded: true, patterns: this.embedded.patterns, info: null };
  }

  private describe(choice: Choice): ModelChoice {
    if (choice.info === null) throw new AppError('INTERNAL', 'The model was not inspected');
    return {
      dir: choice.dir,
      embedded: choice.embedded,
      notice: choice.embedded ? embeddedNotice : null,
      demoVideo: choice.embedded ? this.embedded.video : null,
      patterns: choice.patterns,
      info: choice.info,
    };
  }
}

/** The embedded demo model runs on the CPU: it is tiny, and its pattern file's sparse heads (head dim 16) and the
 * heatmaps it is there to show need the CPU backend. A chosen model runs on the GPU when one is usable. */
function deviceFor(choice: { embedded: boolean }): 'cpu' | 'auto' {
  return choice.embedded ? 'cpu' : 'auto';
}
