/**
 * Where refused widget requests are recorded: a counter, the hook the events module connects
 * to, and the organisation's audit log — at most once a minute per project and origin, so a
 * flood of refused requests cannot become a flood of writes.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Clock } from '../../platform/clock.ts';
import { createTtlCache } from '../../platform/cache/ttl-cache.ts';
import type { AuditService } from '../audit/service.ts';
import type { OriginRefusal } from './origin-guard.ts';

export function createRefusalRecorder(deps: {
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  onRefusal?: ((refusal: OriginRefusal) => void) | undefined;
  log: (error: unknown) => void;
}) {
  const recent = createTtlCache<true>(10_000, 60_000);
  return (refusal: OriginRefusal): void => {
    deps.onRefusal?.(refusal);
    const orgId = refusal.orgId;
    if (!orgId) return;
    const key = `${refusal.projectId} ${refusal.origin ?? ''}`;
    const now = deps.clock.now().getTime();
    if (recent.get(key, now)) return;
    recent.set(key, true, now);
    withTenant(deps.db, orgId, (tx) =>
      deps.audit.record(tx, {
        orgId,
        actor: null,
        action: 'widget.origin_refused',
        target: { type: 'project', id: refusal.projectId },
        ip: refusal.ip,
        metadata: { origin: refusal.origin?.slice(0, 300) ?? null, reason: refusal.reason },
      }),
    ).catch(deps.log);
  };
}
