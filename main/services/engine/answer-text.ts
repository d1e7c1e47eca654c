// The answer's text as its tokens arrive. A byte-level tokenizer can split one character over several tokens: a
// run of tokens whose text ends in U+FFFD is held back until the character is complete (or the answer ends). Only
// the held tokens are decoded at each step, so streaming stays linear in the answer's length; with a byte-level
// decoder the pieces join to the text of the whole answer.

export class AnswerText {
  private readonly tokens: number[] = [];
  private held: number[] = [];

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stopIds: ReadonlySet<number>,
  ) {}

  /** Adds a token; answers the text it completes ('' while a character is incomplete, or for a stop token). */
  push(token: number, last: boolean): string {
    if (!this.stopIds.has(token)) {
      this.tokens.push(token);
      this.held.push(token);
    }
    if (this.held.length === 0) return '';
    const text = this.decode(this.held);
    if (!last && text.endsWith('\uFFFD')) return '';
    this.held = [];
    return text;
  }

  /** The whole answer, stop token left out. */
  get text(): string {
    return this.decode(this.tokens);
  }
}
