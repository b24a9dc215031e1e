import { sql, type Kysely } from 'kysely';
import { TENANT_SETTING } from '../tenant.ts';

/**
 * Retrieval in one index pass. knowledge_search_candidates() returned only chunk ids, and the
 * ranking query joined them back to knowledge_chunks and documents under row-level security; on
 * a small knowledge base the planner preferred to scan every row of those tables for the join,
 * checking the policy on each (milliseconds on PGlite for 1,000 chunks, on every message).
 * knowledge_search_ranked() reads and ranks the matching chunks in the same GIN index scan, keeps
 * the best `p_limit`, and only then looks up their documents by primary key — all under exactly
 * the predicate of the tenant policy (org_id = the tenant setting), as the tables' owner.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const tenant = `current_setting('${TENANT_SETTING}', true)`;
  await sql
    .raw(
      `
    CREATE FUNCTION knowledge_search_ranked(p_project text, p_query tsquery, p_candidates integer, p_limit integer)
      RETURNS TABLE (document_id text, title text, url text, heading text, text text, score float8)
      LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, public
      ROWS 10
      AS $fn$
        SELECT best.document_id, d.title, d.url, best.heading, best.text, best.score
        FROM (
          SELECT k.document_id, k.ord, k.heading, k.text, ts_rank_cd(k.tsv, p_query, 32)::float8 AS score
          FROM (
            SELECT c.document_id, c.ord, c.heading, c.text, c.tsv FROM knowledge_chunks c
            WHERE c.org_id = ${tenant} AND c.project_id = p_project AND c.tsv @@ p_query
            LIMIT p_candidates
          ) k
          ORDER BY score DESC, k.document_id, k.ord
          LIMIT p_limit
        ) best
        JOIN LATERAL (
          SELECT d.title, d.url FROM documents d WHERE d.id = best.document_id AND d.org_id = ${tenant}
        ) d ON true
        ORDER BY best.score DESC, best.document_id, best.ord
      $fn$;
    DROP FUNCTION knowledge_search_candidates(text, tsquery, integer);
    `,
    )
    .execute(db);
}
