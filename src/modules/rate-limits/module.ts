/**
 * Builds the rate-limit service for this process: memory counters and penalty box by default,
 * Redis (shared by all instances) when a connection is given. Refusals are counted and passed
 * to `onRefusal` (AppDeps.onRateLimitRefusal: a hook for whoever embeds the app).
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock.ts';
import { createMemoryRateLimiter, createRedisRateLimiter } from './limiter.ts';
import { createMemoryPenaltyBox } from './penalty-box.ts';
import { createRedisPenaltyBox } from './penalty-box-redis.ts';
import { withMemoryFallback } from './penalty-box-fallback.ts';
import { createStoreHealth } from './store-health.ts';
import type { PenaltyPolicy } from './penalty-state.ts';
import { createRefusalCounter, type RefusalCounter } from './refusals.ts';
import type { Listener } from '../../platform/listeners.ts';
import { createRateLimitService, type RateLimitService, type RefusalEvent } from './service.ts';

export const redisKeyPrefix = 'palisade:';

export function createRateLimits(deps: {
  redis?: Redis | undefined;
  clock: Clock;
  onRefusal?: Listener<RefusalEvent> | undefined;
  penaltyPolicy?: Partial<PenaltyPolicy> | undefined;
  /** Messages per hour across an organisation's projects (default: policy.ts). */
  orgCeilingPerHour?: number;
  /** Redis key prefix (tests isolate themselves with their own). */
  prefix?: string;
  /** A Redis command failed (or timed out) and the per-instance memory store answered instead (reported at most every 10 s). */
  onStoreError?: ((error: unknown) => void) | undefined;
}): { service: RateLimitService; refusals: RefusalCounter; backend: 'memory' | 'redis' } {
  const prefix = deps.prefix ?? redisKeyPrefix;
  const options = { clock: deps.clock, ...(deps.penaltyPolicy ? { policy: deps.penaltyPolicy } : {}) };
  const redis = deps.redis;
  const health = redis ? createStoreHealth({ isConnected: () => redis.status === 'ready', onStoreError: deps.onStoreError ?? (() => undefined) }) : undefined;
  const limiter = redis && health ? createRedisRateLimiter(redis, { prefix, health }) : createMemoryRateLimiter();
  const penaltyBox =
    redis && health
      ? withMemoryFallback(createRedisPenaltyBox(redis, { ...options, prefix }), createMemoryPenaltyBox(options), health)
      : createMemoryPenaltyBox(options);
  const refusals = createRefusalCounter({ onRefusal: deps.onRefusal });
  const service = createRateLimitService({
    limiter,
    penaltyBox,
    clock: deps.clock,
    onRefusal: refusals.record,
    ...(deps.orgCeilingPerHour !== undefined ? { orgCeilingPerHour: deps.orgCeilingPerHour } : {}),
  });
  return { service, refusals, backend: deps.redis ? 'redis' : 'memory' };
}
