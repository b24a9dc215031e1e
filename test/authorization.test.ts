/**
 * The authorisation matrix: each role × each org, member and project route is allowed, or
 * refused with the right code and nothing written. Plus: another organisation's objects are
 * 404 (never 403), and anonymous callers get 401.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { roleAllows, roles, type Role } from '../src/modules/orgs/permissions.ts';
import { countRows, memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';
import { protectedRoutes } from './helpers/protected-routes.ts';
import { apiKeyScopes } from '../src/modules/api-keys/scopes.ts';

let t: TestApp;
let owner: SignedUp;
let outsider: SignedUp;
const members = new Map<Role, SignedUp>();
let revokedKey = '';

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Matrix Org');
  outsider = await signUp(t, 'Other Org', 'outsider');
  members.set('owner', owner);
  for (const role of roles.filter((r) => r !== 'owner')) members.set(role, await memberWithRole(t, owner.client, owner.orgId, role));
  // A key with every scope, revoked: refused on every route, whatever it could once do.
  const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'revoked', scopes: [...apiKeyScopes] });
  revokedKey = key.body.secret;
  await owner.client.delete(`/v1/api-keys/${key.body.apiKey.id}`);
});
after(() => t.close());

async function counts(tables: string[]): Promise<number[]> {
  return Promise.all(tables.map((table) => countRows(t, table)));
}

/** What a refused request must leave as it was: its tables' row counts and any other state. */
async function snapshot(route: (typeof protectedRoutes)[number], path: string): Promise<unknown> {
  return { rows: await counts(route.writes), state: await route.stateOf?.(t, path) };
}

describe('authorisation matrix', () => {
  for (const route of protectedRoutes) {
    for (const role of roles) {
      const allowed = roleAllows(role, route.permission);
      it(`${route.name} as ${role}: ${allowed ? 'allowed' : 'forbidden'}`, async () => {
        const { path, body } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
        const before = await snapshot(route, path);
        const actor = members.get(role);
        assert.ok(actor);
        const r = await actor.client.request(route.method, path, body);
        if (allowed) {
          assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${JSON.stringify(r.body)}`);
        } else {
          assert.equal(r.status, 403, JSON.stringify(r.body));
          assert.equal(r.body.code, 'forbidden');
          assert.deepEqual(await snapshot(route, path), before, 'a refused request writes nothing');
        }
      });
    }

    it(`${route.name} from another organisation: 404 and nothing written`, async () => {
      const { path, body } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
      const before = await snapshot(route, path);
      const r = await outsider.client.request(route.method, path, body);
      assert.equal(r.status, 404, JSON.stringify(r.body));
      assert.equal(r.body.code, 'not_found');
      assert.deepEqual(await snapshot(route, path), before);
    });

    it(`${route.name} with a revoked API key: 401 and nothing written`, async () => {
      const { path, body } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
      const before = await snapshot(route, path);
      const r = await t.client().request(route.method, path, body, { authorization: `Bearer ${revokedKey}` });
      assert.deepEqual([r.status, r.body.code], [401, 'invalid_api_key'], JSON.stringify(r.body));
      assert.deepEqual(await snapshot(route, path), before);
    });

    it(`${route.name} from another site through the owner's signed-in browser: 403 and nothing written`, async () => {
      const { path, body } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
      const before = await snapshot(route, path);
      const r = await owner.client.request(route.method, path, body, { 'sec-fetch-site': 'cross-site' });
      assert.deepEqual([r.status, r.body.code], [403, 'csrf_failed'], JSON.stringify(r.body));
      assert.deepEqual(await snapshot(route, path), before);
    });

    if (route.method !== 'GET' && route.method !== 'DELETE') {
      it(`${route.name} with a malformed body: 400 and nothing written`, async () => {
        const { path } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
        const before = await snapshot(route, path);
        for (const malformed of ['{"name": ', '[1, 2, 3]', '"just a string"']) {
          const r = await owner.client.request(route.method, path, malformed, { 'content-type': 'application/json' });
          assert.deepEqual([r.status, r.body.code], [400, 'invalid_request'], `${malformed}: ${JSON.stringify(r.body)}`);
        }
        assert.deepEqual(await snapshot(route, path), before);
      });
    }

    it(`${route.name} without credentials: 401`, async () => {
      const { path, body } = await route.prepare({ t, owner: owner.client, orgId: owner.orgId });
      const before = await snapshot(route, path);
      const r = await t.client().request(route.method, path, body);
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'unauthenticated');
      assert.deepEqual(await snapshot(route, path), before);
    });
  }
});

describe('cross-organisation isolation', () => {
  it('without credentials, an existing and an unknown conversation id get the same 401 (existence is not revealed)', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'chat' });
    const c = await owner.client.post(`/v1/projects/${p.body.project.id}/conversations`, {});
    assert.equal(c.status, 201, JSON.stringify(c.body));
    for (const id of [c.body.conversation.id, 'conv_doesnotexist0000000000']) {
      for (const [method, body] of [['GET', undefined], ['POST', { content: 'hello' }]] as const) {
        const r = await t.client().request(method, `/v1/conversations/${id}/messages`, body);
        assert.equal(r.status, 401, `${method} ${id}`);
        assert.equal(r.body.code, 'unauthenticated');
      }
    }
  });

  it("a 404 for another organisation's project looks exactly like a 404 for a project that never existed", async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'secret' });
    const foreign = await outsider.client.get(`/v1/projects/${p.body.project.id}`);
    const missing = await outsider.client.get('/v1/projects/prj_doesnotexist000000000');
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);
  });

  it("an org's lists never include another org's rows", async () => {
    await outsider.client.post(`/v1/orgs/${outsider.orgId}/projects`, { name: 'theirs' });
    const mine = await owner.client.get(`/v1/orgs/${owner.orgId}/projects`);
    for (const p of mine.body.projects) assert.equal(p.orgId, owner.orgId);
    const members = await owner.client.get(`/v1/orgs/${owner.orgId}/members`);
    assert.ok(!members.body.members.some((m: { userId: string }) => m.userId === outsider.userId));
  });
});

describe('membership rules', () => {
  it('an admin cannot make someone an owner; an owner can', async () => {
    const admin = members.get('admin');
    assert.ok(admin);
    const target = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const r = await admin.client.patch(`/v1/orgs/${owner.orgId}/members/${target.userId}`, { role: 'owner' });
    assert.equal(r.status, 403);
    const ok = await owner.client.patch(`/v1/orgs/${owner.orgId}/members/${target.userId}`, { role: 'owner' });
    assert.equal(ok.status, 200);
  });

  it('the last owner cannot be demoted or removed', async () => {
    const solo = await signUp(t, 'Solo');
    const demote = await solo.client.patch(`/v1/orgs/${solo.orgId}/members/${solo.userId}`, { role: 'admin' });
    assert.equal(demote.status, 409);
    const remove = await solo.client.delete(`/v1/orgs/${solo.orgId}/members/${solo.userId}`);
    assert.equal(remove.status, 409);
  });

  // On PostgreSQL the request runs while the other demotion is uncommitted (the lock makes it wait);
  // on PGlite, one connection, it runs after it. Either way one owner must be left.
  it('two owners demoting each other at once leave one owner, not none', async () => {
    const first = await signUp(t, 'Duo');
    const second = await memberWithRole(t, first.client, first.orgId, 'owner');
    let demoteFirst: Promise<{ status: number; body: any }> | undefined;
    // The second owner's demotion, uncommitted, while the first owner's demotion arrives.
    await t.database.db.transaction().execute(async (tx) => {
      await sql`UPDATE memberships SET role = 'admin' WHERE org_id = ${first.orgId} AND user_id = ${second.userId}`.execute(tx);
      demoteFirst = first.client.patch(`/v1/orgs/${first.orgId}/members/${first.userId}`, { role: 'admin' });
      await new Promise((resolve) => setTimeout(resolve, 400));
    });
    const r = await (demoteFirst as Promise<{ status: number; body: any }>);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    const owners = await sql<{ n: number }>`SELECT count(*)::int AS n FROM memberships WHERE org_id = ${first.orgId} AND role = 'owner'`.execute(t.database.db);
    assert.equal(owners.rows[0]?.n, 1, 'one owner left');
  });

  it('an existing account is invited, never added: the same reply as for an unknown address, and no membership until it accepts', async () => {
    const stranger = await signUp(t, 'Stranger Home');
    const memberships = await countRows(t, 'memberships');
    const known = await outsider.client.post(`/v1/orgs/${outsider.orgId}/members`, { email: stranger.email, role: 'viewer' });
    const unknown = await outsider.client.post(`/v1/orgs/${outsider.orgId}/members`, { email: `nobody-${Date.now()}@example.test`, role: 'viewer' });
    assert.equal(known.status, 201);
    assert.equal(unknown.status, 201);
    assert.deepEqual(Object.keys(known.body), ['invitation']);
    assert.deepEqual(Object.keys(known.body.invitation).sort(), Object.keys(unknown.body.invitation).sort(), 'the reply does not tell whether the address has an account');
    assert.equal(await countRows(t, 'memberships'), memberships, 'nobody was added');
    assert.ok(!(await stranger.client.get('/v1/me')).body.orgs.some((o: { id: string }) => o.id === outsider.orgId));
    // So the inviting organisation can neither read the stranger's sign-ins nor sign them out.
    const lockdown = await outsider.client.post(`/v1/orgs/${outsider.orgId}/lockdown`);
    assert.equal(lockdown.status, 200);
    assert.equal((await stranger.client.get('/v1/me')).status, 200, 'the stranger is still signed in');
  });

  it('a member can leave; the last owner cannot; an API key cannot leave for anyone', async () => {
    const home = await signUp(t, 'Leavable');
    const viewer = await memberWithRole(t, home.client, home.orgId, 'viewer');
    const left = await viewer.client.delete(`/v1/orgs/${home.orgId}/membership`);
    assert.equal(left.status, 204);
    assert.equal((await viewer.client.get(`/v1/orgs/${home.orgId}`)).status, 404, 'no longer a member');
    assert.equal((await viewer.client.delete(`/v1/orgs/${home.orgId}/membership`)).status, 404);
    const log = await home.client.get(`/v1/orgs/${home.orgId}/audit-log?action=member.left`);
    assert.equal(log.body.entries.length, 1);
    const lastOwner = await home.client.delete(`/v1/orgs/${home.orgId}/membership`);
    assert.equal(lastOwner.status, 409);
    const key = await home.client.post(`/v1/orgs/${home.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
    const byKey = t.client();
    byKey.bearer = key.body.secret;
    assert.equal((await byKey.delete(`/v1/orgs/${home.orgId}/membership`)).status, 403);
    assert.equal((await t.client().delete(`/v1/orgs/${home.orgId}/membership`)).status, 401);
    const malformed = await home.client.delete('/v1/orgs/not-an-org-id/membership');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'invalid_request');
  });

  it('an unknown e-mail gets an invitation link that only that person can accept, once', async () => {
    const invited = `invitee-${Date.now()}@example.test`;
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: invited, role: 'editor' });
    assert.equal(r.status, 201);
    const token = String(r.body.invitation.link).split('#')[1];
    assert.ok(token);
    const stranger = await signUp(t, 'Stranger');
    assert.equal((await stranger.client.post('/v1/invitations/accept', { token })).status, 403);
    const c = t.client();
    await c.post('/v1/auth/signup', { email: invited, password: 'violet-harbour-quantum-47', orgName: 'Own' });
    const accepted = await c.post('/v1/invitations/accept', { token });
    assert.equal(accepted.status, 200);
    assert.equal(accepted.body.membership.role, 'editor');
    assert.equal((await c.post('/v1/invitations/accept', { token })).status, 404);
  });
});
