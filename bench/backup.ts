/**
 * Backup and restore throughput: `palisade backup create` and `restore` (snapshot → gzip →
 * AES-256-GCM chunks → file, and back into an empty database in one transaction) over a database
 * filled with ~60 MB of message-like rows (BENCH_BACKUP_DB_MB). MB/s counts the logical table
 * data: the uncompressed snapshot, which is the rows in PostgreSQL's COPY text format (what
 * `pg_dump --data-only` writes), not the file (compressed) nor the disk (heap and indexes), per
 * second of wall time of the whole create or restore (`createBackupFile`, `restoreBackupFile`:
 * snapshot, compression, encryption and file; or file, decryption, COPY, index builds and
 * commit), without starting the process and opening the database.
 * PGlite runs on a data directory on disk, as the CLI does.
 * `jsonLinesMB` is the same rows as JSON lines, the unit of the format-1 backups measured before,
 * so older figures can be compared. PGlite always; PostgreSQL too when reachable (DATABASE_URL, or the local server).
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
import { createBackupFile, restoreBackupFile, type BackupConnection } from '../src/modules/backups/service.ts';
import { createLocalKms } from '../src/platform/crypto/kms.ts';
import { openDatabase, type Database } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';

const TARGET_MB = Number(process.env.BENCH_BACKUP_DB_MB ?? 60);
const ROW_BYTES = 640;
const ROUNDS = Math.max(1, Number(process.env.BENCH_BACKUP_ROUNDS ?? 3));

export interface BackupBenchResult {
  backend: 'pglite' | 'postgres';
  /** Logical table data: the snapshot's COPY text (rows) plus a few control lines. */
  snapshotMB: number;
  /** The same rows as JSON lines (row_to_json), the unit of earlier measurements. */
  jsonLinesMB: number;
  fileMB: number;
  createSeconds: number;
  restoreSeconds: number;
  createMBps: number;
  restoreMBps: number;
  /** CPU seconds of this process (every thread; not PostgreSQL's server) in the best round: steadier than wall time on a shared machine. */
  createCpuSeconds: number;
  restoreCpuSeconds: number;
}

interface Opened {
  database: Database;
  connection: BackupConnection;
  drop(): Promise<void>;
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

async function measure(backend: BackupBenchResult['backend'], open: () => Promise<Opened>): Promise<BackupBenchResult> {
  const kms = createLocalKms(randomBytes(32));
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-backup-'));
  const source = await open();
  try {
    await fill(source.database);
    const { rows } = await sql<{ bytes: number }>`SELECT sum(octet_length(row_to_json(t)::text) + 1)::float8 AS bytes FROM audit_log t`.execute(source.database.db);
    const expected = await auditRows(source.database);
    // The machine is shared: each round is timed alone and the best one kept (ROUNDS, default 3).
    let createSeconds = Infinity;
    let restoreSeconds = Infinity;
    let createCpuSeconds = 0;
    let restoreCpuSeconds = 0;
    let created = { bytes: 0, snapshotBytes: 0 };
    for (let round = 0; round < ROUNDS; round += 1) {
      const file = join(dir, `bench-${round}.bak`);
      let started = performance.now();
      let cpu = process.cpuUsage();
      created = await createBackupFile({ connection: source.connection, kms }, file);
      let seconds = (performance.now() - started) / 1000;
      if (seconds < createSeconds) [createSeconds, createCpuSeconds] = [seconds, cpuSeconds(cpu)];
      const target = await open();
      try {
        started = performance.now();
        cpu = process.cpuUsage();
        await restoreBackupFile({ connection: target.connection, kms }, file);
        seconds = (performance.now() - started) / 1000;
        if (seconds < restoreSeconds) [restoreSeconds, restoreCpuSeconds] = [seconds, cpuSeconds(cpu)];
        if ((await auditRows(target.database)) !== expected) throw new Error('The restore lost rows.');
      } finally {
        await target.drop();
      }
    }
    const mb = created.snapshotBytes / 1e6;
    return {
      backend,
      snapshotMB: Math.round(mb),
      jsonLinesMB: Math.round((rows[0]?.bytes ?? 0) / 1e6),
      fileMB: Math.round(created.bytes / 1e5) / 10,
      createSeconds: Math.round(createSeconds * 10) / 10,
      restoreSeconds: Math.round(restoreSeconds * 10) / 10,
      createMBps: Math.round(mb / createSeconds),
      restoreMBps: Math.round(mb / restoreSeconds),
      createCpuSeconds: Math.round(createCpuSeconds * 100) / 100,
      restoreCpuSeconds: Math.round(restoreCpuSeconds * 100) / 100,
    };
  } finally {
    await source.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

async function auditRows(database: Database): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(database.db);
  return rows[0]?.n ?? -1;
}

// On disk, as `palisade backup` runs it (DATA_DIR/pglite, the driver's settings): an in-memory
// PGlite spends much of a restore growing its in-memory files, which no deployment does.
async function openPglite(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-pglite-'));
  const pglite = new PGlite(dir, { postgresqlconf: ['shared_buffers=32MB'] });
  const database = await openDatabase({ pglite });
  await migrate(database.db);
  return {
    database,
    connection: { kind: 'pglite', db: database.db, pglite },
    async drop() {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openPostgres(baseUrl: string): Promise<Opened> {
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
    connection: { kind: 'postgres', connectionString: url.toString() },
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
  // Like the other benchmarks: the local PostgreSQL when DATABASE_URL does not name one.
  const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await reachable(url)) results.push(await measure('postgres', () => openPostgres(url)));
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await runBackupBench();
  console.table(results);
  console.log('target: 50 MB/s or more for create and restore');
}
