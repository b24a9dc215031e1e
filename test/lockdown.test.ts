/**
 * Incident response: POST /v1/orgs/{orgId}/lockdown revokes every API key of the organisation,
 * every session of its members, its pending invitations and its widgets' visitor sessions at
 * once; other organisations are untouched; only admins and owners may do it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUserId } from '../src/modules/widget/identity.ts';
import { testBackend } from './helpers/database.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';
import { countRows, memberWithRole, pastKeepAlive, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe('lockdown', () => {
  it('revokes every key and every member session at once, and is audited', async () => {
    const owner = await signUp(t, 'Breached');
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const bystander = await signUp(t, 'Bystander');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const other = await bystander.client.post(`/v1/orgs/${bystander.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const keyClient = t.client();
    keyClient.bearer = key.body.secret;
    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);

    // An intruder's invitation to an address of theirs must not outlive the lockdown.
    const invited = `intruder-${Date.now()}@example.test`;
    const invitation = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: invited, role: 'admin' });
    const token = String(invitation.body.invitation.link).split('#')[1];

    // A visitor token of the org's widget, and one of another organisation's.
    const origin = 'https://docs.example.com';
    const widgetSession = async (client: typeof owner.client, orgId: string) => {
      const p = await client.post(`/v1/orgs/${orgId}/projects`, { name: 'bot', settings: { allowedDomains: ['docs.example.com'] } });
      const s = await t.client().post(`/v1/widget/${p.body.project.id}/sessions`, {}, { origin });
      return { projectId: p.body.project.id as string, token: s.body.token as string };
    };
    const visitor = await widgetSession(owner.client, owner.orgId);
    const otherVisitor = await widgetSession(bystander.client, bystander.orgId);
    const send = (v: { projectId: string; token: string }) =>
      t.client().post(`/v1/widget/${v.projectId}/messages`, { content: 'Hello?' }, { origin, authorization: `Bearer ${v.token}` });
    assert.equal((await send(visitor)).status, 200);
    // An identity secret an intruder may have rotated, and so knows.
    const identitySecret = (await owner.client.post(`/v1/projects/${visitor.projectId}/identity-secret`)).body.secret as string;
    const asUser = () => t.client().post(`/v1/widget/${visitor.projectId}/sessions`, { identity: { userId: 'ceo', signature: signUserId(identitySecret, 'ceo') } }, { origin });
    const verified = await asUser();
    assert.equal(verified.status, 201);

    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.endedVisitorSessionsInProjects, 1);
    assert.equal(r.body.removedIdentitySecrets, 1);
    assert.deepEqual([(await asUser()).status, (await asUser()).body.code], [401, 'invalid_identity'], 'the identity secret died with the lockdown');
    const verifiedMessage = await t.client().post(`/v1/widget/${visitor.projectId}/messages`, { content: 'Hello?' }, { origin, authorization: `Bearer ${verified.body.token}` });
    assert.equal(verifiedMessage.status, 401, 'and so did the verified session');
    const stale = await send(visitor);
    assert.equal(stale.status, 401, 'the visitor token died with the lockdown');
    assert.equal(stale.body.code, 'invalid_visitor_token');
    assert.equal((await send(otherVisitor)).status, 200, "another organisation's visitors go on");
    assert.equal(r.body.revokedApiKeys, 1);
    assert.equal(r.body.revokedInvitations, 1);
    const intruder = t.client();
    await intruder.post('/v1/auth/signup', { email: invited, password: 'violet-harbour-quantum-47', orgName: 'Intruder' });
    assert.equal((await intruder.post('/v1/invitations/accept', { token })).status, 404, 'the invitation died with the lockdown');
    assert.ok(r.body.revokedSessions >= 2);

    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 401);
    assert.equal((await editor.client.get('/v1/me')).status, 401);
    assert.equal((await owner.client.get('/v1/me')).status, 401);
    assert.equal((await bystander.client.get('/v1/me')).status, 200, 'another organisation is untouched');
    const otherKey = t.client();
    otherKey.bearer = other.body.secret;
    assert.equal((await otherKey.get(`/v1/orgs/${bystander.orgId}/projects`)).status, 200);

    const fresh = t.client();
    await fresh.post('/v1/auth/login', { email: owner.email, password: 'violet-harbour-quantum-47' });
    const log = await fresh.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.lockdown`);
    assert.equal(log.body.entries.length, 1);
  });

  it('editors, viewers, another organisation, an API key and no credentials are refused, and nothing is revoked', async () => {
    const owner = await signUp(t, 'Guarded');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read', 'projects:write', 'keys:manage'] });
    const keyClient = t.client();
    keyClient.bearer = key.body.secret;
    const path = `/v1/orgs/${owner.orgId}/lockdown`;
    const origin = 'https://docs.example.com';
    const project = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot', settings: { allowedDomains: ['docs.example.com'] } });
    const visitor = await t.client().post(`/v1/widget/${project.body.project.id}/sessions`, {}, { origin });
    for (const role of ['editor', 'viewer'] as const) {
      const member = await memberWithRole(t, owner.client, owner.orgId, role);
      const r = await member.client.post(path);
      assert.equal(r.status, 403, role);
      assert.equal(r.body.code, 'forbidden', role);
      assert.equal((await member.client.get('/v1/me')).status, 200, `${role}: still signed in`);
    }
    const stranger = await signUp(t, 'Stranger');
    const foreign = await stranger.client.post(path);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'not_found');
    const anonymous = await t.client().post(path);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthenticated');
    const byKey = await keyClient.post(path);
    assert.equal(byKey.status, 403, 'no API key scope grants a lockdown');
    assert.equal(byKey.body.code, 'insufficient_scope');

    assert.equal((await owner.client.get('/v1/me')).status, 200, 'no session was revoked');
    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200, 'no key was revoked');
    const sent = await t.client().post(`/v1/widget/${project.body.project.id}/messages`, { content: 'Hello?' }, { origin, authorization: `Bearer ${visitor.body.token}` });
    assert.equal(sent.status, 200, 'no visitor session was ended');
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.lockdown`);
    assert.equal(log.body.entries.length, 0, 'no lockdown was recorded');
  });
});

describe('lockdown against requests already under way', { skip: testBackend() !== 'postgres' && 'races need PostgreSQL (PGlite runs one transaction at a time)' }, () => {
  for (const [what, make, table] of [
    ['an API key', (o: SignedUp) => o.client.post(`/v1/orgs/${o.orgId}/api-keys`, { name: 'backdoor', scopes: ['projects:read'] }), 'api_keys'],
    ['a webhook', (o: SignedUp) => o.client.post(`/v1/orgs/${o.orgId}/webhooks`, { url: 'https://hooks.example.com/backdoor', eventTypes: ['*'] }), 'webhooks'],
    ['an invitation', (o: SignedUp) => o.client.post(`/v1/orgs/${o.orgId}/members`, { email: `backdoor-${Date.now()}@example.test`, role: 'admin' }), 'invitations'],
  ] as const) {
    it(`${what} a session's request makes while its session is being revoked is refused, and nothing is written`, async () => {
      const owner = await signUp(t, `Racing ${what}`);
      const before = await countRows(t, table);
      const { rows } = await sql<{ id: string }>`SELECT id FROM sessions WHERE user_id = ${owner.userId} AND revoked_at IS NULL`.execute(t.database.db);
      const sessionId = rows[0]?.id ?? assert.fail('no session');
      // The revocation (a lockdown's) has the session row and commits once the request waits on it.
      const revocation = await holdLocks(
        t.database.db,
        (tx) => sql`SELECT id FROM sessions WHERE id = ${sessionId} FOR UPDATE`.execute(tx),
        (tx) => sql`UPDATE sessions SET revoked_at = now() WHERE id = ${sessionId}`.execute(tx),
      );
      const request = make(owner);
      let waiting = 0;
      try {
        waiting = await lockWaiters(t.database.db, /from "sessions"/i);
      } finally {
        await revocation.release();
      }
      assert.equal(waiting, 1, 'the request waited on its session');
      const refused = await request;
      assert.deepEqual([refused.status, refused.body.code], [401, 'unauthenticated']);
      assert.equal(await countRows(t, table), before);
    });
  }
});

describe('lockdown against a key making a key', { skip: testBackend() !== 'postgres' && 'races need PostgreSQL (PGlite runs one transaction at a time)' }, () => {
  it("a key a key's request makes while the keys are being revoked is revoked too", async () => {
    const owner = await signUp(t, 'Racing key');
    const manager = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'manager', scopes: ['keys:manage', 'projects:read'] });
    const keyId = manager.body.apiKey.id as string;
    // Something else has the manager key's row: the key's request waits for it, then the lockdown's revocation queues behind.
    const other = await holdLocks(t.database.db, (tx) => sql`SELECT id FROM api_keys WHERE id = ${keyId} FOR UPDATE`.execute(tx));
    let made: Promise<{ status: number; body: any }> | undefined;
    let lockdown: Promise<{ status: number; body: any }> | undefined;
    try {
      made = t.client().post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'backdoor', scopes: ['projects:read'] }, { authorization: `Bearer ${manager.body.secret}` });
      assert.equal(await lockWaiters(t.database.db, /from "api_keys"/i), 1, 'the request waits on its key');
      lockdown = owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
      assert.equal(await lockWaiters(t.database.db, /from "api_keys"/i, 2), 2, 'the revocation queues behind it');
    } finally {
      await other.release();
    }
    const backdoor = await made;
    assert.equal(backdoor?.status, 201, JSON.stringify(backdoor?.body));
    assert.equal((await lockdown)?.status, 200);
    const probe = await t.client().get('/v1/api-keys/current', { authorization: `Bearer ${backdoor?.body.secret}` });
    assert.equal(probe.status, 401, 'the key made meanwhile was revoked with the rest');
  });
});

describe('lockdown of an organisation with very many members', () => {
  it('ends the sessions of more members than one statement can bind parameters (a 500 left everything working)', async () => {
    const owner = await signUp(t, 'Member Flood');
    const lastRequest = Date.now();
    const tag = owner.orgId.slice(4);
    await sql`INSERT INTO users (id, email) SELECT 'usr_flood' || i || ${tag}, 'flood' || i || '-' || ${tag} || '@example.test' FROM generate_series(1, 66000) i`.execute(t.database.db);
    await sql`INSERT INTO memberships (org_id, user_id, role) SELECT ${owner.orgId}, 'usr_flood' || i || ${tag}, 'viewer' FROM generate_series(1, 66000) i`.execute(t.database.db);
    await sql`INSERT INTO sessions (id, user_id, token_hash, expires_at) SELECT 'ses_flood' || i || ${tag}, 'usr_flood' || i || ${tag}, 'flood' || i || ${tag}, now() + interval '1 hour' FROM generate_series(1, 66000, 1000) i`.execute(t.database.db);
    await pastKeepAlive(lastRequest); // seconds of setup: the pooled connection may be closing
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const live = await sql<{ n: number }>`SELECT count(*)::int AS n FROM sessions WHERE id LIKE ${`ses_flood%${tag}`} AND revoked_at IS NULL`.execute(t.database.db);
    assert.equal(live.rows[0]?.n, 0, 'every member session ended');
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}`)).status, 401, "the owner's own session too");
  });
});

describe('lockdown of an organisation with very many keys', () => {
  it('revokes more keys than one statement can bind parameters (a 500 left them all working)', async () => {
    const owner = await signUp(t, 'Key Flood');
    const real = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const lastRequest = Date.now();
    await sql`INSERT INTO api_keys (id, org_id, name, start, secret_hash, scopes) SELECT 'key_flood' || i || ${owner.orgId.slice(4)}, ${owner.orgId}, 'flood', 'x', 'f' || i, '["projects:read"]'::jsonb FROM generate_series(1, 66000) i`.execute(t.database.db);
    await pastKeepAlive(lastRequest); // seconds of setup: the pooled connection may be closing
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.revokedApiKeys, 66001);
    const keyClient = t.client();
    keyClient.bearer = real.body.secret;
    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 401);
    const live = await sql<{ n: number }>`SELECT count(*)::int AS n FROM api_keys WHERE org_id = ${owner.orgId} AND revoked_at IS NULL`.execute(t.database.db);
    assert.equal(live.rows[0]?.n, 0);
  });
});
