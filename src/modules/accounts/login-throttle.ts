/**
 * Login throttling: failed attempts are counted per account and per client IP; past the limit
 * every attempt is refused with too_many_attempts until the window passes, whether or not the
 * password is right. Backed by rate-limiter-flexible (memory, or Redis shared by instances).
 */
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';

export interface LoginThrottle {
  /** Seconds to wait, or 0 when an attempt may proceed. */
  retryAfter(account: string, ip: string): Promise<number>;
  recordFailure(account: string, ip: string): Promise<void>;
  reset(account: string): Promise<void>;
}

export interface LoginThrottleOptions {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
  redis?: Redis | undefined;
  /** Redis key prefix, as the rate limits use (tests isolate themselves with their own). */
  prefix?: string;
}

export const defaultLoginThrottle = { perAccount: 5, perIp: 50, windowSeconds: 15 * 60 } as const;

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const make = (points: number, keyPrefix: string): RateLimiterAbstract =>
    options.redis
      ? new RateLimiterRedis({ storeClient: options.redis, points, duration: options.windowSeconds, keyPrefix, useRedisPackage: false })
      : new RateLimiterMemory({ points, duration: options.windowSeconds, keyPrefix });
  const prefix = options.prefix ?? '';
  const byAccount = make(options.perAccount, `${prefix}login_fail_account`);
  const byIp = make(options.perIp, `${prefix}login_fail_ip`);

  async function wait(limiter: RateLimiterAbstract, points: number, key: string): Promise<number> {
    const res = await limiter.get(key);
    return res && res.consumedPoints >= points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
  }

  return {
    async retryAfter(account, ip) {
      const [a, b] = await Promise.all([wait(byAccount, options.perAccount, account), wait(byIp, options.perIp, ip)]);
      return Math.max(a, b);
    },
    async recordFailure(account, ip) {
      await Promise.all([byAccount.penalty(account, 1), byIp.penalty(ip, 1)]);
    },
    async reset(account) {
      await byAccount.delete(account);
    },
  };
}
