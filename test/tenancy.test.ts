/**
 * Row-level security, not just careful queries: inside withTenant a query whose org filter is
 * deliberately missing still sees (and may write) only its own organisation's rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { withTenant } from '../src/platform/db/tenant.ts';
import { MAX_OWNED_ORGS } from '../src/modules/orgs/service.ts';
import { MAX_PROJECTS_PER_ORG } from '../src/modules/projects/service.ts';
import { countRows, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let a: SignedUp;
let b: SignedUp;

before(async () => {
  t = await startTestApp();
  a = await signUp(t, 'Tenant A');
  b = await signUp(t, 'Tenant B');
  await a.client.post(`/v1/orgs/${a.orgId}/projects`, { name: 'A bot' });
  await b.client.post(`/v1/orgs/${b.orgId}/projects`, { name: 'B bot' });
});
after(() => t.close());

describe('row-level security', () => {
  it('a query with its org filter missing sees only its own organisation', async () => {
    const db = t.database.db;
    const all = await db.selectFrom('projects').select('org_id').execute();
    assert.ok(new Set(all.map((r) => r.org_id)).size >= 2, 'outside tenant scope both exist');
    for (const table of ['projects', 'memberships', 'audit_log'] as const) {
      const rows = await withTenant(db, a.orgId, (tx) => tx.selectFrom(table).select('org_id').execute());
      assert.ok(rows.length > 0, `${table} has rows for A`);
      assert.deepEqual([...new Set(rows.map((r) => r.org_id))], [a.orgId], `${table} leaks no other org`);
    }
    const orgs = await withTenant(db, a.orgId, (tx) => tx.selectFrom('orgs').select('id').execute());
    assert.deepEqual(orgs.map((o) => o.id), [a.orgId]);
  });

  it("an update or delete without a filter cannot touch another organisation's rows", async () => {
    const db = t.database.db;
    await withTenant(db, a.orgId, (tx) => tx.updateTable('projects').set({ name: 'hijacked' }).execute());
    const bRows = await db.selectFrom('projects').select('name').where('org_id', '=', b.orgId).execute();
    assert.ok(bRows.every((r) => r.name !== 'hijacked'));
    await withTenant(db, a.orgId, (tx) => tx.deleteFrom('projects').execute());
    const bProjects = await db.selectFrom('projects').select('id').where('org_id', '=', b.orgId).execute();
    assert.equal(bProjects.length, 1, "B's project survives A's unfiltered delete");
  });

  it("inserting a row for another organisation is refused by the policy's WITH CHECK", async () => {
    const db = t.database.db;
    await assert.rejects(
      withTenant(db, a.orgId, (tx) =>
        tx.insertInto('projects').values({ id: 'prj_smuggled', org_id: b.orgId, name: 'smuggled', settings: '{}' }).execute(),
      ),
      /row-level security/,
    );
    const smuggled = await db.selectFrom('projects').select('id').where('id', '=', 'prj_smuggled').execute();
    assert.equal(smuggled.length, 0);
  });

  it('without a tenant set, the application role sees nothing at all', async () => {
    const rows = await t.database.db.transaction().execute(async (tx) => {
      await sql`SELECT set_config('role', 'palisade_app', true)`.execute(tx);
      return tx.selectFrom('projects').select('id').execute();
    });
    assert.equal(rows.length, 0);
  });

  it('the application role cannot switch itself out of the policies', async () => {
    await assert.rejects(
      withTenant(t.database.db, a.orgId, async (tx) => {
        await sql`SET LOCAL row_security = off`.execute(tx);
        return tx.selectFrom('projects').select('id').execute();
      }),
    );
  });
});

describe('the SECURITY DEFINER search function', () => {
  it('searches pg_temp last and is callable only by the application role', async () => {
    const { rows } = await sql<{ config: string[]; acl: string[] }>`
      SELECT proconfig AS config, coalesce(proacl::text[], '{}') AS acl FROM pg_proc WHERE proname = 'knowledge_search_first'`.execute(t.database.db);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]?.config, ['search_path=pg_catalog, public, pg_temp']);
    const acl = rows[0]?.acl ?? [];
    assert.ok(acl.some((entry) => entry.startsWith('palisade_app=X')), JSON.stringify(acl));
    assert.ok(!acl.some((entry) => entry.startsWith('=')), `PUBLIC may not execute it: ${JSON.stringify(acl)}`);
  });

  it('the application role cannot read the migration bookkeeping', async () => {
    await assert.rejects(withTenant(t.database.db, a.orgId, (tx) => sql`SELECT count(*) FROM kysely_migration`.execute(tx)), /permission denied/);
  });

  it('the application role appends to the audit log and reads it, but cannot change or erase it, even its own organisation’s', async () => {
    const count = () => sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE org_id = ${a.orgId}`.execute(t.database.db).then((r) => r.rows[0]?.n);
    const before = await count();
    assert.ok((before ?? 0) > 0);
    for (const query of [sql`UPDATE audit_log SET action = 'nothing.happened'`, sql`DELETE FROM audit_log`, sql`TRUNCATE audit_log`]) {
      await assert.rejects(withTenant(t.database.db, a.orgId, (tx) => query.execute(tx)), /permission denied/);
    }
    assert.equal(await count(), before);
    const read = await withTenant(t.database.db, a.orgId, (tx) => sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(tx));
    assert.equal(read.rows[0]?.n, before);
  });
});

describe('the accounts directory inside a tenant transaction', () => {
  const inA = <T>(query: string) => withTenant(t.database.db, a.orgId, (tx) => sql.raw<T>(query).execute(tx));

  it('shows the application role only profile columns: no password hash, TOTP secret, recovery codes or sessions', async () => {
    for (const query of [
      'SELECT password_hash FROM users',
      'SELECT totp_secret FROM users',
      'SELECT * FROM users',
      'SELECT token_hash FROM sessions',
      'SELECT ip, user_agent FROM sessions',
      "UPDATE users SET name = 'x'",
      "UPDATE sessions SET revoked_at = now()",
      'DELETE FROM sessions',
      'SELECT code_hash FROM totp_recovery_codes',
      'DELETE FROM totp_recovery_codes',
    ]) {
      await assert.rejects(inA(query), /permission denied/, query);
    }
    const { rows } = await inA<{ email: string }>(`SELECT email FROM users WHERE id = '${a.userId}'`);
    assert.deepEqual(rows, [{ email: a.email }], 'member lists still read profile columns');
    const sessions = await t.database.db.selectFrom('sessions').select('id').where('user_id', '=', a.userId).where('revoked_at', 'is', null).execute();
    assert.ok(sessions.length > 0, 'nothing was revoked meanwhile');
  });
});

describe('organisations one person may create', () => {
  it(`stops at ${MAX_OWNED_ORGS} owned, also when the last ones are asked for at once, and writes nothing when it refuses`, async () => {
    const owner = await signUp(t, 'Org Collector');
    for (let i = 2; i < MAX_OWNED_ORGS; i++) assert.equal((await owner.client.post('/v1/orgs', { name: `Collected ${i}` })).status, 201);
    const before = await countRows(t, 'orgs');
    const racing = await Promise.all([1, 2, 3].map((i) => owner.client.post('/v1/orgs', { name: `Racing ${i}` })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 409, 409]);
    assert.equal(racing.find((r) => r.status === 409)?.body.code, 'conflict');
    assert.equal(await countRows(t, 'orgs'), before + 1);
    const mine = await owner.client.get('/v1/orgs');
    assert.equal(mine.body.orgs.length, MAX_OWNED_ORGS);
    // Another person is not held back by the first one's organisations.
    assert.equal((await a.client.post('/v1/orgs', { name: 'A second' })).status, 201);
  });
});

describe('projects one organisation may have', () => {
  it(`stops at ${MAX_PROJECTS_PER_ORG}, also when the last ones are asked for at once, and writes nothing when it refuses`, async () => {
    const owner = await signUp(t, 'Project Collector');
    await sql`INSERT INTO projects (id, org_id, name, settings) SELECT 'prj_bulk' || i || ${owner.orgId.slice(4)}, ${owner.orgId}, 'bulk ' || i, '{}' FROM generate_series(1, ${MAX_PROJECTS_PER_ORG - 2}) i`.execute(t.database.db);
    const racing = await Promise.all([1, 2, 3].map((i) => owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: `Racing ${i}` })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 201, 409]);
    assert.equal(racing.find((r) => r.status === 409)?.body.code, 'conflict');
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/projects`)).body.projects.length, MAX_PROJECTS_PER_ORG);
    assert.equal((await a.client.post(`/v1/orgs/${a.orgId}/projects`, { name: 'A third' })).status, 201, 'another organisation is not held back');
  });
});
