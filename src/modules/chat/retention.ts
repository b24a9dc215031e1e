/**
 * Conversation retention: a project's `retentionDays` (default 90; null keeps conversations until
 * they are deleted) is enforced by deleting every conversation whose last message is older, with
 * its messages and vault rows, and crypto-shredding the keys nothing needs any more (deletion.ts:
 * a conversation's own key, a visitor's once none of their conversations is left). Copies in
 * backups made before stay unreadable without those keys.
 *
 * Runs as a platform job: a sweep first shreds keys still owed from an interrupted one, then
 * reads every project and deletes in batches inside the project's tenant transaction with an
 * audit record, shredding after each commit (PGlite is one connection). One sweep at a time per
 * instance; sweeps of several instances may overlap (deletion.ts locks the visitors it touches).
 */
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { AuditService } from '../audit/service.ts';
import { parseStoredSettings } from '../projects/settings.ts';
import type { ShredOwed } from '../../platform/crypto/pending-shreds.ts';
import { deleteConversations } from './deletion.ts';

const DAY_MS = 86_400_000;
/** Conversations deleted per transaction. */
const BATCH = 500;
/** Projects read at a time by the sweep. */
const PROJECT_PAGE = 500;

export interface RetentionSweep {
  /** Deleted conversations, in all. */
  conversations: number;
  /** Keys shredded (conversations' own and visitors' with nothing left). */
  subjects: number;
}

export function createRetention(deps: {
  db: Kysely<DB>;
  clock: Clock;
  audit: Pick<AuditService, 'record'>;
  /** Shreds the keys owed (a key that cannot be shredded stays owed for the next sweep). */
  shredOwed: ShredOwed;
}) {
  /** One batch of one project, audited; how many conversations went (their keys are owed). */
  async function deleteBatch(orgId: string, projectId: string, cutoff: Date, days: number): Promise<number> {
    return withTenant(deps.db, orgId, async (tx) => {
      const expired = await tx.selectFrom('conversations').select('id').where('project_id', '=', projectId).where('last_message_at', '<', cutoff).limit(BATCH).execute();
      const { deleted } = await deleteConversations(tx, orgId, expired.map((c) => c.id), cutoff);
      if (deleted === 0) return 0;
      await deps.audit.record(tx, {
        orgId,
        actor: { kind: 'system' },
        action: 'conversation.retention_expired',
        target: { type: 'project', id: projectId },
        metadata: { conversations: deleted, retentionDays: days, lastMessageBefore: cutoff.toISOString() },
      });
      return deleted;
    });
  }

  const shredOwed = async (orgId?: string): Promise<number> => (await deps.shredOwed(orgId)).shredded;

  /**
   * Every project's retention, PROJECT_PAGE at a time and only that field of its settings: anyone
   * can make projects (with settings of several kilobytes), so all of them at once could exhaust
   * the process. An unreadable value is repaired as a whole document's would be.
   */
  async function* retentionOfProjects(): AsyncGenerator<{ id: string; orgId: string; retentionDays: number | null }> {
    let after = '';
    for (;;) {
      const page = await deps.db
        .selectFrom('projects')
        // A JSON null (keep forever) is a value; a missing field is SQL NULL (the default).
        .select(['id', 'org_id', sql<unknown>`settings->'retentionDays'`.as('retention_days'), sql<boolean>`(settings->'retentionDays') IS NOT NULL`.as('has_retention')])
        .where('id', '>', after)
        .orderBy('id')
        .limit(PROJECT_PAGE)
        .execute();
      for (const p of page) {
        const stored = p.has_retention ? { retentionDays: p.retention_days } : {};
        yield { id: p.id, orgId: p.org_id, retentionDays: parseStoredSettings(stored).retentionDays };
      }
      if (page.length < PROJECT_PAGE) return;
      after = page.at(-1)?.id ?? after;
    }
  }

  async function sweepOnce(): Promise<RetentionSweep> {
    const result: RetentionSweep = { conversations: 0, subjects: await shredOwed() };
    for await (const project of retentionOfProjects()) {
      const days = project.retentionDays;
      if (days === null) continue;
      const cutoff = new Date(deps.clock.now().getTime() - days * DAY_MS);
      for (;;) {
        const deleted = await deleteBatch(project.orgId, project.id, cutoff, days);
        result.conversations += deleted;
        if (deleted > 0) result.subjects += await shredOwed(project.orgId);
        if (deleted < BATCH) break;
      }
    }
    return result;
  }

  let running: Promise<RetentionSweep> | undefined;
  /** One sweep at a time: a call while one runs gets that one's result. */
  function sweep(): Promise<RetentionSweep> {
    running ??= sweepOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  return { sweep };
}

export type Retention = ReturnType<typeof createRetention>;
