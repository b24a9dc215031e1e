import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * Keys owed a shred: deleting conversations (retention, erasure, a project) records here, in the deleting
 * transaction, the key subjects nothing needs any more; they are shredded after it commits and
 * the row goes. A process stopped in between leaves the row, and the next sweep shreds it — the
 * conversations are gone by then, so nothing else would find those keys again.
 * Also the index the retention sweep reads conversations by.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE pending_shreds (
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      subject_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      -- Taken by a runner for a while (a lease), so two never shred one subject at once.
      claimed_at timestamptz NULL,
      PRIMARY KEY (org_id, subject_id)
    );
    ${tenantPolicySql('pending_shreds')}
    CREATE INDEX conversations_last_message ON conversations(project_id, last_message_at);
    `,
    )
    .execute(db);
}
