/**
 * A fresh, migrated database for one test file: PGlite started from a migrated snapshot
 * (creating a PGlite database takes seconds, loading a snapshot about one), or a new
 * PostgreSQL database with a random name on the server DATABASE_URL points at, dropped at the end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db/driver.ts';
import { migrate } from '../../src/platform/db/migrate.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const migrationsDir = join(root, 'src/platform/db/migrations');

export type Backend = 'pglite' | 'postgres';

export function testBackend(): Backend {
  const chosen = process.env.PALISADE_TEST_BACKEND;
  if (chosen === 'postgres' || (!chosen && process.env.DATABASE_URL)) {
    if (!process.env.DATABASE_URL) throw new Error('PALISADE_TEST_BACKEND=postgres needs DATABASE_URL');
    return 'postgres';
  }
  return 'pglite';
}

function migrationsFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(migrationsDir).sort()) hash.update(file).update(readFileSync(join(migrationsDir, file)));
  // migrate() grants the application role its privileges after the migrations: part of the schema.
  hash.update(readFileSync(join(migrationsDir, '..', 'migrate.ts')));
  return hash.digest('hex').slice(0, 16);
}

async function pgliteSnapshot(): Promise<Blob> {
  const dir = join(root, 'node_modules/.cache/palisade-test');
  const file = join(dir, `pglite-${migrationsFingerprint()}.tar`);
  if (!existsSync(file)) {
    const fresh = new PGlite();
    const database = await openDatabase({ pglite: fresh });
    await migrate(database.db);
    const dump = await fresh.dumpDataDir('none');
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, file); // atomic: parallel test files may race to create it
    await database.close();
  }
  return new Blob([readFileSync(file)]);
}

export interface TestDatabase {
  backend: Backend;
  database: Database;
  /** The connection string of this test's own PostgreSQL database (postgres backend only). */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (testBackend() === 'pglite') {
    const pglite = new PGlite({ loadDataDir: await pgliteSnapshot() });
    const database = await openDatabase({ pglite });
    return { backend: 'pglite', database, url: undefined, drop: () => database.close() };
  }
  const base = new URL(process.env.DATABASE_URL ?? '');
  const name = `palisade_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 10 });
  await migrate(database.db);
  return {
    backend: 'postgres',
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
