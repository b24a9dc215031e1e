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
}

export function createMemoryTokenVault(): MemoryTokenVault {
  const byKey = new Map<string, string>();
  const byToken = new Map<string, { type: EntityType; value: string }>();
  const counters = new Map<EntityType, number>();
  return {
    tokenFor(type, value) {
      const key = `${type}\u0000${normalizeValue(type, value)}`;
      const existing = byKey.get(key);
      if (existing) return existing;
      const n = (counters.get(type) ?? 0) + 1;
      counters.set(type, n);
      const token = `<${type}_${n}>`;
      byKey.set(key, token);
      byToken.set(token, { type, value });
      return token;
    },
    lookup: (token) => byToken.get(token)?.value,
    entries: () => [...byToken].map(([token, e]) => ({ token, ...e })),
  };
}
