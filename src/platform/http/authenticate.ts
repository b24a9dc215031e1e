/**
 * Turns a request's credentials into a Principal. One API surface, two credentials: the
 * dashboard's session cookie (state-changing requests must also carry the CSRF token) or a
 * Bearer API key. The verifiers come from the accounts and api-keys modules.
 */
import type { FastifyRequest } from 'fastify';
import { readCookie } from './cookies.ts';
import { AppError } from './errors.ts';
import type { Principal } from './principal.ts';

export interface SessionVerifier {
  cookieName: string;
  /** `recheck`: not a use of the session (its idle time goes on). */
  verify(token: string, request: FastifyRequest, options?: { recheck?: boolean }): Promise<(Principal & { kind: 'user' }) | null>;
  csrfMatches(token: string, csrfHeader: string): boolean;
}

export interface ApiKeyVerifier {
  verify(secret: string, request: FastifyRequest): Promise<Principal & { kind: 'api_key' }>;
  /** Whether the key still works, and its power now: not a request (no rate limit, usage or access log). */
  recheck(secret: string, request: FastifyRequest): Promise<Principal & { kind: 'api_key' }>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Authenticator {
  /** The caller, or a 401. */
  require(request: FastifyRequest): Promise<Principal>;
  /** Only a signed-in dashboard user (e.g. changing their own sessions), or a 401. */
  requireUser(request: FastifyRequest): Promise<Principal & { kind: 'user' }>;
  /**
   * The caller of a long-lived request (an event stream) checked again: a revoked key or ended
   * session is a 401, and the principal is today's. Not a new use: it keeps no session from going
   * idle and counts no key request.
   */
  recheck(request: FastifyRequest): Promise<Principal>;
}

export function createAuthenticator(deps: { sessions: SessionVerifier; apiKeys?: ApiKeyVerifier }): Authenticator {
  async function resolve(request: FastifyRequest, recheck = false): Promise<Principal> {
    if (request.principal && !recheck) return request.principal;
    if (recheck) request.principal = null; // a failed check leaves no principal behind
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization);
      if (!match?.[1] || !deps.apiKeys) throw new AppError('invalid_api_key', 'The API key is missing, malformed, expired or revoked.');
      const keyPrincipal = recheck ? await deps.apiKeys.recheck(match[1], request) : await deps.apiKeys.verify(match[1], request);
      request.principal = keyPrincipal;
      return keyPrincipal;
    }
    const token = readCookie(request, deps.sessions.cookieName);
    if (!token) throw new AppError('unauthenticated', 'Sign in, or send an API key as a Bearer token.');
    // The cookie (SameSite=Lax) also goes along with another site's top-level navigation, where no
    // X-CSRF-Token can be asked of a GET: such a request never acts for the user (an export would
    // download, audited in their name). Browsers without Fetch Metadata send no such header.
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      throw new AppError('csrf_failed', 'A request signed in by cookie must come from this origin (or be typed or opened from a bookmark).');
    }
    const principal = await deps.sessions.verify(token, request, { recheck });
    if (!principal) throw new AppError('unauthenticated', 'Your session has ended. Sign in again.');
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || !deps.sessions.csrfMatches(token, csrf)) {
        throw new AppError('csrf_failed', 'Missing or wrong X-CSRF-Token header for a cookie-authenticated request.');
      }
    }
    request.principal = principal;
    return principal;
  }

  return {
    require: (request) => resolve(request),
    recheck: (request) => resolve(request, true),
    async requireUser(request) {
      const principal = await resolve(request);
      if (principal.kind !== 'user') throw new AppError('forbidden', 'This route is for signed-in users, not API keys.');
      return principal;
    },
  };
}
