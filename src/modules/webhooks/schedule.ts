/**
 * When a failed delivery is tried again: after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h and 6 h
 * (about ten and a half hours in all, so a receiver down for a night's maintenance still gets
 * everything); after the ninth failed attempt the delivery is marked failed.
 */
const RETRY_DELAYS_SECONDS = [5, 30, 120, 600, 1800, 3600, 10_800, 21_600];

export const MAX_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;

/** The next attempt after `attempts` failed ones, or undefined when none is left. */
export function nextAttemptAt(attempts: number, now: Date): Date | undefined {
  const delay = RETRY_DELAYS_SECONDS[attempts - 1];
  return delay === undefined ? undefined : new Date(now.getTime() + delay * 1000);
}
