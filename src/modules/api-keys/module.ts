/**
 * Builds the api-keys module for this process: store, metadata cache (evicted through the shared
 * invalidation bus), batched usage counting, the service, the Bearer verifier and the routes.
 * start() starts the flush timer; stop() flushes the last usage batch.
 */
import type { Kysely } from 'kysely';
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { ApiKeyVerifier } from '../../platform/http/authenticate.ts';
import type { AuditService } from '../audit/service.ts';
import type { RateLimitService } from '../rate-limits/service.ts';
import { createApiKeyVerifier } from './bearer.ts';
import { createKeyCache } from './cache.ts';
import { createApiKeyService, toMetadata, type ApiKeyService } from './service.ts';
import { createApiKeyStore } from './store.ts';
import { createUsageRecorder, type UsageBatch } from './usage.ts';

export interface ApiKeyModuleOptions {
  /** Safety TTL of cached key metadata (default 30 s). */
  cacheTtlMs?: number;
  /** Usage flush interval (default 5 s): the most a crash can lose on one instance. */
  usageFlushMs?: number;
  requestsPerMinute: number;
}

export function createApiKeyModule(deps: {
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  invalidation: Pick<InvalidationBus, 'publish' | 'on'>;
  rateLimits: Pick<RateLimitService, 'checkApiKey'>;
  options: ApiKeyModuleOptions;
  onError?: (error: unknown) => void;
}): { service: ApiKeyService; verifier: ApiKeyVerifier; start(): Promise<void>; stop(): Promise<void> } {
  const { db, clock } = deps;
  const store = createApiKeyStore();
  const cache = createKeyCache({
    load: async (id) => {
      const row = await store.findForVerification(db, id);
      return row ? toMetadata(row) : null;
    },
    invalidation: deps.invalidation,
    clock,
    ...(deps.options.cacheTtlMs !== undefined ? { ttlMs: deps.options.cacheTtlMs } : {}),
  });
  const usage = createUsageRecorder({
    clock,
    ...(deps.options.usageFlushMs !== undefined ? { intervalMs: deps.options.usageFlushMs } : {}),
    ...(deps.onError ? { onError: deps.onError } : {}),
    write: async (batches) => {
      const failed: UsageBatch[] = [];
      for (const batch of batches) {
        try {
          await withTenant(db, batch.orgId, async (tx) => {
            await store.addUsage(tx, batch.orgId, batch.cells);
            await store.setLastUse(tx, batch.lastUses);
          });
        } catch (error) {
          deps.onError?.(error);
          // 23503: the key or organisation was deleted meanwhile; its counts have nowhere to go.
          if ((error as { code?: unknown }).code !== '23503') failed.push(batch);
        }
      }
      return failed;
    },
  });
  const service = createApiKeyService({ db, store, audit: deps.audit, clock, cache, usage });
  const verifier = createApiKeyVerifier({ keys: service, rateLimits: deps.rateLimits, requestsPerMinute: deps.options.requestsPerMinute });
  return {
    service,
    verifier,
    async start() {
      usage.start();
    },
    async stop() {
      await usage.stop();
    },
  };
}
