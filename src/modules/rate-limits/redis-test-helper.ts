/** For tests only: a Redis connection under a random key prefix, and cleanup of that prefix. */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis } from '../../platform/cache/redis.ts';

export const testRedisUrl: string | undefined = process.env.REDIS_URL;

export interface TestRedis {
  redis: Redis;
  prefix: string;
  /** Another connection, as a second instance would have. */
  second(): Redis;
  cleanup(): Promise<void>;
}

export function openTestRedis(url: string): TestRedis {
  const prefix = `palisade-test:${randomUUID()}:`;
  const redis = createRedis(url, { connectionName: 'palisade-test' });
  const others: Redis[] = [];
  return {
    redis,
    prefix,
    second() {
      const other = createRedis(url, { connectionName: 'palisade-test-2' });
      others.push(other);
      return other;
    },
    async cleanup() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await Promise.all([redis, ...others].map((r) => r.quit()));
    },
  };
}
