/**
 * Encryption at rest (issue 5): the key tables and the re-encryption checkpoints.
 *
 * - data_keys (public): organisation data keys, wrapped by the KEK. In the data backups on
 *   purpose: without the master key they are useless, and a restore needs them.
 * - keystore.subject_keys: per-visitor / per-conversation keys (crypto-shredding). A separate
 *   schema that the data backups never read, with its own backup (`palisade backup keystore`).
 * - key_erasures (public): one tombstone per shredded subject scope, so a key-store backup taken
 *   before an erasure cannot bring the key back (restore drops keys erased later).
 * - reencryption_checkpoints (public): where each `keys rotate-org` job has got to.
 *
 * None of these is a tenant table: only the platform reads them, as the tables' owner, outside
 * withTenant. RLS is enabled with no policy, so the tenant role (palisade_app, which migrate.ts
 * grants every public table to) sees and changes no row; the keystore schema grants it nothing.
 */
import { sql, type Kysely } from 'kysely';

/** Organisation keys and subject keys have the same shape; they differ in where they live. */
function keyTable(name: string, kekIndex: string): string {
  return `CREATE TABLE ${name} (
      scope text NOT NULL,
      version integer NOT NULL CHECK (version > 0),
      wrapped bytea NOT NULL,
      kek_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, version)
    );
    CREATE INDEX ${kekIndex} ON ${name} (kek_id, scope, version);`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    ${keyTable('data_keys', 'data_keys_kek_id')}
    ALTER TABLE data_keys ENABLE ROW LEVEL SECURITY;

    CREATE SCHEMA IF NOT EXISTS keystore;
    ${keyTable('keystore.subject_keys', 'subject_keys_kek_id')}
    REVOKE ALL ON SCHEMA keystore FROM PUBLIC;

    CREATE TABLE key_erasures (
      scope text PRIMARY KEY,
      erased_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE key_erasures ENABLE ROW LEVEL SECURITY;

    CREATE TABLE reencryption_checkpoints (
      job_id text PRIMARY KEY,
      last_id text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE reencryption_checkpoints ENABLE ROW LEVEL SECURITY;
    `,
    )
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw('DROP TABLE IF EXISTS reencryption_checkpoints; DROP TABLE IF EXISTS key_erasures; DROP SCHEMA IF EXISTS keystore CASCADE; DROP TABLE IF EXISTS data_keys;')
    .execute(db);
}
