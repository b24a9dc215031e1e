import { sql, type Kysely } from 'kysely';

/**
 * TOTP two-factor sign-in. `users.totp_secret` (from 0001) holds the pending or enabled secret,
 * only ever as a Palisade ciphertext; `totp_last_step` is the last accepted 30-second time step,
 * so a code cannot be used twice. (Steps since 1970 fit in `integer` until the year 4010.)
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE users ADD COLUMN totp_last_step integer;
    ALTER TABLE users ADD CONSTRAINT users_totp_secret_encrypted CHECK (totp_secret IS NULL OR totp_secret LIKE 'v1.%');
    ALTER TABLE users ADD CONSTRAINT users_totp_enabled_has_secret CHECK (NOT totp_enabled OR totp_secret IS NOT NULL);
    `,
    )
    .execute(db);
}
