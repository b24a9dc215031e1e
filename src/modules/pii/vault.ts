/**
 * Token vault: the same value gets the same token within a conversation (`<EMAIL_1>`), and a
 * token maps back to its original. The persistent, encrypted vault lives elsewhere; this file
 * defines the contract and an in-memory implementation.
 */
import type { EntityType } from './policy.ts';
import { normalizeValue } from './normalize.ts';

export interface TokenVault {
  tokenFor: (type: EntityType, value: string) => string;
  lookup: (token: string) => string | undefined;
}

export interface MemoryTokenVault extends TokenVault {
  entries: () => { token: string; type: EntityType; value: string }[];
  /**
   * Holds an existing token's place (its number, its lookup) without letting a value match it:
   * for a caller who must not learn, from the token it gets, whether it wrote someone else's value.
   */
  occupy: (type: EntityType, token: string, value: string) => void;
}

export function createMemoryTokenVault(): MemoryTokenVault {
  // Keyed by type, then by normalised value: no composite key string to build and hash per call.
  const byValue = new Map<EntityType, Map<string, string>>();
  const byToken = new Map<string, { type: EntityType; value: string }>();
  return {
    tokenFor(type, value) {
      let tokens = byValue.get(type);
      if (!tokens) byValue.set(type, (tokens = new Map()));
      const normalized = normalizeValue(type, value);
      const existing = tokens.get(normalized);
      if (existing) return existing;
      const token = `<${type}_${tokens.size + 1}>`;
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
    occupy(type, token, value) {
      let tokens = byValue.get(type);
      if (!tokens) byValue.set(type, (tokens = new Map()));
      tokens.set(`\u0000${token}`, token); // no normalised value starts with NUL
      byToken.set(token, { type, value });
    },
  };
}
