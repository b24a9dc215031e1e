/**
 * Who may frame a page. Helmet sends `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`
 * everywhere; the widget's pages must be framed by the customer's own sites. A route opts in
 * with `config: { framable: true }` (any ancestor), and may narrow that per reply with
 * `allowFraming(reply, ['https://docs.example.com'])` — the project's allowed origins.
 *
 * Must never: loosen framing for a route that did not opt in (allowFraming elsewhere is ignored:
 * only framable routes carry the hook that rewrites the headers).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's pages may be framed by any site (prefer allowFraming with a list). */
    framable?: boolean;
  }
  interface FastifyReply {
    frameAncestors: string[] | null;
  }
}

const sourcePattern = /^(\*|'self'|https?:\/\/[A-Za-z0-9.*-]+(:\d{1,5})?)$/;

/** Lets these origins (CSP source expressions such as `https://*.example.com`) frame this reply. */
export function allowFraming(reply: FastifyReply, ancestors: readonly string[]): void {
  const safe = ancestors.filter((a) => sourcePattern.test(a));
  reply.frameAncestors = safe.length > 0 ? safe : ["'none'"];
}

export function installFramingPolicy(app: FastifyInstance): void {
  app.decorateReply('frameAncestors', null);
  // Decided per route when it is added: only framable routes carry these hooks.
  app.addHook('onRoute', (route) => {
    if (!route.config?.framable) return;
    route.onRequest = [...asArray(route.onRequest), defaultToAnyAncestor];
    route.onSend = [...asArray(route.onSend), rewriteFramingHeaders];
  });
}

const asArray = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

function defaultToAnyAncestor(_request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.frameAncestors ??= ['*'];
  done();
}

function rewriteFramingHeaders(_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  const ancestors = reply.frameAncestors;
  if (!ancestors) return done(null, payload);
  reply.removeHeader('X-Frame-Options');
  const csp = reply.getHeader('Content-Security-Policy');
  if (typeof csp === 'string') {
    const directives = csp.split(';').map((d) => d.trim()).filter((d) => d && !d.startsWith('frame-ancestors'));
    reply.header('Content-Security-Policy', [...directives, `frame-ancestors ${ancestors.join(' ')}`].join(';'));
  }
  done(null, payload);
}
