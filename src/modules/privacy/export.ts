/**
 * Data portability for an organisation (leaving us, or its own records): everything it holds, as
 * JSON lines — the organisation, its members, projects with their settings, webhooks (without
 * their secrets), knowledge documents
 * (as the text they were reduced to: originals are not kept), and every conversation with its
 * messages decrypted (a line each, after their conversation's) and then its PII entities. Personal
 * data stays as entity tokens unless the caller asks for the values (and may reveal them); either
 * way the export is audited before the first line (`org.exported`). Content whose person was
 * erased is left out. Read page by page, each in its own tenant transaction, and decrypted outside
 * it (PGlite is one connection). The last line, `{"type":"end"}`, says the file is whole.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { unlessErased, type ErasureCheck } from '../../platform/crypto/erasure.ts';
import type { ContentCipher } from '../chat/content-cipher.ts';
import { messagePages } from '../chat/message-pages.ts';
import { ERASED_VALUE_HASH } from '../pii/vault.ts';

const PAGE = 200;
/** Characters of knowledge text one export read holds at most (beyond its first document). */
const DOCUMENT_PAGE_CHARS = 2_000_000;
const iso = (t: Date | string): string => new Date(t).toISOString();

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(keyOf(row));
    if (list) list.push(row);
    else map.set(keyOf(row), [row]);
  }
  return map;
}

export function createOrgExport(deps: { db: Kysely<DB>; cipher: ContentCipher; erased: ErasureCheck }) {
  const { db, cipher, erased } = deps;

  /** Plaintext, or undefined when its person was erased. */
  const open = (orgId: string, ciphertext: string, table: string, column: string, rowId: string): Promise<string | undefined> =>
    unlessErased(erased, orgId, ciphertext, (c) => cipher.decrypt(c, { orgId, table, column, rowId }));

  /**
   * Knowledge documents with the text they were reduced to, a page (and its chunks) per
   * transaction: up to PAGE documents, fewer when their text would pass DOCUMENT_PAGE_CHARS (a
   * document holds up to 1,000,000 characters: 200 large ones read at once were 200 MB).
   */
  async function* documents(orgId: string): AsyncGenerator<Record<string, unknown>> {
    let after = '';
    for (;;) {
      const page = await withTenant(db, orgId, async (tx) => {
        const listed = await tx.selectFrom('documents').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute();
        let chars = 0;
        const docs = listed.filter((d, i) => (chars += d.chars) <= DOCUMENT_PAGE_CHARS || i === 0);
        const ids = docs.map((d) => d.id);
        const chunks = ids.length ? await tx.selectFrom('knowledge_chunks').select(['document_id', 'heading', 'text']).where('document_id', 'in', ids).orderBy('document_id').orderBy('ord').execute() : [];
        return { docs, chunks, more: listed.length === PAGE || docs.length < listed.length };
      });
      const chunksOf = groupBy(page.chunks, (c) => c.document_id);
      for (const d of page.docs) {
        const chunks = (chunksOf.get(d.id) ?? []).map(({ heading, text }) => ({ heading, text }));
        yield { type: 'document', id: d.id, projectId: d.project_id, title: d.title, url: d.url, contentType: d.content_type, chars: d.chars, createdAt: iso(d.created_at), chunks };
      }
      if (!page.more) return;
      after = page.docs.at(-1)?.id ?? after;
    }
  }

  /** One conversation's messages, a line each, a page per transaction (message-pages.ts). */
  async function* messages(orgId: string, conversationId: string): AsyncGenerator<Record<string, unknown>> {
    for await (const rows of messagePages(db, orgId, conversationId)) {
      for (const m of rows) {
        const content = await open(orgId, m.content, 'messages', 'content', m.id);
        if (content !== undefined) yield { type: 'message', conversationId, id: m.id, role: m.role, content, citations: m.citations, createdAt: iso(m.created_at) };
      }
    }
  }

  /**
   * A conversation's PII entities (a vault holds at most 1,000), read after its messages: a vault
   * row commits with the message that brought it, so every token of the messages read is here.
   */
  async function entities(orgId: string, conversationId: string, withValues: boolean): Promise<Record<string, unknown>> {
    const rows = await withTenant(db, orgId, (tx) => tx.selectFrom('pii_vault').select(['id', 'token', 'type', 'value', 'value_hash']).where('conversation_id', '=', conversationId).execute());
    const list = [];
    for (const e of rows) {
      if (withValues && e.value_hash === ERASED_VALUE_HASH) continue;
      const value = withValues ? await open(orgId, e.value, 'pii_vault', 'value', e.id) : undefined;
      if (withValues && value === undefined) continue;
      list.push({ token: e.token, type: e.type, ...(withValues ? { value } : {}) });
    }
    return { type: 'entities', conversationId, entities: list };
  }

  /** Each conversation, then its messages, then its PII entities. */
  async function* conversations(orgId: string, withValues: boolean): AsyncGenerator<Record<string, unknown>> {
    let after = '';
    for (;;) {
      const convs = await withTenant(db, orgId, (tx) => tx.selectFrom('conversations').selectAll().where('id', '>', after).orderBy('id').limit(PAGE).execute());
      for (const c of convs) {
        yield { type: 'conversation', id: c.id, projectId: c.project_id, visitorId: c.visitor_id, origin: c.origin, createdAt: iso(c.created_at), lastMessageAt: iso(c.last_message_at) };
        yield* messages(orgId, c.id);
        yield await entities(orgId, c.id, withValues);
      }
      if (convs.length < PAGE) return;
      after = convs.at(-1)?.id ?? after;
    }
  }

  /** The organisation's data as JSON lines; `withValues` puts the PII values in (the caller checked pii:reveal). */
  async function* lines(orgId: string, withValues: boolean, exportedAt: Date): AsyncGenerator<string> {
    const head = await withTenant(db, orgId, async (tx) => ({
      org: await tx.selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirstOrThrow(),
      members: await tx
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['users.id', 'users.email', 'users.name', 'memberships.role', 'memberships.created_at'])
        .where('memberships.org_id', '=', orgId)
        .orderBy('memberships.created_at')
        .execute(),
      projects: await tx.selectFrom('projects').select(['id', 'name', 'settings', 'created_at']).orderBy('created_at').execute(),
      // Never their signing secrets.
      webhooks: await tx.selectFrom('webhooks').select(['id', 'url', 'description', 'event_types', 'enabled', 'created_at']).orderBy('created_at').orderBy('id').execute(),
    }));
    const { org } = head;
    const record = (value: Record<string, unknown>): string => `${JSON.stringify(value)}\n`;
    yield record({ type: 'organisation', id: org.id, name: org.name, slug: org.slug, region: org.region, require2fa: org.require_2fa, improvementConsent: org.improvement_consent, createdAt: iso(org.created_at), exportedAt: exportedAt.toISOString(), personalData: withValues ? 'values' : 'tokens' });
    for (const m of head.members) yield record({ type: 'member', userId: m.id, email: m.email, name: m.name, role: m.role, joinedAt: iso(m.created_at) });
    for (const p of head.projects) yield record({ type: 'project', id: p.id, name: p.name, settings: p.settings, createdAt: iso(p.created_at) });
    for (const w of head.webhooks) yield record({ type: 'webhook', id: w.id, url: w.url, description: w.description, eventTypes: w.event_types, enabled: w.enabled, createdAt: iso(w.created_at) });
    let records = 1 + head.members.length + head.projects.length + head.webhooks.length;
    for await (const d of documents(orgId)) {
      records++;
      yield record(d);
    }
    for await (const c of conversations(orgId, withValues)) {
      records++;
      yield record(c);
    }
    // Last: a file without it was cut off (the connection ends early when a read fails midway).
    yield record({ type: 'end', records });
  }

  return { lines };
}

export type OrgExport = ReturnType<typeof createOrgExport>;
