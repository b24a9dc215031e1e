/**
 * Encrypted backups end to end: PGlite → PostgreSQL → PGlite (PGlite → PGlite without a server)
 * with every value identical; a changed, truncated, reordered or extended file and a wrong
 * master key are refused with the target left empty; a data backup taken before an erasure
 * cannot decrypt the erased subject, and a key-store backup does not bring the key back.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { createInvalidationBus } from '../src/platform/cache/invalidation.ts';
import { createMemoryPubSub } from '../src/platform/cache/pubsub.ts';
import { systemClock } from '../src/platform/clock.ts';
import { isCryptoError } from '../src/platform/crypto/errors.ts';
import { createLocalKms } from '../src/platform/crypto/kms.ts';
import { createCryptoService, type CryptoService } from '../src/platform/crypto/service.ts';
import { createCrypto, type Crypto } from '../src/platform/crypto/setup.ts';
import { subjectScope } from '../src/platform/crypto/types.ts';
import { openDatabase, type Database } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { appliedMigrations, listTables, qualified, sequences } from '../src/modules/backups/catalog.ts';
import { endLine, headerLine, sequencesLine, tableLine } from '../src/modules/backups/format.ts';
import { decryptBackup, encryptBackup } from '../src/platform/crypto/backup-stream.ts';
import { createBackupFile, restoreBackupFile, type BackupConnection } from '../src/modules/backups/service.ts';
import { createTestDatabase, testBackend, type TestDatabase } from './helpers/database.ts';
import { TEST_MASTER_KEY, TEST_MASTER_KEY_2 } from './helpers/test-keys.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';

const quiet = { warn: () => undefined, info: () => undefined };

/** The real `palisade` CLI in a child process: its exit code and everything it printed. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += String(d)));
  child.stderr.on('data', (d: Buffer) => (output += String(d)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}
const cryptoConfig = { masterKey: TEST_MASTER_KEY, masterKeyPrevious: [], dataDir: '/nonexistent', databaseUrl: 'postgres://unused' };
const ORG = 'org_backup1';
const noteAad = (projectId: string) => ({ orgId: ORG, table: 'projects', column: 'settings.note', rowId: projectId });

async function cryptoFor(database: Database): Promise<Crypto & { service: CryptoService }> {
  const crypto = await createCrypto({ db: database.db, config: cryptoConfig, log: quiet });
  const invalidation = createInvalidationBus(createMemoryPubSub());
  return { ...crypto, service: createCryptoService({ db: database.db, cipher: crypto.cipher, keyring: crypto.keyring, invalidation, clock: systemClock }) };
}

/** Every row of every data table as text, sorted: equal dumps mean an exact round trip. */
async function dump(database: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of await listTables(database.db, 'data')) {
    const { rows } = await sql.raw<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM ${qualified(table)} t ORDER BY 1`).execute(database.db);
    out[table.name] = rows.map((r) => r.j);
  }
  return out;
}

/** The foreign keys of the data tables: a restore drops them while it loads and adds them back. */
async function foreignKeys(database: Database): Promise<string[]> {
  const { rows } = await sql<{ fk: string }>`
    SELECT t.relname || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) AS fk
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE c.contype = 'f' AND n.nspname = 'public' ORDER BY 1`.execute(database.db);
  return rows.map((r) => r.fk);
}

/** Every index and constraint of the data tables: a restore takes some off and must put them back as they were. */
async function schemaShape(database: Database): Promise<string[]> {
  const { rows } = await sql<{ item: string }>`
    SELECT 'index ' || tablename || ' ' || indexdef AS item FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT 'constraint ' || t.relname || ' ' || c.conname || ' ' || c.contype::text || ' ' || pg_get_constraintdef(c.oid) || ' ' || c.convalidated::text
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'not null ' || c.relname || ' ' || a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND a.attnotnull
    ORDER BY 1`.execute(database.db);
  return rows.map((r) => r.item);
}

/** About 1.5 MB of audit rows: more than one COPY block, so the restore loads the table without its indexes. */
async function seedLargeTable(database: Database): Promise<void> {
  await sql`INSERT INTO orgs (id, name, slug) VALUES ('org_large', 'Large', 'large')`.execute(database.db);
  await sql`
    INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id, ip, metadata, created_at)
    SELECT 'aud_' || lpad(g::text, 5, '0'), 'org_large', 'visitor', 'vis_' || (g % 97), 'chat.message', 'message', 'msg_' || g,
           '203.0.113.' || (g % 255), jsonb_build_object('content', repeat(md5(g::text), 12), 'n', g),
           timestamptz '2024-01-01 00:00:00+00' + (g || ' seconds')::interval
    FROM generate_series(1, 3000) g`.execute(database.db);
}

/** Decrypts a backup, edits its plaintext (same length: the block sizes stay right) and seals it again. */
async function edited(path: string, kms: Crypto['kms'], edit: (plain: string) => string): Promise<Buffer> {
  const plain: Buffer[] = [];
  for await (const piece of decryptBackup({ kms })(Readable.from([readFileSync(path)]))) plain.push(piece);
  const before = Buffer.concat(plain).toString('utf8');
  const after = edit(before);
  assert.equal(Buffer.byteLength(after), Buffer.byteLength(before));
  assert.notEqual(after, before);
  const sealed: Buffer[] = [];
  for await (const piece of encryptBackup({ kms })(Readable.from([Buffer.from(after)]))) sealed.push(piece);
  return Buffer.concat(sealed);
}

async function rowCount(database: Database): Promise<number> {
  let n = 0;
  for (const rows of Object.values(await dump(database))) n += rows.length;
  return n;
}

async function seed(database: Database, crypto: Crypto): Promise<void> {
  const db = database.db;
  await db.insertInto('orgs').values({ id: ORG, name: 'Zoë & Co — “quotes”', slug: 'zoe-co', region: 'eu', created_at: new Date('2024-02-29T23:59:59.123Z') }).execute();
  await db.insertInto('users').values({ id: 'usr_b1', email: 'b1@example.test', password_hash: 'x', name: 'Ünïcode 🚀\nnew line', created_at: new Date() }).execute();
  await db.insertInto('memberships').values({ org_id: ORG, user_id: 'usr_b1', role: 'owner' }).execute();
  await db.insertInto('totp_recovery_codes').values({ user_id: 'usr_b1', code_hash: Buffer.alloc(32, 0xab), used_at: new Date('2024-03-01T00:00:00Z') }).execute();
  for (const [id, subject] of [['prj_1', 'vis_1'], ['prj_2', 'vis_2'], ['prj_3', undefined]] as const) {
    const scope = subject === undefined ? undefined : subjectScope(ORG, subject);
    const note = await crypto.cipher.encrypt(`secret note of ${id}`, noteAad(id), scope);
    const settings = { note, nested: { list: [1, 2.5, null, 'x'], flag: true, big: 12345678901234 } };
    await db.insertInto('projects').values({ id, org_id: ORG, name: id, settings: JSON.stringify(settings) }).execute();
  }
}

async function notes(database: Database, crypto: Crypto): Promise<Record<string, string>> {
  const rows = await database.db.selectFrom('projects').select(['id', 'settings']).orderBy('id').execute();
  const out: Record<string, string> = {};
  for (const row of rows) {
    const note = (row.settings as { note: string }).note;
    out[row.id] = await crypto.cipher.decrypt(note, noteAad(row.id)).catch((e: unknown) => (isCryptoError(e) ? `<${e.reason}>` : 'error'));
  }
  return out;
}

/** What earlier versions wrote: row_to_json lines, sealed by the same encrypted container. Returns the row count. */
async function writeFormatOne(from: { database: Database; kms: Crypto['kms'] }, path: string, scope: 'data' | 'keystore'): Promise<number> {
  const db = from.database.db;
  const lines = [headerLine({ format: 1, scope, createdAt: new Date().toISOString(), source: 'pglite', migrations: await appliedMigrations(db) })];
  let rows = 0;
  const tables = await listTables(db, scope);
  for (const table of tables) {
    lines.push(tableLine(table));
    const { rows: found } = await sql.raw<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM ${qualified(table)} t`).execute(db);
    for (const row of found) lines.push(`${row.j}\n`);
    rows += found.length;
  }
  lines.push(sequencesLine(await sequences(db, scope)), endLine(tables.length, rows));
  const sealed: Buffer[] = [];
  for await (const piece of encryptBackup({ kms: from.kms, chunkSize: 4096 })(Readable.from([Buffer.from(lines.join(''))]))) sealed.push(piece);
  writeFileSync(path, Buffer.concat(sealed));
  return rows;
}

/** A database and how a backup reaches it (PGlite: the instance, for COPY via /dev/blob). */
interface Target extends Database {
  readonly connection: BackupConnection;
}

/** A migrated PGlite and a reusable snapshot of it (creating one costs seconds). */
async function pgliteFactory(): Promise<{ open(): Promise<Target> }> {
  const fresh = new PGlite();
  const first = await openDatabase({ pglite: fresh });
  await migrate(first.db);
  const snapshot = await fresh.dumpDataDir('none');
  await first.close();
  return {
    async open() {
      const pglite = new PGlite({ loadDataDir: snapshot });
      const database = await openDatabase({ pglite });
      return { ...database, connection: { kind: 'pglite', db: database.db, pglite } };
    },
  };
}

describe('encrypted backups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-backup-'));
  const closers: Array<() => Promise<void>> = [];
  let source: Target;
  let sourceCrypto: Crypto & { service: CryptoService };
  let openPglite: () => Promise<Target>;
  const file = (name: string): string => join(dir, name);
  const track = (database: Target): Target => (closers.push(() => database.close()), database);
  /** A fresh migrated database of the backend under test. */
  const backendDb = async (): Promise<Target> => {
    if (testBackend() === 'pglite') return track(await openPglite());
    const t: TestDatabase = await createTestDatabase();
    closers.push(() => t.drop());
    return { ...t.database, connection: { kind: 'postgres', connectionString: t.url ?? '' } };
  };

  before(async () => {
    openPglite = (await pgliteFactory()).open;
    source = track(await openPglite());
    sourceCrypto = await cryptoFor(source);
    await seed(source, sourceCrypto);
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`round-trips PGlite → ${testBackend() === 'postgres' ? 'PostgreSQL' : 'PGlite'} → PGlite exactly`, async () => {
    const original = await dump(source);
    assert.equal(original.totp_recovery_codes?.length, 1, 'recovery code hashes are user data: in data backups');
    await createBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('a.bak'));
    assert.ok(!readFileSync(file('a.bak')).includes(Buffer.from('Zoë')), 'the file is not plaintext');

    const middle = await backendDb();
    const restored = await restoreBackupFile({ connection: middle.connection, kms: sourceCrypto.kms }, file('a.bak'));
    assert.equal(restored.scope, 'data');
    assert.deepEqual([restored.manifest?.scope, typeof restored.manifest?.createdAt, restored.manifest?.source], ['data', 'string', 'pglite'], 'what the header said: made from the embedded database');
    assert.deepEqual(await dump(middle), original);
    const keys = await foreignKeys(source);
    assert.ok(keys.length > 5, 'the schema has foreign keys');
    assert.deepEqual(await foreignKeys(middle), keys, 'every foreign key is back after the restore');

    const middleCrypto = await cryptoFor(middle);
    await createBackupFile({ connection: middle.connection, kms: middleCrypto.kms }, file('b.bak'));
    const last = track(await openPglite());
    await restoreBackupFile({ connection: last.connection, kms: middleCrypto.kms }, file('b.bak'));
    assert.deepEqual(await dump(last), original);
    // Organisation keys travel with the data; subject keys do not (they stay in the key store).
    const lastNotes = await notes(last, await cryptoFor(last));
    assert.equal(lastNotes.prj_3, 'secret note of prj_3');
    assert.equal(lastNotes.prj_1, '<key_not_found>');

    await assert.rejects(restoreBackupFile({ connection: last.connection, kms: middleCrypto.kms }, file('b.bak')), /not empty/);
  });

  it('`backup verify` reads only the file and the master key: no database opened, no key file created', async () => {
    await createBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('verify.bak'));
    const emptyDataDir = mkdtempSync(join(tmpdir(), 'palisade-verify-'));
    closers.push(async () => rmSync(emptyDataDir, { recursive: true, force: true }));
    const verify = (env: Record<string, string>) => runCli(['backup', 'verify', '--in', file('verify.bak')], { DATA_DIR: emptyDataDir, DATABASE_URL: '', ...env });

    const withKey = await verify({ PALISADE_MASTER_KEY: TEST_MASTER_KEY });
    assert.equal(withKey.code, 0, withKey.output);
    assert.match(withKey.output, /is intact \(\d+ bytes of snapshot\): a data backup made \d{4}-\d{2}-\d{2}T[\d:.]+Z from (the embedded database|PostgreSQL), schema \d{4}_\w+\./, 'what its authenticated header says');
    const withoutKey = await verify({ PALISADE_MASTER_KEY: '' });
    assert.notEqual(withoutKey.code, 0);
    assert.match(withoutKey.output, /No master key/);
    assert.deepEqual(readdirSync(emptyDataDir), [], 'no database and no master.key were created');
  });

  it('`backup restore` without the master key creates no key file: it says what is missing', async () => {
    await createBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('restore-nokey.bak'));
    const emptyDataDir = mkdtempSync(join(tmpdir(), 'palisade-restore-'));
    closers.push(async () => rmSync(emptyDataDir, { recursive: true, force: true }));
    const r = await runCli(['backup', 'restore', '--in', file('restore-nokey.bak')], { DATA_DIR: emptyDataDir, DATABASE_URL: '', PALISADE_MASTER_KEY: '' });
    assert.notEqual(r.code, 0);
    assert.match(r.output, /No master key/);
    assert.ok(!readdirSync(emptyDataDir).includes('master.key'), 'no new master key, which would open nothing and be warned about at every start');
  });

  it('never replaces an existing file (nor leaves a temporary one behind)', async () => {
    writeFileSync(file('precious.bak'), 'yesterday');
    for (const scope of ['data', 'keystore'] as const) {
      await assert.rejects(createBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('precious.bak'), scope), /already exists/);
    }
    assert.equal(readFileSync(file('precious.bak'), 'utf8'), 'yesterday');
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], 'no temporary file');
  });

  it('refuses a changed, truncated, reordered or extended file and a wrong key, leaving the target empty', async () => {
    await createBackupFile({ connection: source.connection, kms: sourceCrypto.kms, chunkSize: 256 }, file('c.bak'));
    const good = readFileSync(file('c.bak'));
    const headerLength = 7 + 1 + 4 + 7 + 1 + good.readUInt8(19) + 2 + good.readUInt16BE(20 + good.readUInt8(19));
    const chunk = 5 + 256 + 16;
    assert.ok(good.length > headerLength + 3 * chunk, 'several chunks');
    const flipped = Buffer.from(good);
    flipped[headerLength + chunk + 40] = (flipped[headerLength + chunk + 40] ?? 0) ^ 1;
    const reordered = Buffer.concat([
      good.subarray(0, headerLength),
      good.subarray(headerLength + chunk, headerLength + 2 * chunk),
      good.subarray(headerLength, headerLength + chunk),
      good.subarray(headerLength + 2 * chunk),
    ]);
    const cases: Record<string, Buffer> = {
      flipped,
      reordered,
      truncatedMidChunk: good.subarray(0, good.length - 7),
      truncatedAtChunk: good.subarray(0, headerLength + 2 * chunk),
      extended: Buffer.concat([good, Buffer.from([0])]),
      headerEdited: Buffer.concat([good.subarray(0, 8), Buffer.from([0, 0, 2, 0]), good.subarray(12)]),
    };
    const target = await backendDb();
    for (const [name, bytes] of Object.entries(cases)) {
      writeFileSync(file(`${name}.bak`), bytes);
      await assert.rejects(restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file(`${name}.bak`)),
        (e: unknown) => isCryptoError(e, 'backup_corrupt') || isCryptoError(e, 'backup_truncated'), name);
      assert.equal(await rowCount(target), 0, `${name}: nothing written`);
    }
    assert.deepEqual(await foreignKeys(target), await foreignKeys(source), 'refused restores leave the constraints in place');
    const wrongKms = createLocalKms(Buffer.from(TEST_MASTER_KEY_2, 'base64'));
    await assert.rejects(restoreBackupFile({ connection: target.connection, kms: wrongKms }, file('c.bak')), (e: unknown) => isCryptoError(e, 'unknown_kek'));
    const sameIdWrongKey = createLocalKms(Buffer.from(TEST_MASTER_KEY_2, 'base64'), sourceCrypto.kms.keyId);
    await assert.rejects(restoreBackupFile({ connection: target.connection, kms: sameIdWrongKey }, file('c.bak')), (e: unknown) => isCryptoError(e, 'unwrap_failed'));
    assert.equal(await rowCount(target), 0);
    await restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file('c.bak'));
    assert.deepEqual(await dump(target), await dump(source), 'the untouched file restores');
  });

  it('still restores a format-1 (JSON lines) backup of an earlier version', async () => {
    const rows = await writeFormatOne({ database: source, kms: sourceCrypto.kms }, file('format1.bak'), 'data');
    const target = await backendDb();
    const result = await restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file('format1.bak'));
    assert.equal(result.rows, rows);
    assert.deepEqual(await dump(target), await dump(source));
  });

  it('a large table loads without its indexes and gets every one back; a duplicate key or dangling reference leaves nothing', async () => {
    const large = track(await openPglite());
    await seedLargeTable(large);
    const kms = createLocalKms(Buffer.from(TEST_MASTER_KEY, 'base64'));
    await createBackupFile({ connection: large.connection, kms }, file('large.bak'));

    const target = await backendDb();
    const shape = await schemaShape(target);
    assert.ok(shape.some((item) => item.startsWith('constraint audit_log audit_log_pkey p')), 'the table under test has a primary key');
    const cases: Record<string, (plain: string) => string> = {
      duplicateKey: (plain) => plain.replace('aud_00002\t', 'aud_00001\t'),
      danglingReference: (plain) => plain.replace('aud_00002\torg_large', 'aud_00002\torg_lurge'),
    };
    for (const [name, edit] of Object.entries(cases)) {
      writeFileSync(file(`${name}.bak`), await edited(file('large.bak'), kms, edit));
      await assert.rejects(restoreBackupFile({ connection: target.connection, kms }, file(`${name}.bak`)), /unique|violates/, name);
      assert.equal(await rowCount(target), 0, `${name}: nothing written`);
      assert.deepEqual(await schemaShape(target), shape, `${name}: every index and constraint still in place`);
    }

    const restored = await restoreBackupFile({ connection: target.connection, kms }, file('large.bak'));
    assert.equal(restored.rows, 3001);
    assert.deepEqual(await dump(target), await dump(large));
    assert.deepEqual(await schemaShape(target), shape, 'every index and constraint is back as it was');
  });

  it('a backup from before an erasure cannot decrypt the erased subject after restore', async () => {
    const kmsDeps = { connection: source.connection, kms: sourceCrypto.kms };
    await createBackupFile(kmsDeps, file('data-before.bak'));
    await createBackupFile(kmsDeps, file('keys-before.bak'), 'keystore');
    assert.deepEqual(await notes(source, sourceCrypto), { prj_1: 'secret note of prj_1', prj_2: 'secret note of prj_2', prj_3: 'secret note of prj_3' });

    assert.equal(await sourceCrypto.service.shred(ORG, 'vis_1'), 1);
    const { rows: tombstone } = await sql<{ last_version: number }>`SELECT last_version FROM key_erasures WHERE scope = ${subjectScope(ORG, 'vis_1')}`.execute(source.db);
    assert.deepEqual(tombstone, [{ last_version: 1 }], 'the tombstone remembers the last version it erased');
    await createBackupFile(kmsDeps, file('keys-after.bak'), 'keystore');

    // Disaster: the data is restored from before the erasure, the key store from its own backup.
    const target = await backendDb();
    await restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file('data-before.bak'));
    const keys = await restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file('keys-after.bak'));
    assert.equal(keys.scope, 'keystore');
    assert.deepEqual(await notes(target, await cryptoFor(target)),
      { prj_1: '<key_not_found>', prj_2: 'secret note of prj_2', prj_3: 'secret note of prj_3' });

    // The other order on a fresh database: the key store from before the erasure first (no
    // tombstones there yet), then data taken after it, whose tombstone must still win.
    await createBackupFile(kmsDeps, file('data-after.bak'));
    const fresh = await backendDb();
    const early = await restoreBackupFile({ connection: fresh.connection, kms: sourceCrypto.kms }, file('keys-before.bak'));
    assert.equal(early.erasedKeysDropped, 0);
    const data = await restoreBackupFile({ connection: fresh.connection, kms: sourceCrypto.kms }, file('data-after.bak'));
    assert.equal(data.erasedKeysDropped, 1, 'the data restore applied the tombstone it brought');
    const { rows: left } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM keystore.subject_keys WHERE scope = ${subjectScope(ORG, 'vis_1')}`.execute(fresh.db);
    assert.equal(left[0]?.n, 0);
    assert.equal((await notes(fresh, await cryptoFor(fresh))).prj_1, '<key_not_found>');

    // A key-store backup from before the erasure does not resurrect the key: the tombstone wins.
    const merged = await restoreBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('keys-before.bak'));
    assert.equal(merged.erasedKeysDropped, 1);
    assert.equal((await notes(source, await cryptoFor(source))).prj_1, '<key_not_found>');
  });

  it('a key-store restore that would collide with keys made since is refused whole, losing nothing', async () => {
    const kmsDeps = { connection: source.connection, kms: sourceCrypto.kms };
    await createBackupFile(kmsDeps, file('collide-data.bak'));
    await createBackupFile(kmsDeps, file('collide-keys.bak'), 'keystore');
    // The data is back, and the server takes traffic before the key store is restored: a returning
    // visitor's new content gets a new key under the scope and version of the one in the backup.
    const target = await backendDb();
    await restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file('collide-data.bak'));
    const live = await cryptoFor(target);
    const fresh = await live.cipher.encrypt('written after the data restore', noteAad('prj_2'), subjectScope(ORG, 'vis_2'));
    const before = await sql<{ scope: string; version: number }>`SELECT scope, version FROM keystore.subject_keys ORDER BY scope, version`.execute(target.db);
    assert.deepEqual(before.rows.map((r) => `${r.scope}#${r.version}`), [`${subjectScope(ORG, 'vis_2')}#1`]);

    await writeFormatOne({ database: source, kms: sourceCrypto.kms }, file('collide-keys-format1.bak'), 'keystore');
    for (const name of ['collide-keys.bak', 'collide-keys-format1.bak']) {
      await assert.rejects(restoreBackupFile({ connection: target.connection, kms: sourceCrypto.kms }, file(name)), /collide with different keys made here/, name);
    }
    const after = await sql<{ scope: string; version: number }>`SELECT scope, version FROM keystore.subject_keys ORDER BY scope, version`.execute(target.db);
    assert.deepEqual(after.rows, before.rows, 'nothing was merged');
    assert.equal(await live.cipher.decrypt(fresh, noteAad('prj_2')), 'written after the data restore', 'the live key is untouched');

    // The same backup merged into its own database again is no collision (same keys).
    const again = await restoreBackupFile({ connection: source.connection, kms: sourceCrypto.kms }, file('collide-keys.bak'));
    assert.equal(again.scope, 'keystore');
  });

  it('a subject erased twice, the second time with no key here, stays erased after a key-store restore', async () => {
    const target = await backendDb();
    const crypto = await cryptoFor(target);
    await target.db.insertInto('orgs').values({ id: ORG, name: 'Twice', slug: 'twice', region: 'eu' }).execute();
    const scope = subjectScope(ORG, 'vis_twice');
    const aad = noteAad('prj_twice');
    await crypto.cipher.encrypt('first life', aad, scope);
    assert.equal(await crypto.service.shred(ORG, 'vis_twice'), 1);
    // The subject comes back: a new key one version above the erased one, in a key-store backup.
    const second = await crypto.cipher.encrypt('second life', aad, scope);
    const kmsDeps = { connection: target.connection, kms: crypto.kms };
    await createBackupFile(kmsDeps, file('twice-keys.bak'), 'keystore');
    // The live key store is lost; the subject is erased again, with no key here to delete.
    await sql`DELETE FROM keystore.subject_keys`.execute(target.db);
    assert.equal(await crypto.service.shred(ORG, 'vis_twice'), 0);

    const restored = await restoreBackupFile(kmsDeps, file('twice-keys.bak'));
    assert.equal(restored.erasedKeysDropped, 1, 'the version above the tombstone is dropped too');
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM keystore.subject_keys WHERE scope = ${scope}`.execute(target.db);
    assert.equal(rows[0]?.n, 0);
    await assert.rejects((await cryptoFor(target)).cipher.decrypt(second, aad), (e: unknown) => isCryptoError(e, 'key_not_found'));
  });

  it('a key-store restore waits for an erasure under way, so the erased key does not come back', { skip: testBackend() !== 'postgres' && 'a race between two connections: PostgreSQL only' }, async () => {
    const target = await backendDb();
    const crypto = await cryptoFor(target);
    await target.db.insertInto('orgs').values({ id: ORG, name: 'Race', slug: 'race', region: 'eu' }).execute();
    const scope = subjectScope(ORG, 'vis_race');
    const aad = noteAad('prj_race');
    const secret = await crypto.cipher.encrypt('erase me', aad, scope);
    const kmsDeps = { connection: target.connection, kms: crypto.kms };
    await createBackupFile(kmsDeps, file('race-keys.bak'), 'keystore');
    await sql`DELETE FROM keystore.subject_keys`.execute(target.db); // the live key is lost: why one restores
    // An erasure has written its tombstone and not committed yet when the restore starts.
    const erasure = await holdLocks(target.db, (tx) => tx.insertInto('key_erasures').values({ scope, erased_at: new Date() }).execute());
    const restoring = restoreBackupFile(kmsDeps, file('race-keys.bak'));
    restoring.catch(() => undefined);
    assert.equal(await lockWaiters(target.db, /LOCK TABLE/i), 1, 'the restore waits for the erasure');
    await erasure.release();
    const restored = await restoring;
    assert.equal(restored.erasedKeysDropped, 1);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM keystore.subject_keys WHERE scope = ${scope}`.execute(target.db);
    assert.equal(rows[0]?.n, 0, 'the erased key is not restored');
    await assert.rejects((await cryptoFor(target)).cipher.decrypt(secret, aad), (e: unknown) => isCryptoError(e, 'key_not_found'));
  });

  it("a backup's key of a subject erased here since is no collision: the merge goes through and drops it", async () => {
    const target = await backendDb();
    const crypto = await cryptoFor(target);
    await target.db.insertInto('orgs').values({ id: ORG, name: 'Gone', slug: 'gone', region: 'eu' }).execute();
    const scope = subjectScope(ORG, 'vis_gone');
    const aad = noteAad('prj_gone');
    const old = await crypto.cipher.encrypt('before the erasure', aad, scope);
    const kmsDeps = { connection: target.connection, kms: crypto.kms };
    await createBackupFile(kmsDeps, file('gone-keys.bak'), 'keystore');
    // The key store is lost; the subject is erased (no key here to see), then comes back: a new
    // key under the same scope and version as the one in the backup.
    await sql`DELETE FROM keystore.subject_keys`.execute(target.db);
    assert.equal(await crypto.service.shred(ORG, 'vis_gone'), 0);
    const fresh = await (await cryptoFor(target)).cipher.encrypt('after the erasure', aad, scope);

    await restoreBackupFile(kmsDeps, file('gone-keys.bak'));
    const after = await cryptoFor(target);
    assert.equal(await after.cipher.decrypt(fresh, aad), 'after the erasure', 'the live key stays');
    await assert.rejects(after.cipher.decrypt(old, aad), (e: unknown) => isCryptoError(e), 'the erased content stays erased');
  });
});
