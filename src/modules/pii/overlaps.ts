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

/**
 * A copy built as a literal, in the recognisers' field order, rather than by spreading: spread
 * copies get maps of their own, and property reads over findings of many maps (here, in the
 * sorts and in anonymize()) fall back to V8's slow megamorphic look-ups.
 */
function copyOf(f: Finding, end = f.end, score = f.score): Finding {
  return { type: f.type, start: f.start, end, score };
}

function mergeSameType(findings: Finding[]): Finding[] {
  const sorted = [...findings].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : a.start - b.start));
  const merged: Finding[] = [];
  for (const f of sorted) {
    const last = merged.length > 0 ? merged[merged.length - 1] : undefined;
    if (last && last.type === f.type && f.start < last.end) {
      last.end = Math.max(last.end, f.end);
      last.score = Math.max(last.score, f.score);
    } else merged.push(copyOf(f));
  }
  return merged;
}

/** Higher score first, then the longer span, then the more specific type. */
function byRank(a: Finding, b: Finding): number {
  return b.score - a.score || b.end - b.start - (a.end - a.start) || PRIORITY[b.type] - PRIORITY[a.type];
}

/**
 * resolveCluster() for the most common cluster, two overlapping findings (a starting no later
 * than b), without its sorts and scratch: the same type merges, otherwise the better ranked one
 * is kept (two types never rank equal, their priorities differ).
 */
function resolvePair(a: Finding, b: Finding): Finding {
  if (a.type === b.type) return copyOf(a, Math.max(a.end, b.end), Math.max(a.score, b.score));
  return copyOf(byRank(a, b) <= 0 ? a : b);
}

/** An empty span blocks nothing, so resolvePair() is only for spans that are not empty. */
function nonEmpty(f: Finding | undefined): boolean {
  return f !== undefined && f.end > f.start;
}

function resolveCluster(findings: Finding[]): Finding[] {
  const ranked = mergeSameType(findings).sort(byRank);
  const from = findings.reduce((m, f) => Math.min(m, f.start), Infinity);
  let size = 0;
  for (const f of ranked) size = Math.max(size, f.end);
  // One flag per code unit taken by a kept span: each check costs the span's length, not the number of kept spans.
  const taken = new Uint8Array(size - from);
  const kept: Finding[] = [];
  for (const f of ranked) {
    let free = true;
    for (let i = f.start; i < f.end && free; i++) free = taken[i - from] === 0;
    if (!free) continue;
    taken.fill(1, f.start - from, f.end - from);
    kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * Findings that do not overlap anything are kept as they are; each cluster of transitively
 * overlapping findings is resolved on its own, which keeps what resolving them all at once
 * would keep, since a kept span can only block spans of its own cluster.
 */
export function resolveOverlaps(findings: Finding[]): Finding[] {
  const sorted = [...findings].sort((a, b) => a.start - b.start);
  const out: Finding[] = [];
  for (let i = 0; i < sorted.length; ) {
    const first = sorted[i];
    if (!first) break;
    let end = first.end;
    let j = i + 1;
    for (; j < sorted.length && (sorted[j]?.start ?? 0) < end; j++) end = Math.max(end, sorted[j]?.end ?? 0);
    if (j === i + 1) out.push(copyOf(first));
    else if (j === i + 2 && nonEmpty(first) && nonEmpty(sorted[i + 1])) out.push(resolvePair(first, sorted[i + 1] ?? first));
    else for (const f of resolveCluster(sorted.slice(i, j))) out.push(f);
    i = j;
  }
  return out;
}
