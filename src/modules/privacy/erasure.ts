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
import { ERASED_VALUE_HASH } from '../pii/vault.ts';
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { AppError } from '../../platform/http/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Sealer } from '../../platform/crypto/envelope.ts';
import { batches } from '../../platform/db/batches.ts';
import type { AuditService } from '../audit/service.ts';
import { owe, type ShredOwed } from '../../platform/crypto/pending-shreds.ts';
import { deleteConversations } from '../chat/deletion.ts';
import type { PiiEntities } from '../pii/entities.ts';
import type { EntityType } from '../pii/policy.ts';

/**
 * Identifiers that name one person. A name, a date of birth, an address or an IP address may be
 * shared by many (a staff member's name in visitors' messages), so erasing by them would take
 * other people's conversations with it: erase those people by visitor id.
 */
export const erasureIdentifierTypes = ['EMAIL', 'PHONE', 'IBAN', 'CREDIT_CARD', 'US_SSN', 'PASSPORT', 'CRYPTO_WALLET'] as const satisfies readonly EntityType[];
export type ErasureIdentifierType = (typeof erasureIdentifierTypes)[number];

export type ErasureSubject = { visitorId: string } | { identifier: { type: ErasureIdentifierType; value: string } };

/** A vault value the organisation's own caller wrote into another person's conversation. */
interface Mention {
  id: string;
  subjectId: string;
  /** Matched only as a national phone number. */
  national: boolean;
}

export interface ErasureOptions {
  /** Only count what would go. */
  dryRun?: boolean;
  /**
   * An identifier held in more than one visitor's conversations (a shared mailbox, a value an
   * agent wrote into several) erases them all only when the caller states how many (from a dry run).
   */
  expectVisitors?: number;
  /** Likewise when conversations without a visitor (API conversations) go too: what the dry run counted. */
  expectConversations?: number;
  /** Likewise for values written into other people's conversations found only in a national spelling. */
  expectMentions?: number;
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

interface Found {
  visitorIds: string[];
  /** Conversations without a visitor that hold the identifier. */
  conversationIds: string[];
  mentions: Mention[];
  /** Some visitor or conversation was found only through a national phone spelling. */
  nationalOnly: boolean;
}

export interface ErasureResult {
  id: string | null;
  dryRun: boolean;
  conversations: number;
  visitors: number;
  /**
   * The identifier as the organisation's own callers wrote it into other visitors' conversations:
   * those values are removed alone (the conversations belong to other people).
   */
  mentions: number;
  /** Keys owed a crypto-shred by this erasure. */
  subjects: number;
  /** Of those, keys not shredded when the reply was written (a failure, or another runner holds one): the next retention sweep shreds them. */
  keysOwed: number;
  erasedAt: string | null;
}

export function createErasureService(deps: {
  db: Kysely<DB>;
  clock: Clock;
  audit: Pick<AuditService, 'record'>;
  entities: Pick<PiiEntities, 'vaultRowsHolding'>;
  hashKey: (orgId: string) => Promise<Buffer>;
  shredOwed: ShredOwed;
  /** Encrypts under a conversation subject's key (chat/content-cipher.ts). */
  sealer: (subject: { orgId: string; subjectId: string }) => Promise<Sealer>;
}) {
  const conversationsOf = async (tx: Tx, visitorIds: readonly string[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const part of batches(visitorIds)) ids.push(...(await tx.selectFrom('conversations').select('id').where('visitor_id', 'in', part).execute()).map((r) => r.id));
    return ids;
  };
  /** How the person was named, for the audit record: never the identifier itself. */
  const namedBy = (subject: ErasureSubject) =>
    'visitorId' in subject ? { target: { type: 'visitor', id: subject.visitorId }, by: { by: 'visitor' } } : { target: undefined, by: { by: 'identifier', identifierType: subject.identifier.type } };

  /**
   * The visitors named (directly, or as the people who wrote the identifier into their own
   * conversations), conversations without a visitor that hold it, and the vault rows where the
   * organisation's own callers wrote it into someone else's conversation (an agent's "I forwarded
   * this to bob@partner.com"): those values go alone — that conversation's visitor is another person.
   */
  async function people(orgId: string, subject: ErasureSubject): Promise<Found> {
    if ('visitorId' in subject) {
      // Row-level security hides another organisation's visitor: nothing to erase here.
      const known = await withTenant(deps.db, orgId, (tx) => tx.selectFrom('visitors').select('id').where('id', '=', subject.visitorId).execute());
      return { visitorIds: known.map((v) => v.id), conversationIds: [], mentions: [], nationalOnly: false };
    }
    const { type, value } = subject.identifier;
    const holding = await deps.entities.vaultRowsHolding(orgId, type, value, await deps.hashKey(orgId));
    if (holding.length === 0) return { visitorIds: [], conversationIds: [], mentions: [], nationalOnly: false };
    const owners = new Map<string, string | null>();
    await withTenant(deps.db, orgId, async (tx) => {
      for (const part of batches([...new Set(holding.map((h) => h.conversationId))])) {
        for (const r of await tx.selectFrom('conversations').select(['id', 'visitor_id']).where('id', 'in', part).execute()) owners.set(r.id, r.visitor_id);
      }
    });
    const visitorIds = new Set<string>();
    const conversationIds = new Set<string>();
    // Visitors and conversations found through an international spelling: certainly this number.
    const certain = new Set<string>();
    for (const h of holding) {
      const visitor = owners.get(h.conversationId);
      if (visitor === undefined) continue; // deleted meanwhile
      const party = visitor ?? h.conversationId;
      if (visitor === null) conversationIds.add(h.conversationId);
      else if (h.bySubject) visitorIds.add(visitor);
      else continue;
      if (!h.national) certain.add(party);
    }
    const nationalOnly = [...visitorIds, ...conversationIds].some((party) => !certain.has(party));
    const mentions = holding.flatMap((h) => {
      const visitor = owners.get(h.conversationId);
      return visitor && !h.bySubject && !visitorIds.has(visitor) ? [{ id: h.id, subjectId: visitor, national: h.national }] : [];
    });
    return { visitorIds: [...visitorIds], conversationIds: [...conversationIds], mentions, nationalOnly };
  }

  /**
   * An identifier erases without a stated count only what surely belongs to one person: one
   * visitor, one conversation without a visitor, found by the value itself (not only as a national
   * phone number, which another country's number may share). Beyond that the caller states what a
   * dry run counted: expectVisitors, expectMentions for values in other people's conversations
   * found only nationally (both checked here), and expectConversations when several conversations
   * without a visitor go (returned: why their count must match, checked in the erasing transaction).
   */
  function confirmed(found: Found, options: ErasureOptions): string | undefined {
    const visitors = found.visitorIds.length;
    const loose = found.conversationIds.length;
    const why = found.nationalOnly
      ? "It was found written as a national phone number, which may be another country's number too."
      : `It is in the conversations of ${plural(visitors, 'visitor')} and in ${plural(loose, 'conversation')} without a visitor.`;
    if ((visitors > 1 || (found.nationalOnly && visitors > 0)) && options.expectVisitors !== visitors) {
      throw new AppError('conflict', `${why} Check with dryRun: true, then send expectVisitors: ${visitors} to erase them all, or erase each person by visitor id.`);
    }
    const mentions = found.mentions.length;
    if (found.mentions.some((m) => m.national) && options.expectMentions !== mentions) {
      throw new AppError(
        'conflict',
        `It was found written as a national phone number in other people's conversations, which may be another country's number too. Check with dryRun: true, then send expectMentions: ${mentions} to erase those values.`,
      );
    }
    return loose > 1 || (found.nationalOnly && loose > 0) ? why : undefined;
  }

  async function erase(orgId: string, subject: ErasureSubject, actor: { principal: Principal; ip: string | null }, options: ErasureOptions = {}): Promise<ErasureResult> {
    const found = await people(orgId, subject);
    if (options.dryRun) {
      // Audited too: a dry run tells whether a person's identifier is in the organisation's conversations.
      const { target, by } = namedBy(subject);
      const conversations = await withTenant(deps.db, orgId, async (tx) => {
        const n = (await conversationsOf(tx, found.visitorIds)).length + found.conversationIds.length;
        await deps.audit.record(tx, {
          orgId,
          actor: actor.principal,
          action: 'privacy.erasure_checked',
          target: target ?? { type: 'org', id: orgId },
          ip: actor.ip,
          metadata: { ...by, conversations: n, visitors: found.visitorIds.length, mentions: found.mentions.length },
        });
        return n;
      });
      return { id: null, dryRun: true, conversations, visitors: found.visitorIds.length, mentions: found.mentions.length, subjects: 0, keysOwed: 0, erasedAt: null };
    }
    const conversationsToState = 'identifier' in subject ? confirmed(found, options) : undefined;
    const id = newId('era');
    const { target, by } = namedBy(subject);
    // Resolved before the transaction, which must not wait on a key load (see Cipher.sealer).
    const seals = new Map<string, Sealer>();
    for (const m of found.mentions) if (!seals.has(m.subjectId)) seals.set(m.subjectId, await deps.sealer({ orgId, subjectId: m.subjectId }));
    const { deleted, mentions, subjects } = await withTenant(deps.db, orgId, async (tx) => {
      const conversationIds = [...(await conversationsOf(tx, found.visitorIds)), ...found.conversationIds];
      if (conversationsToState !== undefined && options.expectConversations !== conversationIds.length) {
        throw new AppError('conflict', `${conversationsToState} Check with dryRun: true, then send expectConversations: ${conversationIds.length} to erase them all.`);
      }
      const result = await deleteConversations(tx, orgId, conversationIds);
      // The person's visitor rows go, verified ones too (retention keeps those), and their keys are owed.
      for (const part of batches(found.visitorIds)) await tx.deleteFrom('visitors').where('id', 'in', part).execute();
      await owe(tx, orgId, found.visitorIds);
      let mentions = 0;
      for (const m of found.mentions) {
        const sealed = (seals.get(m.subjectId) as Sealer)('', { orgId, table: 'pii_vault', column: 'value', rowId: m.id });
        const r = await tx.updateTable('pii_vault').set({ value: sealed, value_hash: ERASED_VALUE_HASH }).where('id', '=', m.id).where('by_subject', '=', false).executeTakeFirst();
        mentions += Number(r.numUpdatedRows);
      }
      await deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'privacy.erased',
        target: target ?? { type: 'erasure', id },
        ip: actor.ip,
        metadata: { erasureId: id, ...by, conversations: result.deleted, visitors: found.visitorIds.length, mentions },
      });
      return { deleted: result.deleted, mentions, subjects: [...new Set([...result.subjects, ...found.visitorIds])] };
    });
    // Owed in the transaction, shredded now; what fails (or a stop half-way) the next retention sweep does.
    await deps.shredOwed(orgId);
    // This erasure's keys still owed: one that failed, or one another runner holds (a sweep
    // shredding it right now, or one that stopped mid-shred, until its lease ends).
    let keysOwed = 0;
    for (const part of batches(subjects)) {
      const row = await deps.db.selectFrom('pending_shreds').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', orgId).where('subject_id', 'in', part).executeTakeFirstOrThrow();
      keysOwed += Number(row.n);
    }
    return { id, dryRun: false, conversations: deleted, visitors: found.visitorIds.length, mentions, subjects: subjects.length, keysOwed, erasedAt: deps.clock.now().toISOString() };
  }

  return { erase };
}

export type ErasureService = ReturnType<typeof createErasureService>;
