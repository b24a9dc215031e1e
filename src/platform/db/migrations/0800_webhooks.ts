import { sql, type Kysely } from 'kysely';
import { tenantPolicySql } from '../tenant.ts';

/**
 * Webhooks (modules/webhooks): an organisation's endpoints, and the outbox of their deliveries.
 * A delivery row is written in the transaction of the audited change it reports (so a rolled-back
 * change sends nothing), then sent after commit by a dispatcher that leases it (claimed_until),
 * retried with back-off until it succeeds or its attempts run out.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql
    .raw(
      `
    CREATE TABLE webhooks (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      url text NOT NULL,
      description text NOT NULL DEFAULT '',
      -- Audit actions ('project.created'), a family ('project.*'), or every event ('*').
      event_types text[] NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      -- The signing secret, encrypted under the organisation's data key (keys/registry.ts).
      secret text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhooks_org ON webhooks(org_id);
    ${tenantPolicySql('webhooks')}

    CREATE TABLE webhook_deliveries (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
      webhook_id text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
      event_id text NOT NULL,
      event_type text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      claimed_until timestamptz NULL,
      last_attempt_at timestamptz NULL,
      last_status integer NULL,
      last_error text NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_of ON webhook_deliveries(webhook_id, created_at DESC, id DESC);
    CREATE INDEX webhook_deliveries_finished ON webhook_deliveries(created_at) WHERE status <> 'pending';
    ${tenantPolicySql('webhook_deliveries')}
    `,
    )
    .execute(db);
}
