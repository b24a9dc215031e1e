/**
 * SQL for documents and knowledge chunks. Tenant-scoped calls take the withTenant transaction;
 * the two directory reads (which organisation owns a document or a project) run outside it, like
 * access.ts, and return ids only. Nothing else lives here.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';

export interface DocumentRow {
  id: string;
  project_id: string;
  title: string;
  url: string | null;
  content_type: string;
  chars: number;
  created_at: Date;
  chunks: number;
}

export interface ChunkInsert {
  id: string;
  org_id: string;
  project_id: string;
  document_id: string;
  ord: number;
  heading: string | null;
  text: string;
}

export interface SearchRow {
  document_id: string;
  title: string;
  url: string | null;
  heading: string | null;
  text: string;
  score: number;
}

const insertBatch = 200;
export const maxCandidates = 400;

export function createKnowledgeStore() {
  return {
    projectVisible: async (tx: Tx, projectId: string): Promise<boolean> =>
      (await tx.selectFrom('projects').select('id').where('id', '=', projectId).executeTakeFirst()) !== undefined,

    insertDocument: (tx: Tx, d: { id: string; org_id: string; project_id: string; title: string; url: string | null; content_type: string; chars: number }) =>
      tx.insertInto('documents').values(d).execute(),

    insertChunks: async (tx: Tx, chunks: readonly ChunkInsert[]): Promise<void> => {
      for (let i = 0; i < chunks.length; i += insertBatch) {
        await tx.insertInto('knowledge_chunks').values(chunks.slice(i, i + insertBatch)).execute();
      }
    },

    listDocuments: (tx: Tx, projectId: string): Promise<DocumentRow[]> =>
      tx
        .selectFrom('documents as d')
        .select(['d.id', 'd.project_id', 'd.title', 'd.url', 'd.content_type', 'd.chars', 'd.created_at'])
        .select((eb) =>
          eb.selectFrom('knowledge_chunks as c').select(sql<number>`count(*)::int`.as('n')).whereRef('c.document_id', '=', 'd.id').as('chunks'),
        )
        .where('d.project_id', '=', projectId)
        .orderBy('d.created_at', 'desc')
        .orderBy('d.id')
        .execute() as Promise<DocumentRow[]>,

    deleteDocument: async (tx: Tx, documentId: string): Promise<boolean> =>
      Number((await tx.deleteFrom('documents').where('id', '=', documentId).executeTakeFirst()).numDeletedRows) === 1,

    /**
     * Ranked chunks of one project matching a websearch-syntax query. The candidates come from
     * knowledge_search_candidates() (the GIN index, limited to the tenant: see migration 0300);
     * at most `maxCandidates` of them are ranked, so a query broad enough to match more (common
     * words only) stays bounded in time, at the cost of ranking a sample (docs/knowledge.md).
     */
    search: async (tx: Tx, projectId: string, websearch: string, limit: number): Promise<SearchRow[]> => {
      const { rows } = await sql<SearchRow>`
        WITH q AS (SELECT websearch_to_tsquery('english', ${websearch}) AS q)
        SELECT c.document_id, d.title, d.url, c.heading, c.text, ts_rank_cd(c.tsv, q.q, 32)::float8 AS score
        FROM q
        CROSS JOIN LATERAL knowledge_search_candidates(${projectId}, q.q, ${maxCandidates}) AS m
        JOIN knowledge_chunks c ON c.id = m.id
        JOIN documents d ON d.id = c.document_id
        ORDER BY score DESC, c.document_id, c.ord
        LIMIT ${limit}`.execute(tx);
      return rows;
    },

    /** Directory read: the organisation and project a document belongs to, for authorisation. */
    locateDocument: (db: Kysely<DB>, documentId: string) =>
      db.selectFrom('documents').select(['org_id', 'project_id']).where('id', '=', documentId).executeTakeFirst(),

    /** Directory read: the organisation a project belongs to (command-line ingestion). */
    locateProject: (db: Kysely<DB>, projectId: string) =>
      db.selectFrom('projects').select('org_id').where('id', '=', projectId).executeTakeFirst(),
  };
}

export type KnowledgeStore = ReturnType<typeof createKnowledgeStore>;
