import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * The PII vault: the original of each tokenised value, encrypted under the conversation's
 * subject key, plus a keyed hash (per-organisation HMAC) so erasure can find a person's values
 * by identifier without decrypting anything. conversations is created in 0500; the foreign key
 * is added there.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE pii_vault (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      conversation_id text NOT NULL,
      token text NOT NULL,
      type text NOT NULL,
      value text NOT NULL,
      value_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      UNIQUE (conversation_id, token)
    );
    CREATE INDEX pii_vault_hash ON pii_vault(org_id, value_hash);
    ${tenantPolicySql('pii_vault')}
    `,
    )
    .execute(db);
}
