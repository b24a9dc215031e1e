/**
 * A RowSource over one registered encrypted column of one organisation, for the re-encryption
 * job. Every query runs inside withTenant, so row-level security holds it to that organisation.
 * Owns these two queries; must never write a value without compare-and-set on the old one.
 */
import { sql, type Kysely } from 'kysely';
import type { EncryptedRow, RowSource } from '../../platform/crypto/reencrypt.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { EncryptedColumn } from './registry.ts';

/** The AAD `table` of a registered column: its name without a schema. */
export const aadTable = (column: EncryptedColumn): string => column.table.split('.').pop() ?? column.table;

export function createColumnRowSource(db: Kysely<DB>, column: EncryptedColumn, orgId: string): RowSource {
  const table = sql.table(column.table);
  const value = sql.ref(column.column);
  const id = sql.ref(column.idColumn);
  const org = sql.ref(column.orgColumn);
  const tableName = aadTable(column);

  return {
    async nextBatch(afterId, limit): Promise<EncryptedRow[]> {
      const { rows } = await withTenant(db, orgId, (tx) =>
        sql<{ id: string; value: string }>`
          SELECT ${id} AS id, ${value} AS value FROM ${table}
          WHERE ${org} = ${orgId} AND ${value} IS NOT NULL ${afterId === undefined ? sql`` : sql`AND ${id} COLLATE "C" > ${afterId}`}
          ORDER BY ${id} COLLATE "C" LIMIT ${limit}`.execute(tx),
      );
      return rows.map((row) => ({
        id: row.id,
        ciphertext: row.value,
        aad: { orgId, table: tableName, column: column.column, rowId: row.id },
      }));
    },
    async update(rowId, newCiphertext, expectedOld): Promise<boolean> {
      const result = await withTenant(db, orgId, (tx) =>
        sql`UPDATE ${table} SET ${value} = ${newCiphertext}
            WHERE ${id} = ${rowId} AND ${org} = ${orgId} AND ${value} = ${expectedOld}`.execute(tx),
      );
      return Number(result.numAffectedRows ?? 0n) === 1;
    },
  };
}
