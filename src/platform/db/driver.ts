/**
 * One SQL dialect, two drivers: PostgreSQL (DATABASE_URL) or embedded PGlite (DATA_DIR).
 * Both are reached through a node-postgres Pool so Kysely sees one code path.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { pgliteClientConfig } from './pglite-connection.ts';
import type { DB } from './tables.ts';

// bigint counts arrive as strings by default; ours stay far below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly db: Kysely<DB>;
  /** The embedded engine itself (kind 'pglite'), for what only it can do, such as COPY to a blob. */
  readonly pglite?: PGlite;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  /** An already-open PGlite (tests start one from a snapshot). Closed with the Database. */
  pglite?: PGlite;
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 });
    pool.on('error', () => {
      /* an idle client died; the pool replaces it */
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { kind: 'postgres', db, close: () => db.destroy() };
  }
  let pglite = options.pglite;
  let unlock = (): void => undefined;
  if (!pglite) {
    if (!options.dataDir) throw new Error('openDatabase: dataDir or databaseUrl is required');
    const dir = join(options.dataDir, 'pglite');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(dir);
    // PostgreSQL's default 128 MB of shared buffers lives inside the WASM heap and never
    // shrinks; 32 MB keeps the embedded server's memory well under 500 MB.
    pglite = new PGlite(dir, { postgresqlconf: ['shared_buffers=32MB'] });
  }
  try {
    await pglite.waitReady;
  } catch (error) {
    unlock();
    throw error;
  }
  const instance = pglite;
  // PGlite is one connection: a pool of one serialises queries and transactions correctly.
  const pool = new pg.Pool({ ...pgliteClientConfig(instance), max: 1 } as pg.PoolConfig);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'pglite',
    db,
    pglite: instance,
    close: async () => {
      try {
        await db.destroy();
        await instance.close();
      } finally {
        unlock();
      }
    },
  };
}
