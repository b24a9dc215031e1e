/**
 * Migrations are idempotent, and the embedded PGlite database keeps its data across restarts and
 * is opened by one process at a time.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { lockDataDir } from '../src/platform/db/data-dir-lock.ts';
import { openDatabase } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createTestDatabase, testBackend } from './helpers/database.ts';
import { TEST_MASTER_KEY } from './helpers/test-keys.ts';

describe('migrations', () => {
  it('running them again on a migrated database changes nothing', async () => {
    const testDb = await createTestDatabase();
    try {
      assert.deepEqual(await migrate(testDb.database.db), []);
      assert.deepEqual(await migrate(testDb.database.db), []);
      const tables = await testDb.database.db.introspection.getTables();
      assert.ok(tables.some((x) => x.name === 'projects'));
    } finally {
      await testDb.drop();
    }
  });
});

describe('embedded PGlite', { skip: testBackend() !== 'pglite' && 'runs on the PGlite pass' }, () => {
  it('one process at a time: a second opener (a command while the server runs) is refused, a dead holder taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-lock-'));
    try {
      const first = await openDatabase({ dataDir: dir });
      await assert.rejects(openDatabase({ dataDir: dir }), /open in this process already/);
      // The CLI in another process, as an operator would run it beside the server.
      const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'admin', 'reset-password', '--email', 'x@example.test'], {
        env: { ...process.env, DATA_DIR: dir, DATABASE_URL: '', PALISADE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent' },
        encoding: 'utf8',
      });
      assert.equal(child.status, 1);
      assert.match(child.stderr + child.stdout, new RegExp(`open in another process \\(pid ${process.pid}\\)\\. Stop the server`));
      await first.close();
      // Locks left by holders that have ended are taken over: a killed process; an earlier boot of
      // a container whose server always gets the same pid (this process's own pid, not held by it);
      // a process of another boot, or of another container, that has stopped refreshing its lock.
      const lock = join(dir, 'pglite', 'palisade.lock');
      const ourBoot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const longAgo = new Date(Date.now() - 300_000);
      for (const [stale, refreshed] of [
        ['2147483646', new Date()],
        [String(process.pid), new Date()],
        [JSON.stringify({ pid: 1, boot: 'another-boot', start: '1' }), new Date()],
        [JSON.stringify({ pid: 1, boot: 'another-boot', start: '1', refreshMs: 10_000 }), longAgo],
        [JSON.stringify({ pid: process.pid, boot: ourBoot, start: '1', ns: 'pid:[1]', refreshMs: 10_000 }), longAgo],
      ] as const) {
        writeFileSync(lock, stale);
        utimesSync(lock, refreshed, refreshed);
        const release = lockDataDir(join(dir, 'pglite'));
        assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, process.pid, stale);
        release();
        assert.equal(existsSync(lock), false, 'released');
      }
      // A holder in another PID namespace (a container sharing the data volume) or of another boot
      // cannot be looked up from here — its pid may look dead, or even be ours — so while it
      // refreshes its lock, the lock stands.
      for (const holder of [{ pid: 2147483646, ns: 'pid:[1]', refreshMs: 10_000 }, { pid: process.pid, ns: 'pid:[1]', refreshMs: 10_000 }, { pid: 2147483646, boot: 'another-host', refreshMs: 10_000 }, { pid: 2147483646, ns: 'pid:[1]' }]) {
        writeFileSync(lock, JSON.stringify({ boot: ourBoot, start: '1', ...holder }));
        assert.throws(() => lockDataDir(join(dir, 'pglite')), /open in another process \(pid \d+, in another container or on another host/, JSON.stringify(holder));
        assert.equal(readFileSync(lock, 'utf8'), JSON.stringify({ boot: ourBoot, start: '1', ...holder }), 'left as it was');
      }
      // An empty lock (a power cut before it reached the disk) names nobody: refused with what to
      // do, not taken over and not looped on (it spun forever, silently).
      writeFileSync(lock, '');
      assert.throws(() => lockDataDir(join(dir, 'pglite')), /lock file .* is empty or cannot be read\. If no Palisade process is running, delete it/);
      assert.equal(readFileSync(lock, 'utf8'), '', 'left as it was');
      rmSync(lock);
      // A server that fails to start (its port taken) releases the directory.
      const blocker = createServer().listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      const port = (blocker.address() as { port: number }).port;
      const config = loadConfig({ HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent', DATA_DIR: dir, PALISADE_MASTER_KEY: TEST_MASTER_KEY, DATABASE_URL: '' });
      await assert.rejects(startServer(config));
      blocker.close();
      assert.equal(existsSync(lock), false, 'a failed start leaves no lock');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('data written before a restart is there after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-persist-'));
    try {
      const first = await openDatabase({ dataDir: dir });
      const applied = await migrate(first.db);
      assert.ok(applied.length > 0);
      await first.db.insertInto('users').values({ id: 'usr_persist', email: 'persist@example.test', password_hash: null, name: null }).execute();
      await first.close();

      const second = await openDatabase({ dataDir: dir });
      assert.deepEqual(await migrate(second.db), [], 'already migrated');
      const row = await second.db.selectFrom('users').select('email').where('id', '=', 'usr_persist').executeTakeFirst();
      assert.equal(row?.email, 'persist@example.test');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
