import { sql, type Kysely } from 'kysely';

/**
 * The planner cannot see inside knowledge_search_candidates (SECURITY DEFINER functions are not
 * inlined) and assumed 1,000 rows, so it joined every chunk of the organisation before keeping
 * the few candidates. Saying "a few dozen" makes it look the candidates up by primary key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER FUNCTION knowledge_search_candidates(text, tsquery, integer) ROWS 30`.execute(db);
}
