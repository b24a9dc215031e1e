import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/** A project's own API key for its openai-compatible answer endpoint, encrypted (never in settings). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE project_answer_keys (
      project_id text PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      api_key text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ${tenantPolicySql('project_answer_keys')}
    `,
    )
    .execute(db);
}
