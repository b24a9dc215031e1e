/**
 * Keys owed a crypto-shred: whoever deletes a person's rows (retention, erasure, deleting a
 * project) records in the same transaction the key subjects nothing needs any more, and shreds
 * them once it has committed. A process stopped in between leaves them owed; the next retention
 * sweep shreds them — the rows are gone by then, so nothing else would find those keys again.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import type { Tx } from '../db/tenant.ts';
import { PARAMETERS_PER_STATEMENT, batches } from '../db/batches.ts';

/** Records key subjects owed a shred, in the caller's transaction. */
export async function owe(tx: Tx, orgId: string, subjects: readonly string[]): Promise<void> {
  for (const part of batches(subjects, PARAMETERS_PER_STATEMENT / 2)) {
    await tx
      .insertInto('pending_shreds')
      .values(part.map((subject_id) => ({ org_id: orgId, subject_id })))
      // Owed again while it waits: a runner already shredding it keeps the row for another pass.
      .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doUpdateSet({ generation: sql<number>`pending_shreds.generation + 1` }))
      .execute();
  }
}

/** How long a runner holds an owed shred before another may take it over (it may have stopped). */
const CLAIM_MINUTES = 5;

/**
 * Shreds every key owed (of one organisation, or all), oldest first: each row is claimed (a
 * lease, so two runners never shred one subject at once — the second could destroy a key its
 * visitor has been given since), shredded, then deleted. A shred that fails is reported to
 * `onError` and released for the next run; the others go on. A runner that stops mid-shred
 * holds its claim until the lease ends (CLAIM_MINUTES). `db` is the
 * owner connection, outside any tenant transaction (PGlite is one connection, and shredding uses it).
 */
export async function shredPending(
  db: Kysely<DB>,
  shred: (orgId: string, subjectId: string) => Promise<number>,
  options: { orgId?: string; onError?: (error: unknown) => void } = {},
): Promise<{ shredded: number; failed: number }> {
  const result = { shredded: 0, failed: 0 };
  const claimable = sql<boolean>`(claimed_at IS NULL OR claimed_at < now() - make_interval(mins => ${CLAIM_MINUTES}))`;
  // Each subject is tried once per call: one that failed waits for the next run.
  const tried = new Set<string>();
  for (;;) {
    let q = db.selectFrom('pending_shreds').select(['org_id', 'subject_id']).where(claimable).orderBy('created_at').limit(500);
    if (options.orgId !== undefined) q = q.where('org_id', '=', options.orgId);
    const owed = (await q.execute()).filter((r) => !tried.has(`${r.org_id} ${r.subject_id}`));
    if (owed.length === 0) return result;
    for (const { org_id, subject_id } of owed) {
      tried.add(`${org_id} ${subject_id}`);
      const claimed = await db.updateTable('pending_shreds').set({ claimed_at: sql`now()` }).where('org_id', '=', org_id).where('subject_id', '=', subject_id).where(claimable).returning('generation').execute();
      const generation = claimed[0]?.generation;
      if (generation === undefined) continue; // another runner has it
      try {
        await shred(org_id, subject_id);
        const done = await db.deleteFrom('pending_shreds').where('org_id', '=', org_id).where('subject_id', '=', subject_id).where('generation', '=', generation).executeTakeFirst();
        // Owed again while it was shredded (a key given since): released, for another pass.
        if (Number(done.numDeletedRows) === 0) await db.updateTable('pending_shreds').set({ claimed_at: null }).where('org_id', '=', org_id).where('subject_id', '=', subject_id).execute();
        result.shredded += 1;
      } catch (error) {
        // Released, so the next run tries again (the lease only guards a shred in flight).
        await db.updateTable('pending_shreds').set({ claimed_at: null }).where('org_id', '=', org_id).where('subject_id', '=', subject_id).execute();
        result.failed += 1;
        options.onError?.(error);
      }
    }
  }
}

/** Shreds the keys owed (of one organisation, or all): shredPending bound to one database and shred. */
export type ShredOwed = (orgId?: string) => Promise<{ shredded: number; failed: number }>;

export function owedShredder(db: Kysely<DB>, shred: (orgId: string, subjectId: string) => Promise<number>, onError: (error: unknown) => void): ShredOwed {
  return (orgId) => shredPending(db, shred, { ...(orgId !== undefined ? { orgId } : {}), onError });
}
