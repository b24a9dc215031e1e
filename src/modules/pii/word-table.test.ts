import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wordTable } from './word-table.ts';

test('a word table answers exactly like the map it was built from', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ maxLength: 8 }), { maxLength: 300 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 50 }), (words, probes) => {
      const entries = new Map(words.map((w, i) => [w, (i % 7) + 1] as const));
      const table = wordTable(entries);
      for (const w of [...words, ...probes]) {
        assert.equal(table.bitsOf(w), entries.get(w) ?? 0);
        assert.equal(table.bitsAt(`(${w})`, 1, w.length + 1), entries.get(w) ?? 0);
      }
    }),
    { numRuns: 300, seed: 31 },
  );
});
