/**
 * SQL of the keys module: the "rotation in progress" marker of each organisation (a row of
 * reencryption_checkpoints) and the subject key scopes of an organisation. Owns these queries
 * only; must never read or write a wrapped key.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Scope } from '../../platform/crypto/types.ts';

const pendingJob = (orgId: string): string => `rotate-org:${orgId}:pending`;

export function createKeysStore(db: Kysely<DB>) {
  return {
    /** The key version an unfinished `rotate-org` was re-encrypting to, if any. */
    async pendingRotation(orgId: string): Promise<number | undefined> {
      const row = await db.selectFrom('reencryption_checkpoints').select('last_id').where('job_id', '=', pendingJob(orgId)).executeTakeFirst();
      return row === undefined ? undefined : Number(row.last_id);
    },
    async markPending(orgId: string, version: number): Promise<void> {
      const value = String(version);
      await db
        .insertInto('reencryption_checkpoints')
        .values({ job_id: pendingJob(orgId), last_id: value, updated_at: new Date() })
        .onConflict((oc) => oc.column('job_id').doUpdateSet({ last_id: value, updated_at: new Date() }))
        .execute();
    },
    /** Done: the marker and the per-column checkpoints of this rotation go. */
    async finish(orgId: string, jobPrefix: string): Promise<void> {
      await db
        .deleteFrom('reencryption_checkpoints')
        .where((eb) => eb.or([eb('job_id', '=', pendingJob(orgId)), eb(sql<string>`left(job_id, ${jobPrefix.length})`, '=', jobPrefix)]))
        .execute();
    },
    async subjectScopes(orgId: string): Promise<Scope[]> {
      const prefix = `subject:${orgId}:`;
      const { rows } = await sql<{ scope: string }>`
        SELECT DISTINCT scope FROM keystore.subject_keys WHERE left(scope, ${prefix.length}) = ${prefix} ORDER BY scope`.execute(db);
      return rows.map((r) => r.scope as Scope);
    },
  };
}

export type KeysStore = ReturnType<typeof createKeysStore>;
