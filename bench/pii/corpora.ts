/** Loads the labelled corpora: ours (test/fixtures/pii) and, when present, Presidio's evaluation sets. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EntityType } from '../../src/modules/pii/policy.ts';
import type { Span } from './score.ts';

export interface Doc { text: string; labels: Span[]; lang?: string }

/** Presidio label → our type. Labels not listed here have no counterpart and are excluded. */
export const PRESIDIO_MAP: Record<string, EntityType> = {
  PERSON: 'PERSON', EMAIL_ADDRESS: 'EMAIL', PHONE_NUMBER: 'PHONE', CREDIT_CARD: 'CREDIT_CARD', IBAN_CODE: 'IBAN',
  US_SSN: 'US_SSN', IP_ADDRESS: 'IP_ADDRESS', STREET_ADDRESS: 'ADDRESS', ADDRESS: 'ADDRESS',
};

export function loadOwnCorpus(repoRoot: string): Doc[] {
  const file = path.join(repoRoot, 'test/fixtures/pii/corpus.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { lang: string; text: string; spans: Span[] }[];
  return raw.map((m) => ({ text: m.text, labels: m.spans, lang: m.lang }));
}

interface PresidioRow {
  full_text: string;
  spans: { entity_type: string; start_position: number; end_position: number }[];
}

export function presidioDir(repoRoot: string): string | undefined {
  const dir = path.resolve(repoRoot, '../shared/data/pii');
  return existsSync(dir) ? dir : undefined;
}

export function loadPresidio(file: string): { docs: Doc[]; excluded: Map<string, number> } {
  const rows = JSON.parse(readFileSync(file, 'utf8')) as PresidioRow[];
  const excluded = new Map<string, number>();
  const docs = rows.map((r) => {
    const labels: Span[] = [];
    for (const s of r.spans) {
      const type = PRESIDIO_MAP[s.entity_type];
      if (type) labels.push({ type, start: s.start_position, end: s.end_position });
      else excluded.set(s.entity_type, (excluded.get(s.entity_type) ?? 0) + 1);
    }
    return { text: r.full_text, labels };
  });
  return { docs, excluded };
}
