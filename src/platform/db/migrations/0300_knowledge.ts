/**
 * Knowledge base (issue "Chatbots that answer"): documents and their chunks, both tenant tables
 * (org_id + row-level security). Chunks carry a stored tsvector with a GIN index, so retrieval is
 * Postgres full-text search on PGlite and PostgreSQL alike (nothing newer than Postgres 15).
 *
 * Row-level security keeps the planner from using the GIN index: the policy must be checked
 * before any operator that is not LEAKPROOF, and `@@` is not, so every search would scan all of
 * an organisation's chunks. knowledge_search_candidates() therefore finds the matching chunk ids
 * with the index, as the tables' owner, applying the very predicate of the policy itself
 * (org_id = the tenant setting); the ranking query then reads those rows under RLS as usual.
 * The GIN index has fastupdate off: PGlite has no autovacuum to flush a pending list, and a
 * knowledge base is read far more often than written.
 */
import { sql, type Kysely } from 'kysely';
import { TENANT_SETTING, tenantPolicySql } from '../tenant.ts';

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
    CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING GIN (tsv) WITH (fastupdate = off);
    CREATE INDEX knowledge_chunks_project ON knowledge_chunks(project_id);
    CREATE INDEX knowledge_chunks_document ON knowledge_chunks(document_id, ord);
    ${tenantPolicySql('documents')}
    ${tenantPolicySql('knowledge_chunks')}
    CREATE FUNCTION knowledge_search_candidates(p_project text, p_query tsquery, p_limit integer)
      RETURNS TABLE (id text)
      LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, public
      AS $fn$
        SELECT k.id FROM knowledge_chunks k
        WHERE k.org_id = current_setting('${TENANT_SETTING}', true)
          AND k.project_id = p_project
          AND k.tsv @@ p_query
        LIMIT p_limit
      $fn$;
    `,
    )
    .execute(db);
}
