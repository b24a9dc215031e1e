/**
 * What an openai-compatible answer endpoint gets. Its key: the project's own if it stored one for
 * this endpoint; otherwise the operator's, but only when the project's base URL is exactly the operator's
 * endpoint — an editor who points a project at their own server gets no key. Its network: a
 * project's own endpoint is reached only on public addresses (an editor must not make the
 * server call internal services or cloud metadata), unless the operator allows private networks
 * (then also loopback, RFC 1918, CGNAT and unique-local addresses, never link-local space or cloud
 * metadata); the operator's endpoint is trusted as configured.
 */
import { createGuardedFetch, createPublicOnlyFetch } from '../../platform/net/guarded-fetch.ts';
import { isPublicOrPrivateNetworkAddress } from '../../platform/net/public-address.ts';
import { normaliseEndpoint } from './endpoint.ts';
import type { AnswerKeyService } from './service.ts';

export interface OperatorEndpoint {
  baseUrl: string;
  /** Unset for a keyless endpoint (a local model): it is still the operator's, trusted as such. */
  apiKey: string | undefined;
}

export function createEndpointPolicy(deps: { keys: Pick<AnswerKeyService, 'keyFor'>; operator: OperatorEndpoint | undefined; allowPrivateNetworks: boolean }) {
  const operatorBase = deps.operator ? normaliseEndpoint(deps.operator.baseUrl) : undefined;
  const isOperators = (baseUrl: string): boolean => operatorBase !== undefined && normaliseEndpoint(baseUrl) === operatorBase;
  // Even with private networks allowed, link-local space and cloud metadata stay out of reach.
  const guarded = deps.allowPrivateNetworks ? createGuardedFetch(isPublicOrPrivateNetworkAddress) : createPublicOnlyFetch();
  return {
    keyFor(project: { orgId: string; id: string }, baseUrl: string): () => Promise<string | undefined> {
      return async () => {
        const own = await deps.keys.keyFor(project.orgId, project.id, baseUrl);
        if (own !== undefined) return own;
        return deps.operator && isOperators(baseUrl) ? deps.operator.apiKey : undefined;
      };
    },
    fetchFor(baseUrl: string): typeof fetch {
      return isOperators(baseUrl) ? fetch : guarded;
    },
  };
}
