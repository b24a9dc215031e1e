/**
 * Backup and restore throughput: `palisade backup create` and `restore` (snapshot → gzip →
 * AES-256-GCM chunks → file, and back into an empty database in one transaction) over a database
 * filled with ~60 MB of message-like rows (BENCH_BACKUP_DB_MB). MB/s counts the uncompressed
 * snapshot (JSON lines). PGlite always; PostgreSQL too when DATABASE_URL is reachable.
 * `npx tsx bench/backup.ts`, or `runBackupBench()`. Never fails on a timing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pg from 'pg';
import { createBackupFile, restoreBackupFile } from '../src/modules/backups/service.ts';
import { createLocalKms } from '../src/platform/crypto/kms.ts';
import { openDatabase, type Database } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';

const TARGET_MB = Number(process.env.BENCH_BACKUP_DB_MB ?? 60);
const ROW_BYTES = 640;

export interface BackupBenchResult {
  backend: 'pglite' | 'postgres';
  snapshotMB: number;
  fileMB: number;
  createMBps: number;
  restoreMBps: number;
}

async function fill(database: Database): Promise<void> {
  const rows = Math.round((TARGET_MB * 1e6) / ROW_BYTES);
  await sql`INSERT INTO orgs (id, name, slug) VALUES ('org_bench', 'Bench', 'bench')`.execute(database.db);
  // Message-like rows: ids, an IP, and a body of hex (ciphertext-like: compresses about 2:1).
  for (let start = 0; start < rows; start += 20_000) {
    await sql`
      INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id, ip, metadata, created_at)
      SELECT 'aud_' || g, 'org_bench', 'visitor', 'vis_' || (g % 997), 'chat.message', 'message', 'msg_' || g,
             '203.0.113.' || (g % 255),
             jsonb_build_object('content', 'v1.o.1.' || md5(g::text) || md5((g * 3)::text) || md5((g * 5)::text) || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text) || md5((g * 17)::text) || md5((g * 19)::text) || md5((g * 23)::text) || md5((g * 29)::text) || md5((g * 31)::text) || md5((g * 37)::text) || md5((g * 41)::text) || md5((g * 43)::text) || md5((g * 47)::text) || md5((g * 53)::text), 'tokens', g % 500),
             now() - (g || ' seconds')::interval
      FROM generate_series(${start + 1}::int, ${Math.min(start + 20_000, rows)}::int) g`.execute(database.db);
  }
}

async function measure(backend: BackupBenchResult['backend'], open: () => Promise<{ database: Database; drop(): Promise<void> }>): Promise<BackupBenchResult> {
  const kms = createLocalKms(randomBytes(32));
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-backup-'));
  const source = await open();
  const target = await open();
  try {
    await fill(source.database);
    const file = join(dir, 'bench.bak');
    let started = performance.now();
    const created = await createBackupFile({ db: source.database.db, kind: source.database.kind, kms }, file);
    const createSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    await restoreBackupFile({ db: target.database.db, kms }, file);
    const restoreSeconds = (performance.now() - started) / 1000;
    const mb = created.snapshotBytes / 1e6;
    return {
      backend,
      snapshotMB: Math.round(mb),
      fileMB: Math.round(created.bytes / 1e5) / 10,
      createMBps: Math.round(mb / createSeconds),
      restoreMBps: Math.round(mb / restoreSeconds),
    };
  } finally {
    await source.drop();
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function openPglite(): Promise<{ database: Database; drop(): Promise<void> }> {
  const database = await openDatabase({ pglite: new PGlite() });
  await migrate(database.db);
  return { database, drop: () => database.close() };
}

async function openPostgres(baseUrl: string): Promise<{ database: Database; drop(): Promise<void> }> {
  const name = `palisade_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  await migrate(database.db);
  return {
    database,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

export async function runBackupBench(): Promise<BackupBenchResult[]> {
  const results = [await measure('pglite', openPglite)];
  const url = process.env.DATABASE_URL;
  if (url && (await reachable(url))) results.push(await measure('postgres', () => openPostgres(url)));
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await runBackupBench();
  console.table(results);
  console.log('target: 50 MB/s or more for create and restore');
}
