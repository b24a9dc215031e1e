/**
 * API keys (issue 4): the keys themselves and their batched usage counters. Both are tenant
 * tables (org_id + row-level security). The hot-path look-up of a key by id is a directory read
 * outside tenant scope (see src/modules/api-keys/store.ts), like sessions in accounts.
 */
import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      name text NOT NULL,
      start text NOT NULL,
      secret_hash text NOT NULL,
      previous_hash text,
      previous_expires_at timestamptz,
      scopes jsonb NOT NULL,
      project_ids jsonb,
      expires_at timestamptz,
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      rotated_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz,
      last_ip text,
      last_user_agent text
    );
    CREATE INDEX api_keys_org ON api_keys(org_id, created_at DESC);
    CREATE TABLE api_key_usage (
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      key_id text NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
      day date NOT NULL,
      route text NOT NULL,
      count bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (key_id, day, route)
    );
    CREATE INDEX api_key_usage_org ON api_key_usage(org_id);
    ${tenantPolicySql('api_keys')}
    ${tenantPolicySql('api_key_usage')}
    `,
    )
    .execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('DROP TABLE IF EXISTS api_key_usage; DROP TABLE IF EXISTS api_keys;').execute(db);
}
