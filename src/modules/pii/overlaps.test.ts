/**
 * resolveOverlaps() resolves each cluster of overlapping findings on its own; it must keep
 * exactly what resolving all findings at once (the reference below) keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resolveOverlaps } from './overlaps.ts';
import type { EntityType } from './policy.ts';
import type { Finding } from './types.ts';

const TYPES: EntityType[] = ['PERSON', 'ADDRESS', 'PHONE', 'EMAIL', 'IBAN', 'SECRET'];
const PRIORITY: Record<string, number> = { SECRET: 12, IBAN: 10, EMAIL: 8, PHONE: 3, ADDRESS: 2, PERSON: 1 };

function referenceResolve(findings: Finding[]): Finding[] {
  const sorted = [...findings].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.start - b.start));
  const merged: Finding[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.type === f.type && f.start < last.end) {
      last.end = Math.max(last.end, f.end);
      last.score = Math.max(last.score, f.score);
    } else merged.push({ ...f });
  }
  const ranked = merged.sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || (PRIORITY[b.type] ?? 0) - (PRIORITY[a.type] ?? 0));
  const kept: Finding[] = [];
  for (const f of ranked) if (kept.every((k) => f.end <= k.start || f.start >= k.end)) kept.push(f);
  return kept.sort((a, b) => a.start - b.start);
}

const finding = fc.record({
  type: fc.constantFrom(...TYPES),
  start: fc.nat(60),
  length: fc.integer({ min: 1, max: 15 }),
  score: fc.constantFrom(0.5, 0.6, 0.85, 0.9, 1),
}).map(({ type, start, length, score }): Finding => ({ type, start, end: start + length, score }));

test('resolveOverlaps keeps what resolving all findings at once keeps', () => {
  fc.assert(
    fc.property(fc.array(finding, { maxLength: 25 }), (findings) => {
      assert.deepEqual(resolveOverlaps(findings.map((f) => ({ ...f }))), referenceResolve(findings.map((f) => ({ ...f }))));
    }),
    { numRuns: 5000, seed: 21 },
  );
});

/**
 * Spread so that most clusters hold one or two findings (resolvePair's fast path); not empty,
 * as analyze() drops empty spans before resolving.
 */
const sparseFinding = fc.record({
  type: fc.constantFrom(...TYPES),
  start: fc.nat(200),
  length: fc.integer({ min: 1, max: 12 }),
  score: fc.constantFrom(0.5, 0.6, 0.85, 0.9, 1),
}).map(({ type, start, length, score }): Finding => ({ type, start, end: start + length, score }));

test('the two-finding fast path keeps what resolving all findings at once keeps', () => {
  fc.assert(
    fc.property(fc.tuple(sparseFinding, sparseFinding), fc.nat(8), ([a, b], shift) => {
      // b moved into a's reach, so the two overlap, touch or nest in every way.
      const near = { ...b, start: a.start + shift - 4, end: a.start + shift - 4 + (b.end - b.start) };
      if (near.start < 0) return;
      const pair = [a, near];
      assert.deepEqual(resolveOverlaps(pair.map((f) => ({ ...f }))), referenceResolve(pair.map((f) => ({ ...f }))));
    }),
    { numRuns: 5000, seed: 22 },
  );
  fc.assert(
    fc.property(fc.array(sparseFinding, { maxLength: 12 }), (findings) => {
      assert.deepEqual(resolveOverlaps(findings.map((f) => ({ ...f }))), referenceResolve(findings.map((f) => ({ ...f }))));
    }),
    { numRuns: 5000, seed: 23 },
  );
});
