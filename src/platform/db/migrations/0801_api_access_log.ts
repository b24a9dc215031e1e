import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * The API access log (modules/api-keys/access-log.ts): one row per request made with a valid API
 * key — key, client address, route pattern, status, duration, time — written in batches, kept 90
 * days. No foreign key to api_keys: a key's history outlives the key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE api_access_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      key_id text NOT NULL,
      ip text NOT NULL,
      method text NOT NULL,
      route text NOT NULL,
      status integer NOT NULL,
      duration_ms integer NOT NULL,
      at timestamptz NOT NULL
    );
    CREATE INDEX api_access_log_org ON api_access_log(org_id, id DESC);
    CREATE INDEX api_access_log_at ON api_access_log(at);
    ${tenantPolicySql('api_access_log')}
    `,
    )
    .execute(db);
}
