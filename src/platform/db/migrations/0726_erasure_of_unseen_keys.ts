import { sql, type Kysely } from 'kysely';

/**
 * An erasure that found no key of its subject here (the key store lost, or not yet restored after
 * a data restore) cannot learn the last version it erased: a key-store backup could then bring
 * back a version above the tombstone's. Such an erasure records its time here, and a key-store
 * restore also drops every key of the subject created before it (by creation time: the one case
 * where two clocks are compared).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE key_erasures ADD COLUMN unseen_keys_before timestamptz NULL`.execute(db);
}
