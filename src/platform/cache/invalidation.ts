/**
 * Cache invalidation fan-out. A change that must take effect at once (a revoked session or API
 * key, changed allowed domains, a shredded key) is published on one channel; this instance
 * applies it synchronously, and publish() resolves only once its own message has come back
 * through the channel — Redis delivers a message to every subscriber in one step, so by then
 * every other instance's connection has it too. Delivery is at-most-once (a subscriber that is
 * disconnected misses messages), so caches also keep a short safety TTL.
 */
import { randomBytes } from 'node:crypto';
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
const ECHO_TIMEOUT_MS = 2_000;

export interface InvalidationOptions {
  echoTimeoutMs?: number;
  /**
   * Its own message did not come back in time (Redis down or slow): other instances may keep the
   * stale entry until their safety TTL runs out. The change itself is already committed, so the
   * caller's request still succeeds; this is how an operator hears of it.
   */
  onMissedEcho?: (topic: string) => void;
}

export function createInvalidationBus(pubsub: PubSub, options: InvalidationOptions = {}): InvalidationBus {
  const handlers = new Map<string, Set<InvalidationHandler>>();
  const instance = randomBytes(6).toString('hex');
  const waiting = new Map<string, () => void>();
  let sequence = 0;
  let unsubscribe: (() => Promise<void>) | undefined;

  function dispatch(topic: string, ids: readonly string[]): void {
    for (const handler of handlers.get(topic) ?? []) handler(ids);
  }

  function echoOf(token: string, topic: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(token);
        options.onMissedEcho?.(topic);
        resolve();
      }, options.echoTimeoutMs ?? ECHO_TIMEOUT_MS);
      timer.unref();
      waiting.set(token, () => {
        clearTimeout(timer);
        waiting.delete(token);
        resolve();
      });
    });
  }

  return {
    async publish(topic, ids) {
      dispatch(topic, ids);
      if (!unsubscribe) return; // not started: a single instance with nobody to tell
      const token = `${instance}:${++sequence}`;
      const echoed = echoOf(token, topic);
      try {
        await pubsub.publish(CHANNEL, JSON.stringify({ topic, ids, token }));
      } catch {
        // Redis unreachable: the change is committed and applied here, and other instances catch
        // up when their safety TTL runs out. Failing here would stop a lockdown half-way and lose
        // a rotated key's new secret from its reply.
        waiting.get(token)?.();
        options.onMissedEcho?.(topic);
        return;
      }
      await echoed;
    },
    on(topic, handler) {
      const set = handlers.get(topic) ?? new Set();
      handlers.set(topic, set.add(handler));
    },
    flushAll() {
      dispatch('*', []);
    },
    async start() {
      unsubscribe ??= await pubsub.subscribe(CHANNEL, (message) => {
        let parsed: { topic?: unknown; ids?: unknown; token?: unknown };
        try {
          parsed = JSON.parse(message) as typeof parsed;
        } catch {
          return; // not ours
        }
        if (typeof parsed.token === 'string' && waiting.has(parsed.token)) {
          waiting.get(parsed.token)?.(); // our own message: applied already, and now everywhere
          return;
        }
        if (typeof parsed.topic === 'string' && Array.isArray(parsed.ids)) {
          dispatch(parsed.topic, parsed.ids.filter((id): id is string => typeof id === 'string'));
        }
      });
    },
    async stop() {
      await unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}
