/**
 * The audit log: every security-relevant action, written in the same transaction as the change
 * it records (so a rolled-back change leaves no record, and a committed one always has one).
 * Never stores secrets or message contents.
 */
import { sql } from 'kysely';
import { newId } from '../../platform/ids.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { actorOf, type Outbox, type OutboxEvent } from '../../platform/outbox.ts';
import { logNetworkOf } from '../rate-limits/ip.ts';

export interface AuditEntry {
  orgId: string;
  actor: Principal | { kind: 'system' } | null;
  action: string;
  target?: { type: string; id: string };
  ip?: string | null;
  metadata?: Record<string, unknown>;
}

/** An audit row as webhooks and the event stream give it out: everything but the IP address. */
export function auditEventOf(row: {
  id: string;
  org_id: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  metadata: unknown;
  created_at: Date | string;
}): OutboxEvent {
  return {
    id: row.id,
    type: row.action,
    createdAt: new Date(row.created_at).toISOString(),
    orgId: row.org_id,
    actor: { type: row.actor_type, id: row.actor_id },
    target: row.target_type ? { type: row.target_type, id: row.target_id ?? '' } : null,
    data: withoutAddresses(row.action, (row.metadata ?? {}) as Record<string, unknown>),
  };
}

/**
 * Events name no client address (webhook receivers and event-stream clients keep them where no
 * erasure reaches): the one an entry's metadata holds — the client whose rate-limit block was
 * lifted — goes out cut to its network, as logs keep it. The audit log itself keeps it whole.
 */
function withoutAddresses(action: string, data: Record<string, unknown>): Record<string, unknown> {
  // An IPv6 client's key is already a network ("2001:db8:1:2::/64"): its address part is cut further.
  if (action === 'rate_limit.block_lifted' && data.dimension === 'ip' && typeof data.key === 'string') return { ...data, key: logNetworkOf(data.key.split('/', 1)[0] ?? '') };
  return data;
}

/** `outbox`: where every recorded entry also goes, in the same transaction (webhooks). */
export function createAuditService(deps: { outbox?: Outbox } = {}) {
  async function record(tx: Tx, entry: AuditEntry): Promise<void> {
    const id = newId('aud');
    const { type: actorType, id: actorId } = actorOf(entry.actor);
    const written = await tx
      .insertInto('audit_log')
      .values({
        id,
        org_id: entry.orgId,
        actor_type: actorType,
        actor_id: actorId,
        action: entry.action,
        target_type: entry.target?.type ?? null,
        target_id: entry.target?.id ?? null,
        ip: entry.ip ?? null,
        metadata: JSON.stringify(entry.metadata ?? {}),
      })
      .returning('created_at')
      .executeTakeFirstOrThrow();
    if (!deps.outbox) return;
    const event = auditEventOf({
      id,
      org_id: entry.orgId,
      action: entry.action,
      actor_type: actorType,
      actor_id: actorId,
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      metadata: entry.metadata ?? {},
      created_at: written.created_at, // the entry's own time, as the event stream gives it
    });
    await deps.outbox(tx, event);
  }

  async function list(
    tx: Tx,
    filter: { action?: string | undefined; actorId?: string | undefined; since?: Date | undefined; until?: Date | undefined; before?: string | undefined; limit: number },
  ) {
    let q = tx.selectFrom('audit_log').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
    // Keyset paging on the order itself: entries written in one transaction share a created_at,
    // so a page ending among them goes on with the rest (a time filter alone would skip them).
    // An entry the tenant cannot see (another organisation's) matches nothing: an empty page.
    if (filter.before) q = q.where(sql<boolean>`(created_at, id) < (SELECT a.created_at, a.id FROM audit_log a WHERE a.id = ${filter.before})`);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.actorId) q = q.where('actor_id', '=', filter.actorId);
    if (filter.since) q = q.where('created_at', '>=', filter.since);
    if (filter.until) q = q.where('created_at', '<', filter.until);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      action: r.action,
      actor: { type: r.actor_type, id: r.actor_id },
      target: r.target_type ? { type: r.target_type, id: r.target_id } : null,
      ip: r.ip,
      metadata: r.metadata,
      createdAt: new Date(r.created_at).toISOString(),
    }));
  }

  return { record, list };
}

export type AuditService = ReturnType<typeof createAuditService>;
