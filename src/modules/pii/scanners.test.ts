/**
 * The fast path's hand-written scanners must find exactly what the regular expressions they
 * replace found; these properties compare them on random text, including astral characters,
 * lone surrogates and the characters the scanners treat specially.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextCapitalised, type CapitalisedWord } from './recognizers/capitalised.ts';
import { flagsAround, wordIndex } from './context.ts';
import { tokenRuns } from './recognizers/secret.ts';
import { mayStartStreet, numberStarts } from './recognizers/address-candidates.ts';
import { ADDRESS_LOOSE_RE, ADDRESS_NUM_FIRST_RE } from './recognizers/address-patterns.ts';

const PIECES = ['A', 'a', 'É', 'é', 'ß', 'İ', 'Σ', '𝔘', '😀', '\ud835', '\udd18', '1', '²', ' ', '.', '@', '_', "'", '’', '-', '\n', 'Anna', 'Mc', 'van', 'order', 'phone', 'ssn'];
const text = fc.oneof(fc.string({ maxLength: 80, unit: 'binary' }), fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((a) => a.join('')));

const CAP_RE = /\p{Lu}(?<![\p{L}\p{N}_@.]\p{Lu})[\p{L}'’-]{0,30}\.?/gu;

test('nextCapitalised finds what the capitalised-word regex finds', () => {
  fc.assert(
    fc.property(text, (t) => {
      const expected = [...t.matchAll(CAP_RE)].map((m) => [m.index, m.index + m[0].length]);
      const got: number[][] = [];
      const w: CapitalisedWord = { start: 0, end: 0, ascii: true };
      for (let from = 0; nextCapitalised(t, from, w); from = w.end) got.push([w.start, w.end]);
      assert.deepEqual(got, expected);
    }),
    { numRuns: 3000, seed: 11 },
  );
});

const WORD_RE = /[\p{L}\p{N}]+/gu;
const SETS: [ReadonlySet<string>, number][] = [[new Set(['order', 'ssn', 'a', 'é', '1', 'anna']), 1], [new Set(['phone', 'van']), 2]];
const INDEX = wordIndex(SETS);

/** The words of the two windows, as the engine used to list them before looking them up. */
function referenceFlags(lower: string, start: number, end: number): number {
  const words = [...(lower.slice(Math.max(0, start - 48), start).match(WORD_RE) ?? []), ...(lower.slice(end, Math.min(lower.length, end + 16)).match(WORD_RE) ?? [])];
  let flags = 0;
  for (const [set, bit] of SETS) if (words.some((w) => set.has(w))) flags |= bit;
  return flags;
}

test('flagsAround sees the same words as splitting the windows with [\\p{L}\\p{N}]+', () => {
  fc.assert(
    fc.property(text, fc.nat(), fc.nat(), (t, a, b) => {
      const lower = t.toLowerCase();
      if (lower.length !== t.length) return;
      const start = a % (lower.length + 1);
      const end = start + (b % (lower.length - start + 1));
      assert.equal(flagsAround(lower, start, end, INDEX), referenceFlags(lower, start, end));
    }),
    { numRuns: 3000, seed: 12 },
  );
});

const TOKEN_PIECES = ['a', 'Z', '9', '_', '-', '+', '/', '=', '.', ' ', 'é', 'abcdefghij', 'ABCDEFGHIJKL', '0123456789'];
const tokenText = fc.array(fc.constantFrom(...TOKEN_PIECES), { maxLength: 120 }).map((a) => a.join(''));
const TOKEN_RE = /(?<![\w\-+/=.])[A-Za-z0-9_\-+/=]{24,512}(?![\w\-+/=])/g;

test('tokenRuns samples every twelfth character yet finds every generic token', () => {
  fc.assert(
    fc.property(tokenText, (t) => {
      const expected = [...t.matchAll(TOKEN_RE)].map((m) => [m.index, m.index + m[0].length]);
      assert.deepEqual(tokenRuns(t), expected);
    }),
    { numRuns: 3000, seed: 13 },
  );
});

const STREET_PIECES = ['12', '5', '123456', 'a', 'B', '-4', '/12', ' ', ',', ' bis', ' rue', ' Main', ' Street', ' St', ' de', ' la', ' Paix', ' 34', '\n', '.'];
const streetText = fc.array(fc.constantFrom(...STREET_PIECES), { maxLength: 20 }).map((a) => a.join(''));

test('mayStartStreet never rules out a number where a street shape starts', () => {
  fc.assert(
    fc.property(streetText, (t) => {
      for (const d of numberStarts(t)) {
        if (mayStartStreet(t, d)) continue;
        for (const re of [ADDRESS_NUM_FIRST_RE, ADDRESS_LOOSE_RE]) {
          re.lastIndex = d;
          assert.equal(re.exec(t), null, `${JSON.stringify(t)} at ${d}`);
        }
      }
    }),
    { numRuns: 3000, seed: 14 },
  );
});
