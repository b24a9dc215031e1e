import { sql, type Kysely } from 'kysely';

/**
 * Who wrote each vault value: the conversation's own subject (its visitor, or anyone in a
 * conversation without one), or one of the organisation's callers writing into a visitor's
 * conversation. Only the subject's values are restored to the visitor and may be matched by what
 * they write: a value planted beforehand would otherwise tell, by its token, whether it guessed the
 * visitor's right. Rows written before this knew no better and stay the subject's.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`ALTER TABLE pii_vault ADD COLUMN by_subject boolean NOT NULL DEFAULT true;`).execute(db);
}
