import { sql, type Kysely } from 'kysely';

/** knowledge_search_first() (0702) serves every search now; one ranking query is left to maintain. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION knowledge_search_ranked(text, tsquery, integer, integer)`.execute(db);
}
