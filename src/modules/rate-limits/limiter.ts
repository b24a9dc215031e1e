/**
 * Fixed-window counters on rate-limiter-flexible: memory for one instance, Redis (an atomic Lua
 * INCRBY + TTL, so any number of instances never admit more than the limit) when shared.
 *
 * One counter per (bucket, window length) counts without a limit of its own (COUNT_CEILING), and
 * each request is compared with the limit it names: a project's new settings take effect on its
 * next request, lowering a limit applies to the current window (in memory as in Redis) instead of
 * starting a fresh one, and changing limits mints no new counters.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import { createStoreHealth, type StoreHealth } from './store-health.ts';
import type { Decision, Limit, RateLimiter } from './types.ts';

export interface LimiterCacheOptions {
  /**
   * Distinct (bucket, window length) counters kept when idle; least recently used go first. One
   * whose last window is still open is never dropped: in memory its counts live in it, and
   * dropping it would start every key it holds afresh.
   */
  maxLimiters?: number;
}

/** Keys counted in memory per bucket before the least recently used one is forgotten. */
export const MAX_MEMORY_KEYS_PER_BUCKET = 50_000;

/** What a counter itself admits: more than any limit (the largest configurable is 10^9). */
const COUNT_CEILING = Number.MAX_SAFE_INTEGER;

/**
 * In memory, every key counted keeps a record (about 600 bytes) for its window — an hour for
 * sessions — and anyone who owns a project can mint sessions: each bucket keeps at most
 * `maxKeysPerBucket` keys, forgetting the least recently used one (its count starts again, as a
 * new session's would). Deployments with more live keys than that share counters in Redis.
 */
export function createMemoryRateLimiter(options: LimiterCacheOptions & { maxKeysPerBucket?: number } = {}): RateLimiter {
  const counters = createCachedLimiter(
    (bucket, durationSeconds) => new RateLimiterMemory({ keyPrefix: bucket, points: COUNT_CEILING, duration: durationSeconds }),
    async () => {},
    options,
  );
  const maxKeys = options.maxKeysPerBucket ?? MAX_MEMORY_KEYS_PER_BUCKET;
  // Per bucket, its keys in order of last use (a Map keeps insertion order: re-inserting moves a key last).
  const recent = new Map<string, Set<string>>();
  return {
    async consume(bucket, key, limit, cost) {
      const decision = await counters.consume(bucket, key, limit, cost);
      let keys = recent.get(bucket);
      if (!keys) recent.set(bucket, (keys = new Set()));
      keys.delete(key);
      keys.add(key);
      if (keys.size > maxKeys) {
        const oldest = keys.values().next().value as string;
        keys.delete(oldest);
        await counters.reset(bucket, oldest);
      }
      return decision;
    },
    async reset(bucket, key) {
      recent.get(bucket)?.delete(key);
      await counters.reset(bucket, key);
    },
  };
}

/**
 * The per-instance counter a Redis one falls back on. rate-limiter-flexible turns to it without a
 * word when a command fails, so each use is reported: a Redis that still answers reads but refuses
 * writes (out of memory, a read-only replica after a failover) would otherwise leave every instance
 * counting alone, admitting the limit once per instance, with nothing logged.
 */
class ReportingMemoryLimiter extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>): ReturnType<RateLimiterMemory['consume']> {
    this.onUse();
    return super.consume(...args);
  }

  /** Counting here by choice (Redis known unusable), not because a command failed. */
  consumeQuietly(key: string, cost: number): ReturnType<RateLimiterMemory['consume']> {
    return super.consume(key, cost);
  }
}

export function createRedisRateLimiter(redis: Redis, options: LimiterCacheOptions & { prefix: string; health?: StoreHealth }): RateLimiter {
  const keyPrefix = (bucket: string): string => `${options.prefix}rl:${bucket}`;
  const health = options.health ?? createStoreHealth({ isConnected: () => redis.status === 'ready', onStoreError: () => undefined });
  const fellBack = (): void => health.failed(new Error('A Redis rate-limit command failed: this instance counts in memory meanwhile.'));
  return createCachedLimiter(
    (bucket, durationSeconds) => {
      const insurance = new ReportingMemoryLimiter({ keyPrefix: keyPrefix(bucket), points: COUNT_CEILING, duration: durationSeconds }, fellBack);
      const shared = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: keyPrefix(bucket),
        points: COUNT_CEILING,
        duration: durationSeconds,
        // While Redis is unreachable, count per instance rather than fail open or refuse everyone.
        rejectIfRedisNotReady: true,
        insuranceLimiter: insurance,
      });
      // Not usable (disconnected, or cooling down after a failure): straight to the same memory counters.
      return {
        consume: (key, cost) => (health.usable() ? shared.consume(key, cost) : insurance.consumeQuietly(key, cost)),
        delete: async (key) => {
          await Promise.all([shared.delete(key), insurance.delete(key)]);
        },
      };
    },
    async (bucket, key) => {
      await redis.del(`${keyPrefix(bucket)}:${key}`);
    },
    options,
  );
}

/** What a cached limiter needs of a counter. */
interface Counter {
  consume(key: string, cost: number): Promise<RateLimiterRes>;
  delete(key: string): Promise<unknown>;
}

function createCachedLimiter(
  make: (bucket: string, durationSeconds: number) => Counter,
  resetStore: (bucket: string, key: string) => Promise<void>,
  options: LimiterCacheOptions,
): RateLimiter {
  const maxLimiters = options.maxLimiters ?? 1_000;
  type Entry = { bucket: string; limiter: Counter; openUntilMs: number };
  const cache = new Map<string, Entry>();

  /** Drops the least recently used limiter whose windows have all closed, looking at a few. */
  const evictIdle = (nowMs: number): void => {
    let looked = 0;
    for (const [id, entry] of cache) {
      if (entry.openUntilMs <= nowMs) {
        cache.delete(id);
        return;
      }
      if (++looked >= 32) return; // all busy: the cache grows until their windows close
    }
  };

  const limiterFor = (bucket: string, limit: Limit): Entry => {
    const id = `${bucket}\u0000${limit.durationSeconds}`;
    const cached = cache.get(id);
    if (cached) {
      cache.delete(id);
      cache.set(id, cached);
      return cached;
    }
    const entry = { bucket, limiter: make(bucket, limit.durationSeconds), openUntilMs: 0 };
    cache.set(id, entry);
    if (cache.size > maxLimiters) evictIdle(Date.now());
    return entry;
  };

  return {
    async consume(bucket, key, limit, cost = 1) {
      assertLimit(limit, cost);
      const entry = limiterFor(bucket, limit);
      // The window this consume may open lasts at most its duration from now.
      entry.openUntilMs = Date.now() + limit.durationSeconds * 1000;
      return toDecision(await entry.limiter.consume(key, cost), limit.points);
    },
    async reset(bucket, key) {
      const matching = [...cache.values()].filter((entry) => entry.bucket === bucket);
      await Promise.all(matching.map((entry) => entry.limiter.delete(key)));
      await resetStore(bucket, key);
    },
  };
}

/** The counter's state against the limit this request names (every consume counts, admitted or not). */
function toDecision(res: RateLimiterRes, limit: number): Decision {
  const resetSeconds = Math.max(0, Math.ceil(res.msBeforeNext / 1000));
  if (res.consumedPoints <= limit) return { ok: true, limit, remaining: limit - res.consumedPoints, resetSeconds };
  return { ok: false, limit, remaining: 0, resetSeconds, retryAfterSeconds: Math.max(1, resetSeconds) };
}

const positiveInt = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

function assertLimit(limit: Limit, cost: number): void {
  if (!positiveInt(limit.points) || !positiveInt(limit.durationSeconds) || !positiveInt(cost)) {
    throw new RangeError('rate limit points, duration and cost must be positive integers');
  }
}
