/**
 * Publish/subscribe for fan-out between instances (instant revocation of sessions and API keys).
 * Memory for a single instance; Redis when `REDIS_URL` is set. Delivery is at-most-once: a
 * subscriber that is disconnected misses messages, so consumers must also re-check state on a
 * short TTL and never rely on a message for correctness alone.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { createRedis } from './redis.ts';

export type MessageHandler = (message: string) => void;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is live; the result unsubscribes this handler. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface PubSubOptions {
  /** Called when a handler throws; one failing handler never stops the others. */
  onHandlerError?: (error: unknown, channel: string) => void;
  /** Called when the subscriber connection comes back after a drop: messages may have been missed. */
  onReconnect?: () => void;
}

function deliver(handlers: Iterable<MessageHandler>, channel: string, message: string, options: PubSubOptions): void {
  for (const handler of handlers) {
    try {
      handler(message);
    } catch (error) {
      options.onHandlerError?.(error, channel);
    }
  }
}

export function createMemoryPubSub(options: PubSubOptions = {}): PubSub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const handlers = new Map<string, Set<MessageHandler>>();
  emitter.on('message', (channel: string, message: string) => {
    const set = handlers.get(channel);
    if (set) deliver([...set], channel, message, options);
  });
  return {
    async publish(channel, message) {
      emitter.emit('message', channel, message);
    },
    async subscribe(channel, handler) {
      const set = handlers.get(channel) ?? new Set<MessageHandler>();
      handlers.set(channel, set.add(handler));
      return async () => {
        set.delete(handler);
        if (set.size === 0 && handlers.get(channel) === set) handlers.delete(channel);
      };
    },
    async close() {
      handlers.clear();
      emitter.removeAllListeners();
    },
  };
}

/** A subscribed Redis connection can only subscribe, so publishing uses a second one. */
export function createRedisPubSub(url: string, options: PubSubOptions = {}): PubSub {
  const publisher: Redis = createRedis(url, { connectionName: 'palisade-pub' });
  const subscriber: Redis = createRedis(url, { connectionName: 'palisade-sub' });
  const handlers = new Map<string, Set<MessageHandler>>();
  // Per channel, the SUBSCRIBE in flight: a second subscriber must also wait for it to be live.
  const live = new Map<string, Promise<unknown>>();
  subscriber.on('message', (channel: string, message: string) => {
    const set = handlers.get(channel);
    if (set) deliver([...set], channel, message, options);
  });
  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) options.onReconnect?.();
    connectedBefore = true;
  });
  return {
    async publish(channel, message) {
      await publisher.publish(channel, message);
    },
    async subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        set = new Set<MessageHandler>();
        handlers.set(channel, set);
        live.set(channel, subscriber.subscribe(channel));
      }
      set.add(handler);
      const mine = set;
      await live.get(channel);
      return async () => {
        mine.delete(handler);
        if (mine.size === 0 && handlers.get(channel) === mine) {
          handlers.delete(channel);
          live.delete(channel);
          await subscriber.unsubscribe(channel);
        }
      };
    },
    async close() {
      handlers.clear();
      live.clear();
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}
