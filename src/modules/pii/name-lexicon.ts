/** Name and word sets built once from the generated lists; lower-case keys. */
import { AMBIGUOUS_NAMES, FIRST_NAMES, LAST_NAMES } from './names-data.ts';
import { COMMON_WORDS } from './common-words.ts';

export interface NameLexicon {
  first: ReadonlySet<string>;
  last: ReadonlySet<string>;
  ambiguous: ReadonlySet<string>;
  common: ReadonlySet<string>;
}

let cached: NameLexicon | undefined;

/** Loaded lazily so importing the module stays cheap; the sets are immutable once built. */
export function nameLexicon(): NameLexicon {
  cached ??= {
    first: new Set(FIRST_NAMES.split('|')),
    last: new Set(LAST_NAMES.split('|')),
    ambiguous: new Set(AMBIGUOUS_NAMES.split('|')),
    common: new Set(COMMON_WORDS),
  };
  return cached;
}
