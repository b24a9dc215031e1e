import { sql, type Kysely } from 'kysely';

/**
 * How many times a subject was owed a shred while its row waited: a runner shredding it deletes
 * the row only if nobody owed it again meanwhile (the person erased while a sweep was shredding
 * their earlier key, and since given a new one), so the later debt is not lost with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE pending_shreds ADD COLUMN generation integer NOT NULL DEFAULT 0;`).execute(db);
}
