/**
 * A conversation's PII entities (the rows of its encrypted vault) for people who manage the
 * organisation: list them as type, token and how often each token occurs, and reveal one
 * original value. A reveal is written to the audit log before the value leaves this module,
 * with the entity's id and type and never the value. Never logs values.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { unlessErased, type ErasureCheck } from '../../platform/crypto/erasure.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import type { ContentCipher } from '../chat/content-cipher.ts';
import { messagePages } from '../chat/message-pages.ts';
import { entityTypes, type EntityType } from './policy.ts';
import type { PublicEntity, RevealedEntity } from './schemas.ts';
import { hashIdentifier } from './hash.ts';
import { normalizeValue } from './normalize.ts';
import { identifierSpellings } from './spellings.ts';
import { ERASED_VALUE_HASH, tokenNumber } from './vault.ts';

export interface EntityLocation {
  orgId: string;
  projectId: string;
  conversationId: string;
}

const TOKEN = /<[A-Z][A-Z_]*_\d+>/g;
const isEntityType = (value: string): value is EntityType => (entityTypes as readonly string[]).includes(value);

export function createPiiEntities(deps: { db: Kysely<DB>; cipher: ContentCipher; erased: ErasureCheck; audit: Pick<AuditService, 'record'> }) {
  const { db, cipher, erased } = deps;

  /** Directory read by id (outside tenant scope): the caller does not know the organisation yet. */
  async function locate(entityId: string): Promise<EntityLocation | undefined> {
    const row = await db
      .selectFrom('pii_vault')
      .innerJoin('conversations', 'conversations.id', 'pii_vault.conversation_id')
      .select(['pii_vault.org_id as orgId', 'conversations.project_id as projectId', 'pii_vault.conversation_id as conversationId'])
      .where('pii_vault.id', '=', entityId)
      .executeTakeFirst();
    return row;
  }

  /**
   * Every entity of the conversation; `count` = occurrences of its token across all its messages,
   * read a page at a time (a conversation may have grown long) and decrypted outside the
   * transactions; an erased subject's messages simply count nothing.
   */
  async function list(conversation: { id: string; orgId: string }): Promise<PublicEntity[]> {
    const { orgId } = conversation;
    const entities = await withTenant(db, orgId, (tx) => tx.selectFrom('pii_vault').select(['id', 'type', 'token']).where('conversation_id', '=', conversation.id).execute());
    const counts = new Map<string, number>();
    for await (const messages of messagePages(db, orgId, conversation.id)) {
      for (const m of messages) {
        const text = (await unlessErased(erased, orgId, m.content, (c) => cipher.decrypt(c, { orgId, table: 'messages', column: 'content', rowId: m.id }))) ?? '';
        for (const token of text.match(TOKEN) ?? []) counts.set(token, (counts.get(token) ?? 0) + 1);
      }
    }
    return entities
      .filter((e): e is typeof e & { type: EntityType } => isEntityType(e.type))
      .sort((a, b) => a.type.localeCompare(b.type) || tokenNumber(a.token) - tokenNumber(b.token))
      .map((e) => ({ id: e.id, type: e.type, token: e.token, count: counts.get(e.token) ?? 0 }));
  }

  /** The original value; the audit record is committed before it is returned. */
  async function reveal(entityId: string, orgId: string, actor: { principal: Principal; ip: string }): Promise<RevealedEntity> {
    const row = await withTenant(db, orgId, (tx) =>
      tx.selectFrom('pii_vault').select(['id', 'conversation_id', 'type', 'token', 'value', 'value_hash']).where('id', '=', entityId).executeTakeFirst(),
    );
    if (!row || !isEntityType(row.type) || row.value_hash === ERASED_VALUE_HASH) throw new AppError('not_found', 'This entity does not exist.');
    const type = row.type;
    const value = await unlessErased(erased, orgId, row.value, (c) => cipher.decrypt(c, { orgId, table: 'pii_vault', column: 'value', rowId: row.id }));
    if (value === undefined) throw new AppError('not_found', 'This entity does not exist.');
    await withTenant(db, orgId, (tx) =>
      deps.audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'pii.revealed',
        target: { type: 'pii_entity', id: row.id },
        ip: actor.ip,
        metadata: { entityType: type, conversationId: row.conversation_id },
      }),
    );
    return { id: row.id, type, token: row.token, value };
  }

  /**
   * The vault rows of the organisation that hold this value (in any of the spellings it may have
   * been stored in: spellings.ts): found by the keyed hashes, each candidate confirmed by
   * decrypting it (the hash is 48 bits: another person's value may share it), with whether the
   * conversation's own subject wrote it or one of the organisation's callers did. Values already
   * erased are not found.
   */
  async function vaultRowsHolding(orgId: string, type: EntityType, value: string, hashKey: Buffer): Promise<VaultMatch[]> {
    const spellings = identifierSpellings(type, value);
    const rows = await withTenant(db, orgId, (tx) =>
      tx
        .selectFrom('pii_vault')
        .select(['id', 'conversation_id', 'value', 'by_subject'])
        .where('type', '=', type)
        .where('value_hash', 'in', spellings.map((s) => hashIdentifier(type, s.value, hashKey)))
        .execute(),
    );
    const wanted = new Map(spellings.map((s) => [s.value, s.national]));
    const found: VaultMatch[] = [];
    for (const r of rows) {
      const original = await unlessErased(erased, orgId, r.value, (c) => cipher.decrypt(c, { orgId, table: 'pii_vault', column: 'value', rowId: r.id }));
      const national = original === undefined ? undefined : wanted.get(normalizeValue(type, original));
      if (national !== undefined) found.push({ id: r.id, conversationId: r.conversation_id, bySubject: r.by_subject, national });
    }
    return found;
  }

  return { locate, list, reveal, vaultRowsHolding };
}

export type PiiEntities = ReturnType<typeof createPiiEntities>;

export interface VaultMatch {
  id: string;
  conversationId: string;
  /** Written by the conversation's own visitor (not by one of the organisation's callers). */
  bySubject: boolean;
  /** Matched only as a national phone number, which another country's number may share. */
  national: boolean;
}
