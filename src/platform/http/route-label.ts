/**
 * `request.routeLabel`: the method and route pattern of the matched route (`GET
 * /v1/projects/:projectId`), never the URL, so it may be counted and logged. Computed once per
 * route when the route is added: Fastify's `request.routeOptions` builds a new object on every
 * read, too slow for a per-request counter.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    routeLabel: string;
  }
}

/** Labels the routes under `prefix`, except those under `except` (routes no API key can call). */
export function installRouteLabels(app: FastifyInstance, prefix: string, except: readonly string[] = []): void {
  app.decorateRequest('routeLabel', '(unmatched)');
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(prefix) || except.some((e) => route.url.startsWith(e))) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const labels = new Map(methods.map((m) => [m, `${m} ${route.url}`]));
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [
      (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
        request.routeLabel = labels.get(request.method) ?? `${request.method} ${route.url}`;
        done();
      },
      ...existing,
    ];
  });
}
