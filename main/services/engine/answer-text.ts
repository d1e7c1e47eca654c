// The answer's text as its tokens arrive: each token's bytes go through one readable UTF-8 stream
// (app/domain/readable-utf8.ts), so a character split over tokens appears once complete, bytes that never make a
// character read as <0xHH>, and the streamed pieces join to exactly the whole answer's text.
import { ReadableUtf8 } from '../../../app/domain/readable-utf8.js';

export class AnswerText {
  private readonly stream = new ReadableUtf8();
  private whole = '';

  /** `bytes(id)`: a token's bytes, or null for a token the answer leaves out (special tokens). */
  constructor(
    private readonly bytes: (id: number) => Uint8Array | null,
    private readonly stopIds: ReadonlySet<number>,
  ) {}

  /** Adds a token; answers the text it completes ('' while a character is incomplete, or for a stop token). */
  push(token: number, last: boolean): string {
    const bytes = this.stopIds.has(token) ? null : this.bytes(token);
    const piece = this.stream.push(bytes ?? [], last);
    this.whole += piece;
    return piece;
  }

  /** The text streamed so far: the whole answer once its last token was pushed. */
  get text(): string {
    return this.whole;
  }
}
