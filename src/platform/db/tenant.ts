/**
 * Tenant scoping. Every tenant query runs inside withTenant(orgId, tx => …): one transaction
 * that switches to the application role, which row-level-security policies bind, and sets the
 * organisation the policies compare org_id with. A query that forgets its org_id filter still
 * sees only this organisation's rows.
 *
 * Queries outside withTenant run as the connecting role (the tables' owner), which RLS does not
 * bind: only the accounts directory (users, sessions, a user's own memberships) may do that, and
 * the platform's own jobs across organisations: the retention sweep reads every project's
 * settings (its deletions run inside withTenant), and the owed shreds are a queue the platform
 * works through (platform/crypto/pending-shreds.ts), as it does its key tables. So are the
 * webhook outbox (modules/webhooks/store.ts: claiming due deliveries and pruning finished ones;
 * each outcome is written inside withTenant), and pruning the API access log. Routes addressed by
 * an object's id alone (an API key's, a webhook's) read its organisation first, then authorise.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from './tables.ts';

export const APP_ROLE = 'palisade_app';
export const TENANT_SETTING = 'palisade.org_id';

export type Tx = Transaction<DB>;

export async function withTenant<T>(db: Kysely<DB>, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await enterTenant(tx, orgId);
    return fn(tx);
  });
}

/** Narrow an open transaction to one tenant for the rest of it (e.g. after creating the org). */
export async function enterTenant(tx: Tx, orgId: string): Promise<void> {
  await sql`SELECT set_config('role', ${APP_ROLE}, true), set_config(${TENANT_SETTING}, ${orgId}, true)`.execute(tx);
}

/**
 * Back to the connecting role for the rest of an open transaction: for the directory's own write
 * that must commit together with the tenant's (a SCIM deletion and its audit record). The
 * organisation setting stays, and ends with the transaction like the role.
 */
export async function leaveTenant(tx: Tx): Promise<void> {
  await sql`SELECT set_config('role', 'none', true)`.execute(tx);
}

/** SQL for a table's policy: rows are visible and writable only within the current tenant. */
export function tenantPolicySql(table: string): string {
  return `ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON ${table} TO ${APP_ROLE}
      USING (org_id = current_setting('${TENANT_SETTING}', true))
      WITH CHECK (org_id = current_setting('${TENANT_SETTING}', true));`;
}
