/**
 * Rate-limit response headers (IETF draft "RateLimit header fields": limit, remaining, and
 * seconds until the window resets) and the 429 error. Only the HTTP edge uses these.
 */
import { AppError } from '../../platform/http/errors.ts';
import type { Decision } from './types.ts';

export type RefusedDecision = Extract<Decision, { ok: false }>;

export function rateLimitHeaders(decision: Decision): Record<string, string> {
  // A refusal names no limit: its number (30, 200, 2000, 20000) would tell which dimension
  // refused — the client's own, or the project's or organisation's shared budget.
  if (!decision.ok) return { 'RateLimit-Remaining': '0', 'RateLimit-Reset': String(decision.resetSeconds), 'Retry-After': String(decision.retryAfterSeconds) };
  return {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
  };
}

/** The 429 problem+json: says when to retry, never which dimension or whose limit it was. */
export function rateLimitedError(decision: RefusedDecision): AppError {
  const seconds = decision.retryAfterSeconds;
  const message = decision.blocked
    ? `Too many requests from this client. It is blocked for ${seconds} seconds.`
    : `Too many requests. Try again in ${seconds} seconds.`;
  return new AppError('rate_limited', message, {
    details: { retryAfterSeconds: seconds },
    headers: rateLimitHeaders(decision),
  });
}
