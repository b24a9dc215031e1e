/**
 * Conversation retention: a project's `retentionDays` (default 90; null keeps conversations until
 * they are deleted) is enforced by deleting every conversation whose last message is older, with
 * its messages and vault rows (foreign keys cascade), and crypto-shredding the keys nothing else
 * needs: a conversation's own key (conversations without a visitor), and a visitor's key once
 * none of their conversations is left (their visitor row goes too). Copies in backups made
 * before stay unreadable without those keys.
 *
 * Runs as a platform job: a sweep reads every project, deletes in batches inside the project's
 * tenant transaction with an audit record, and shreds after the transaction (PGlite is one
 * connection). Sweeps are idempotent, so instances may run them at the same time; a crash between
 * the delete and the shred leaves keys with nothing left to decrypt.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { AuditService } from '../audit/service.ts';
import { parseStoredSettings } from '../projects/settings.ts';
import { deleteConversations } from './deletion.ts';

const DAY_MS = 86_400_000;
/** Conversations deleted per transaction. */
const BATCH = 500;

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
  shred: (orgId: string, subjectId: string) => Promise<number>;
}) {
  /** One batch of one project: what went, and the key subjects nothing needs any more. */
  async function deleteBatch(orgId: string, projectId: string, cutoff: Date, days: number): Promise<{ deleted: number; subjects: string[] }> {
    return withTenant(deps.db, orgId, async (tx) => {
      const expired = await tx.selectFrom('conversations').select('id').where('project_id', '=', projectId).where('last_message_at', '<', cutoff).limit(BATCH).execute();
      const { deleted, subjects } = await deleteConversations(tx, expired.map((c) => c.id));
      if (deleted === 0) return { deleted: 0, subjects: [] };
      await deps.audit.record(tx, {
        orgId,
        actor: { kind: 'system' },
        action: 'conversation.retention_expired',
        target: { type: 'project', id: projectId },
        metadata: { conversations: deleted, retentionDays: days, lastMessageBefore: cutoff.toISOString() },
      });
      return { deleted, subjects };
    });
  }

  async function sweep(): Promise<RetentionSweep> {
    const result: RetentionSweep = { conversations: 0, subjects: 0 };
    const projects = await deps.db.selectFrom('projects').select(['id', 'org_id', 'settings']).execute();
    for (const project of projects) {
      const days = parseStoredSettings(project.settings).retentionDays;
      if (days === null) continue;
      const cutoff = new Date(deps.clock.now().getTime() - days * DAY_MS);
      for (;;) {
        const batch = await deleteBatch(project.org_id, project.id, cutoff, days);
        for (const subject of batch.subjects) await deps.shred(project.org_id, subject);
        result.conversations += batch.deleted;
        result.subjects += batch.subjects.length;
        if (batch.deleted < BATCH) break;
      }
    }
    return result;
  }

  return { sweep };
}

export type Retention = ReturnType<typeof createRetention>;
