// The bytes each token stands for, so that answers can be decoded as a byte stream (app/domain/readable-utf8.ts)
// rather than token by token. Qwen's tokenizer is a byte-level BPE: its vocabulary spells bytes with GPT-2's
// printable stand-ins (byte 0x20 is 'Ġ', ...). Added tokens stand for their text; special ones for nothing in an
// answer.
import type { Tokenizer } from '@huggingface/tokenizers';

/** GPT-2's byte ↔ character table, inverted: the stand-in character → its byte. */
function standInBytes(): Map<string, number> {
  const direct = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Map<string, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    table.set(String.fromCodePoint(direct(b) ? b : 256 + shifted++), b);
  }
  return table;
}

/** A decoder spec that ends in ByteLevel (alone or last of a Sequence) spells its tokens in stand-in bytes. */
function isByteLevel(decoder: unknown): boolean {
  if (typeof decoder !== 'object' || decoder === null) return false;
  const { type, decoders } = decoder as { type?: unknown; decoders?: unknown };
  if (type === 'ByteLevel') return true;
  return type === 'Sequence' && Array.isArray(decoders) && decoders.some(isByteLevel);
}

export type TokenBytes = (id: number) => Uint8Array | null;

/**
 * Each token's bytes, for tokenizer.json's `decoder` spec. Tokenizers that are not byte-level give the UTF-8 of
 * the token's own decoded text.
 */
export function tokenBytes(tokenizer: Tokenizer, decoderSpec: unknown): TokenBytes {
  const added = tokenizer.get_added_tokens_decoder();
  const encoder = new TextEncoder();
  const standIns = isByteLevel(decoderSpec) ? standInBytes() : null;
  const cache = new Map<number, Uint8Array | null>();
  const compute = (id: number): Uint8Array | null => {
    const addedToken = added.get(id);
    if (addedToken) return addedToken.special ? null : encoder.encode(addedToken.content);
    const piece = tokenizer.id_to_token(id);
    if (piece === undefined) return null;
    if (standIns === null) return encoder.encode(tokenizer.decode([id], { skip_special_tokens: true }));
    const bytes: number[] = [];
    for (const ch of piece) {
      const byte = standIns.get(ch);
      // A vocabulary entry outside the byte alphabet is text already.
      if (byte === undefined) bytes.push(...encoder.encode(ch));
      else bytes.push(byte);
    }
    return Uint8Array.from(bytes);
  };
  return (id) => {
    if (!cache.has(id)) cache.set(id, compute(id));
    return cache.get(id) ?? null;
  };
}
