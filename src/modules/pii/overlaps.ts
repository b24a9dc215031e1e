/**
 * Overlap resolution: same-type overlaps merge into one span; across types the higher score
 * wins (then the longer span, then the more specific type). The result is sorted by start.
 */
import type { EntityType } from './policy.ts';
import type { Finding } from './types.ts';

const PRIORITY: Record<EntityType, number> = {
  URL_CREDENTIALS: 13, SECRET: 12, CRYPTO_WALLET: 11, IBAN: 10, CREDIT_CARD: 9, EMAIL: 8, US_SSN: 7,
  PASSPORT: 6, IP_ADDRESS: 5, DATE_OF_BIRTH: 4, PHONE: 3, ADDRESS: 2, PERSON: 1,
};

function mergeSameType(findings: Finding[]): Finding[] {
  const sorted = [...findings].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.start - b.start));
  const merged: Finding[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.type === f.type && f.start < last.end) {
      last.end = Math.max(last.end, f.end);
      last.score = Math.max(last.score, f.score);
    } else merged.push({ ...f });
  }
  return merged;
}

/** The usual case, no two findings overlapping: the result is just the findings sorted by start. */
function disjointSorted(findings: readonly Finding[]): Finding[] | undefined {
  const sorted = [...findings].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) if ((sorted[i]?.start ?? 0) < (sorted[i - 1]?.end ?? 0)) return undefined;
  return sorted.map((f) => ({ ...f }));
}

export function resolveOverlaps(findings: Finding[]): Finding[] {
  const disjoint = disjointSorted(findings);
  if (disjoint) return disjoint;
  const ranked = mergeSameType(findings).sort(
    (a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || PRIORITY[b.type] - PRIORITY[a.type],
  );
  let size = 0;
  for (const f of ranked) size = Math.max(size, f.end);
  // One flag per code unit taken by a kept span: each check costs the span's length, not the number of kept spans.
  const taken = new Uint8Array(size);
  const kept: Finding[] = [];
  for (const f of ranked) {
    let free = true;
    for (let i = f.start; i < f.end && free; i++) free = taken[i] === 0;
    if (!free) continue;
    taken.fill(1, f.start, f.end);
    kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start);
}
