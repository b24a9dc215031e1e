/**
 * What a data restore takes off a large table while COPY fills it, and puts back once, as
 * pg_restore does: its indexes (with the primary key, unique and exclusion constraints they back)
 * are built once from the loaded rows by a sort instead of updated row by row, and the foreign
 * keys from and to it are checked once over whole tables instead of once per row. Small tables
 * keep everything: for them the DDL would cost more than it saves. All of it runs inside the
 * restore transaction, so a duplicate key, a dangling reference or any other error rolls back
 * the data and the definitions together; every definition comes back as pg_get_indexdef /
 * pg_get_constraintdef gave it. A suspended plain table is also truncated (it is empty and
 * locked already), which lets its COPY use FREEZE: rows are written frozen and their pages marked
 * all-visible, so the scans that follow (index builds, the foreign key checks) and the first
 * readers after the commit skip per-row visibility work and hint-bit rewrites. Owns these
 * statements; must never run outside that transaction.
 */
import { sql } from 'kysely';
import type { Tx } from '../../platform/db/tenant.ts';
import { qualified, type TableInfo } from './catalog.ts';

/** A table whose first COPY block is at least this big loads without its indexes. */
export const LARGE_TABLE_BYTES = 1024 * 1024;

interface Definition {
  table: string;
  name: string;
  definition: string;
}

interface TableIndexes {
  table: string;
  /** An ordinary table (not partitioned): one that COPY FREEZE accepts. */
  plain: boolean;
  constraints: Definition[];
  indexes: Definition[];
}

export interface BulkLoad {
  /**
   * Before the COPY into a large, empty table: drops its indexes and the foreign keys that touch
   * it. True if the table was also truncated, so its COPY may use FREEZE.
   */
  suspend(table: TableInfo): Promise<boolean>;
  /** After that COPY: builds the table's indexes and constraints again. */
  rebuild(table: TableInfo): Promise<void>;
  /** After every table: adds back (and so checks) every foreign key dropped on the way. */
  finish(): Promise<void>;
}

export function bulkLoad(tx: Tx): BulkLoad {
  const foreignKeys: Definition[] = [];
  const suspended = new Map<string, TableIndexes>();
  const run = (statement: string): Promise<unknown> => sql.raw(statement).execute(tx);

  return {
    async suspend(table) {
      const target = qualified(table);
      const found = await indexesOf(tx, target);
      // Replica identity, CLUSTER marks and comments would not survive a drop: keep such a table as is.
      if (found === undefined) return false;
      const touching = await foreignKeysTouching(tx, target);
      for (const fk of touching) await run(`ALTER TABLE ${fk.table} DROP CONSTRAINT ${fk.name}`);
      foreignKeys.push(...touching);
      for (const c of found.constraints) await run(`ALTER TABLE ${c.table} DROP CONSTRAINT ${c.name}`);
      for (const i of found.indexes) await run(`DROP INDEX ${i.name}`);
      suspended.set(target, found);
      // COPY FREEZE takes only a plain table created or truncated in this transaction. No foreign
      // key points at it any more, so TRUNCATE is allowed; ONLY leaves inheritance children alone.
      if (!found.plain) return false;
      await run(`TRUNCATE ONLY ${target}`);
      return true;
    },
    async rebuild(table) {
      const target = qualified(table);
      const found = suspended.get(target);
      if (found === undefined) return;
      suspended.delete(target);
      for (const c of found.constraints) await run(`ALTER TABLE ${c.table} ADD CONSTRAINT ${c.name} ${c.definition}`);
      for (const i of found.indexes) await run(i.definition);
    },
    async finish() {
      if (suspended.size > 0) throw new Error('A table was loaded without its indexes being rebuilt.');
      for (const fk of foreignKeys.splice(0)) await run(`ALTER TABLE ${fk.table} ADD CONSTRAINT ${fk.name} ${fk.definition}`);
    },
  };
}

/**
 * The table's indexes, split by how they are recreated (ALTER TABLE … ADD CONSTRAINT for those
 * behind a constraint, CREATE INDEX for the rest); undefined if one cannot be dropped safely.
 */
async function indexesOf(tx: Tx, target: string): Promise<TableIndexes | undefined> {
  const { rows: kind } = await sql<{ plain: boolean }>`SELECT relkind = 'r' AS plain FROM pg_class WHERE oid = ${target}::regclass`.execute(tx);
  const { rows } = await sql<{ name: string; constraint: boolean; definition: string; keep: boolean }>`
    SELECT CASE WHEN k.oid IS NULL THEN format('%I.%I', n.nspname, i.relname) ELSE quote_ident(k.conname) END AS name,
           k.oid IS NOT NULL AS constraint,
           CASE WHEN k.oid IS NULL THEN pg_get_indexdef(i.oid) ELSE pg_get_constraintdef(k.oid) END AS definition,
           (x.indisreplident OR x.indisclustered OR obj_description(i.oid, 'pg_class') IS NOT NULL
             OR (k.oid IS NOT NULL AND obj_description(k.oid, 'pg_constraint') IS NOT NULL)) AS keep
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
    LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x')
    WHERE x.indrelid = ${target}::regclass
    ORDER BY i.relname`.execute(tx);
  if (rows.some((r) => r.keep)) return undefined;
  const table = target;
  return {
    table,
    plain: kind[0]?.plain === true,
    constraints: rows.filter((r) => r.constraint).map((r) => ({ table, name: r.name, definition: r.definition })),
    indexes: rows.filter((r) => !r.constraint).map((r) => ({ table, name: r.name, definition: r.definition })),
  };
}

async function foreignKeysTouching(tx: Tx, target: string): Promise<Definition[]> {
  const { rows } = await sql<Definition>`
    SELECT format('%I.%I', n.nspname, t.relname) AS table, quote_ident(c.conname) AS name,
           pg_get_constraintdef(c.oid) AS definition
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE c.contype = 'f' AND (c.conrelid = ${target}::regclass OR c.confrelid = ${target}::regclass)
    ORDER BY 1, 2`.execute(tx);
  return rows;
}
