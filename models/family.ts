// What the services need of a model family, beside its C++ forward graph: the prompt rules read from a model
// folder (chat template, tokenizer, video tokens, positions) and how an answer's tokens become text. One
// implementation per folder under models/ (models/<family>/family.ts), picked by config.json's model_type
// (models/families.ts). See docs/architecture.md, "Model families".

export type ChatContent = { type: 'video' } | { type: 'text'; text: string };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatContent[];
}

/** A video as the prompt sees it: its merged-token grid and the rate its frames were sampled at. */
export interface PromptVideo {
  t: number;
  h: number;
  w: number;
  sampleFps: number;
}

/** A model folder's prompt files are missing or do not read; `file` names the one. */
export class PromptFilesError extends Error {
  constructor(
    readonly code: 'MODEL_FILE_MISSING' | 'MODEL_FILE_INVALID',
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'PromptFilesError';
  }
}

export interface PromptRules {
  /** config.json's model_type. */
  readonly family: string;
  /** Ids that end an answer. */
  readonly stopIds: readonly number[];
  /** A question about a video after the earlier turns (none for a first question, whose message then holds
   * the video): ids and positions (one row per position axis) as a pre-fill takes them. */
  videoQuestion(
    video: PromptVideo,
    question: string,
    history?: readonly ChatMessage[],
  ): { ids: number[]; positions: number[][] };
  /** The ids a follow-up question adds after a cached answer (answerEnded: its stop token is in the cache). */
  followUp(history: readonly ChatMessage[], question: string, answerEnded: boolean): number[];
  /** A token's bytes; null for a token an answer leaves out (special tokens). */
  tokenBytes(id: number): Uint8Array | null;
  /** An answer's tokens as readable text (undecodable bytes as <0xHH>). */
  answerText(ids: readonly number[]): string;
}

export interface ModelFamily {
  /** config.json's model_type. */
  readonly modelType: string;
  loadRules(dir: string): Promise<PromptRules>;
}
