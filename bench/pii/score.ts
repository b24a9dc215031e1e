/**
 * Span scoring shared by both corpora. A prediction matches a label of the same type when it
 * covers at least 90% of the label's characters. Recall counts matched labels; precision counts
 * predictions that match at least one label (one address prediction may cover several labelled
 * fragments of the same block).
 */
import type { EntityType } from '../../src/modules/pii/policy.ts';

export interface Span { type: EntityType; start: number; end: number }
export interface Counts { tp: number; fp: number; fn: number; predicted: number; labelled: number }
export interface Metrics { precision: number; recall: number; f1: number; f2: number; labelled: number; predicted: number }

export const OVERLAP = 0.9;

export function matches(pred: Span, label: Span): boolean {
  if (pred.type !== label.type) return false;
  const inter = Math.min(pred.end, label.end) - Math.max(pred.start, label.start);
  return inter > 0 && inter >= OVERLAP * (label.end - label.start);
}

export function emptyCounts(): Counts {
  return { tp: 0, fp: 0, fn: 0, predicted: 0, labelled: 0 };
}

/** Adds one document's outcome to per-type counts. */
export function scoreDocument(preds: readonly Span[], labels: readonly Span[], into: Map<EntityType, Counts>): void {
  const get = (t: EntityType): Counts => {
    let c = into.get(t);
    if (!c) into.set(t, (c = emptyCounts()));
    return c;
  };
  for (const l of labels) {
    const c = get(l.type);
    c.labelled++;
    if (preds.some((p) => matches(p, l))) c.tp++;
    else c.fn++;
  }
  for (const p of preds) {
    const c = get(p.type);
    c.predicted++;
    if (!labels.some((l) => matches(p, l))) c.fp++;
  }
}

export function metrics(c: Counts): Metrics {
  const precision = c.predicted === 0 ? (c.labelled === 0 ? 1 : 0) : (c.predicted - c.fp) / c.predicted;
  const recall = c.labelled === 0 ? 1 : c.tp / c.labelled;
  const fb = (b: number): number => (precision + recall === 0 ? 0 : ((1 + b * b) * precision * recall) / (b * b * precision + recall));
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { precision: r(precision), recall: r(recall), f1: r(fb(1)), f2: r(fb(2)), labelled: c.labelled, predicted: c.predicted };
}

export function total(counts: Iterable<Counts>): Counts {
  const t = emptyCounts();
  for (const c of counts) {
    t.tp += c.tp;
    t.fp += c.fp;
    t.fn += c.fn;
    t.predicted += c.predicted;
    t.labelled += c.labelled;
  }
  return t;
}

export function table(title: string, rows: [string, Metrics][]): string {
  const head = `${'type'.padEnd(16)} ${'P'.padStart(6)} ${'R'.padStart(6)} ${'F1'.padStart(6)} ${'F2'.padStart(6)} ${'labels'.padStart(7)} ${'preds'.padStart(6)}`;
  const lines = rows.map(
    ([k, m]) =>
      `${k.padEnd(16)} ${m.precision.toFixed(3).padStart(6)} ${m.recall.toFixed(3).padStart(6)} ${m.f1.toFixed(3).padStart(6)} ${m.f2.toFixed(3).padStart(6)} ${String(m.labelled).padStart(7)} ${String(m.predicted).padStart(6)}`,
  );
  return [`\n${title}`, head, ...lines].join('\n');
}
