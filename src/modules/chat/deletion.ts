/**
 * Deleting conversations for good (retention, erasure): their messages and vault rows go with
 * them (foreign keys cascade). The key subjects nothing needs any more — a deleted conversation's
 * own (it had no visitor), and each visitor left without a conversation — are recorded in
 * `pending_shreds` in the same transaction and shredded once it has committed
 * (platform/crypto/pending-shreds.ts):
 * a process stopped in between leaves them owed, and the next sweep shreds them.
 *
 * An anonymous visitor left without a conversation goes too. A verified visitor's row stays (its
 * key is shredded): it is how the host site's user is found again, and a message of theirs still
 * in flight would otherwise bring the row back as an anonymous one.
 */
import { owe } from '../../platform/crypto/pending-shreds.ts';
import type { Tx } from '../../platform/db/tenant.ts';

export async function deleteConversations(
  tx: Tx,
  orgId: string,
  conversationIds: readonly string[],
  /** Only those whose last message is still older than this (retention: one continued meanwhile stays). */
  lastMessageBefore?: Date,
): Promise<{ deleted: number; subjects: string[] }> {
  if (conversationIds.length === 0) return { deleted: 0, subjects: [] };
  const owners = await tx.selectFrom('conversations').select('visitor_id').distinct().where('id', 'in', conversationIds).where('visitor_id', 'is not', null).execute();
  const visitorIds = owners.map((r) => r.visitor_id).filter((v): v is string => v !== null);
  // Locked in id order first: two deletions touching one visitor (overlapping sweeps, a sweep and
  // an erasure) take turns, and the later one sees what the earlier deleted.
  if (visitorIds.length) await tx.selectFrom('visitors').select('id').where('id', 'in', visitorIds).orderBy('id').forUpdate().execute();
  let q = tx.deleteFrom('conversations').where('id', 'in', conversationIds);
  if (lastMessageBefore) q = q.where('last_message_at', '<', lastMessageBefore);
  const gone = await q.returning(['id', 'visitor_id']).execute();
  // Only visitors whose conversations this deletion removed: one another deletion already
  // orphaned (and owed) is not owed again, which could shred a key they have since been given.
  const touched = [...new Set(gone.map((c) => c.visitor_id).filter((v): v is string => v !== null))];
  const stillUsed = touched.length
    ? new Set((await tx.selectFrom('conversations').select('visitor_id').where('visitor_id', 'in', touched).execute()).map((r) => r.visitor_id))
    : new Set<string | null>();
  const orphans = touched.filter((v) => !stillUsed.has(v));
  if (orphans.length) await tx.deleteFrom('visitors').where('id', 'in', orphans).where('verified', '=', false).execute();
  const subjects = [...gone.filter((c) => c.visitor_id === null).map((c) => c.id), ...orphans];
  await owe(tx, orgId, subjects);
  return { deleted: gone.length, subjects };
}
