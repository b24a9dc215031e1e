import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyze } from './index.ts';

const ALPHABET = 'aA1 .-:@+()/\n_0xbcZ9#€'.split('');

test('any input gives in-range, sorted, non-overlapping findings', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.constantFrom(...ALPHABET), { maxLength: 300 }).map((a) => a.join(''))), (text) => {
      const f = analyze(text, { minScore: 0 });
      let prev = 0;
      for (const x of f) {
        assert.ok(x.start >= prev && x.end > x.start && x.end <= text.length && x.score >= 0 && x.score <= 1);
        prev = x.end;
      }
    }),
    { numRuns: 150 },
  );
});

// A generous bound: it catches catastrophic backtracking (seconds) without failing on a busy machine.
test('hostile 100 KB inputs finish quickly', () => {
  const units = ['12 34 56 78 ', 'a@', 'a:b:c:d:', 'aB3', 'DE89 3704 ', '12 Main Street Apt. 4\n', 'born 12 March 1999 ', '-----BEGIN RSA PRIVATE KEY-----', 'Anna Maria ', '+4 (0)1 2-3.4 ', 'DE89 3704 0044 0532 ', '12 Aa Bb Cc 34 ', 'Rue a 1 ', 'In x 1 '];
  for (const u of units) {
    const text = u.repeat(Math.ceil(102400 / u.length)).slice(0, 102400);
    const t = performance.now();
    analyze(text);
    const ms = performance.now() - t;
    assert.ok(ms < 1500, `${JSON.stringify(u)} took ${ms.toFixed(0)} ms`);
  }
});

// Found by fuzzing: a "+" or "(" right after a word glued by "_", "-" or "/" once stopped the
// number scanner from advancing (an endless loop).
test('a plus or parenthesis after a glued word never stalls the scanner', () => {
  for (const text of ['b_+0_', 'a_+1', 'x-(5', 'id/+44 20', 'a_(1)_+2']) assert.ok(Array.isArray(analyze(text, { minScore: 0 })));
});
