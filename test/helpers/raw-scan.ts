/**
 * Looks for a plaintext in the raw storage of a test database, to prove that encrypted content
 * never reaches it in the clear. PGlite: after a CHECKPOINT, every file of its data directory
 * (relations, WAL, …) read through pg_read_binary_file. PostgreSQL: every table of every
 * non-system schema read as text (`SELECT t::text FROM schema.table t`). Returns where the
 * needle was found ([] = nowhere). Test-only.
 */
import { sql } from 'kysely';
import type { Database } from '../../src/platform/db/driver.ts';

export async function scanForPlaintext(target: { database: Database }, needle: string): Promise<string[]> {
  const { database } = target;
  return database.kind === 'pglite' ? scanPgliteFiles(database, needle) : scanPostgresTables(database, needle);
}

async function scanPgliteFiles(database: Database, needle: string): Promise<string[]> {
  const db = database.db;
  await sql`CHECKPOINT`.execute(db);
  const bytes = Buffer.from(needle, 'utf8');
  const found: string[] = [];
  const pending = ['.'];
  while (pending.length > 0) {
    const dir = pending.pop() ?? '.';
    const { rows } = await sql<{ name: string; isdir: boolean; size: number }>`
      SELECT f AS name, (pg_stat_file(${dir} || '/' || f, true)).isdir AS isdir, (pg_stat_file(${dir} || '/' || f, true)).size AS size
      FROM pg_ls_dir(${dir}) f`.execute(db);
    for (const row of rows) {
      const path = dir === '.' ? row.name : `${dir}/${row.name}`;
      if (row.isdir) pending.push(path);
      else if (row.isdir === false && Number(row.size) > 0) {
        const { rows: content } = await sql<{ b: Uint8Array }>`SELECT pg_read_binary_file(${path}, 0, ${Number(row.size)}, true) AS b`.execute(db);
        const file = content[0]?.b;
        if (file !== undefined && file !== null && Buffer.from(file).includes(bytes)) found.push(path);
      }
    }
  }
  return found;
}

async function scanPostgresTables(database: Database, needle: string): Promise<string[]> {
  const db = database.db;
  const { rows: tables } = await sql<{ schema: string; name: string }>`
    SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`.execute(db);
  const found: string[] = [];
  for (const t of tables) {
    const qualified = `"${t.schema.replaceAll('"', '""')}"."${t.name.replaceAll('"', '""')}"`;
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.raw(qualified)} t WHERE strpos(t::text, ${needle}) > 0`.execute(db);
    if (Number(rows[0]?.n ?? 0) > 0) found.push(`${t.schema}.${t.name}`);
  }
  return found;
}
