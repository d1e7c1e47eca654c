// Bytes to text for a person to read, as they stream in. A byte-level tokenizer can split a character over
// several tokens, and a model (the more so a small or random one) can emit bytes that never form a character:
// an incomplete sequence is held until it completes (or the stream ends), and a byte that cannot be part of a
// character is shown as <0xHH>, the byte tokens' usual spelling, never as U+FFFD.

/** The visible spelling of an undecodable byte. */
export function byteText(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** For a lead byte: the sequence length and the range its second byte must lie in (RFC 3629). */
function leadOf(byte: number): { length: number; low: number; high: number } | null {
  if (byte >= 0xc2 && byte <= 0xdf) return { length: 2, low: 0x80, high: 0xbf };
  if (byte === 0xe0) return { length: 3, low: 0xa0, high: 0xbf };
  if (byte === 0xed) return { length: 3, low: 0x80, high: 0x9f };
  if (byte >= 0xe1 && byte <= 0xef) return { length: 3, low: 0x80, high: 0xbf };
  if (byte === 0xf0) return { length: 4, low: 0x90, high: 0xbf };
  if (byte === 0xf4) return { length: 4, low: 0x80, high: 0x8f };
  if (byte >= 0xf1 && byte <= 0xf3) return { length: 4, low: 0x80, high: 0xbf };
  return null;
}

export class ReadableUtf8 {
  private pending: number[] = [];

  /** Adds bytes; answers the text they complete. `end` flushes a held incomplete sequence as bytes. */
  push(bytes: ArrayLike<number>, end = false): string {
    for (let i = 0; i < bytes.length; i++) this.pending.push((bytes[i] ?? 0) & 0xff);
    const pending = this.pending;
    let out = '';
    let i = 0;
    while (i < pending.length) {
      const byte = pending[i] ?? 0;
      if (byte < 0x80) {
        out += String.fromCharCode(byte);
        i += 1;
        continue;
      }
      const lead = leadOf(byte);
      if (lead === null) {
        out += byteText(byte);
        i += 1;
        continue;
      }
      // How much of the sequence is there and valid: its length when complete.
      let valid = 1;
      while (valid < lead.length && i + valid < pending.length) {
        const next = pending[i + valid] ?? 0;
        const [low, high] = valid === 1 ? [lead.low, lead.high] : [0x80, 0xbf];
        if (next < low || next > high) break;
        valid += 1;
      }
      if (valid === lead.length) {
        let code = byte & (0xff >> (lead.length + 1));
        for (let k = 1; k < lead.length; k++) code = (code << 6) | ((pending[i + k] ?? 0) & 0x3f);
        out += String.fromCodePoint(code);
        i += lead.length;
      } else if (i + valid === pending.length && !end) {
        break; // a valid start of a character whose next bytes have not arrived yet
      } else {
        // A broken sequence: its valid prefix is shown byte by byte, and decoding resumes after it.
        for (let k = 0; k < valid; k++) out += byteText(pending[i + k] ?? 0);
        i += valid;
      }
    }
    this.pending = pending.slice(i);
    return out;
  }
}

/** All of `bytes` as readable text at once. */
export function readableUtf8(bytes: ArrayLike<number>): string {
  return new ReadableUtf8().push(bytes, true);
}
