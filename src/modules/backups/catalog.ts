/**
 * What a backup contains, read from the database catalogue: the tables of a schema in an order
 * that satisfies their foreign keys, their columns, the schema's sequences and the applied
 * migrations. Owns these catalogue queries; must never read table contents.
 */
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  readonly columns: string[];
}

export type Scope = 'data' | 'keystore';

/** Data backups: every table of `public` except migration bookkeeping. Key-store: its own schema. */
export const scopeSchema = (scope: Scope): string => (scope === 'data' ? 'public' : 'keystore');
const EXCLUDED = new Set(['kysely_migration', 'kysely_migration_lock']);

export const qualified = (t: { schema: string; name: string }): string => `"${t.schema}"."${t.name}"`;

export async function listTables(db: Kysely<DB>, scope: Scope): Promise<TableInfo[]> {
  const schema = scopeSchema(scope);
  const { rows: columns } = await sql<{ table: string; column: string }>`
    SELECT c.relname AS table, a.attname AS column
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'p') AND a.attgenerated = ''
    ORDER BY c.relname, a.attnum`.execute(db);
  const { rows: edges } = await sql<{ child: string; parent: string }>`
    SELECT child.relname AS child, parent.relname AS parent
    FROM pg_constraint k
    JOIN pg_class child ON child.oid = k.conrelid JOIN pg_class parent ON parent.oid = k.confrelid
    JOIN pg_namespace n ON n.oid = child.relnamespace JOIN pg_namespace pn ON pn.oid = parent.relnamespace
    WHERE k.contype = 'f' AND n.nspname = ${schema} AND pn.nspname = ${schema}`.execute(db);

  const byTable = new Map<string, string[]>();
  for (const { table, column } of columns) {
    if (EXCLUDED.has(table)) continue;
    byTable.set(table, [...(byTable.get(table) ?? []), column]);
  }
  return foreignKeyOrder([...byTable.keys()].sort(), edges).map((name) => ({ schema, name, columns: byTable.get(name) ?? [] }));
}

/** Parents before children (Kahn's algorithm, alphabetical among equals); self-references ignored. */
export function foreignKeyOrder(tables: string[], edges: Array<{ child: string; parent: string }>): string[] {
  const parents = new Map(tables.map((t) => [t, new Set<string>()]));
  for (const { child, parent } of edges) if (child !== parent && parents.has(parent)) parents.get(child)?.add(parent);
  const ordered: string[] = [];
  const done = new Set<string>();
  while (ordered.length < tables.length) {
    const next = tables.find((t) => !done.has(t) && [...(parents.get(t) ?? [])].every((p) => done.has(p)));
    if (next === undefined) throw new Error('The foreign keys between tables form a cycle; cannot order a restore.');
    ordered.push(next);
    done.add(next);
  }
  return ordered;
}

export async function appliedMigrations(db: Kysely<DB>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return rows.map((r) => r.name);
}

export interface SequenceValue {
  readonly name: string;
  readonly value: number | null;
}

export async function sequences(db: Kysely<DB>, scope: Scope): Promise<SequenceValue[]> {
  const { rows } = await sql<{ name: string; value: string | number | null }>`
    SELECT sequencename AS name, last_value AS value FROM pg_sequences
    WHERE schemaname = ${scopeSchema(scope)} ORDER BY sequencename`.execute(db);
  return rows.map((r) => ({ name: r.name, value: r.value === null ? null : Number(r.value) }));
}
