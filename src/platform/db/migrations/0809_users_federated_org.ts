import { sql, type Kysely } from 'kysely';

/** An organisation's federated accounts, found (SCIM lists them) and counted (their cap) without reading every account. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE INDEX users_federated_org ON users(federated_org_id) WHERE federated_org_id IS NOT NULL;`).execute(db);
}
