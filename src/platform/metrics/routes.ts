/**
 * GET /metrics for a Prometheus scraper. Off unless METRICS_TOKEN is set (404, like any unknown
 * path); then only with `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time.
 * Not "loopback only": behind a reverse proxy on the same machine every request comes from
 * loopback. Request timing is added per route when routes are added, so a server without
 * metrics does no per-request work for them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../http/errors.ts';
import { safeEqual, sha256Hex } from '../ids.ts';
import type { Metrics } from './metrics.ts';

/** Times every route added after this call (call it before registering routes). */
export function installRequestMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRoute', (route) => {
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [
      ...existing,
      (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
        metrics.request(request.method, route.url, reply.statusCode, reply.elapsedTime / 1000);
        done();
      },
    ];
  });
}

export function metricsRoutes(deps: { metrics: Metrics | undefined; token: string | undefined }) {
  // Compared as hashes: equal lengths whatever was sent, so the comparison tells nothing of the token's.
  const expected = deps.token ? sha256Hex(deps.token) : undefined;
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/metrics', { schema: { operationId: 'metrics', tags: ['operations'], hide: true } }, async (request, reply) => {
      if (!deps.metrics || !expected) throw new AppError('not_found', 'Metrics are off: set METRICS_TOKEN to turn them on.');
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
      if (!safeEqual(sha256Hex(given), expected)) throw new AppError('unauthenticated', 'Metrics need Authorization: Bearer <METRICS_TOKEN>.');
      return reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    });
  };
}
