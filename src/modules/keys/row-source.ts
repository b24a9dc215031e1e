/**
 * A RowSource over one registered encrypted column of one organisation, for the re-encryption
 * job. Every query on a tenant table runs inside withTenant, so row-level security holds it to
 * that organisation; a fixed-organisation column (platform tables without RLS, e.g. users) is
 * read whole, only for its own organisation, and as the tables' owner: the tenant role may not
 * read those columns (migrate.ts). Owns these two queries; must never write a value without
 * compare-and-set on the old one.
 */
import { sql, type Kysely } from 'kysely';
import type { EncryptedRow, RowSource } from '../../platform/crypto/reencrypt.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import { columnHoldsOrg, type EncryptedColumn } from './registry.ts';

/** The AAD `table` of a registered column: its name without a schema. */
export const aadTable = (column: EncryptedColumn): string => column.table.split('.').pop() ?? column.table;

export function createColumnRowSource(db: Kysely<DB>, column: EncryptedColumn, orgId: string): RowSource {
  if (!columnHoldsOrg(column, orgId)) throw new Error(`${column.table}.${column.column} holds no values of ${orgId}`);
  const table = sql.table(column.table);
  const value = sql.ref(column.column);
  const id = sql.ref(column.idColumn);
  // Tenant tables filter on their organisation column; a fixed-org column has no such column.
  const orgFilter = 'orgColumn' in column ? sql`AND ${sql.ref(column.orgColumn)} = ${orgId}` : sql``;
  const tableName = aadTable(column);
  const scoped = <T>(fn: (tx: Tx) => Promise<T>): Promise<T> =>
    'orgColumn' in column ? withTenant(db, orgId, fn) : db.transaction().execute(fn);

  return {
    async nextBatch(afterId, limit): Promise<EncryptedRow[]> {
      const { rows } = await scoped((tx) =>
        sql<{ id: string; value: string }>`
          SELECT ${id} AS id, ${value} AS value FROM ${table}
          WHERE ${value} IS NOT NULL ${orgFilter} ${afterId === undefined ? sql`` : sql`AND ${id} COLLATE "C" > ${afterId}`}
          ORDER BY ${id} COLLATE "C" LIMIT ${limit}`.execute(tx),
      );
      return rows.map((row) => ({
        id: row.id,
        ciphertext: row.value,
        aad: { orgId, table: tableName, column: column.column, rowId: row.id },
      }));
    },
    async update(rowId, newCiphertext, expectedOld): Promise<boolean> {
      const result = await scoped((tx) =>
        sql`UPDATE ${table} SET ${value} = ${newCiphertext}
            WHERE ${id} = ${rowId} ${orgFilter} AND ${value} = ${expectedOld}`.execute(tx),
      );
      return Number(result.numAffectedRows ?? 0n) === 1;
    },
  };
}
