import { sql, type Kysely } from 'kysely';
import { TENANT_SETTING } from '../tenant.ts';

/**
 * Retrieval in one round trip. The search tried the question as written, then each relaxed
 * query (src/modules/knowledge/query.ts), one statement each: up to three round trips, each
 * parsed and planned afresh. knowledge_search_first() takes the whole list, strictest first, and
 * returns the ranked chunks of the first query that matches anything. Being PL/pgSQL, its plan is
 * cached for the connection, so a message no longer pays for planning (about as much as running
 * the query on a small knowledge base). Same candidates, ranking and tenant predicate as
 * knowledge_search_ranked() (migration 0701), which 0703 drops.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const tenant = `current_setting('${TENANT_SETTING}', true)`;
  await sql
    .raw(
      `
    CREATE FUNCTION knowledge_search_first(p_project text, p_queries text[], p_candidates integer, p_limit integer)
      RETURNS TABLE (document_id text, title text, url text, heading text, text text, score float8)
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, public
      ROWS 10
      AS $fn$
      #variable_conflict use_column
      DECLARE
        websearch text;
        q tsquery;
      BEGIN
        FOREACH websearch IN ARRAY p_queries LOOP
          q := websearch_to_tsquery('english', websearch);
          RETURN QUERY
            SELECT best.document_id, d.title, d.url, best.heading, best.text, best.score
            FROM (
              SELECT k.document_id, k.ord, k.heading, k.text, ts_rank_cd(k.tsv, q, 32)::float8 AS score
              FROM (
                SELECT c.document_id, c.ord, c.heading, c.text, c.tsv FROM knowledge_chunks c
                WHERE c.org_id = ${tenant} AND c.project_id = p_project AND c.tsv @@ q
                LIMIT p_candidates
              ) k
              ORDER BY score DESC, k.document_id, k.ord
              LIMIT p_limit
            ) best
            JOIN LATERAL (
              SELECT d.title, d.url FROM documents d WHERE d.id = best.document_id AND d.org_id = ${tenant}
            ) d ON true
            ORDER BY best.score DESC, best.document_id, best.ord;
          IF FOUND THEN
            RETURN;
          END IF;
        END LOOP;
      END
      $fn$;
    `,
    )
    .execute(db);
}
