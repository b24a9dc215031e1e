import { sql, type Kysely } from 'kysely';

/**
 * What a session knows of its single sign-on (modules/sso): the organisation whose provider signed
 * it in, and whether that provider said it used more than one factor (the ID token's `amr`). An
 * organisation can require its members to sign in through its SSO (`org_sso.required`, owners
 * excepted), and a provider's multi-factor sign-in meets its `require_2fa`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    ALTER TABLE sessions ADD COLUMN sso_org_id text NULL REFERENCES orgs(id) ON DELETE CASCADE;
    ALTER TABLE sessions ADD COLUMN idp_mfa boolean NOT NULL DEFAULT false;
    CREATE INDEX sessions_sso_org ON sessions(sso_org_id) WHERE sso_org_id IS NOT NULL;
    ALTER TABLE org_sso ADD COLUMN required boolean NOT NULL DEFAULT false;
    `,
    )
    .execute(db);
}
