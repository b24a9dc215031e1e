/**
 * The text-work budget at the HTTP edge: a caller is charged for the text it has the server read
 * (a knowledge document converted and indexed, a PII dry run) before the work starts, and gets
 * the 429 `rate_limited` once its budget for the minute is spent.
 */
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/http/principal.ts';
import { applyDecision } from './http.ts';
import type { RateLimitService } from './service.ts';

export type TextWorkCharge = (request: FastifyRequest, principal: Principal, characters: number) => Promise<void>;

export function textWorkCharge(rateLimits: Pick<RateLimitService, 'checkTextWork'>, kilocharsPerMinute: number): TextWorkCharge {
  return async (request, principal, characters) => {
    const caller = principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`;
    applyDecision(request, await rateLimits.checkTextWork(caller, request.ip, characters / 1000, kilocharsPerMinute));
  };
}
