import { sql, type Kysely } from 'kysely';

/** Deliveries out (leased): the claim reads them to keep one send per webhook and count each organisation's. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE INDEX webhook_deliveries_out ON webhook_deliveries(claimed_until) WHERE status = 'pending' AND claimed_until IS NOT NULL;`).execute(db);
}
