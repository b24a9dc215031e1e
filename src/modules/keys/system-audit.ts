/**
 * The operator's key commands in an organisation's audit log, as the system's acts: who holds the
 * organisation sees that its keys were rotated, and when. (Recorded without the outbox: no webhook
 * event, as for the other operator commands run beside the server.)
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { createAuditService } from '../audit/service.ts';

export function systemAudit(db: Kysely<DB>): (orgId: string, action: string, metadata: Record<string, unknown>) => Promise<void> {
  const audit = createAuditService();
  return (orgId, action, metadata) =>
    withTenant(db, orgId, (tx) => audit.record(tx, { orgId, actor: { kind: 'system' }, action, target: { type: 'org', id: orgId }, ip: null, metadata }));
}
