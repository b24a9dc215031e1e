/**
 * Key rotation: `keys rotate-master` re-wraps every data key so the old master key can go, and
 * `keys rotate-org` — the real CLI in a child process, killed mid-way and started again —
 * re-encrypts every row to the new version, resuming from its checkpoint, with every row
 * readable throughout.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { announceKeyEviction } from '../src/modules/keys/cli-context.ts';
import { rotateMaster } from '../src/modules/keys/rotate-master.ts';
import { createInvalidationBus } from '../src/platform/cache/invalidation.ts';
import { createRedisPubSub } from '../src/platform/cache/pubsub.ts';
import { KEY_EVICTION_TOPIC } from '../src/platform/crypto/service.ts';
import { rotateOrg } from '../src/modules/keys/rotate-org.ts';
import { createKeysStore } from '../src/modules/keys/store.ts';
import type { Keyring } from '../src/platform/crypto/keyring.ts';
import { createSqlCheckpointStore } from '../src/platform/crypto/sql-key-store.ts';
import { isCryptoError } from '../src/platform/crypto/errors.ts';
import { localKeyId } from '../src/platform/crypto/kms.ts';
import { parseCiphertext } from '../src/platform/crypto/envelope.ts';
import { createCrypto, type Crypto } from '../src/platform/crypto/setup.ts';
import { orgScope, subjectScope, type CryptoLogger } from '../src/platform/crypto/types.ts';
import { openDatabase, type Database } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createTestDatabase, testBackend } from './helpers/database.ts';
import { TEST_MASTER_KEY, TEST_MASTER_KEY_2 } from './helpers/test-keys.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = { warn: () => undefined, info: () => undefined };
const ORG = 'org_rot';
const ROWS = 240;
const aad = (rowId: string) => ({ orgId: ORG, table: 'rot_probe', column: 'secret', rowId });

function cryptoFor(database: Database, masterKey: string, previous: string[] = [], log: CryptoLogger = quiet): Promise<Crypto> {
  return createCrypto({ db: database.db, config: { masterKey, masterKeyPrevious: previous, dataDir: '/nonexistent', databaseUrl: 'postgres://unused' }, log });
}

/** The warnings createCrypto logs at start-up with this configuration. */
async function startUpWarnings(database: Database, masterKey: string, previous: string[] = []): Promise<string[]> {
  const warnings: string[] = [];
  await cryptoFor(database, masterKey, previous, { warn: (message) => void warnings.push(message), info: () => undefined });
  return warnings;
}

describe('keys rotate-master', () => {
  it('re-wraps every data key; afterwards the old master key is not needed', async () => {
    const testDb = await createTestDatabase();
    try {
      const db = testDb.database;
      const before = await cryptoFor(db, TEST_MASTER_KEY);
      const values = [
        { aad: aad('r1'), text: 'org content', ct: await before.cipher.encrypt('org content', aad('r1')) },
        { aad: aad('r2'), text: 'subject content', ct: await before.cipher.encrypt('subject content', aad('r2'), subjectScope(ORG, 'vis_1')) },
      ];
      const oldId = localKeyId(Buffer.from(TEST_MASTER_KEY, 'base64'));
      assert.deepEqual(await startUpWarnings(db, TEST_MASTER_KEY), [], 'nothing to say before a rotation');
      const [pending, ...more] = await startUpWarnings(db, TEST_MASTER_KEY_2, [TEST_MASTER_KEY]);
      assert.match(pending ?? '', new RegExp(`^2 data keys are still wrapped by the previous master key ${oldId}: run \`palisade keys rotate-master\``));
      assert.deepEqual(more, []);
      const [lost] = await startUpWarnings(db, TEST_MASTER_KEY_2);
      assert.match(lost ?? '', new RegExp(`^2 data keys are wrapped by master key ${oldId}, which is neither PALISADE_MASTER_KEY nor in PALISADE_MASTER_KEY_PREVIOUS`));

      const rotating = await cryptoFor(db, TEST_MASTER_KEY_2, [TEST_MASTER_KEY]);
      const result = await rotateMaster(rotating, 1);
      assert.equal(result.rewrapped, 2);
      assert.equal((await rotateMaster(rotating)).rewrapped, 0, 'idempotent');
      const newId = localKeyId(Buffer.from(TEST_MASTER_KEY_2, 'base64'));
      const { rows } = await sql<{ kek_id: string }>`SELECT kek_id FROM data_keys UNION ALL SELECT kek_id FROM keystore.subject_keys`.execute(db.db);
      assert.deepEqual(rows.map((r) => r.kek_id), [newId, newId]);

      assert.deepEqual(await startUpWarnings(db, TEST_MASTER_KEY_2), [], 'the old key may go now');
      // An instance still running with the old key wraps a new key under it after the rotation:
      // the next start-up says so, so the old key is not dropped while it is still needed.
      const straggler = await cryptoFor(db, TEST_MASTER_KEY);
      await straggler.cipher.encrypt('late content', aad('r3'), subjectScope(ORG, 'vis_2'));
      assert.match((await startUpWarnings(db, TEST_MASTER_KEY_2, [TEST_MASTER_KEY]))[0] ?? '', /^1 data keys are still wrapped by the previous master key/);
      assert.equal((await rotateMaster(rotating)).rewrapped, 1, 'running it again re-wraps it');

      const after = await cryptoFor(db, TEST_MASTER_KEY_2);
      for (const v of values) assert.equal(await after.cipher.decrypt(v.ct, v.aad), v.text);
      const stale = await cryptoFor(db, TEST_MASTER_KEY);
      await assert.rejects(stale.cipher.decrypt(values[0]?.ct ?? '', aad('r1')), (e: unknown) => isCryptoError(e, 'unknown_kek'));
    } finally {
      await testDb.drop();
    }
  });

  it('a key no configured master key can unwrap is named and left, and the keys after it are re-wrapped all the same', async () => {
    const testDb = await createTestDatabase();
    try {
      const db = testDb.database;
      const orgAad = (orgId: string) => ({ orgId, table: 'rot_probe', column: 'secret', rowId: 'r1' });
      const old = await cryptoFor(db, TEST_MASTER_KEY);
      const kept = [
        { aad: orgAad('org_a'), ct: await old.cipher.encrypt('a', orgAad('org_a')) },
        { aad: orgAad('org_z'), ct: await old.cipher.encrypt('z', orgAad('org_z')) },
        { aad: orgAad('org_s'), ct: await old.cipher.encrypt('s', orgAad('org_s'), subjectScope('org_s', 'vis_1')) },
      ];
      // Sorted between the others: a key under a master key nobody configured (merged from an old key store, say).
      const lost = await cryptoFor(db, randomBytes(32).toString('base64'));
      await lost.cipher.encrypt('m', orgAad('org_m'));

      const rotating = await cryptoFor(db, TEST_MASTER_KEY_2, [TEST_MASTER_KEY]);
      const first = await rotateMaster(rotating, 1);
      assert.equal(first.rewrapped, 3);
      assert.deepEqual(first.unreadable, [{ scope: orgScope('org_m'), version: 1 }]);
      const again = await rotateMaster(rotating, 1);
      assert.deepEqual([again.rewrapped, again.unreadable], [0, [{ scope: orgScope('org_m'), version: 1 }]], 'every run ends, naming it again');
      const after = await cryptoFor(db, TEST_MASTER_KEY_2);
      assert.deepEqual(await Promise.all(kept.map((k) => after.cipher.decrypt(k.ct, k.aad))), ['a', 'z', 's']);
    } finally {
      await testDb.drop();
    }
  });
});

describe('keys rotate-org --include-subjects, interrupted', () => {
  it('a run that dies among the subjects is started over, so no subject is left unrotated; a shredded one gets no key', async () => {
    const testDb = await createTestDatabase();
    try {
      const db = testDb.database;
      await db.db.insertInto('orgs').values({ id: ORG, name: 'Rotating', slug: 'rotating' }).execute();
      const crypto = await cryptoFor(db, TEST_MASTER_KEY);
      const subjects = ['vis_a', 'vis_b', 'vis_c'].map((id) => subjectScope(ORG, id));
      for (const [i, scope] of subjects.entries()) await crypto.cipher.encrypt(`note ${i}`, aad(`s${i}`), scope);
      const deps = (keyring: Keyring) => ({
        db: db.db, keyring, cipher: crypto.cipher, checkpoints: createSqlCheckpointStore(db.db), store: createKeysStore(db.db), columns: [], announce: async () => undefined, audit: async () => undefined,
      });
      const failing: Keyring = {
        ...crypto.keyring,
        rotateIfPresent: async (scope) => {
          if (scope === subjects[1]) throw new Error('killed mid-way');
          return crypto.keyring.rotateIfPresent(scope);
        },
      };
      await assert.rejects(rotateOrg(deps(failing), ORG, { includeSubjects: true }), /killed mid-way/);
      await crypto.keyring.destroy(subjects[2] ?? subjectScope(ORG, 'vis_c'));
      const again = await rotateOrg(deps(crypto.keyring), ORG, { includeSubjects: true });
      assert.equal(again.resumed, false, 'started over, not resumed without the subjects');
      const { rows } = await sql<{ scope: string; v: number }>`SELECT scope, max(version)::int AS v FROM keystore.subject_keys GROUP BY scope ORDER BY scope`.execute(db.db);
      assert.deepEqual(rows.map((r) => [r.scope, r.v]), [[subjects[0], 3], [subjects[1], 2]], 'every subject rotated; the shredded one has no key');
    } finally {
      await testDb.drop();
    }
  });

  it('a rotation left unfinished without the subjects is not resumed as if it had rotated them', async () => {
    const testDb = await createTestDatabase();
    try {
      const db = testDb.database;
      await db.db.insertInto('orgs').values({ id: ORG, name: 'Rotating', slug: 'rotating' }).execute();
      const crypto = await cryptoFor(db, TEST_MASTER_KEY);
      const subject = subjectScope(ORG, 'vis_a');
      await crypto.cipher.encrypt('note', aad('s0'), subject);
      const store = createKeysStore(db.db);
      const deps = { db: db.db, keyring: crypto.keyring, cipher: crypto.cipher, checkpoints: createSqlCheckpointStore(db.db), store, columns: [], announce: async () => undefined, audit: async () => undefined };
      // A first run without --include-subjects, killed after marking its rotation pending.
      const unfinished = (await crypto.keyring.rotate(orgScope(ORG))).version;
      await store.markPending(ORG, unfinished, false);
      await assert.rejects(rotateOrg(deps, ORG, { includeSubjects: true }), /did not rotate the subject keys/);
      const subjectVersions = async () => (await sql<{ v: number }>`SELECT version AS v FROM keystore.subject_keys WHERE scope = ${subject} ORDER BY version`.execute(db.db)).rows.map((r) => r.v);
      assert.deepEqual(await subjectVersions(), [1]);
      const forced = await rotateOrg(deps, ORG, { includeSubjects: true, forceNew: true });
      assert.deepEqual([forced.version, forced.resumed, await subjectVersions()], [unfinished + 1, false, [1, 2]]);
      assert.deepEqual(await store.pendingRotation(ORG), undefined, 'finished');
    } finally {
      await testDb.drop();
    }
  });

  it('an organisation that does not exist gets no key', async () => {
    const testDb = await createTestDatabase();
    try {
      const db = testDb.database;
      const crypto = await cryptoFor(db, TEST_MASTER_KEY);
      const deps = { db: db.db, keyring: crypto.keyring, cipher: crypto.cipher, checkpoints: createSqlCheckpointStore(db.db), store: createKeysStore(db.db), columns: [], announce: async () => undefined, audit: async () => undefined };
      await assert.rejects(rotateOrg(deps, 'org_typo', {}), /No organisation org_typo/);
      const { rows } = await sql`SELECT 1 FROM data_keys`.execute(db.db);
      assert.equal(rows.length, 0);
    } finally {
      await testDb.drop();
    }
  });
});

describe('keys rotate-org', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** PostgreSQL: this test's database, shared with the child. PGlite: a data directory, one process at a time. */
  async function target(): Promise<{ env: Record<string, string>; open(): Promise<Database>; release(db: Database): Promise<void> }> {
    if (testBackend() === 'postgres') {
      const testDb = await createTestDatabase();
      cleanups.push(() => testDb.drop());
      return { env: { DATABASE_URL: testDb.url ?? '', DATA_DIR: '/nonexistent' }, open: async () => testDb.database, release: async () => undefined };
    }
    const dir = mkdtempSync(join(tmpdir(), 'palisade-rotate-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { env: { DATA_DIR: dir, DATABASE_URL: '' }, open: () => openDatabase({ dataDir: dir }), release: (db) => db.close() };
  }

  function cli(env: Record<string, string>, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/keys-cli.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ...env, PALISADE_MASTER_KEY: TEST_MASTER_KEY, PALISADE_MASTER_KEY_PREVIOUS: '', REDIS_URL: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d) => (out += String(d)));
    child.stderr?.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    cleanups.push(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    return { child, output: () => out, exited };
  }

  async function readAll(db: Database, crypto: Crypto): Promise<number[]> {
    const { rows } = await sql<{ id: string; secret: string }>`SELECT id, secret FROM rot_probe ORDER BY id`.execute(db.db);
    assert.equal(rows.length, ROWS);
    const versions: number[] = [];
    for (const row of rows) {
      assert.equal(await crypto.cipher.decrypt(row.secret, aad(row.id)), `secret ${row.id}`);
      versions.push(parseCiphertext(row.secret, ORG).version);
    }
    return versions;
  }

  it('re-encrypts in the background, survives being killed mid-way, and reads work throughout', async () => {
    const t = await target();
    let db = await t.open();
    await migrate(db.db);
    await db.db.insertInto('orgs').values({ id: ORG, name: 'Rotating', slug: 'rotating' }).execute();
    await sql.raw(`CREATE TABLE rot_probe (id text PRIMARY KEY, org_id text NOT NULL, secret text);
      GRANT SELECT, UPDATE ON rot_probe TO palisade_app`).execute(db.db);
    let crypto = await cryptoFor(db, TEST_MASTER_KEY);
    for (let i = 0; i < ROWS; i += 1) {
      const id = `row_${String(i).padStart(4, '0')}`;
      await sql`INSERT INTO rot_probe VALUES (${id}, ${ORG}, ${await crypto.cipher.encrypt(`secret ${id}`, aad(id))})`.execute(db.db);
    }
    await t.release(db);

    const args = ['keys', 'rotate-org', ORG, '--batch-size', '20', '--pause-ms', '150', '--settle-ms', '0'];
    const first = cli(t.env, args);
    const concurrent = testBackend() === 'postgres';
    // PostgreSQL: read and decrypt every row while the job runs, until it has done a few batches.
    while (!/scanned=(6|8|1\d)\d /.test(first.output())) {
      if (first.child.exitCode !== null) assert.fail(`the job ended early: ${first.output()}`);
      if (concurrent) await readAll(db, crypto);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;

    db = await t.open();
    crypto = await cryptoFor(db, TEST_MASTER_KEY);
    const midway = await readAll(db, crypto);
    assert.ok(midway.includes(1) && midway.includes(2), `mixed versions after the kill: ${midway.filter((v) => v === 2).length} at v2`);
    await t.release(db);

    const second = cli(t.env, args);
    while (second.child.exitCode === null && concurrent) {
      await readAll(db, crypto);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /Resumed organisation key to version 2/);
    const scanned = Number(/done rot_probe\.secret scanned=(\d+)/.exec(second.output())?.[1]);
    assert.ok(scanned > 0 && scanned < ROWS, `resumed from the checkpoint (scanned ${scanned})`);

    db = await t.open();
    crypto = await cryptoFor(db, TEST_MASTER_KEY);
    assert.deepEqual(new Set(await readAll(db, crypto)), new Set([2]));
    const left = await db.db.selectFrom('reencryption_checkpoints').selectAll().execute();
    assert.deepEqual(left, [], 'finished jobs leave no checkpoint');
    const audited = await db.db.selectFrom('audit_log').select(['action', 'actor_type', 'metadata']).where('org_id', '=', ORG).orderBy('created_at').execute();
    assert.deepEqual(
      audited.map((e) => [e.action, e.actor_type]),
      [['org.key_rotated', 'system'], ['org.key_rotation_finished', 'system']],
      "the organisation's log says its key was rotated, and when the rotation finished",
    );
    assert.equal((audited[1]?.metadata as { resumed?: boolean } | null)?.resumed, true);
    await t.release(db);
  });
});

describe('keys commands beside running servers', () => {
  const redisUrl = process.env.REDIS_URL;
  it('announce a new key version to every instance through Redis', { skip: !redisUrl && 'needs REDIS_URL' }, async () => {
    const pubsub = createRedisPubSub(redisUrl ?? '');
    const server = createInvalidationBus(pubsub);
    const heard: string[][] = [];
    const scope = orgScope(`org_announce${Date.now()}`);
    // Other test files may evict their own keys on the same Redis meanwhile: only ours count.
    server.on(KEY_EVICTION_TOPIC, (ids) => {
      if (ids.includes(scope)) heard.push([...ids]);
    });
    await server.start();
    try {
      await announceKeyEviction(redisUrl ?? '', [scope]);
      // The command waits for its own echo; the server's subscription got the message before it.
      const deadline = Date.now() + 2_000;
      while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard, [[scope]]);
    } finally {
      await server.stop();
      await pubsub.close();
    }
  });
});

describe('the keys commands refuse a batch of nothing', () => {
  it('--batch-size 0, empty or not a number ends with an error before anything is opened (a batch of 0 reported "re-wrapped 0": retire the old key)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'palisade-keys-args-'));
    try {
      for (const args of [
        ['keys', 'rotate-master', '--batch-size', '0'],
        ['keys', 'rotate-master', '--batch-size', ''],
        ['keys', 'rotate-org', 'org_x', '--batch-size', '12x'],
        ['keys', 'rotate-org', 'org_x', '--settle-ms', ''],
      ]) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/main.ts'), ...args], { cwd: root, env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '' }, encoding: 'utf8' });
        assert.equal(run.status, 1, args.join(' '));
        assert.match(run.stderr, /is invalid\. (Must be at least 1|Not a whole number)/, args.join(' '));
      }
      assert.equal(readdirSync(dataDir).length, 0, 'no database was opened');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
