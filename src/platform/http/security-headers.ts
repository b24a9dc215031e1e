/**
 * Security headers, as helmet decides them, in two profiles computed once at start-up and set on
 * every reply with one call (instead of running helmet's middleware, which re-parses its
 * directives, on every request):
 *   - API: the JSON API and everything else. Nothing in a JSON reply is ever rendered, so the
 *     policy allows nothing (`default-src 'none'`, OWASP's advice for REST APIs), framing is
 *     refused twice (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), and nothing is cached.
 *   - pages: the HTML the server itself renders (the API reference under /docs), which needs
 *     its own scripts, styles and images.
 * Routes that must be framed loosen frame-ancestors with platform/http/framing.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

export function computeSecurityHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  return headers;
}

export interface SecurityHeaderOptions {
  /** Both profiles, from securityHeaderProfiles(). */
  profiles: { api: Record<string, string>; pages: Record<string, string> };
  /** URL prefixes of server-rendered HTML pages (they get the pages profile). */
  pagePrefixes: readonly string[];
}

export interface SecurityHeaderPolicy {
  /** HSTS, sent only when the server is reached over HTTPS. */
  hsts: { maxAge: number; includeSubDomains: boolean } | false;
}

export function securityHeaderProfiles(options: SecurityHeaderPolicy): SecurityHeaderOptions['profiles'] {
  return {
    // OWASP's REST Security Cheat Sheet: the headers that mean something on a JSON reply. Helmet's
    // document-only headers (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control, X-Download-
    // Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) are left to the pages.
    api: {
      ...computeSecurityHeaders({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
        },
        crossOriginEmbedderPolicy: false,
        crossOriginOpenerPolicy: false,
        crossOriginResourcePolicy: { policy: 'same-origin' },
        originAgentCluster: false,
        referrerPolicy: { policy: 'no-referrer' },
        strictTransportSecurity: options.hsts,
        xContentTypeOptions: true,
        xDnsPrefetchControl: false,
        xDownloadOptions: false,
        xFrameOptions: { action: 'deny' },
        xPermittedCrossDomainPolicies: false,
        xPoweredBy: true,
        xXssProtection: false,
      }),
      // API replies carry tenants' data: no browser or proxy may keep a copy (a route that
      // serves something public, such as /widget.js, sets its own Cache-Control).
      'cache-control': 'no-store',
    },
    pages: computeSecurityHeaders({
      strictTransportSecurity: options.hsts,
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          frameAncestors: ["'none'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          // Served over plain HTTP, asking for https would break the page's own scripts and styles.
          upgradeInsecureRequests: options.hsts ? [] : null,
        },
      },
    }),
  };
}

export function installSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  const { api, pages } = options.profiles;
  const isPage = (url: string): boolean =>
    options.pagePrefixes.some((prefix) => url.startsWith(prefix) && (url.length === prefix.length || url[prefix.length] === '/' || url[prefix.length] === '?'));
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(isPage(request.url) ? pages : api);
    done();
  });
}
