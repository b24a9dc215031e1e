/**
 * Prometheus metrics (prom-client), one registry per app: the process's own (CPU, memory, event
 * loop lag, GC), request durations per route pattern and status (never the URL, so ids do not
 * become label values), rate-limit refusals per dimension and cause, and webhook delivery
 * attempts per outcome. No label holds an organisation, project or key id.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'palisade_' });
  const requests = new Histogram({
    name: 'palisade_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'palisade_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by dimension and cause.',
    labelNames: ['dimension', 'cause'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'palisade_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, retry (failed, tried again later) or failed (no attempt left).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    request(method: string, route: string, status: number, seconds: number): void {
      requests.observe({ method, route, status: String(status) }, seconds);
    },
    refusal(dimension: string, cause: string): void {
      refusals.inc({ dimension, cause });
    },
    delivery(outcome: 'delivered' | 'retry' | 'failed'): void {
      deliveries.inc({ outcome });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
