/**
 * The HTTP edge of rate limiting: a request carries the tightest admitted Decision of the
 * checks it passed, and an onSend hook writes RateLimit-Limit / -Remaining / -Reset from it.
 * A refusal becomes the 429 `rate_limited` problem (with Retry-After) via rateLimitedError.
 *
 * Must never: decide a limit (the service does), or reveal which dimension refused.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimitedError, rateLimitHeaders } from './headers.ts';
import type { Decision } from './types.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rateLimit: Extract<Decision, { ok: true }> | null;
  }
}

/** Throws the 429 for a refusal; otherwise keeps the decision with the fewest remaining. */
export function applyDecision(request: FastifyRequest, decision: Decision): void {
  if (!decision.ok) {
    // An earlier admitted check's headers must not be written over the refusal's.
    request.rateLimit = null;
    throw rateLimitedError(decision);
  }
  const current = request.rateLimit;
  if (!current || decision.remaining < current.remaining) request.rateLimit = decision;
}

/** Writes the kept decision's headers now (the onSend hook does it for ordinary replies; a
 * reply that is taken over for streaming calls this before it sends its head). */
export function writeRateLimitHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const decision = request.rateLimit;
  // A refusal (a 429 from any check) carries its own headers, never an earlier admitted check's.
  if (decision && reply.statusCode !== 429 && !reply.hasHeader('RateLimit-Limit')) reply.headers(rateLimitHeaders(decision));
}

export function installRateLimitHeaders(app: FastifyInstance): void {
  app.decorateRequest('rateLimit', null);
  app.addHook('onSend', (request, reply, payload, done) => {
    writeRateLimitHeaders(request, reply);
    done(null, payload);
  });
}
