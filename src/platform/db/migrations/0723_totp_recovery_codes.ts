import { sql, type Kysely } from 'kysely';

/**
 * Recovery codes for two-factor sign-in, only as SHA-256 hashes (the CHECK refuses anything else).
 * A used code keeps its row with `used_at`, so marking it used is one compare-and-set. Part of the
 * accounts directory: no row-level security, and the application role gets no access (migrate.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE totp_recovery_codes (
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
      created_at timestamptz NOT NULL DEFAULT now(),
      used_at timestamptz,
      PRIMARY KEY (user_id, code_hash)
    );
    `,
    )
    .execute(db);
}
