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

/** Longer than any command Palisade sends takes on a healthy Redis, short enough for a request to wait. */
export const COMMAND_TIMEOUT_MS = 1_000;

export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 2,
    // A Redis that holds the connection but stops answering (stopped, paused for a failover, a
    // network black hole) fails each command after this long, instead of holding every request
    // until the kernel gives up on the socket.
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 5_000,
    connectionName: options.connectionName ?? 'palisade',
    retryStrategy: (attempt: number): number => Math.min(attempt * 200, 2_000),
  });
}

/**
 * Resolves once the connection is up, or fails with a clear error when Redis cannot be reached:
 * the rate limits count in per-instance memory whenever Redis is not connected, so a server must
 * not start serving before its connection is ready. (Commands need not wait.)
 */
export async function waitForRedis(redis: Redis): Promise<void> {
  try {
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis at REDIS_URL could not be reached: ${error instanceof Error ? error.message : String(error)}`);
  }
}
