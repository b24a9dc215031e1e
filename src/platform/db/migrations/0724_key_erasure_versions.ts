import { sql, type Kysely } from 'kysely';

/**
 * A tombstone remembers the last version of the key it erased: a subject that comes back gets its
 * next key one version above it, never the erased key's label again (an instance still holding
 * the erased key would otherwise take new ciphertexts for its own), and a key-store restore drops
 * erased keys by version instead of comparing two machines' clocks. 0 on older tombstones.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE key_erasures ADD COLUMN last_version integer NOT NULL DEFAULT 0 CHECK (last_version >= 0)`.execute(db);
}
