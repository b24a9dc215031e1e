/**
 * Fixed-window counters on rate-limiter-flexible: memory for one instance, Redis (an atomic Lua
 * INCRBY + TTL, so any number of instances never admit more than the limit) when shared.
 *
 * Limiter instances are cached per (bucket, points, duration) so a project's new settings take
 * effect on its next request. In Redis the counter key depends only on bucket and key, so
 * lowering a limit applies to the current window instead of starting a fresh one.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Decision, Limit, RateLimiter } from './types.ts';

export interface LimiterCacheOptions {
  /** Distinct (bucket, points, duration) combinations kept; least recently used go first. */
  maxLimiters?: number;
}

export function createMemoryRateLimiter(options: LimiterCacheOptions = {}): RateLimiter {
  return createCachedLimiter(
    (bucket, limit) => new RateLimiterMemory({ keyPrefix: bucket, points: limit.points, duration: limit.durationSeconds }),
    async () => {},
    options,
  );
}

export function createRedisRateLimiter(redis: Redis, options: LimiterCacheOptions & { prefix: string }): RateLimiter {
  const keyPrefix = (bucket: string): string => `${options.prefix}rl:${bucket}`;
  return createCachedLimiter(
    (bucket, limit) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: keyPrefix(bucket),
        points: limit.points,
        duration: limit.durationSeconds,
        // While Redis is unreachable, count per instance rather than fail open or refuse everyone.
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: keyPrefix(bucket), points: limit.points, duration: limit.durationSeconds }),
      }),
    async (bucket, key) => {
      await redis.del(`${keyPrefix(bucket)}:${key}`);
    },
    options,
  );
}

function createCachedLimiter(
  make: (bucket: string, limit: Limit) => RateLimiterAbstract,
  resetStore: (bucket: string, key: string) => Promise<void>,
  options: LimiterCacheOptions,
): RateLimiter {
  const maxLimiters = options.maxLimiters ?? 1_000;
  const cache = new Map<string, { bucket: string; limiter: RateLimiterAbstract }>();

  const limiterFor = (bucket: string, limit: Limit): RateLimiterAbstract => {
    const id = `${bucket}\u0000${limit.points}\u0000${limit.durationSeconds}`;
    const cached = cache.get(id);
    if (cached) {
      cache.delete(id);
      cache.set(id, cached);
      return cached.limiter;
    }
    const limiter = make(bucket, limit);
    cache.set(id, { bucket, limiter });
    if (cache.size > maxLimiters) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return limiter;
  };

  return {
    async consume(bucket, key, limit, cost = 1) {
      assertLimit(limit, cost);
      const limiter = limiterFor(bucket, limit);
      try {
        return toDecision(await limiter.consume(key, cost), limit.points, true);
      } catch (rejection) {
        // rate-limiter-flexible rejects with a RateLimiterRes when over the limit, an Error otherwise.
        if (rejection instanceof RateLimiterRes) return toDecision(rejection, limit.points, false);
        throw rejection;
      }
    },
    async reset(bucket, key) {
      const matching = [...cache.values()].filter((entry) => entry.bucket === bucket);
      await Promise.all(matching.map((entry) => entry.limiter.delete(key)));
      await resetStore(bucket, key);
    },
  };
}

function toDecision(res: RateLimiterRes, limit: number, ok: boolean): Decision {
  const resetSeconds = Math.max(0, Math.ceil(res.msBeforeNext / 1000));
  if (ok) return { ok, limit, remaining: res.remainingPoints, resetSeconds };
  return { ok, limit, remaining: 0, resetSeconds, retryAfterSeconds: Math.max(1, resetSeconds) };
}

const positiveInt = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

function assertLimit(limit: Limit, cost: number): void {
  if (!positiveInt(limit.points) || !positiveInt(limit.durationSeconds) || !positiveInt(cost)) {
    throw new RangeError('rate limit points, duration and cost must be positive integers');
  }
}
