/**
 * Cache invalidation fan-out. A change (a revoked session, a revoked API key, a changed
 * membership) is published on one channel; every instance — this one synchronously, before
 * publish() returns, and the others through Redis pub/sub — evicts what it cached.
 * Delivery to other instances is at-most-once, so caches also keep a short safety TTL, and all
 * of them are cleared when the subscriber reconnects (messages may have been missed).
 */
import type { PubSub } from './pubsub.ts';

export type InvalidationHandler = (ids: readonly string[]) => void;

export interface InvalidationBus {
  publish(topic: string, ids: readonly string[]): Promise<void>;
  on(topic: string, handler: InvalidationHandler): void;
  /** Everything cached must go (e.g. after a reconnect). */
  flushAll(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const CHANNEL = 'palisade:invalidate';

export function createInvalidationBus(pubsub: PubSub): InvalidationBus {
  const handlers = new Map<string, Set<InvalidationHandler>>();
  let unsubscribe: (() => Promise<void>) | undefined;

  function dispatch(topic: string, ids: readonly string[]): void {
    for (const handler of handlers.get(topic) ?? []) handler(ids);
  }

  return {
    async publish(topic, ids) {
      dispatch(topic, ids);
      await pubsub.publish(CHANNEL, JSON.stringify({ topic, ids }));
    },
    on(topic, handler) {
      const set = handlers.get(topic) ?? new Set();
      handlers.set(topic, set.add(handler));
    },
    flushAll() {
      dispatch('*', []);
    },
    async start() {
      unsubscribe = await pubsub.subscribe(CHANNEL, (message) => {
        try {
          const parsed = JSON.parse(message) as { topic?: unknown; ids?: unknown };
          if (typeof parsed.topic === 'string' && Array.isArray(parsed.ids)) {
            dispatch(parsed.topic, parsed.ids.filter((id): id is string => typeof id === 'string'));
          }
        } catch {
          /* not ours */
        }
      });
    },
    async stop() {
      await unsubscribe?.();
    },
  };
}
