/**
 * The ApiKeyVerifier the authenticator calls for `Authorization: Bearer`: verify the key, apply
 * the per-key request limit (RateLimit-* headers on the reply), count the use (in memory, see
 * usage.ts), and return the Principal. Every refusal of the key itself is the same 401
 * `invalid_api_key`; only the log says why, and never with the secret.
 */
import type { FastifyRequest } from 'fastify';
import type { ApiKeyVerifier } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { applyDecision } from '../rate-limits/http.ts';
import type { RateLimitService } from '../rate-limits/service.ts';
import type { ApiKeyService } from './service.ts';

/** Scopes a replaced secret no longer carries during its grace period (see below). */
const SCOPES_LOST_IN_GRACE: ReadonlySet<string> = new Set(['keys:manage', 'projects:write', 'webhooks:manage', 'scim:provision']);

export function createApiKeyVerifier(deps: {
  keys: Pick<ApiKeyService, 'verify' | 'recordUse'>;
  rateLimits: Pick<RateLimitService, 'checkApiKey'>;
  requestsPerMinute: number;
}): ApiKeyVerifier {
  /** The key behind a secret, or the one refusal every cause gets. */
  async function decide(secret: string, request: FastifyRequest) {
    const decision = await deps.keys.verify(secret, request.ip);
    if (!decision.ok) {
      request.log.info({ apiKeyRefused: decision.reason }, 'API key refused');
      throw new AppError('invalid_api_key', 'The API key is missing, malformed, expired or revoked.');
    }
    return decision;
  }

  /**
   * A replaced secret in its grace period keeps the key working but cannot set up a credential
   * or a channel that outlives the rotation meant to contain it: no rotating the key again or
   * minting a key, no identity secret, answer provider or webhook, no provisioning of people. Its
   * other scopes stay, so clients keep working until they switch (knowledge it writes stays too).
   */
  function principalOf(decision: Extract<Awaited<ReturnType<typeof decide>>, { ok: true }>): Principal & { kind: 'api_key' } {
    const { key } = decision;
    const scopes = decision.viaPreviousSecret ? key.scopes.filter((scope) => !SCOPES_LOST_IN_GRACE.has(scope)) : key.scopes;
    const digest = decision.viaPreviousSecret ? key.previousDigest : key.secretDigest;
    return {
      kind: 'api_key',
      keyId: key.id,
      orgId: key.orgId,
      scopes,
      projectIds: key.projectIds,
      expiresAt: key.expiresAt,
      ...(digest ? { secret: { hash: digest.toString('hex'), previous: decision.viaPreviousSecret } } : {}),
    };
  }

  return {
    async verify(secret: string, request: FastifyRequest): Promise<Principal & { kind: 'api_key' }> {
      const decision = await decide(secret, request);
      const key = decision.key;
      request.apiKeyUse = { orgId: key.orgId, keyId: key.id }; // the access log (access-log-http.ts)
      applyDecision(request, await deps.rateLimits.checkApiKey(key.id, deps.requestsPerMinute));
      const userAgent = request.headers['user-agent'];
      deps.keys.recordUse({
        orgId: key.orgId,
        keyId: key.id,
        route: request.routeLabel,
        ip: request.ip,
        userAgent: typeof userAgent === 'string' ? userAgent : null,
      });
      return principalOf(decision);
    },
    async recheck(secret: string, request: FastifyRequest): Promise<Principal & { kind: 'api_key' }> {
      return principalOf(await decide(secret, request));
    },
  };
}
