// The answer's text as its tokens arrive. A byte-level tokenizer can split one character over several tokens: the
// text of a prefix then ends in U+FFFD, so that tail is held back until the character is complete (or the answer
// ends). The pieces handed out always join to the text of the whole answer.

export class AnswerText {
  private readonly tokens: number[] = [];
  private sent = '';

  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly stopIds: ReadonlySet<number>,
  ) {}

  /** Adds a token; answers the text it completes ('' while a character is incomplete, or for a stop token). */
  push(token: number, last: boolean): string {
    if (!this.stopIds.has(token)) this.tokens.push(token);
    let text = this.decode(this.tokens);
    if (!last) {
      let cut = text.length;
      while (cut > this.sent.length && text[cut - 1] === '\uFFFD') cut -= 1;
      text = text.slice(0, cut);
    }
    if (!text.startsWith(this.sent)) return '';
    const piece = text.slice(this.sent.length);
    this.sent = text;
    return piece;
  }

  /** The whole answer, stop token left out. */
  get text(): string {
    return this.decode(this.tokens);
  }
}
