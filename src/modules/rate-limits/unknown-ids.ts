/**
 * Ids anyone can make up (a project id on a widget route, an API key id with a valid checksum)
 * cost a database read each before they can be refused. A client address (IPv6 by /64) gets
 * `perMinute` look-ups that turn out not to exist, per instance; past that, 429 `rate_limited`
 * before any read. A look-up takes its point first (so parallel requests cannot all pass) and
 * gives it back when the id exists, so real ids never use the allowance.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../platform/http/errors.ts';
import { clientKeyForIp } from './ip.ts';

export const UNKNOWN_IDS_PER_MINUTE = 30;

export function createUnknownIdGuard(name: string, perMinute = UNKNOWN_IDS_PER_MINUTE) {
  const limiter = new RateLimiterMemory({ points: perMinute, duration: 60, keyPrefix: name });
  const counts = { refused: 0 };

  async function lookUp<T>(ip: string, load: () => Promise<T | null | undefined>): Promise<T | null | undefined> {
    const client = clientKeyForIp(ip);
    try {
      await limiter.consume(client);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      counts.refused++;
      const wait = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppError('rate_limited', 'Too many requests naming things that do not exist. Try again later.', { headers: { 'Retry-After': String(wait) } });
    }
    const found = await load();
    if (found) await limiter.reward(client, 1);
    return found;
  }

  return { lookUp, counts };
}

export type UnknownIdGuard = ReturnType<typeof createUnknownIdGuard>;
