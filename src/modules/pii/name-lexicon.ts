/** Name and word sets built once from the generated lists; lower-case keys. */
import { AMBIGUOUS_NAMES, FIRST_NAMES, LAST_NAMES } from './names-data.ts';
import { COMMON_WORDS } from './common-words.ts';

export type NameWeight = 'first' | 'last' | 'weak' | 'common';

export interface NameLexicon {
  first: ReadonlySet<string>;
  last: ReadonlySet<string>;
  ambiguous: ReadonlySet<string>;
  common: ReadonlySet<string>;
  /** One look-up instead of four: ambiguous, then common, then first, then last name. */
  weight: ReadonlyMap<string, NameWeight>;
}

function weights(lex: Omit<NameLexicon, 'weight'>): Map<string, NameWeight> {
  const w = new Map<string, NameWeight>();
  // Lowest precedence first, so each later set overrides the earlier ones.
  for (const k of lex.last) w.set(k, 'last');
  for (const k of lex.first) w.set(k, 'first');
  for (const k of lex.common) w.set(k, 'common');
  for (const k of lex.ambiguous) w.set(k, 'weak');
  return w;
}

let cached: NameLexicon | undefined;

/** Loaded lazily so importing the module stays cheap; the sets are immutable once built. */
export function nameLexicon(): NameLexicon {
  if (!cached) {
    const sets = {
      first: new Set(FIRST_NAMES.split('|')),
      last: new Set(LAST_NAMES.split('|')),
      ambiguous: new Set(AMBIGUOUS_NAMES.split('|')),
      common: new Set(COMMON_WORDS),
    };
    cached = { ...sets, weight: weights(sets) };
  }
  return cached;
}
