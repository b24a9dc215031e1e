/**
 * The least-privileged PostgreSQL set-up that docs/architecture.md describes: a DBA creates the
 * application role and grants it to Palisade's login role, which owns its database but may not
 * create or grant roles. Migrations must then run, and tenant queries must run as the
 * application role under row-level security. PostgreSQL only (PGlite has one superuser).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import { openDatabase } from '../src/platform/db/driver.ts';
import { migrate, sharedRoleWarning } from '../src/platform/db/migrate.ts';
import { APP_ROLE, withTenant } from '../src/platform/db/tenant.ts';
import { createTestDatabase, testBackend } from './helpers/database.ts';

describe('PostgreSQL with a role a DBA prepared', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass' }, () => {
  const suffix = randomBytes(5).toString('hex');
  const login = `palisade_dba_test_${suffix}`;
  const password = randomBytes(12).toString('hex');
  const database = `palisade_dba_test_${suffix}`;
  let admin: pg.Client;

  before(async () => {
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    // What the DBA runs once (the role may exist already: roles are cluster-wide).
    await admin.query(`DO $$ BEGIN CREATE ROLE ${APP_ROLE} NOLOGIN NOINHERIT; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
    await admin.query(`CREATE ROLE ${login} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD '${password}'`);
    await admin.query(`GRANT ${APP_ROLE} TO ${login}`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${login}`);
  });

  after(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${login}`);
    await admin.end();
  });

  it('migrates without any right to create or grant roles, and tenant queries run as the application role', async () => {
    const url = new URL(process.env.DATABASE_URL ?? '');
    url.username = login;
    url.password = password;
    url.pathname = `/${database}`;
    const opened = await openDatabase({ databaseUrl: url.toString(), poolSize: 2 });
    try {
      const applied = await migrate(opened.db);
      assert.ok(applied.length > 10, 'the migrations ran');
      assert.deepEqual(await migrate(opened.db), [], 'and run again as a no-op');
      const role = await withTenant(opened.db, 'org_dba_test', async (tx) => (await sql<{ role: string }>`SELECT current_user AS role`.execute(tx)).rows[0]?.role);
      assert.equal(role, APP_ROLE);
    } finally {
      await opened.close();
    }
  });
});

describe('PostgreSQL shared by several deployments', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass' }, () => {
  it('instances starting at once migrate and grant one at a time', async () => {
    const testDb = await createTestDatabase();
    const pools = await Promise.all(Array.from({ length: 6 }, () => openDatabase({ databaseUrl: testDb.url ?? '', poolSize: 2 })));
    try {
      for (let round = 0; round < 2; round++) await Promise.all(pools.map((p) => migrate(p.db)));
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      await testDb.drop();
    }
  });

  it("warns while another deployment's login could connect here and take the application role, until PUBLIC may not connect", async () => {
    const testDb = await createTestDatabase();
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const other = `palisade_other_${randomBytes(5).toString('hex')}`;
    try {
      await admin.query(`CREATE ROLE ${other} LOGIN NOSUPERUSER`);
      await admin.query(`GRANT ${APP_ROLE} TO ${other}`);
      const database = new URL(testDb.url ?? '').pathname.slice(1);
      assert.match((await sharedRoleWarning(testDb.database.db)) ?? '', new RegExp(`REVOKE CONNECT, TEMPORARY ON DATABASE "${database}" FROM PUBLIC`));
      await admin.query(`REVOKE CONNECT, TEMPORARY ON DATABASE "${database}" FROM PUBLIC`);
      assert.equal(await sharedRoleWarning(testDb.database.db), undefined);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${other}`).catch(() => undefined);
      await admin.end();
      await testDb.drop();
    }
  });
});
