/**
 * A request that carries an API key is authenticated as it arrives, before its body is read and
 * checked. So the key's rate limit, its usage count and the access log cover every request made
 * with it — one refused for its input (400), size (413) or media type (415) too — and an unknown,
 * revoked or expired key is refused (401) before its body is parsed or described back to it.
 * Only secrets of an API key's shape are read here: the widget's visitor tokens and the metrics
 * token are their own routes' business, and a route that takes no key ignores it as before.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { parseApiKeySecret } from './token.ts';

const BEARER = 'Bearer ';

/** Adds the check to the routes under `prefix`, except those under `except`, added after this call. */
export function installKeyFirstAuthentication(app: FastifyInstance, auth: Pick<Authenticator, 'require' | 'recheck'>, prefix: string, except: readonly string[]): void {
  async function authenticateKey(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header?.startsWith(BEARER) && parseApiKeySecret(header.slice(BEARER.length)).ok) await auth.require(request);
  }
  // A body may take up to the request timeout to arrive: a key revoked or rotated meanwhile must not
  // act once it has. Checked again before the handler of a write (cheap: a revocation evicts the
  // key from every instance's cache, so this is a cache hit until then).
  async function recheckAfterBody(request: FastifyRequest): Promise<void> {
    if (request.principal?.kind === 'api_key' && !READS.has(request.method)) await auth.recheck(request);
  }
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(prefix) || except.some((e) => route.url.startsWith(e))) return;
    // After the route's own onRequest hooks (its label, for the usage count and the access log).
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...existing, authenticateKey];
    const handlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [recheckAfterBody, ...handlers];
  });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
