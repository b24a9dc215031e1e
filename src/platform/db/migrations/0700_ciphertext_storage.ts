import { sql, type Kysely } from 'kysely';

/**
 * Ciphertext does not compress, so PostgreSQL's TOAST machinery only costs time on it: a message
 * row over ~2 KB was first run through pglz (in vain) and then moved out of line into the TOAST
 * table, an extra heap and index write per message that plaintext, which compresses, avoided.
 * Rows up to a page stay inline (toast_tuple_target), and longer values are moved out of line
 * without the compression attempt (STORAGE EXTERNAL).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE messages SET (toast_tuple_target = 8160)`.execute(db);
  await sql`ALTER TABLE messages ALTER COLUMN content SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE pii_vault ALTER COLUMN value SET STORAGE EXTERNAL`.execute(db);
}
