/**
 * HTTP for single sign-on: an organisation's configuration (read: `org:update`; changed:
 * `sso:manage`, owners only), and
 * the browser's round trip — start (a redirect to the provider, with a short-lived cookie that
 * binds the sign-in to this browser; from another site, a page with a button first: start-page.ts)
 * and callback (the session cookie, then the dashboard).
 */
import { z } from 'zod';
import type { FastifyReply } from 'fastify';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AppError } from '../../platform/http/errors.ts';
import { clientKeyForIp } from '../rate-limits/ip.ts';
import { createUnknownIdGuard } from '../rate-limits/unknown-ids.ts';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { orgParams } from '../../platform/http/id-params.ts';
import { readCookie } from '../../platform/http/cookies.ts';
import type { Access } from '../orgs/access.ts';
import { setSessionCookie, type SessionCookie } from '../accounts/routes.ts';
import { LOGIN_TTL_MS, type SsoService } from './service.ts';
import { postedFromHere, startedHere, startPage, START_PAGE_CSP, START_PAGE_REFERRER_POLICY } from './start-page.ts';

const domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be an e-mail domain such as example.com');

const configBody = z.strictObject({
  issuer: z.string().trim().url().max(500),
  clientId: z.string().trim().min(1).max(300),
  clientSecret: z.string().min(1).max(1000),
  emailDomains: z.array(domain).min(1).max(50),
  defaultRole: z.enum(['viewer', 'editor']).default('viewer'),
  // Both kept as stored when omitted (true and false for a new configuration).
  enabled: z.boolean().optional(),
  required: z.boolean().optional(),
});

export function ssoRoutes(deps: { sso: SsoService; access: Access; auth: Authenticator; cookie: SessionCookie; publicUrl: string }) {
  const { sso, access, auth } = deps;
  // Short-lived; Lax, so the provider's top-level redirect back carries it; __Host- where TLS
  // allows it, so a sibling sub-domain cannot plant one.
  const bindingCookie = { name: deps.cookie.secure ? '__Host-palisade_sso' : 'palisade_sso', attributes: { httpOnly: true, sameSite: 'lax', secure: deps.cookie.secure, path: '/' } as const };
  // /start is public and writes a sign-in row (and may make the server call the provider): 60 a
  // minute per client address (IPv6 /64) and organisation, per instance — a company behind one NAT
  // signing in at nine o'clock is not one client.
  const starts = new RateLimiterMemory({ points: 60, duration: 60 });
  const clearBinding = (reply: FastifyReply) => reply.clearCookie(bindingCookie.name, bindingCookie.attributes);
  const publicOrigin = new URL(deps.publicUrl).origin;

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/sso', { schema: { operationId: 'getSso', tags: ['sso'], params: orgParams } }, async (request) => {
      const principal = await auth.require(request);
      await access.authorize(principal, request.params.orgId, 'org:update');
      return { sso: await sso.get(request.params.orgId) };
    });

    app.put('/v1/orgs/:orgId/sso', {
      schema: {
        operationId: 'configureSso',
        tags: ['sso'],
        description:
          "The organisation's OpenID Connect provider: issuer, client id and secret (write-only), the e-mail domains it may sign in (verified addresses only), the role of people it signs in for the first time, and whether members other than owners must sign in through it (required). Register redirectUri (in the reply) with the provider.",
        params: orgParams,
        body: configBody,
      },
      handler: async (request) => {
        const principal = await auth.require(request);
        await access.authorize(principal, request.params.orgId, 'sso:manage');
        return { sso: await sso.configure(request.params.orgId, request.body, { principal, ip: request.ip }) };
      },
    });

    app.post('/v1/orgs/:orgId/sso/domains/:domain/verify', {
      schema: {
        operationId: 'verifySsoDomain',
        tags: ['sso'],
        description: "Checks the domain's TXT record (txtName and txtValue in GET /v1/orgs/{orgId}/sso); a proven domain's verified addresses are signed in by the organisation's SSO. A domain is proven for one organisation at most.",
        params: z.strictObject({ orgId: orgParams.shape.orgId, domain }),
      },
      handler: async (request) => {
        const principal = await auth.require(request);
        await access.authorize(principal, request.params.orgId, 'sso:manage');
        return { domain: await sso.verifyDomain(request.params.orgId, request.params.domain, { principal, ip: request.ip }) };
      },
    });

    app.delete('/v1/orgs/:orgId/sso', { schema: { operationId: 'removeSso', tags: ['sso'], params: orgParams } }, async (request, reply) => {
      const principal = await auth.require(request);
      await access.authorize(principal, request.params.orgId, 'sso:manage');
      await sso.remove(request.params.orgId, { principal, ip: request.ip });
      return reply.code(204).send();
    });

    const unknownSlugs = createUnknownIdGuard('sso_unknown_slug');
    const slugParams = z.strictObject({ orgSlug: z.string().regex(/^[a-z0-9-]{1,80}$/, 'must be an organisation slug') });
    async function startSignIn(orgSlug: string, ip: string, reply: FastifyReply) {
      try {
        await starts.consume(`${clientKeyForIp(ip)} ${orgSlug}`);
      } catch {
        throw new AppError('rate_limited', 'Too many sign-ins started from this address. Try again in a minute.', { headers: { 'Retry-After': '60' } });
      }
      // Made-up names each cost a look-up: limited per address like other unknown ids, whatever the per-name limit above allows.
      const orgId = await unknownSlugs.lookUp(ip, () => sso.orgOfSlug(orgSlug));
      if (!orgId) throw new AppError('not_found', 'This organisation has no single sign-on.');
      const { location, browserToken } = await sso.start(orgId);
      reply.setCookie(bindingCookie.name, browserToken, { ...bindingCookie.attributes, maxAge: LOGIN_TTL_MS / 1000 });
      return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
    }

    // A plugin of their own: the page's form posts an empty urlencoded body, and only these routes accept one.
    await app.register(async (starting: App) => {
      starting.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, _body, done) => done(null, {}));

      starting.get('/v1/auth/sso/:orgSlug/start', {
        schema: {
          operationId: 'startSso',
          tags: ['sso'],
          description: "Starts a sign-in (302 to the provider) when the browser says the request came from this origin (Sec-Fetch-Site: same-origin); otherwise answers a page whose button posts here (login CSRF: start-page.ts).",
          params: slugParams,
        },
        handler: async (request, reply) => {
          if (startedHere(request)) return startSignIn(request.params.orgSlug, request.ip, reply);
          return reply
            .code(200)
            .type('text/html; charset=utf-8')
            .header('content-security-policy', START_PAGE_CSP)
            .header('referrer-policy', START_PAGE_REFERRER_POLICY)
            .send(startPage(request.params.orgSlug));
        },
      });

      starting.post('/v1/auth/sso/:orgSlug/start', {
        schema: { operationId: 'startSsoFromPage', tags: ['sso'], description: 'The start page\'s button: starts a sign-in when posted from this origin (403 csrf_failed otherwise).', params: slugParams },
        handler: async (request, reply) => {
          if (!postedFromHere(request, publicOrigin)) throw new AppError('csrf_failed', 'A sign-in can only be started from this site: open the sign-in link again and use its button.');
          return startSignIn(request.params.orgSlug, request.ip, reply);
        },
      });
    });

    app.get('/v1/auth/sso/callback', {
      schema: { operationId: 'finishSso', tags: ['sso'], querystring: z.record(z.string(), z.string().max(4000)) },
      handler: async (request, reply) => {
        const query = new URLSearchParams(request.query as Record<string, string>);
        clearBinding(reply);
        const session = await sso.finish(query, readCookie(request, bindingCookie.name), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
        setSessionCookie(reply, deps.cookie, session);
        return reply.code(302).header('location', `${deps.publicUrl.replace(/\/+$/, '')}/`).header('cache-control', 'no-store').send();
      },
    });
  };
}
