/**
 * Login throttling, per client IP (IPv6 grouped by /64, as the rate limits do), per account from
 * that address, and per account from everywhere (a higher ceiling). Every attempt takes a point
 * from each allowance atomically *before* the credentials are checked, so parallel requests
 * cannot all pass a check made before any of them was counted. Per account *from an address*, so
 * a stranger's wrong guesses lock the account only for the stranger's address, not for its owner
 * signing in from elsewhere; the account-wide ceiling still stops guessing spread over many
 * addresses. A right password gives the IP its point back (only wrong guesses count against an
 * address); a completed sign-in also resets the account's counts of wrong attempts. Every check
 * also counts, never given back, against ceilings of its own (password hashing is costly by
 * design: an account holder signing in again and again must not keep it busy). Past any limit every attempt is
 * refused with too_many_attempts until the window passes, whether or not the password is right.
 * Sign-ups are limited per client IP too (every one counts, taken before anything is checked):
 * signup hashes a password (costly by design) and says whether an address has an account, so
 * unthrottled it would be both a CPU sink and an enumeration oracle.
 * Backed by rate-limiter-flexible (memory, or Redis shared by instances).
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import { AppError } from '../../platform/http/errors.ts';
import { clientKeyForIp } from '../rate-limits/ip.ts';

export interface LoginThrottle {
  /** Takes one attempt from the IP's and the account's allowance: 0 when admitted, else seconds to wait. */
  take(account: string, ip: string): Promise<number>;
  /** The password was right but the attempt is not over (the code is still to come): the IP's point comes back. */
  refundIp(ip: string): Promise<void>;
  /** Every factor was proven: the account's count starts over and the IP's point comes back. */
  succeeded(account: string, ip: string): Promise<void>;
  /**
   * Takes one second-factor attempt on the account (after its right password): 0 when admitted.
   * Account-wide at the per-address allowance, so spreading code guesses over many addresses
   * gains nothing, and only someone who knows the password can spend it.
   */
  takeSecondFactor(account: string): Promise<number>;
  /** A second factor was proven outside a sign-in (2FA turned on): only the code count starts over. */
  secondFactorSucceeded(account: string): Promise<void>;
  /** Takes one sign-up from the IP's allowance: 0 when admitted, else seconds to wait. */
  takeSignup(ip: string): Promise<number>;
}

export interface LoginThrottleOptions {
  /** Wrong attempts on one account from one address. */
  perAccount: number;
  /** Wrong attempts on one account from all addresses together. */
  perAccountTotal: number;
  perIp: number;
  /**
   * Every password check, right or wrong, never given back: one account (per account, and per
   * address) cannot keep the password hasher busy by signing in again and again. Above the wrong
   * attempts' ceilings, so strangers cannot lock an account out sooner than they already can.
   */
  checksPerAccount: number;
  checksPerIp: number;
  windowSeconds: number;
  signupsPerIp: number;
  signupWindowSeconds: number;
  redis?: Redis | undefined;
  /** Redis key prefix, as the rate limits use (tests isolate themselves with their own). */
  prefix?: string;
}

export const defaultLoginThrottle = {
  perAccount: 5,
  perAccountTotal: 100,
  perIp: 50,
  checksPerAccount: 150,
  checksPerIp: 1_000,
  windowSeconds: 15 * 60,
  signupsPerIp: 20,
  signupWindowSeconds: 60 * 60,
} as const;

export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  // With Redis, counted in per-instance memory while it is unreachable (as the message limits
  // are): an outage must neither let guesses through uncounted nor refuse every sign-in with a 500
  // (an owner could not sign in to respond to an incident).
  const make = (points: number, keyPrefix: string, duration = options.windowSeconds): RateLimiterAbstract =>
    options.redis
      ? new RateLimiterRedis({
          storeClient: options.redis,
          points,
          duration,
          keyPrefix,
          useRedisPackage: false,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix }),
        })
      : new RateLimiterMemory({ points, duration, keyPrefix });
  const prefix = options.prefix ?? '';
  const byAccountFromIp = make(options.perAccount, `${prefix}login_fail_account_ip`);
  const byAccount = make(options.perAccountTotal, `${prefix}login_fail_account`);
  const secondFactor = make(options.perAccount, `${prefix}login_fail_second_factor`);
  const accountFrom = (account: string, ip: string): string => `${account}\u0000${clientKeyForIp(ip)}`;
  const byIp = make(options.perIp, `${prefix}login_fail_ip`);
  const checksByAccount = make(options.checksPerAccount, `${prefix}login_check_account`);
  const checksByIp = make(options.checksPerIp, `${prefix}login_check_ip`);
  const signupsByIp = make(options.signupsPerIp, `${prefix}signup_ip`, options.signupWindowSeconds);

  /** Seconds to wait when the limiter refuses the point, 0 when it was taken. */
  async function consume(limiter: RateLimiterAbstract, key: string): Promise<number> {
    try {
      await limiter.consume(key, 1);
      return 0;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection; // a store error, not a refusal
      return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    }
  }

  return {
    // Narrowest first: an address past its limit no longer counts against the accounts it tries,
    // nor one past its limit on an account against that account's ceiling.
    async take(account, ip) {
      const address = clientKeyForIp(ip);
      return (
        (await consume(byIp, address)) ||
        (await consume(checksByIp, address)) ||
        (await consume(byAccountFromIp, accountFrom(account, ip))) ||
        (await consume(byAccount, account)) ||
        consume(checksByAccount, account)
      );
    },
    async refundIp(ip) {
      await byIp.reward(clientKeyForIp(ip), 1);
    },
    async succeeded(account, ip) {
      await Promise.all([
        byAccount.delete(account),
        byAccountFromIp.delete(accountFrom(account, ip)),
        secondFactor.delete(account),
        byIp.reward(clientKeyForIp(ip), 1),
      ]);
    },
    takeSecondFactor: (account) => consume(secondFactor, account),
    async secondFactorSucceeded(account) {
      await secondFactor.delete(account);
    },
    takeSignup: (ip) => consume(signupsByIp, clientKeyForIp(ip)),
  };
}

/** Throws too_many_attempts with Retry-After when the throttle said to wait. */
function refuseIfWaiting(wait: number, message = 'Too many failed attempts. Try again later.'): void {
  if (wait > 0) throw new AppError('too_many_attempts', message, { headers: { 'Retry-After': String(wait) } });
}

export const takeAttempt = async (throttle: LoginThrottle, account: string, ip: string): Promise<void> => refuseIfWaiting(await throttle.take(account, ip));

export const takeSecondFactor = async (throttle: LoginThrottle, account: string): Promise<void> => refuseIfWaiting(await throttle.takeSecondFactor(account));

export const takeSignup = async (throttle: LoginThrottle, ip: string): Promise<void> =>
  refuseIfWaiting(await throttle.takeSignup(ip), 'Too many sign-ups from this address. Try again later.');
