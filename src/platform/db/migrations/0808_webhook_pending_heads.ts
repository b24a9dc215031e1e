import { sql, type Kysely } from 'kysely';

/**
 * Each webhook's pending deliveries in the order they are due: the delivery claim reads only the
 * first of each webhook (one index probe per webhook), however large a backlog has grown.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE INDEX webhook_deliveries_pending_of ON webhook_deliveries(webhook_id, next_attempt_at, id) WHERE status = 'pending';`).execute(db);
}
