import { sql, type Kysely } from 'kysely';

/**
 * The API access log keeps one row per key, client address, method, route and status per write
 * interval, with how many requests it stands for (modules/api-keys/access-log.ts): a row per
 * request made a busy key's log cost the server more than the requests themselves.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE api_access_log ADD COLUMN count integer NOT NULL DEFAULT 1 CHECK (count > 0);`).execute(db);
}
