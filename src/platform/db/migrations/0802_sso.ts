import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * OpenID Connect single sign-on (modules/sso): an organisation's identity provider (its client
 * secret encrypted under the organisation's key), the identities it signed in (issuer + subject
 * → user), and sign-ins under way (state, nonce and PKCE verifier, ten minutes, bound to the
 * browser that started them). Accounts made by an organisation's SSO belong to it alone
 * (users.federated_org_id): they have no password and join no other organisation, so an
 * identity provider can only ever sign in people of its own organisation.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE org_sso (
      org_id text PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
      issuer text NOT NULL,
      client_id text NOT NULL,
      client_secret text NOT NULL,
      email_domains text[] NOT NULL,
      default_role text NOT NULL CHECK (default_role IN ('viewer', 'editor')),
      enabled boolean NOT NULL DEFAULT true,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantPolicySql('org_sso')}

    CREATE TABLE sso_identities (
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      issuer text NOT NULL,
      subject text NOT NULL,
      user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, issuer, subject)
    );
    ${tenantPolicySql('sso_identities')}

    -- Read by state before any organisation is known: a platform table, no tenant policy.
    CREATE TABLE sso_logins (
      state_hash text PRIMARY KEY,
      browser_hash text NOT NULL,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      nonce text NOT NULL,
      code_verifier text NOT NULL,
      expires_at timestamptz NOT NULL
    );

    ALTER TABLE users ADD COLUMN federated_org_id text NULL REFERENCES orgs(id) ON DELETE SET NULL;
    `,
    )
    .execute(db);
}
