// Streaming an answer's text token by token: characters split over several byte-level tokens are held back until
// complete, bytes that never make a character read as <0xHH>, stop tokens add nothing, and the pieces always join
// to the whole answer's text. The WHATWG decoder (TextDecoder) is the reference for what is valid UTF-8.
import { describe, expect, it } from 'vitest';

import { ReadableUtf8, readableUtf8 } from '../../../../../app/domain/readable-utf8.js';
import { AnswerText } from '../../../../../main/services/engine/answer-text.js';

// A byte-level "tokenizer": token i < 256 is byte i; 300 is a stop token, 301 a special token with no text.
const bytesOf = (id: number): Uint8Array | null => (id < 256 ? Uint8Array.of(id) : null);
const tokens = (text: string): number[] => Array.from(new TextEncoder().encode(text));

/** A seeded generator (mulberry32), so every run tries the same byte strings. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes biased towards UTF-8's interesting values: ASCII, continuation bytes, every kind of lead byte. */
function bytes(next: () => number, n: number): number[] {
  const pool = [
    0x41, 0x20, 0x80, 0x8f, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
  ];
  return Array.from({ length: n }, () =>
    next() < 0.5 ? (pool[Math.floor(next() * pool.length)] ?? 0) : Math.floor(next() * 256),
  );
}

describe('readable UTF-8', () => {
  it('decodes valid text exactly as TextDecoder does', () => {
    const text = 'A café — 猫 🐈 moves. \u0000\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}';
    expect(readableUtf8(tokens(text))).toBe(text);
  });

  it('shows each broken sequence where TextDecoder puts U+FFFD, and loses no byte', () => {
    const next = random(7);
    const reference = new TextDecoder('utf-8');
    for (let trial = 0; trial < 2000; trial++) {
      const input = bytes(next, 1 + Math.floor(next() * 24));
      const ours = readableUtf8(input);
      const theirs = reference.decode(Uint8Array.from(input));
      // Runs of undecodable bytes align with the reference's runs of replacement characters (the "maximal
      // subpart" practice both follow), and everything between them is the same text.
      const marked = ours.replace(/(<0x[0-9A-F]{2}>)+/g, '#');
      expect(marked).toBe(theirs.replace(/\uFFFD+/g, '#'));
      if (!theirs.includes('\uFFFD')) expect(ours).toBe(theirs);
      // Spelled-out bytes and the decoded text give back the input byte for byte.
      const back: number[] = [];
      for (const part of ours.split(/(<0x[0-9A-F]{2}>)/)) {
        const byte = /^<0x([0-9A-F]{2})>$/.exec(part);
        if (byte) back.push(parseInt(byte[1] ?? '', 16));
        else back.push(...new TextEncoder().encode(part));
      }
      expect(back).toEqual(input);
    }
  });

  it('streams: any split into pieces joins to the whole, and a valid prefix waits for its bytes', () => {
    const next = random(11);
    for (let trial = 0; trial < 500; trial++) {
      const input = bytes(next, 1 + Math.floor(next() * 24));
      const stream = new ReadableUtf8();
      let joined = '';
      let at = 0;
      while (at < input.length) {
        const size = 1 + Math.floor(next() * 4);
        const end = Math.min(input.length, at + size);
        joined += stream.push(input.slice(at, end), end === input.length);
        at = end;
      }
      expect(joined).toBe(readableUtf8(input));
    }
    const stream = new ReadableUtf8();
    expect(stream.push([0xf0, 0x9f])).toBe('');
    expect(stream.push([0x90])).toBe('');
    expect(stream.push([0x88])).toBe('🐈');
    expect(stream.push([0xe7])).toBe('');
    expect(stream.push([0x41])).toBe('<0xE7>A');
  });
});

describe('AnswerText', () => {
  it('holds back a split character until its last byte, and the pieces join to the answer', () => {
    const answer = 'A café — 猫 🐈 moves.';
    const ids = tokens(answer);
    const text = new AnswerText(bytesOf, new Set([300]));
    const pieces = ids.map((id, i) => text.push(id, i === ids.length - 1));
    expect(pieces.join('')).toBe(answer);
    // The cat emoji is 4 bytes: three empty pieces, then the whole character.
    const cat = ids.length - tokens(' moves.').length - 4;
    expect(pieces.slice(cat, cat + 4)).toEqual(['', '', '', '🐈']);
    expect(text.text).toBe(answer);
  });

  it('adds nothing for stop or special tokens, and spells out an unfinished character at the end', () => {
    const text = new AnswerText(bytesOf, new Set([300]));
    expect(text.push(0x61, false)).toBe('a');
    expect(text.push(301, false)).toBe('');
    expect(text.push(0xe7, false)).toBe('');
    expect(text.push(300, true)).toBe('<0xE7>');
    expect(text.text).toBe('a<0xE7>');
  });

  it('never streams U+FFFD for bytes that are not text, as a random model emits them', () => {
    const text = new AnswerText(bytesOf, new Set([300]));
    const ids = [0x9f, 0x9f, 0xbf, 0x41, 0xc0, 0x80];
    const pieces = ids.map((id, i) => text.push(id, i === ids.length - 1));
    expect(pieces.join('')).toBe('<0x9F><0x9F><0xBF>A<0xC0><0x80>');
    expect(text.text).not.toContain('\uFFFD');
  });
});
