/**
 * The knowledge base of each project: add documents (reduced to plain text and chunked), list
 * and delete them, and search their chunks with Postgres full-text search. Every tenant read and
 * write runs inside withTenant. It never stores markup and never logs document contents.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId } from '../../platform/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { extractChunks } from './extract.ts';
import { asWebsearch, relaxedQueries } from './query.ts';
import { documentInputSchema, maxSearchLimit, type DocumentInput, type DocumentView, type Passage } from './schemas.ts';
import { createKnowledgeStore, type DocumentRow, type KnowledgeStore } from './store.ts';

export interface KnowledgeActor {
  principal: Principal | { kind: 'system' };
  ip: string | null;
}

function toView(row: DocumentRow): DocumentView {
  return {
    id: row.id,
    projectId: row.project_id,
    title: row.title,
    url: row.url,
    contentType: row.content_type as DocumentView['contentType'],
    chars: row.chars,
    chunks: Number(row.chunks),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * What one project's knowledge base may hold: every document is listed in full, and a project's
 * text lives in the shared database (each document is at most 1,000,000 characters).
 */
export const MAX_DOCUMENTS_PER_PROJECT = 10_000;
export const MAX_CHARS_PER_PROJECT = 200_000_000;

const noProject = (): AppError => new AppError('not_found', 'This project does not exist.');
const noDocument = (): AppError => new AppError('not_found', 'This document does not exist.');

export function createKnowledgeService(deps: {
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
  store?: KnowledgeStore;
  /** Smaller bounds for tests. */
  limits?: { documents: number; chars: number };
}) {
  const { db, audit } = deps;
  const limits = deps.limits ?? { documents: MAX_DOCUMENTS_PER_PROJECT, chars: MAX_CHARS_PER_PROJECT };
  const store = deps.store ?? createKnowledgeStore();

  async function addDocument(orgId: string, projectId: string, raw: DocumentInput, actor: KnowledgeActor): Promise<DocumentView> {
    const parsed = documentInputSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError('invalid_request', `The document is invalid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'check its fields'}.`);
    }
    const input = parsed.data;
    // Extraction is CPU work: done before the transaction opens.
    const chunks = extractChunks(input.content, input.contentType);
    if (chunks.length === 0) throw new AppError('invalid_request', 'This document has no text to index.');
    const id = newId('doc');
    return withTenant(db, orgId, async (tx) => {
      if (!(await store.lockProject(tx, projectId))) throw noProject();
      const size = await store.projectSize(tx, projectId);
      if (size.documents >= limits.documents) {
        throw new AppError('conflict', `A project holds at most ${limits.documents.toLocaleString('en')} documents; delete some first.`);
      }
      if (size.chars + input.content.length > limits.chars) {
        throw new AppError('conflict', `A project's documents hold at most ${limits.chars.toLocaleString('en')} characters in all; delete some first.`);
      }
      await store.insertDocument(tx, {
        id,
        org_id: orgId,
        project_id: projectId,
        title: input.title,
        url: input.url ?? null,
        content_type: input.contentType,
        chars: input.content.length,
      });
      await store.insertChunks(
        tx,
        chunks.map((c, ord) => ({ id: `${id}_${ord}`, org_id: orgId, project_id: projectId, document_id: id, ord, heading: c.heading, text: c.text })),
      );
      await audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'document.created',
        target: { type: 'document', id },
        ip: actor.ip,
        metadata: { projectId, contentType: input.contentType, chars: input.content.length, chunks: chunks.length },
      });
      const row = await store.getDocument(tx, id);
      if (!row) throw new AppError('internal', 'The document vanished while it was being added.');
      return toView(row);
    });
  }

  async function listDocuments(orgId: string, projectId: string): Promise<DocumentView[]> {
    return withTenant(db, orgId, async (tx) => {
      if (!(await store.projectVisible(tx, projectId))) throw noProject();
      return (await store.listDocuments(tx, projectId)).map(toView);
    });
  }

  async function deleteDocument(orgId: string, documentId: string, actor: KnowledgeActor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      const gone = await store.deleteDocument(tx, documentId);
      if (!gone) throw noDocument();
      await audit.record(tx, { orgId, actor: actor.principal, action: 'document.deleted', target: { type: 'document', id: documentId }, ip: actor.ip, metadata: gone });
    });
  }

  /** Ranked passages of one project; an empty list when nothing matches. */
  async function search(orgId: string, projectId: string, q: string, limit = 5): Promise<Passage[]> {
    return withTenant(db, orgId, (tx) => searchWithin(tx, projectId, q, limit));
  }

  /** The same search inside a tenant transaction the caller holds (the message path's). */
  async function searchWithin(tx: Tx, projectId: string, q: string, limit = 5): Promise<Passage[]> {
    const capped = Math.max(1, Math.min(maxSearchLimit, Math.floor(limit)));
    const text = asWebsearch(q.slice(0, 500));
    const rows = await store.search(tx, projectId, [text, ...relaxedQueries(text)], capped);
    return rows.map((r) => ({ documentId: r.document_id, title: r.title, url: r.url, heading: r.heading, text: r.text, score: Number(r.score) }));
  }

  /** Directory read by id, for routes addressed by a document id: null when there is none. */
  async function locateDocument(documentId: string): Promise<{ orgId: string; projectId: string } | null> {
    const row = await store.locateDocument(db, documentId);
    return row ? { orgId: row.org_id, projectId: row.project_id } : null;
  }

  /** Directory read: the organisation of a project (command-line ingestion), null when none. */
  async function locateProject(projectId: string): Promise<string | null> {
    return (await store.locateProject(db, projectId))?.org_id ?? null;
  }

  return { addDocument, listDocuments, deleteDocument, search, searchWithin, locateDocument, locateProject };
}

export type KnowledgeService = ReturnType<typeof createKnowledgeService>;
