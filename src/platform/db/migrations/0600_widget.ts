import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/** The secret a project's host site signs its users' ids with (identity verification), encrypted. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE project_identity_secrets (
      project_id text PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      secret text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantPolicySql('project_identity_secrets')}
    `,
    )
    .execute(db);
}
