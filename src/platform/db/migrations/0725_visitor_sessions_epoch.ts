import { sql, type Kysely } from 'kysely';

/**
 * Ending a project's visitor sessions at once: every visitor token names the epoch it was issued
 * in, and a token of an earlier epoch is refused. Raising it (the owner's "end all visitor
 * sessions", a lockdown) ends every session open until then, on every instance.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE projects ADD COLUMN visitor_sessions_epoch integer NOT NULL DEFAULT 0 CHECK (visitor_sessions_epoch >= 0)`.execute(db);
}
