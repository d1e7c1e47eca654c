// Streaming an answer's text token by token: characters split over several byte-level tokens are held back until
// complete, stop tokens add nothing, and the pieces always join to the whole answer's text.
import { describe, expect, it } from 'vitest';

import { AnswerText } from '../../../main/services/engine/answer-text.js';

// A byte-level "tokenizer": token i < 256 is byte i; 300 is a stop token. Decoding is UTF-8 with replacement,
// as the real tokenizer's decoder does for incomplete sequences.
const decoder = new TextDecoder('utf-8');
const decode = (ids: readonly number[]): string =>
  decoder.decode(Uint8Array.from(ids.filter((i) => i < 256)));
const tokens = (text: string): number[] => Array.from(new TextEncoder().encode(text));

describe('AnswerText', () => {
  it('holds back a split character until its last byte, and the pieces join to the answer', () => {
    const answer = 'A café — 猫 🐈 moves.';
    const ids = tokens(answer);
    const text = new AnswerText(decode, new Set([300]));
    const pieces = ids.map((id, i) => text.push(id, i === ids.length - 1));
    expect(pieces.join('')).toBe(answer);
    expect(pieces.every((p) => !p.includes('\uFFFD'))).toBe(true);
    // The cat emoji is 4 bytes: three empty pieces, then the whole character.
    const cat = ids.length - tokens(' moves.').length - 4;
    expect(pieces.slice(cat, cat + 4)).toEqual(['', '', '', '🐈']);
    expect(text.text).toBe(answer);
  });

  it('adds nothing for the stop token and flushes an unfinished character at the end', () => {
    const text = new AnswerText(decode, new Set([300]));
    expect(text.push(0x61, false)).toBe('a');
    expect(text.push(0xe7, false)).toBe('');
    expect(text.push(300, true)).toBe('\uFFFD');
    expect(text.text).toBe('a\uFFFD');
  });
});
