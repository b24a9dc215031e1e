import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../tenant.ts';

/**
 * Defence in depth for the one SECURITY DEFINER function. Its search_path now names pg_temp last:
 * left out, PostgreSQL searches the session's temporary schema first, so a caller's temporary
 * table called knowledge_chunks could stand in for the real one. And only the application role
 * may call it (functions are executable by PUBLIC by default).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const fn = 'knowledge_search_first(text, text[], integer, integer)';
  await sql
    .raw(
      `
    ALTER FUNCTION ${fn} SET search_path = pg_catalog, public, pg_temp;
    REVOKE EXECUTE ON FUNCTION ${fn} FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ${fn} TO ${APP_ROLE};
    `,
    )
    .execute(db);
}
