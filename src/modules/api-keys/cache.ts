/**
 * The in-process cache of key metadata on the hot path: id → { hashes, org, scopes, projects,
 * expiry, revoked }. Never holds a secret, only its SHA-256.
 *
 * Freshness comes from the shared invalidation bus (platform/cache/invalidation.ts): a revoke or
 * rotate evicts here, then resolves only once every instance has the eviction; a short safety
 * TTL bounds staleness if a subscriber was disconnected. A load that was in flight when an
 * eviction arrived is not stored, so a slow read can never re-insert a key as it was before its
 * revocation.
 *
 * Owns: caching key metadata. Must never: store or log secrets.
 */
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import { createTtlCache } from '../../platform/cache/ttl-cache.ts';
import type { Clock } from '../../platform/clock.ts';

export interface KeyMetadata {
  id: string;
  orgId: string;
  /** SHA-256 of the secret (decoded once, when loaded); null for a malformed stored hash. */
  secretDigest: Buffer | null;
  previousDigest: Buffer | null;
  previousExpiresAt: Date | null;
  scopes: readonly string[];
  projectIds: readonly string[] | null;
  expiresAt: Date | null;
  revoked: boolean;
}

export interface KeyCache {
  /** The key's metadata, or null when no key has this id. */
  get(id: string): Promise<KeyMetadata | null>;
  /** The cached answer without waiting: undefined when get() would have to load. */
  peek(id: string): KeyMetadata | null | undefined;
  /** Evicts here, then on every instance; resolves once the fan-out has gone round. */
  invalidate(id: string): Promise<void>;
}

export const API_KEYS_TOPIC = 'api-keys';

export function createKeyCache(deps: {
  load: (id: string) => Promise<KeyMetadata | null>;
  invalidation: Pick<InvalidationBus, 'publish' | 'on'>;
  clock: Clock;
  ttlMs?: number;
  maxEntries?: number;
}): KeyCache {
  const entries = createTtlCache<KeyMetadata>(deps.maxEntries ?? 50_000, deps.ttlMs ?? 30_000);
  // Unknown ids apart, in a smaller cache of their own: anyone can send made-up ids with a valid
  // checksum, and those must not push real keys out (every request would then read the database).
  const unknown = createTtlCache<true>(Math.min(deps.maxEntries ?? 50_000, 5_000), deps.ttlMs ?? 30_000);
  const pending = new Map<string, Promise<KeyMetadata | null>>();
  const evict = (id: string): void => {
    entries.delete(id);
    unknown.delete(id);
    pending.delete(id);
  };
  deps.invalidation.on(API_KEYS_TOPIC, (ids) => ids.forEach(evict));
  deps.invalidation.on('*', () => {
    entries.clear();
    unknown.clear();
    pending.clear();
  });
  const cached = (id: string): KeyMetadata | null | undefined => {
    const now = deps.clock.now().getTime();
    return entries.get(id, now) ?? (unknown.get(id, now) ? null : undefined);
  };

  return {
    peek: cached,
    async get(id) {
      const hit = cached(id);
      if (hit !== undefined) return hit;
      const inFlight = pending.get(id);
      if (inFlight) return inFlight;
      const load = deps.load(id);
      pending.set(id, load);
      try {
        const value = await load;
        // Only stored if no eviction happened while loading (evict() clears `pending`).
        if (pending.get(id) === load) {
          if (value) entries.set(id, value, deps.clock.now().getTime());
          else unknown.set(id, true, deps.clock.now().getTime());
        }
        return value;
      } finally {
        if (pending.get(id) === load) pending.delete(id);
      }
    },
    invalidate: (id) => deps.invalidation.publish(API_KEYS_TOPIC, [id]),
  };
}
