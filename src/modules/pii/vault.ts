/**
 * Token vault: the same value gets the same token within a conversation (`<EMAIL_1>`), and a
 * token maps back to its original. The persistent, encrypted vault lives elsewhere; this file
 * defines the contract and an in-memory implementation.
 */
import type { EntityType } from './policy.ts';
import { normalizeValue } from './normalize.ts';

/**
 * The value hash of a vault row whose value was erased alone (a mention: erasure.ts): the row is
 * kept, with its token and an empty value, so the token's number is never given to another value
 * of that conversation (an agent's old message would then read as someone else's address). It
 * matches no look-up, reveals nothing and is left out of exports.
 */
export const ERASED_VALUE_HASH = 'erased';

export interface TokenVault {
  tokenFor: (type: EntityType, value: string) => string;
  lookup: (token: string) => string | undefined;
}

export interface MemoryTokenVault extends TokenVault {
  entries: () => { token: string; type: EntityType; value: string }[];
  /**
   * Puts back a token an earlier message drew: its lookup and its number (new tokens of the type
   * are numbered after the highest seen, so none is ever drawn twice). With `matchable`, the same
   * value written again gets it — unless an earlier token already holds that value, which keeps
   * it. Without, the value never matches it: for a caller who must not learn, from the token it
   * gets, whether it wrote someone else's value.
   */
  replay: (type: EntityType, token: string, value: string, matchable: boolean) => void;
  /** Whether tokenFor() would give this value a token it already has (rather than draw one). */
  has: (type: EntityType, value: string) => boolean;
}

/** The number of a token: 3 for `<EMAIL_3>` (0 for anything else). */
export function tokenNumber(token: string): number {
  const n = Number(token.slice(token.lastIndexOf('_') + 1, -1));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

export function createMemoryTokenVault(): MemoryTokenVault {
  // Keyed by type, then by normalised value: no composite key string to build and hash per call.
  const byValue = new Map<EntityType, Map<string, string>>();
  const byToken = new Map<string, { type: EntityType; value: string }>();
  /** The highest token number drawn or replayed, per type. */
  const highest = new Map<EntityType, number>();
  function valuesOf(type: EntityType): Map<string, string> {
    let tokens = byValue.get(type);
    if (!tokens) byValue.set(type, (tokens = new Map()));
    return tokens;
  }
  return {
    tokenFor(type, value) {
      const tokens = valuesOf(type);
      const normalized = normalizeValue(type, value);
      const existing = tokens.get(normalized);
      if (existing) return existing;
      const n = (highest.get(type) ?? 0) + 1;
      highest.set(type, n);
      const token = `<${type}_${n}>`;
      tokens.set(normalized, token);
      byToken.set(token, { type, value });
      return token;
    },
    // Methods rather than arrow properties: under tsx, each named arrow costs a defineProperty per vault.
    lookup(token) {
      return byToken.get(token)?.value;
    },
    entries() {
      return [...byToken].map(([token, e]) => ({ token, ...e }));
    },
    has(type, value) {
      return byValue.get(type)?.has(normalizeValue(type, value)) ?? false;
    },
    replay(type, token, value, matchable) {
      byToken.set(token, { type, value });
      highest.set(type, Math.max(highest.get(type) ?? 0, tokenNumber(token)));
      if (!matchable) return;
      const tokens = valuesOf(type);
      const normalized = normalizeValue(type, value);
      if (!tokens.has(normalized)) tokens.set(normalized, token);
    },
  };
}
