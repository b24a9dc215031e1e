/**
 * SQL implementations of the crypto layer's stores: data keys (organisation keys in
 * `data_keys`, subject keys in `keystore.subject_keys`) and re-encryption checkpoints. Runs as
 * the tables' owner outside withTenant (the tenant role has no access). Owns these queries only;
 * must never read or write any other table, nor store an unwrapped key.
 *
 * PGlite is a single connection: never call into these stores (i.e. never encrypt or decrypt
 * with an uncached key) from inside an open transaction on the same database, or the query waits
 * for the connection the transaction holds. Encrypt before the transaction, decrypt after it.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import type { CheckpointStore } from './reencrypt.ts';
import { createSplitDataKeyStore } from './split-store.ts';
import type { DataKeyRecord, DataKeyStore, Scope } from './types.ts';

export type KeyTable = 'data_keys' | 'keystore.subject_keys';

interface KeyRow {
  scope: string;
  version: number;
  wrapped: Buffer;
  kek_id: string;
  created_at: Date;
}

const toRecord = (row: KeyRow): DataKeyRecord => ({
  scope: row.scope as Scope,
  version: Number(row.version),
  wrapped: Buffer.from(row.wrapped),
  kekId: row.kek_id,
  createdAt: new Date(row.created_at),
});

export function createSqlDataKeyStore(db: Kysely<DB>, table: KeyTable): DataKeyStore {
  const t = sql.table(table);
  return {
    async get(scope, version) {
      const { rows } = await sql<KeyRow>`SELECT * FROM ${t} WHERE scope = ${scope} AND version = ${version}`.execute(db);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    },
    async listByScope(scope) {
      const { rows } = await sql<KeyRow>`SELECT * FROM ${t} WHERE scope = ${scope} ORDER BY version DESC`.execute(db);
      return rows.map(toRecord);
    },
    async insert(record) {
      const { rows } = await sql<{ scope: string }>`
        INSERT INTO ${t} (scope, version, wrapped, kek_id, created_at)
        VALUES (${record.scope}, ${record.version}, ${record.wrapped}, ${record.kekId}, ${record.createdAt})
        ON CONFLICT (scope, version) DO NOTHING RETURNING scope`.execute(db);
      return rows.length === 1;
    },
    async deleteScope(scope) {
      // One statement: the keys go and their tombstone learns the last version, or neither.
      const { rows } = await sql<{ n: number }>`
        WITH gone AS (DELETE FROM ${t} WHERE scope = ${scope} RETURNING version),
        noted AS (
          INSERT INTO key_erasures (scope, last_version)
          SELECT ${scope}, max(version) FROM gone HAVING count(*) > 0
          ON CONFLICT (scope) DO UPDATE SET last_version = greatest(key_erasures.last_version, excluded.last_version)
        )
        SELECT count(*)::int AS n FROM gone`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    async firstVersion(scope) {
      const { rows } = await sql<{ last_version: number }>`SELECT last_version FROM key_erasures WHERE scope = ${scope}`.execute(db);
      return Number(rows[0]?.last_version ?? 0) + 1;
    },
    async listNotWrappedBy(kekId, limit, after) {
      const past = after === undefined ? sql`TRUE` : sql`(scope, version) > (${after.scope}, ${after.version})`;
      const { rows } = await sql<KeyRow>`
        SELECT * FROM ${t} WHERE kek_id <> ${kekId} AND ${past} ORDER BY scope, version LIMIT ${limit}`.execute(db);
      return rows.map(toRecord);
    },
    async updateWrapped(scope, version, wrapped, kekId, expectedKekId) {
      const result = await sql`
        UPDATE ${t} SET wrapped = ${wrapped}, kek_id = ${kekId}
        WHERE scope = ${scope} AND version = ${version} AND kek_id = ${expectedKekId}`.execute(db);
      return Number(result.numAffectedRows ?? 0n) === 1;
    },
  };
}

/** Organisation keys in `data_keys`, subject keys in the separate `keystore` schema. */
export function createSqlKeyStores(db: Kysely<DB>): DataKeyStore {
  return createSplitDataKeyStore({
    org: createSqlDataKeyStore(db, 'data_keys'),
    subject: createSqlDataKeyStore(db, 'keystore.subject_keys'),
  });
}

export function createSqlCheckpointStore(db: Kysely<DB>): CheckpointStore {
  return {
    async get(jobId) {
      const row = await db.selectFrom('reencryption_checkpoints').select('last_id').where('job_id', '=', jobId).executeTakeFirst();
      return row?.last_id;
    },
    async set(jobId, lastId) {
      await db
        .insertInto('reencryption_checkpoints')
        .values({ job_id: jobId, last_id: lastId, updated_at: new Date() })
        .onConflict((oc) => oc.column('job_id').doUpdateSet({ last_id: lastId, updated_at: new Date() }))
        .execute();
    },
  };
}

/**
 * How many data keys (organisation and subject keys) each master key other than `kekId` wraps.
 * Reads every key row: once at start-up, to warn before a master key still in use is dropped.
 */
export async function countKeysNotWrappedBy(db: Kysely<DB>, kekId: string): Promise<Map<string, number>> {
  const { rows } = await sql<{ kek_id: string; n: number }>`
    SELECT kek_id, count(*)::int AS n FROM (
      SELECT kek_id FROM data_keys WHERE kek_id <> ${kekId}
      UNION ALL SELECT kek_id FROM keystore.subject_keys WHERE kek_id <> ${kekId}
    ) k GROUP BY kek_id ORDER BY kek_id`.execute(db);
  return new Map(rows.map((r) => [r.kek_id, Number(r.n)]));
}
