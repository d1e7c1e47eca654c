// Seeded mutation for the TypeScript parsers' fuzz tests: the same seed gives the same inputs, so a failure names
// the seed and iteration that reproduce it. Two kinds: structural (a JSON value with one part replaced, removed
// or added — what reaches a zod schema) and byte-level (flips, inserts, cuts, splices — what reaches a parser).

/** mulberry32: small, fast, and enough to spread the mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export const int = (r: Random, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)]!;

const strange: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e-308,
  '',
  'x',
  '../../etc/passwd',
  '\u0000',
  '\uD800',
  'é猫🐈',
  'a'.repeat(5000),
  [],
  {},
  [null],
  { id: 1 },
  JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
  { constructor: 'x', toString: 1 },
];

function randomValue(r: Random, depth = 0): unknown {
  const k = int(r, depth > 2 ? 3 : 5);
  if (k === 0) return structuredClone(pick(r, strange));
  if (k === 1) return int(r, 2) === 0 ? int(r, 1000) - 10 : r() * 1e6;
  if (k === 2) return String.fromCharCode(...Array.from({ length: int(r, 12) }, () => int(r, 0x3000)));
  if (k === 3) return Array.from({ length: int(r, 4) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(r, 4); i > 0; i--)
    o[pick(r, ['id', 'type', 'method', 'params', 'x', String(i)])] = randomValue(r, depth + 1);
  return o;
}

type Container = Record<string, unknown> | unknown[];

function containers(value: unknown, out: Container[] = []): Container[] {
  if (typeof value === 'object' && value !== null) {
    out.push(value as Container);
    for (const v of Object.values(value)) containers(v, out);
  }
  return out;
}

/** A deep copy of `value` with 1–3 structural changes: a member replaced by a strange or random value, removed,
 * added, or swapped with one from `donors` (other valid messages, so the result is often almost valid). */
export function mutateJson(r: Random, value: unknown, donors: readonly unknown[] = []): unknown {
  const root = { v: structuredClone(value) as unknown };
  for (let n = 1 + int(r, 3); n > 0; n--) {
    const all = containers(root);
    const target = pick(r, all);
    const keys = Object.keys(target);
    const op = int(r, 4);
    if (op === 0 && keys.length > 0) {
      (target as Record<string, unknown>)[pick(r, keys)] = randomValue(r);
    } else if (op === 1 && keys.length > 0 && target !== root) {
      const key = pick(r, keys);
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
    } else if (op === 2 && donors.length > 0 && keys.length > 0) {
      const donorParts = containers(structuredClone(pick(r, donors)));
      const part = pick(r, donorParts);
      (target as Record<string, unknown>)[pick(r, keys)] = pick(r, [...Object.values(part), part]);
    } else if (Array.isArray(target)) {
      target.push(randomValue(r));
    } else {
      target[pick(r, ['id', 'extra', 'type', '__proto__', String(n)])] = randomValue(r);
    }
  }
  return root.v;
}

const interesting = [
  0x00, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x2d, 0x30, 0x39, 0x65, 0x80, 0xc3,
];

/** `bytes` with 1–4 byte-level changes; `donors` give splices. */
export function mutateBytes(r: Random, bytes: Uint8Array, donors: readonly Uint8Array[] = []): Uint8Array {
  let b = Array.from(bytes);
  for (let n = 1 + int(r, 4); n > 0; n--) {
    const at = int(r, b.length + 1);
    switch (int(r, 6)) {
      case 0:
        if (b.length > 0) b[Math.min(at, b.length - 1)]! ^= 1 << int(r, 8);
        break;
      case 1:
        if (b.length > 0) b[Math.min(at, b.length - 1)] = pick(r, interesting);
        break;
      case 2:
        b.splice(at, 0, ...Array.from({ length: 1 + int(r, 8) }, () => pick(r, interesting)));
        break;
      case 3:
        b.splice(at, 1 + int(r, 64));
        break;
      case 4:
        b = b.slice(0, at);
        break;
      default: {
        const donor = donors.length > 0 ? pick(r, donors) : bytes;
        const from = int(r, donor.length + 1);
        b.splice(at, int(r, 16), ...donor.subarray(from, from + 1 + int(r, 256)));
      }
    }
  }
  return Uint8Array.from(b);
}
