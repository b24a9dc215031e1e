/**
 * The in-process cache of key metadata on the hot path: id → { hashes, org, scopes, projects,
 * expiry, revoked }. Never holds a secret, only its SHA-256.
 *
 * Freshness, strongest first:
 *  1. The instance that revokes or rotates evicts locally before it replies.
 *  2. It publishes the key id on a pub/sub channel (Redis when shared) and waits until its own
 *     subscription receives the message back. Redis writes a message to every subscriber of the
 *     channel in one step, so by then every other instance's connection has it too.
 *  3. A short safety TTL bounds staleness if a subscriber was disconnected (at-most-once
 *     delivery).
 * A load that was in flight when an eviction arrived is not stored, so a slow database read
 * can never re-insert a key as it was before its revocation.
 *
 * Owns: caching and invalidating key metadata. Must never: store or log secrets.
 */
import { randomBytes } from 'node:crypto';
import type { PubSub } from '../../platform/cache/pubsub.ts';
import type { Clock } from '../../platform/clock.ts';

export interface KeyMetadata {
  id: string;
  orgId: string;
  secretHash: string;
  previousHash: string | null;
  previousExpiresAt: Date | null;
  scopes: readonly string[];
  projectIds: readonly string[] | null;
  expiresAt: Date | null;
  revoked: boolean;
}

export interface KeyCache {
  /** The key's metadata, or null when no key has this id. */
  get(id: string): Promise<KeyMetadata | null>;
  /** Evicts here, then on every instance; resolves once the fan-out has gone round. */
  invalidate(id: string): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const keyCacheChannel = 'palisade:api-keys:invalidate';

export function createKeyCache(deps: {
  load: (id: string) => Promise<KeyMetadata | null>;
  pubsub: PubSub;
  clock: Clock;
  ttlMs?: number;
  maxEntries?: number;
  /** How long invalidate() waits for its own message to come back. */
  echoTimeoutMs?: number;
}): KeyCache {
  const ttlMs = deps.ttlMs ?? 30_000;
  const maxEntries = deps.maxEntries ?? 50_000;
  const echoTimeoutMs = deps.echoTimeoutMs ?? 2_000;
  const entries = new Map<string, { value: KeyMetadata | null; expiresAtMs: number }>();
  const pending = new Map<string, Promise<KeyMetadata | null>>();
  const waiting = new Map<string, () => void>();
  const instance = randomBytes(6).toString('hex');
  let sequence = 0;
  let unsubscribe: (() => Promise<void>) | undefined;

  const evict = (id: string): void => {
    entries.delete(id);
    pending.delete(id);
  };

  const onMessage = (message: string): void => {
    // `<instance>:<sequence>:<keyId>`
    const [origin, seq, id] = message.split(':');
    if (id) evict(id);
    const token = `${origin}:${seq}`;
    waiting.get(token)?.();
  };

  const store = (id: string, value: KeyMetadata | null): void => {
    if (entries.size >= maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(id, { value, expiresAtMs: deps.clock.now().getTime() + ttlMs });
  };

  return {
    async get(id) {
      const hit = entries.get(id);
      if (hit && hit.expiresAtMs > deps.clock.now().getTime()) return hit.value;
      const inFlight = pending.get(id);
      if (inFlight) return inFlight;
      const load = deps.load(id);
      pending.set(id, load);
      try {
        const value = await load;
        // Only store if no eviction happened while loading (evict() clears `pending`).
        if (pending.get(id) === load) store(id, value);
        return value;
      } finally {
        if (pending.get(id) === load) pending.delete(id);
      }
    },

    async invalidate(id) {
      evict(id);
      sequence += 1;
      const token = `${instance}:${sequence}`;
      const echoed = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(token);
          resolve();
        }, echoTimeoutMs);
        timer.unref();
        waiting.set(token, () => {
          clearTimeout(timer);
          waiting.delete(token);
          resolve();
        });
      });
      await deps.pubsub.publish(keyCacheChannel, `${token}:${id}`);
      await echoed;
    },

    async start() {
      unsubscribe ??= await deps.pubsub.subscribe(keyCacheChannel, onMessage);
    },

    async stop() {
      await unsubscribe?.();
      unsubscribe = undefined;
      entries.clear();
      pending.clear();
    },
  };
}
