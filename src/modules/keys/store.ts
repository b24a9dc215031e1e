/**
 * SQL of the keys module: the "rotation in progress" marker of each organisation (a row of
 * reencryption_checkpoints) and the subject key scopes of an organisation. Owns these queries
 * only; must never read or write a wrapped key.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Scope } from '../../platform/crypto/types.ts';

const pendingJob = (orgId: string): string => `rotate-org:${orgId}:pending`;
/** Present while the pending rotation is one that gave the subject keys new versions too. */
const subjectsJob = (orgId: string): string => `rotate-org:${orgId}:pending-subjects`;

export function createKeysStore(db: Kysely<DB>) {
  return {
    /** The key version an unfinished `rotate-org` was re-encrypting to, if any, and whether it rotated the subject keys too. */
    async pendingRotation(orgId: string): Promise<{ version: number; subjects: boolean } | undefined> {
      const rows = await db.selectFrom('reencryption_checkpoints').select(['job_id', 'last_id']).where('job_id', 'in', [pendingJob(orgId), subjectsJob(orgId)]).execute();
      const marker = rows.find((r) => r.job_id === pendingJob(orgId));
      return marker === undefined ? undefined : { version: Number(marker.last_id), subjects: rows.some((r) => r.job_id === subjectsJob(orgId)) };
    },
    /** One transaction: a rotation is never marked pending without saying whether it rotated the subjects. */
    async markPending(orgId: string, version: number, subjects: boolean): Promise<void> {
      await db.transaction().execute(async (tx) => {
        await tx.deleteFrom('reencryption_checkpoints').where('job_id', 'in', [pendingJob(orgId), subjectsJob(orgId)]).execute();
        const rows = [{ job_id: pendingJob(orgId), last_id: String(version), updated_at: new Date() }];
        if (subjects) rows.push({ job_id: subjectsJob(orgId), last_id: String(version), updated_at: new Date() });
        await tx.insertInto('reencryption_checkpoints').values(rows).execute();
      });
    },
    /** Done: the markers and the per-column checkpoints of this rotation go. */
    async finish(orgId: string, jobPrefix: string): Promise<void> {
      await db
        .deleteFrom('reencryption_checkpoints')
        .where((eb) => eb.or([eb('job_id', 'in', [pendingJob(orgId), subjectsJob(orgId)]), eb(sql<string>`left(job_id, ${jobPrefix.length})`, '=', jobPrefix)]))
        .execute();
    },
    /** Whether the organisation exists: a mistyped id must not get a key of its own. */
    async orgExists(orgId: string): Promise<boolean> {
      return (await db.selectFrom('orgs').select('id').where('id', '=', orgId).executeTakeFirst()) !== undefined;
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
