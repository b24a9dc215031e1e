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
import { batches } from '../../platform/db/batches.ts';

export async function deleteConversations(
  tx: Tx,
  orgId: string,
  conversationIds: readonly string[],
  /** Only those whose last message is still older than this (retention: one continued meanwhile stays). */
  lastMessageBefore?: Date,
): Promise<{ deleted: number; subjects: string[] }> {
  if (conversationIds.length === 0) return { deleted: 0, subjects: [] };
  const parts = batches(conversationIds);
  const owners = new Set<string>();
  for (const part of parts) {
    for (const r of await tx.selectFrom('conversations').select('visitor_id').distinct().where('id', 'in', part).where('visitor_id', 'is not', null).execute()) {
      if (r.visitor_id !== null) owners.add(r.visitor_id);
    }
  }
  // Locked in id order first: two deletions touching one visitor (overlapping sweeps, a sweep and
  // an erasure) take turns, and the later one sees what the earlier deleted.
  for (const part of batches([...owners].sort())) await tx.selectFrom('visitors').select('id').where('id', 'in', part).orderBy('id').forUpdate().execute();
  const gone: { id: string; visitor_id: string | null }[] = [];
  for (const part of parts) {
    let q = tx.deleteFrom('conversations').where('id', 'in', part);
    if (lastMessageBefore) q = q.where('last_message_at', '<', lastMessageBefore);
    gone.push(...(await q.returning(['id', 'visitor_id']).execute()));
  }
  // Only visitors whose conversations this deletion removed: one another deletion already
  // orphaned (and owed) is not owed again, which could shred a key they have since been given.
  const touched = [...new Set(gone.map((c) => c.visitor_id).filter((v): v is string => v !== null))];
  const stillUsed = new Set<string | null>();
  for (const part of batches(touched)) {
    for (const r of await tx.selectFrom('conversations').select('visitor_id').distinct().where('visitor_id', 'in', part).execute()) stillUsed.add(r.visitor_id);
  }
  const orphans = touched.filter((v) => !stillUsed.has(v));
  for (const part of batches(orphans)) await tx.deleteFrom('visitors').where('id', 'in', part).where('verified', '=', false).execute();
  const subjects = [...gone.filter((c) => c.visitor_id === null).map((c) => c.id), ...orphans];
  await owe(tx, orgId, subjects);
  return { deleted: gone.length, subjects };
}
