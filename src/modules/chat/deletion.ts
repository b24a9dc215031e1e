/**
 * Deleting conversations for good (retention, erasure): their messages and vault rows go with
 * them (foreign keys cascade), and so does a visitor row left with no conversation. Returns the
 * key subjects nothing needs any more — a deleted conversation's own (it had no visitor) and each
 * visitor left without one — for the caller to shred once its transaction has committed.
 */
import type { Tx } from '../../platform/db/tenant.ts';

export async function deleteConversations(tx: Tx, conversationIds: readonly string[]): Promise<{ deleted: number; subjects: string[] }> {
  if (conversationIds.length === 0) return { deleted: 0, subjects: [] };
  const gone = await tx.deleteFrom('conversations').where('id', 'in', conversationIds).returning(['id', 'visitor_id']).execute();
  const visitorIds = [...new Set(gone.map((c) => c.visitor_id).filter((v): v is string => v !== null))];
  const stillUsed = visitorIds.length
    ? new Set((await tx.selectFrom('conversations').select('visitor_id').where('visitor_id', 'in', visitorIds).execute()).map((r) => r.visitor_id))
    : new Set<string | null>();
  const orphans = visitorIds.filter((v) => !stillUsed.has(v));
  if (orphans.length) await tx.deleteFrom('visitors').where('id', 'in', orphans).execute();
  return { deleted: gone.length, subjects: [...gone.filter((c) => c.visitor_id === null).map((c) => c.id), ...orphans] };
}
