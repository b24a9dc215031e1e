/**
 * One way to open a Redis connection. Commands fail fast (a few retries) rather than queue
 * forever, so a Redis outage surfaces as an error the caller can handle (rate limits fall back to
 * per-instance memory counters) instead of hanging requests.
 */
import { Redis } from 'ioredis';

export interface CreateRedisOptions {
  /** Shown by `CLIENT LIST`, to tell Palisade's connections apart. */
  connectionName?: string;
}

export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    connectionName: options.connectionName ?? 'palisade',
    retryStrategy: (attempt: number): number => Math.min(attempt * 200, 2_000),
  });
}
