/**
 * Erasure on request (GDPR art. 17): a person, named by their visitor id or by an identifier they
 * gave (an e-mail address, a phone number, …), is erased for good. Every conversation of theirs
 * goes — found through the visitor, or through the keyed hashes of the vault (each candidate
 * confirmed by decrypting it) and then all conversations of the visitors found — with its
 * messages and vault rows, and so does the visitor row; then their keys are crypto-shredded, so
 * copies in backups and database files stay unreadable. One transaction deletes and records
 * `privacy.erased` (counts and how the person was named, never the identifier itself) and the
 * keys owed a shred; they are shredded after it commits (deletion.ts).
 *
 * A message the person sends while the erasure runs may start a conversation the erasure did not
 * see; its key is shredded with the rest, so it cannot be read either.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId } from '../../platform/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { deleteConversations, owe, shredPending } from '../chat/deletion.ts';
import type { PiiEntities } from '../pii/entities.ts';
import type { EntityType } from '../pii/policy.ts';

export type ErasureSubject = { visitorId: string } | { identifier: { type: EntityType; value: string } };

export interface ErasureResult {
  id: string;
  conversations: number;
  /** Keys crypto-shredded. */
  subjects: number;
  erasedAt: string;
}

export function createErasureService(deps: {
  db: Kysely<DB>;
  clock: Clock;
  audit: Pick<AuditService, 'record'>;
  entities: Pick<PiiEntities, 'conversationsHolding'>;
  hashKey: (orgId: string) => Promise<Buffer>;
  shred: (orgId: string, subjectId: string) => Promise<number>;
}) {
  /** The visitors named (directly, or as the people whose conversations hold the identifier), and conversations without one. */
  async function people(orgId: string, subject: ErasureSubject): Promise<{ visitorIds: string[]; conversationIds: string[] }> {
    if ('visitorId' in subject) return { visitorIds: [subject.visitorId], conversationIds: [] };
    const { type, value } = subject.identifier;
    const holding = await deps.entities.conversationsHolding(orgId, type, value, await deps.hashKey(orgId));
    if (holding.length === 0) return { visitorIds: [], conversationIds: [] };
    const rows = await withTenant(deps.db, orgId, (tx) => tx.selectFrom('conversations').select(['id', 'visitor_id']).where('id', 'in', holding).execute());
    return {
      visitorIds: [...new Set(rows.map((r) => r.visitor_id).filter((v): v is string => v !== null))],
      conversationIds: rows.filter((r) => r.visitor_id === null).map((r) => r.id),
    };
  }

  async function erase(orgId: string, subject: ErasureSubject, actor: { principal: Principal; ip: string | null }): Promise<ErasureResult> {
    const id = newId('era');
    const found = await people(orgId, subject);
    const { deleted, subjects } = await withTenant(deps.db, orgId, async (tx) => {
      const ofVisitors = found.visitorIds.length
        ? (await tx.selectFrom('conversations').select('id').where('visitor_id', 'in', found.visitorIds).execute()).map((r) => r.id)
        : [];
      const result = await deleteConversations(tx, orgId, [...ofVisitors, ...found.conversationIds]);
      // The person's visitor rows go, verified ones too (retention keeps those), and their keys are owed.
      if (found.visitorIds.length) await tx.deleteFrom('visitors').where('id', 'in', found.visitorIds).execute();
      await owe(tx, orgId, found.visitorIds);
      await deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'privacy.erased',
        target: 'visitorId' in subject ? { type: 'visitor', id: subject.visitorId } : { type: 'erasure', id },
        ip: actor.ip,
        metadata: {
          erasureId: id,
          by: 'visitorId' in subject ? 'visitor' : 'identifier',
          ...('identifier' in subject ? { identifierType: subject.identifier.type } : {}),
          conversations: result.deleted,
          visitors: found.visitorIds.length,
        },
      });
      return { deleted: result.deleted, subjects: [...new Set([...result.subjects, ...found.visitorIds])] };
    });
    // Owed in the transaction, shredded now; if this stops half-way, the next retention sweep does it.
    await shredPending(deps.db, deps.shred, orgId);
    return { id, conversations: deleted, subjects: subjects.length, erasedAt: deps.clock.now().toISOString() };
  }

  return { erase };
}

export type ErasureService = ReturnType<typeof createErasureService>;
