/**
 * A read-only map from lower-case words to small bit sets, probed with a word still inside the
 * text: no substring is cut out and no engine hashing happens per look-up. The table is large
 * and cold, so it is laid out for few memory reads: each slot is two neighbouring 32-bit numbers
 * (the word's full hash; its place in one pooled string of all words, its length and its bits),
 * and a look-up reads one slot line and, when a hash matches, the word in the pool.
 */

export interface WordTable {
  /** Bits of lower[start, end), or 0 when the word is not in the table. */
  bitsAt: (lower: string, start: number, end: number) => number;
  /** Bits of a word given as a string. */
  bitsOf: (word: string) => number;
}

/** Never 0, so 0 marks an empty slot. */
function hashRange(s: string, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) | 1) >>> 0;
}

const BITS = 6;
const LENGTH_BITS = 6;
const MAX_POOL = 2 ** (32 - BITS - LENGTH_BITS);
// The masks as plain numbers: "2 ** BITS - 1" inside a look-up ran Math.pow on every call.
const BITS_MASK = 2 ** BITS - 1;
const LENGTH_MASK = 2 ** LENGTH_BITS - 1;

export function wordTable(entries: ReadonlyMap<string, number>): WordTable {
  let size = 1024;
  while (size < entries.size * 2) size *= 2;
  const mask = size - 1;
  const pool = [...entries.keys()].join('');
  if (pool.length >= MAX_POOL) throw new Error('word table: too many words');
  // Slot k: hash at 2k; at 2k + 1 the pool offset, then the length, then the bits.
  const slots = new Uint32Array(size * 2);
  let offset = 0;
  for (const [word, bits] of entries) {
    if (word.length >= 2 ** LENGTH_BITS || bits >= 2 ** BITS) throw new Error(`word table: cannot hold ${JSON.stringify(word)}`);
    const h = hashRange(word, 0, word.length);
    let k = h & mask;
    while (slots[2 * k] !== 0) k = (k + 1) & mask;
    slots[2 * k] = h;
    slots[2 * k + 1] = ((offset * 2 ** LENGTH_BITS + word.length) * 2 ** BITS + bits) >>> 0;
    offset += word.length;
  }
  function bitsAt(lower: string, start: number, end: number): number {
    const h = hashRange(lower, start, end);
    const len = end - start;
    for (let k = h & mask; ; k = (k + 1) & mask) {
      const tag = slots[2 * k] ?? 0;
      if (tag === 0) return 0;
      if (tag !== h) continue;
      const info = slots[2 * k + 1] ?? 0;
      if (((info >>> BITS) & LENGTH_MASK) !== len) continue;
      const from = info >>> (BITS + LENGTH_BITS);
      let same = true;
      for (let j = 0; j < len && same; j++) same = pool.charCodeAt(from + j) === lower.charCodeAt(start + j);
      if (same) return info & BITS_MASK;
    }
  }
  return { bitsAt, bitsOf: (word) => bitsAt(word, 0, word.length) };
}
