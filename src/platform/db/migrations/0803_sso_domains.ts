import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * E-mail domains an organisation's single sign-on may sign in, each proven by a DNS TXT record
 * (modules/sso/domains.ts). A domain is verified for one organisation at most: otherwise anyone
 * who signs up could claim another company's domain and make accounts for its addresses.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE sso_domains (
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      domain text NOT NULL,
      token text NOT NULL,
      verified_at timestamptz NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, domain)
    );
    CREATE UNIQUE INDEX sso_domains_verified_once ON sso_domains(domain) WHERE verified_at IS NOT NULL;
    ${tenantPolicySql('sso_domains')}
    `,
    )
    .execute(db);
}
