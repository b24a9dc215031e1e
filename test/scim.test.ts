/**
 * SCIM 2.0 provisioning (src/modules/scim) as an identity provider drives it: create, find by
 * userName, deactivate (Okta's and Entra ID's PATCH shapes) with the sessions ending at once,
 * reactivate, rename, delete; the account signs in through the organisation's SSO (a real
 * provider on 127.0.0.1). And every refusal: scope, role, another organisation, revoked keys,
 * sessions, password accounts, unproven domains, malformed input — as SCIM error messages, with
 * nothing written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { testBackend } from './helpers/database.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';
import { MAX_FEDERATED_ACCOUNTS_PER_ORG } from '../src/modules/accounts/service.ts';
import { memberWithRole, pastKeepAlive, signUp, startTestApp, strongPassword, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startTestIdp, type TestIdp } from './helpers/oidc-provider.ts';

const SCIM = '/v1/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimJson = { 'content-type': 'application/scim+json' };

let t: TestApp;
let idp: TestIdp;
const dns = new Map<string, string[][]>();

interface ScimOrg extends SignedUp {
  slug: string;
  /** A client holding the organisation's SCIM key. */
  scim: Client;
}

/** An organisation with SSO on `domain` (proven) and a SCIM key. */
async function scimOrg(name: string, domain: string): Promise<ScimOrg> {
  const o = await signUp(t, name);
  const slug = (await o.client.get(`/v1/orgs/${o.orgId}`)).body.org.slug;
  const sso = await o.client.request('PUT', `/v1/orgs/${o.orgId}/sso`, { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, emailDomains: [domain] });
  assert.equal(sso.status, 200, JSON.stringify(sso.body));
  const proof = sso.body.sso.domains[0];
  dns.set(proof.txtName, [[proof.txtValue]]);
  assert.equal((await o.client.post(`/v1/orgs/${o.orgId}/sso/domains/${domain}/verify`)).status, 200);
  const key = await o.client.post(`/v1/orgs/${o.orgId}/api-keys`, { name: 'idp', scopes: ['scim:provision'] });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  const scim = t.client();
  scim.bearer = key.body.secret;
  return { ...o, slug, scim };
}

/** Signs `email` in through the organisation's SSO; the browser, or the refusal. */
async function ssoSignIn(org: ScimOrg, sub: string, email: string): Promise<{ status: number; browser: Client }> {
  idp.user = { sub, email, email_verified: true };
  const browser = t.client();
  const started = await browser.get(`/v1/auth/sso/${org.slug}/start`, { 'sec-fetch-site': 'same-origin' });
  const atIdp = await fetch(started.headers.get('location') ?? '', { redirect: 'manual' });
  const back = new URL(atIdp.headers.get('location') ?? '');
  return { status: (await browser.get(`${back.pathname}${back.search}`)).status, browser };
}

function assertScimError(r: { status: number; headers: Headers; body: any }, status: number, scimType?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/scim\+json/);
  assert.deepEqual(r.body.schemas, [ERROR]);
  assert.equal(r.body.status, String(status));
  if (scimType) assert.equal(r.body.scimType, scimType);
}

let org: ScimOrg;

before(async () => {
  idp = await startTestIdp();
  t = await startTestApp({
    config: { ssoAllowPrivateNetworks: true },
    resolveTxt: async (name) => dns.get(name) ?? Promise.reject(Object.assign(new Error('queryTxt ENOTFOUND'), { code: 'ENOTFOUND' })),
  });
  org = await scimOrg('Scim Corp', 'scim.example');
});
after(async () => {
  await t.close();
  await idp.close();
});

describe('SCIM provisioning', () => {
  it('discovery documents, with the SCIM media type', async () => {
    const config = await org.scim.get(`${SCIM}/ServiceProviderConfig`);
    assert.equal(config.status, 200);
    assert.match(config.headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.equal(config.body.patch.supported, true);
    assert.equal(config.body.bulk.supported, false);
    const types = await org.scim.get(`${SCIM}/ResourceTypes`);
    assert.equal(types.body.Resources[0].endpoint, '/Users');
    const groups = await org.scim.get(`${SCIM}/Groups`);
    assert.deepEqual([groups.status, groups.body.totalResults], [200, 0], 'groups are not provisioned: an empty list');
  });

  it('a user is made, found by userName, signs in through SSO, is deactivated (sessions end at once), reactivated, renamed and deleted', async () => {
    const created = await org.scim.request('POST', `${SCIM}/Users`, { schemas: [USER], userName: 'Sam@scim.example', name: { givenName: 'Sam', familyName: 'Lee' }, emails: [{ value: 'sam@scim.example', primary: true }], externalId: '00u1' }, scimJson);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.match(id, /^usr_/);
    assert.deepEqual([created.body.userName, created.body.displayName, created.body.active], ['sam@scim.example', 'Sam Lee', true]);
    assert.equal(created.headers.get('location'), `${t.config.publicUrl}${SCIM}/Users/${id}`);
    const members = async () => (await org.client.get(`/v1/orgs/${org.orgId}/members`)).body.members.map((m: { userId: string; role: string }) => `${m.userId}:${m.role}`);
    assert.ok((await members()).includes(`${id}:viewer`), "a member with the SSO configuration's default role");

    const found = await org.scim.get(`${SCIM}/Users?filter=${encodeURIComponent('userName eq "SAM@scim.example"')}`);
    assert.deepEqual([found.body.totalResults, found.body.Resources[0]?.id], [1, id]);
    assert.equal((await org.scim.get(`${SCIM}/Users?filter=${encodeURIComponent('externalId eq "00u1"')}`)).body.totalResults, 0, 'externalId is not kept');
    assert.equal((await org.scim.get(`${SCIM}/Users/${id}`)).body.userName, 'sam@scim.example');

    // The account SCIM made signs in through the organisation's SSO.
    const first = await ssoSignIn(org, 'sub-sam', 'sam@scim.example');
    assert.equal(first.status, 302);
    assert.equal((await first.browser.get(`/v1/orgs/${org.orgId}/projects`)).status, 200);
    const linked = (await org.client.get(`/v1/orgs/${org.orgId}/audit-log?action=sso.identity_linked`)).body.entries;
    assert.deepEqual(
      linked.map((e: { target: { id: string }; metadata: Record<string, unknown> }) => [e.target.id, e.metadata.subject, e.metadata.byEmail]),
      [[id, 'sub-sam', true]],
      'which identity took the account SCIM made, by its address',
    );

    // Okta deactivates: the membership and every session end at once.
    const off = await org.scim.request('PATCH', `${SCIM}/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: false } }] }, scimJson);
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.active, false);
    assert.equal((await first.browser.get('/v1/me')).status, 401);
    assert.ok(!(await members()).some((m: string) => m.startsWith(id)));
    assert.equal((await ssoSignIn(org, 'sub-sam', 'sam@scim.example')).status, 401, 'SSO does not bring a deactivated member back');
    // An invitation to the person's address would bring them back: a deactivation (the provider
    // repeats them) withdraws it, and ends any session again.
    const invitation = await org.client.post(`/v1/orgs/${org.orgId}/members`, { email: 'sam@scim.example', role: 'admin' });
    assert.equal(invitation.status, 201, JSON.stringify(invitation.body));
    assert.equal((await org.scim.request('PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }, scimJson)).status, 200);
    const pending = (await org.client.get(`/v1/orgs/${org.orgId}/invitations`)).body.invitations.map((i: { email: string }) => i.email);
    assert.equal(pending.includes('sam@scim.example'), false, 'the invitation to them was withdrawn');
    assert.equal((await org.scim.get(`${SCIM}/Users/${id}`)).body.active, false, 'still addressable, inactive');

    // Entra ID reactivates ("True" as a string, path form).
    const on = await org.scim.request('PATCH', `${SCIM}/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] }, scimJson);
    assert.equal(on.body.active, true);
    const again = await ssoSignIn(org, 'sub-sam', 'sam@scim.example');
    assert.equal(again.status, 302);
    assert.equal((await again.browser.get(`/v1/orgs/${org.orgId}/projects`)).status, 200);

    const renamed = await org.scim.request('PUT', `${SCIM}/Users/${id}`, { schemas: [USER], userName: 'sam@scim.example', displayName: 'Samantha Lee', active: true }, scimJson);
    assert.deepEqual([renamed.status, renamed.body.displayName], [200, 'Samantha Lee']);
    assertScimError(await org.scim.request('PUT', `${SCIM}/Users/${id}`, { userName: 'other@scim.example' }, scimJson), 400, 'mutability');
    assertScimError(await org.scim.request('PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'replace', path: 'userName', value: 'x@scim.example' }] }, scimJson), 400, 'mutability');

    const actions = (await org.client.get(`/v1/orgs/${org.orgId}/audit-log`)).body.entries.map((e: { action: string; actor: { type: string } }) => `${e.action}:${e.actor.type}`);
    assert.ok(actions.includes('scim.user_created:api_key') && actions.includes('scim.user_updated:api_key'), JSON.stringify(actions));

    assert.equal((await org.scim.delete(`${SCIM}/Users/${id}`)).status, 204);
    assertScimError(await org.scim.get(`${SCIM}/Users/${id}`), 404);
    // A route that reads only the session (no user or membership row) would be served from the cache without the eviction.
    assert.equal((await again.browser.get('/v1/auth/sessions')).status, 401, 'its sessions went with it, on every instance');
    assert.equal((await org.scim.get(`${SCIM}/Users?filter=${encodeURIComponent('userName eq "sam@scim.example"')}`)).body.totalResults, 0);
    const remade = await org.scim.request('POST', `${SCIM}/Users`, { userName: 'sam@scim.example' }, scimJson);
    assert.equal(remade.status, 201, 'the address is free again');
    assert.notEqual(remade.body.id, id);
  });

  it('lists in pages; users created inactive are accounts without a membership', async () => {
    const o = await scimOrg('Paging Corp', 'paging.example');
    for (const n of [1, 2, 3]) assert.equal((await o.scim.post(`${SCIM}/Users`, { userName: `p${n}@paging.example`, active: n !== 3 })).status, 201);
    const all = await o.scim.get(`${SCIM}/Users`);
    assert.deepEqual([all.body.totalResults, all.body.itemsPerPage, all.body.startIndex], [3, 3, 1]);
    assert.deepEqual(all.body.Resources.map((u: { active: boolean }) => u.active), [true, true, false]);
    const page = await o.scim.get(`${SCIM}/Users?startIndex=2&count=1`);
    assert.deepEqual([page.body.totalResults, page.body.itemsPerPage, page.body.startIndex, page.body.Resources[0].userName], [3, 1, 2, 'p2@paging.example']);
    assert.equal((await o.scim.get(`${SCIM}/Users?count=0`)).body.Resources.length, 0);
    assert.equal((await o.client.get(`/v1/orgs/${o.orgId}/members`)).body.members.length, 3, 'the owner and two active users');
  });

  it('never sees or touches an account with a password, another domain, or another organisation', async () => {
    // A password account at a proven domain: SCIM cannot make it again, find it or change it.
    const password = t.client();
    assert.equal((await password.post('/v1/auth/signup', { email: 'pw@scim.example', password: strongPassword, orgName: 'Own' })).status, 201);
    const pwId = (await password.get('/v1/me')).body.user.id as string;
    assertScimError(await org.scim.post(`${SCIM}/Users`, { userName: 'pw@scim.example' }), 409, 'uniqueness');
    assert.equal((await org.scim.get(`${SCIM}/Users?filter=${encodeURIComponent('userName eq "pw@scim.example"')}`)).body.totalResults, 0);
    assertScimError(await org.scim.request('PATCH', `${SCIM}/Users/${pwId}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 404);
    assertScimError(await org.scim.delete(`${SCIM}/Users/${pwId}`), 404);
    // Nor the owner (a password account): break-glass access stays.
    assertScimError(await org.scim.delete(`${SCIM}/Users/${org.userId}`), 404);
    assert.equal((await org.client.get(`/v1/orgs/${org.orgId}`)).status, 200);

    // An account SSO made that the operator then gave a password (break-glass): no longer SCIM's.
    const made = await org.scim.post(`${SCIM}/Users`, { userName: 'glass@scim.example' });
    await t.services.accounts.resetPassword('glass@scim.example', `${strongPassword}-reset`);
    assertScimError(await org.scim.get(`${SCIM}/Users/${made.body.id}`), 404);
    assertScimError(await org.scim.delete(`${SCIM}/Users/${made.body.id}`), 404);
    assert.equal((await org.scim.get(`${SCIM}/Users?filter=${encodeURIComponent('userName eq "glass@scim.example"')}`)).body.totalResults, 0);

    // A domain of the configuration that is not proven yet.
    const config = (await org.client.get(`/v1/orgs/${org.orgId}/sso`)).body.sso;
    assert.equal((await org.client.request('PUT', `/v1/orgs/${org.orgId}/sso`, { issuer: config.issuer, clientId: config.clientId, clientSecret: idp.clientSecret, emailDomains: ['scim.example', 'later.example'] })).status, 200);
    assertScimError(await org.scim.post(`${SCIM}/Users`, { userName: 'early@later.example' }), 400, 'invalidValue');

    // Addresses outside the proven domains, or not addresses at all.
    for (const userName of ['eve@unproven.example', 'not-an-address', 'a@b@scim.example']) assertScimError(await org.scim.post(`${SCIM}/Users`, { userName }), 400, 'invalidValue');

    // Another organisation's key sees none of this one's users.
    const kept = await org.scim.post(`${SCIM}/Users`, { userName: 'kept@scim.example' });
    const other = await scimOrg('Other Scim', 'other-scim.example');
    assert.equal((await other.scim.get(`${SCIM}/Users`)).body.totalResults, 0);
    assertScimError(await other.scim.get(`${SCIM}/Users/${kept.body.id}`), 404);
    assertScimError(await other.scim.request('PATCH', `${SCIM}/Users/${kept.body.id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 404);
    assertScimError(await other.scim.delete(`${SCIM}/Users/${kept.body.id}`), 404);
    assertScimError(await other.scim.post(`${SCIM}/Users`, { userName: 'new@scim.example' }), 400, 'invalidValue');
    assert.equal((await org.scim.get(`${SCIM}/Users/${kept.body.id}`)).body.active, true, 'untouched');
  });

  it('only a key with scim:provision, which only owners can grant; sessions, revoked keys and anonymous callers are refused; nothing is written', async () => {
    const before = (await org.scim.get(`${SCIM}/Users`)).body.totalResults;
    const admin = await memberWithRole(t, org.client, org.orgId, 'admin');
    assert.equal((await admin.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'x', scopes: ['scim:provision'] })).status, 403, 'an admin cannot grant it');
    const narrow = await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'narrow', scopes: ['projects:read', 'audit:read'] });
    const project = await org.client.post(`/v1/orgs/${org.orgId}/projects`, { name: 'p' });
    const restricted = await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'restricted', scopes: ['scim:provision'], projectIds: [project.body.project.id] });
    const revoked = await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'revoked', scopes: ['scim:provision'] });
    assert.equal((await org.client.delete(`/v1/api-keys/${revoked.body.apiKey.id}`)).status, 204);
    const body = { userName: 'nobody@scim.example' };
    for (const [who, headers, status] of [
      ['no scope', { authorization: `Bearer ${narrow.body.secret}` }, 403],
      ['restricted to projects', { authorization: `Bearer ${restricted.body.secret}` }, 403],
      ['revoked', { authorization: `Bearer ${revoked.body.secret}` }, 401],
      ['anonymous', {}, 401],
    ] as const) {
      assertScimError(await t.client().request('POST', `${SCIM}/Users`, body, { ...scimJson, ...headers }), status);
      assertScimError(await t.client().get(`${SCIM}/Users`, headers), status);
      assert.ok(who);
    }
    // The owner's own session is not a SCIM client.
    assertScimError(await org.client.post(`${SCIM}/Users`, body), 403);
    assert.equal((await org.scim.get(`${SCIM}/Users`)).body.totalResults, before, 'nothing written');
  });

  it('malformed input is a SCIM error (400), never a 500, and writes nothing', async () => {
    const before = (await org.scim.get(`${SCIM}/Users`)).body.totalResults;
    const id = (await org.scim.get(`${SCIM}/Users`)).body.Resources[0].id as string;
    const cases: [string, string, unknown, string | undefined][] = [
      ['POST', `${SCIM}/Users`, {}, undefined],
      ['POST', `${SCIM}/Users`, { userName: 42 }, undefined],
      ['POST', `${SCIM}/Users`, '{"userName":', undefined],
      ['POST', `${SCIM}/Users`, { userName: 'x@scim.example', active: 'maybe' }, undefined],
      ['PATCH', `${SCIM}/Users/${id}`, { Operations: [] }, undefined],
      ['PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'move', path: 'active', value: false }] }, 'invalidSyntax'],
      ['PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: 'perhaps' }] }, 'invalidValue'],
      ['PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'replace', value: 'not an object' }] }, 'invalidValue'],
      ['PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'remove', path: 'active' }] }, 'mutability'],
      ['GET', `${SCIM}/Users?filter=${encodeURIComponent('displayName co "a"')}`, undefined, 'invalidFilter'],
    ];
    for (const [method, path, payload, scimType] of cases) {
      const r = await org.scim.request(method, path, payload, scimJson);
      assertScimError(r, 400, scimType);
    }
    assertScimError(await org.scim.request('PATCH', `${SCIM}/Users/usr_missing`, { Operations: [{ op: 'replace', path: 'active', value: false }] }, scimJson), 404);
    // An id of another shape (validators send UUIDs) is not found, not malformed.
    assertScimError(await org.scim.get(`${SCIM}/Users/2819c223-7f76-453a-919d-413861904646`), 404);
    assertScimError(await org.scim.request('PATCH', `${SCIM}/Users/${id}`, { Operations: [{ op: 'remove' }] }, scimJson), 400, 'noTarget');
    // A primary address that is not the userName (SSO signs in by the email claim): refused.
    assertScimError(await org.scim.post(`${SCIM}/Users`, { userName: 'upn@scim.example', emails: [{ value: 'mail@scim.example', primary: true }] }), 400, 'invalidValue');
    // Parameters it does not support are ignored.
    assert.equal((await org.scim.get(`${SCIM}/Users?sortBy=userName&sortOrder=descending`)).status, 200);
    assert.equal((await org.scim.get(`${SCIM}/Users`)).body.totalResults, before);
    assert.equal((await org.scim.get(`${SCIM}/Users/${id}`)).body.active, true);
  });

  it('never deactivates or deletes the last owner', async () => {
    const o = await scimOrg('Last Owner Corp', 'last.example');
    const made = await o.scim.post(`${SCIM}/Users`, { userName: 'boss@last.example' });
    assert.equal((await o.client.patch(`/v1/orgs/${o.orgId}/members/${made.body.id}`, { role: 'owner' })).status, 200);
    assert.equal((await o.client.delete(`/v1/orgs/${o.orgId}/membership`)).status, 204, 'the password owner leaves');
    assertScimError(await o.scim.request('PATCH', `${SCIM}/Users/${made.body.id}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 409);
    assertScimError(await o.scim.delete(`${SCIM}/Users/${made.body.id}`), 409);
    assert.equal((await o.scim.get(`${SCIM}/Users/${made.body.id}`)).body.active, true);
  });
});

describe('how many accounts SCIM makes', () => {
  it(`at most ${MAX_FEDERATED_ACCOUNTS_PER_ORG.toLocaleString('en')} per organisation: then 409, and nothing is written`, async () => {
    const o = await scimOrg('Crowded Corp', 'crowded.example');
    const lastRequest = Date.now();
    const tag = o.orgId.slice(4);
    await sql`INSERT INTO users (id, email, federated_org_id) SELECT 'usr_crowd' || i || ${tag}, 'crowd' || i || '-' || ${tag} || '@crowded.example', ${o.orgId} FROM generate_series(1, ${MAX_FEDERATED_ACCOUNTS_PER_ORG}) i`.execute(t.database.db);
    await pastKeepAlive(lastRequest); // seconds of setup: the pooled connection may be closing
    assertScimError(await o.scim.post(`${SCIM}/Users`, { userName: 'one.more@crowded.example' }), 409);
    const made = await sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE email = 'one.more@crowded.example'`.execute(t.database.db);
    assert.equal(made.rows[0]?.n, 0);
  });
});

describe('a SCIM key revoked while its request is under way', { skip: testBackend() !== 'postgres' && 'races need PostgreSQL (PGlite runs one transaction at a time)' }, () => {
  it('cannot provision anyone once the revocation commits (the write holds the key)', async () => {
    const o = await scimOrg('Revoked Scim Corp', 'revoked.example');
    const keys = (await o.client.get(`/v1/orgs/${o.orgId}/api-keys`)).body.apiKeys as { id: string; name: string }[];
    const keyId = keys.find((k) => k.name === 'idp')?.id ?? '';
    assert.equal((await o.scim.get(`${SCIM}/Users`)).status, 200, 'the key is known (and cached) before');
    const users = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE email = 'late@revoked.example'`.execute(t.database.db)).rows[0]?.n);
    const revocation = await holdLocks(
      t.database.db,
      (tx) => sql`SELECT id FROM api_keys WHERE id = ${keyId} FOR UPDATE`.execute(tx),
      (tx) => sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${keyId}`.execute(tx),
    );
    const request = o.scim.post(`${SCIM}/Users`, { userName: 'late@revoked.example' });
    let waiting = 0;
    try {
      waiting = await lockWaiters(t.database.db, /from "api_keys"/i);
    } finally {
      await revocation.release();
    }
    assert.equal(waiting, 1, 'the request waited on its key');
    const refused = await request;
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(await users(), 0, 'nobody was provisioned');
  });
});
