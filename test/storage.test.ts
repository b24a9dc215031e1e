/**
 * Migrations are idempotent, and the embedded PGlite database keeps its data across restarts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../src/platform/db/driver.ts';
import { migrate } from '../src/platform/db/migrate.ts';
import { createTestDatabase, testBackend } from './helpers/database.ts';

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
