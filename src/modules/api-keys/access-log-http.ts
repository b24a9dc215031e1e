/**
 * HTTP side of the API access log: `request.apiKeyUse` (set by the Bearer verifier once a key is
 * valid, before its rate limit and scopes are checked) is logged when the response closes, with its
 * status; and `GET /v1/orgs/{orgId}/access-log` (permission `audit:read`) reads it back.
 */
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { idSchema, orgParams } from '../../platform/http/id-params.ts';
import type { Access } from '../orgs/access.ts';
import type { AccessLog } from './access-log.ts';
import type { Clock } from '../../platform/clock.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKeyUse: { orgId: string; keyId: string } | null;
  }
}

/**
 * On the routes an API key may call (`prefix` but not `except`, added after this call): only those
 * pay for it, never the widget's message path. Logged on the response's 'close', not onResponse: a
 * response its client cuts off (an event stream it closes) gets no onResponse; 'close' comes for
 * every response.
 */
export function installAccessLogging(app: FastifyInstance, log: Pick<AccessLog, 'record'>, clock: Clock, prefix: string, except: readonly string[]): void {
  app.decorateRequest('apiKeyUse', null);
  const watchClose = (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    reply.raw.once('close', () => logAccess(request, reply));
    done();
  };
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(prefix) || except.some((e) => route.url.startsWith(e))) return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...existing, watchClose];
  });
  function logAccess(request: FastifyRequest, reply: FastifyReply): void {
    const use = request.apiKeyUse;
    if (use) {
      // The label is "METHOD /route/:pattern" (platform/http/route-label.ts).
      const label = request.routeLabel;
      const space = label.indexOf(' ');
      log.record({
        orgId: use.orgId,
        keyId: use.keyId,
        ip: request.ip,
        method: request.method,
        route: space > 0 ? label.slice(space + 1) : label,
        // Cut off by its client before an answer went out: 499, as proxies log it ("client closed request").
        status: reply.raw.headersSent ? reply.raw.statusCode : 499,
        durationMs: Math.round(reply.elapsedTime),
        // When it came: a stream is logged when it ends, but ran from its start.
        at: new Date(clock.now().getTime() - reply.elapsedTime),
      });
    }
  }
}

export function accessLogRoutes(deps: { accessLog: Pick<AccessLog, 'list'>; access: Access; auth: Authenticator }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/access-log', {
      schema: {
        operationId: 'listAccessLog',
        tags: ['audit'],
        description: 'Requests made with the organisation\'s API keys, newest first: key, client address, route pattern, status, time, duration; requests alike within one write interval (2 s) are one entry with their count, the first one\'s time and the longest duration (kept 90 days; written within seconds). Page on with before=nextBefore.',
        params: orgParams,
        querystring: z.strictObject({
          keyId: idSchema('key', 'an API key id').optional(),
          status: z.coerce.number().int().min(100).max(599).optional(),
          since: z.iso.datetime().optional(),
          until: z.iso.datetime().optional(),
          before: z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a nextBefore value').optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      handler: async (request) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        await deps.access.authorize(principal, orgId, 'audit:read');
        const q = request.query;
        return deps.accessLog.list(orgId, { ...q, since: q.since ? new Date(q.since) : undefined, until: q.until ? new Date(q.until) : undefined });
      },
    });
  };
}
