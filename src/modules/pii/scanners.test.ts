/**
 * The fast path's hand-written scanners must find exactly what the regular expressions they
 * replace found; these properties compare them on random text, including astral characters,
 * lone surrogates and the characters the scanners treat specially.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nextCapitalised, type CapitalisedWord } from './recognizers/capitalised.ts';
import { scanText } from './text-scan.ts';
import { nextCandidate } from './number-runs.ts';
import { KNOWN_PREFIX_RE, knownPrefixPositions } from './recognizers/secret-prefixes.ts';
import { flagsAround, phraseSet, windowHas, wordIndex } from './context.ts';
import { tokenRuns } from './recognizers/secret.ts';
import { mayStartStreet, numberStarts } from './recognizers/address-candidates.ts';
import { ADDRESS_LOOSE_RE, ADDRESS_NUM_FIRST_RE } from './recognizers/address-patterns.ts';

const PIECES = ['A', 'a', 'É', 'é', 'ß', 'İ', 'Σ', '𝔘', '😀', '\ud835', '\udd18', '1', '²', ' ', '.', '@', '_', "'", '’', '-', '\n', 'Anna', 'Mc', 'van', 'order', 'phone', 'ssn'];
const text = fc.oneof(fc.string({ maxLength: 80, unit: 'binary' }), fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((a) => a.join('')));

const CAP_RE = /\p{Lu}(?<![\p{L}\p{N}_@.]\p{Lu})[\p{L}'’-]{0,30}\.?/gu;

test('the shared scan and nextCapitalised find what the capitalised-word regex finds', () => {
  fc.assert(
    fc.property(text, (t) => {
      const expected = [...t.matchAll(CAP_RE)].map((m) => [m.index, m.index + m[0].length, /^[\0-\x7f]*$/.test(m[0])]);
      const got: unknown[][] = [];
      const { capitalStarts } = scanText(t);
      const cursor = { k: 0, floor: 0 };
      const w: CapitalisedWord = { start: 0, end: 0, ascii: true };
      while (nextCapitalised(t, capitalStarts, cursor, w)) got.push([w.start, w.end, w.ascii]);
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

test('the shared scan finds every run of ASCII digits', () => {
  fc.assert(
    fc.property(text, (t) => {
      const expected = [...t.matchAll(/[0-9]+/g)].flatMap((m) => [m.index, m.index + m[0].length]);
      assert.deepEqual(scanText(t).digitRuns, expected);
    }),
    { numRuns: 3000, seed: 15 },
  );
});

const NUMBER_PIECES = ['1', '23', '+', '(', ')', ' ', '-', '.', 'a', 'x', '_', 'é', '\u00a0', '𝔘', '+4 (0)1'];
const numberText = fc.oneof(text, fc.array(fc.constantFrom(...NUMBER_PIECES), { maxLength: 30 }).map((a) => a.join('')));
const isDigitAt = (t: string, p: number): boolean => /[0-9]/.test(t[p] ?? '');
const isWordCharAt = (t: string, p: number): boolean => p >= 0 && p < t.length && (/\w/.test(t[p] ?? '') || t.charCodeAt(p) > 127);

/** The definition: walk character by character to where a run could start, passing words with digits glued inside. */
function walkToCandidate(t: string, i: number): number {
  let p = i;
  while (p < t.length) {
    const c = t[p];
    if (isDigitAt(t, p)) {
      if (p > i && isWordCharAt(t, p - 1)) {
        while (isWordCharAt(t, p)) p++;
        continue;
      }
      return p;
    }
    if ((c === '+' || c === '(') && isDigitAt(t, p + 1)) return p;
    p++;
  }
  return t.length;
}

test('nextCandidate jumps over the digit runs to where the character walk would stop', () => {
  fc.assert(
    fc.property(numberText, fc.array(fc.nat(), { maxLength: 8 }), (t, steps) => {
      const runs = scanText(t).digitRuns;
      const cursor = { k: 0 };
      // As the scanner asks: each position at or after the previous answer.
      let answer = 0;
      for (const step of [0, ...steps]) {
        const i = Math.min(t.length, answer + (step % 6));
        answer = nextCandidate(t, i, runs, cursor);
        assert.equal(answer, walkToCandidate(t, i), `${JSON.stringify(t)} from ${i}`);
      }
    }),
    { numRuns: 3000, seed: 16 },
  );
});

const SECRET_PIECES = ['AKIA', 'ASIA', 'AIza', 'SG.', 'SG', 'eyJ', 'ey', 'gh', 'p', 'u', '_', '-', 'github', 'pat', 'sk', 'rk', 'xox', 'b', 'glpat', 'npm', 'hf', 'a', ' ', '.', 'A', 'S'];
const secretText = fc.oneof(text, fc.array(fc.constantFrom(...SECRET_PIECES), { maxLength: 30 }).map((a) => a.join('')));

test('knownPrefixPositions lists every position where a global search finds a vendor-key opening', () => {
  fc.assert(
    fc.property(secretText, (t) => {
      const expected: number[] = [];
      KNOWN_PREFIX_RE.lastIndex = 0;
      for (let m = KNOWN_PREFIX_RE.exec(t); m; m = KNOWN_PREFIX_RE.exec(t)) {
        expected.push(m.index);
        KNOWN_PREFIX_RE.lastIndex = m.index + 1;
      }
      assert.deepEqual(knownPrefixPositions(t), expected);
    }),
    { numRuns: 3000, seed: 17 },
  );
});

const PHRASES = ['mail', 'located at', 'a.b', 'x|y', 'é', '(', 'api_key'];
const PHRASE_SET = phraseSet(PHRASES);
const phraseText = fc.oneof(text, fc.array(fc.constantFrom('mail', 'located', ' at', 'a.b', 'axb', 'x|y', 'x', 'é', '(', 'api', '_key', ' ', 'm'), { maxLength: 30 }).map((a) => a.join('')));

test('windowHas finds a phrase exactly when String#includes does', () => {
  fc.assert(
    fc.property(phraseText, fc.nat(), fc.nat(), (t, a, b) => {
      const start = a % (t.length + 1);
      const end = start + (b % (t.length - start + 1));
      const win = t.slice(Math.max(0, start - 10), Math.min(t.length, end + 5));
      assert.equal(windowHas(t, start, end, PHRASE_SET, 10, 5), PHRASES.some((p) => win.includes(p)));
    }),
    { numRuns: 3000, seed: 18 },
  );
});

const STREET_PIECES = ['12', '5', '123456', 'a', 'B', '-4', '/12', ' ', ',', ' bis', ' rue', ' Main', ' Street', ' St', ' de', ' la', ' Paix', ' 34', '\n', '.'];
const streetText = fc.array(fc.constantFrom(...STREET_PIECES), { maxLength: 20 }).map((a) => a.join(''));

test('mayStartStreet never rules out a number where a street shape starts', () => {
  fc.assert(
    fc.property(streetText, (t) => {
      for (const d of numberStarts(t, scanText(t).digitRuns)) {
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
