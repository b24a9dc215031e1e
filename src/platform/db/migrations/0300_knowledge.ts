/**
 * Knowledge base (issue "Chatbots that answer"): documents and their chunks, both tenant tables
 * (org_id + row-level security). Chunks carry a stored tsvector with a GIN index, so retrieval is
 * Postgres full-text search on PGlite and PostgreSQL alike (nothing newer than Postgres 15).
 */
import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE documents (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      title text NOT NULL,
      url text,
      content_type text NOT NULL CHECK (content_type IN ('text','markdown','html')),
      chars integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX documents_project ON documents(project_id, created_at DESC);
    CREATE TABLE knowledge_chunks (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      project_id text NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      document_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      ord integer NOT NULL,
      heading text,
      text text NOT NULL,
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(heading, '') || ' ' || text)) STORED
    );
    CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING GIN (tsv);
    CREATE INDEX knowledge_chunks_project ON knowledge_chunks(project_id);
    CREATE INDEX knowledge_chunks_document ON knowledge_chunks(document_id, ord);
    ${tenantPolicySql('documents')}
    ${tenantPolicySql('knowledge_chunks')}
    `,
    )
    .execute(db);
}
