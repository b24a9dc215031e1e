/**
 * Deleting conversations for good (retention, erasure): their messages and vault rows go with
 * them (foreign keys cascade). The key subjects nothing needs any more — a deleted conversation's
 * own (it had no visitor), and each visitor left without a conversation — are recorded in
 * `pending_shreds` in the same transaction and shredded once it has committed (shredPending):
 * a process stopped in between leaves them owed, and the next sweep shreds them.
 *
 * An anonymous visitor left without a conversation goes too. A verified visitor's row stays (its
 * key is shredded): it is how the host site's user is found again, and a message of theirs still
 * in flight would otherwise bring the row back as an anonymous one.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';

export async function deleteConversations(tx: Tx, orgId: string, conversationIds: readonly string[]): Promise<{ deleted: number; subjects: string[] }> {
  if (conversationIds.length === 0) return { deleted: 0, subjects: [] };
  const owners = await tx.selectFrom('conversations').select('visitor_id').distinct().where('id', 'in', conversationIds).where('visitor_id', 'is not', null).execute();
  const visitorIds = owners.map((r) => r.visitor_id).filter((v): v is string => v !== null);
  // Locked in id order first: two deletions touching one visitor (overlapping sweeps, a sweep and
  // an erasure) take turns, and the later one sees what the earlier deleted, so one of them finds
  // the visitor left without a conversation.
  if (visitorIds.length) await tx.selectFrom('visitors').select('id').where('id', 'in', visitorIds).orderBy('id').forUpdate().execute();
  const gone = await tx.deleteFrom('conversations').where('id', 'in', conversationIds).returning(['id', 'visitor_id']).execute();
  const stillUsed = visitorIds.length
    ? new Set((await tx.selectFrom('conversations').select('visitor_id').where('visitor_id', 'in', visitorIds).execute()).map((r) => r.visitor_id))
    : new Set<string | null>();
  const orphans = visitorIds.filter((v) => !stillUsed.has(v));
  if (orphans.length) await tx.deleteFrom('visitors').where('id', 'in', orphans).where('verified', '=', false).execute();
  const subjects = [...gone.filter((c) => c.visitor_id === null).map((c) => c.id), ...orphans];
  await owe(tx, orgId, subjects);
  return { deleted: gone.length, subjects };
}

/** Records key subjects owed a shred, in the caller's transaction. */
export async function owe(tx: Tx, orgId: string, subjects: readonly string[]): Promise<void> {
  if (subjects.length === 0) return;
  await tx
    .insertInto('pending_shreds')
    .values(subjects.map((subject_id) => ({ org_id: orgId, subject_id })))
    .onConflict((oc) => oc.columns(['org_id', 'subject_id']).doNothing())
    .execute();
}

/**
 * Shreds every key owed (of one organisation, or all), oldest first, each row going once its key
 * is shredded; returns how many. `db` is the owner connection, outside any tenant transaction
 * (PGlite is one connection, and shredding uses it).
 */
export async function shredPending(db: Kysely<DB>, shred: (orgId: string, subjectId: string) => Promise<number>, orgId?: string): Promise<number> {
  let shredded = 0;
  for (;;) {
    let q = db.selectFrom('pending_shreds').select(['org_id', 'subject_id']).orderBy('created_at').limit(500);
    if (orgId !== undefined) q = q.where('org_id', '=', orgId);
    const owed = await q.execute();
    if (owed.length === 0) return shredded;
    for (const { org_id, subject_id } of owed) {
      await shred(org_id, subject_id);
      await db.deleteFrom('pending_shreds').where('org_id', '=', org_id).where('subject_id', '=', subject_id).execute();
      shredded += 1;
    }
  }
}
