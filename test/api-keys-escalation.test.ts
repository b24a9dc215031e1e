/**
 * No escalation through key management: a `keys:manage` API key may rotate, revoke, read the
 * usage of and list only keys within its reach (scopes ⊆ its own; if it is project-restricted,
 * the target is restricted to a subset of its projects; if it expires, the target expires no later).
 * Anything else is 403 insufficient_scope
 * with nothing written. A signed-in user with keys:manage still manages every key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { apiKeyScopes } from '../src/modules/api-keys/scopes.ts';
import { countRows, memberWithRole, signUp, startTestApp, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let projectA: string;
let projectB: string;

before(async () => {
  // Usage is flushed only on demand, so a refused usage request must not write counts either.
  t = await startTestApp({ apiKeys: { usageFlushMs: 600_000 } });
  owner = await signUp(t, 'Escalation Org');
  projectA = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'A' })).body.project.id;
  projectB = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'B' })).body.project.id;
});
after(() => t.close());

async function createKey(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.apiKey.id, secret: r.body.secret };
}

function bearer(secret: string): Client {
  const c = t.client();
  c.bearer = secret;
  return c;
}

async function keyRow(id: string): Promise<string> {
  const r = await sql<{ j: string }>`SELECT row_to_json(k)::text AS j FROM api_keys k WHERE id = ${id}`.execute(t.database.db);
  assert.ok(r.rows[0], `row for ${id}`);
  return r.rows[0].j;
}

async function stillWorks(secret: string): Promise<void> {
  const r = await bearer(secret).get('/v1/api-keys/current');
  assert.equal(r.status, 200, `the target's old secret still works: ${JSON.stringify(r.body)}`);
}

/** Rotate, revoke and usage of `target` by `caller` are all 403 insufficient_scope and write nothing. */
async function assertOutOfReach(caller: Client, target: { id: string; secret: string }): Promise<void> {
  const row = await keyRow(target.id);
  const audit = await countRows(t, 'audit_log');
  const usage = await countRows(t, 'api_key_usage');
  for (const [what, res] of [
    ['rotate', await caller.post(`/v1/api-keys/${target.id}/rotate`, { graceSeconds: 0 })],
    ['revoke', await caller.delete(`/v1/api-keys/${target.id}`)],
    ['usage', await caller.get(`/v1/api-keys/${target.id}/usage`)],
  ] as const) {
    assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'insufficient_scope', what);
    assert.equal(res.body.secret, undefined, `${what}: no secret in the refusal`);
  }
  assert.equal(await keyRow(target.id), row, 'the key row is unchanged');
  assert.equal(await countRows(t, 'audit_log'), audit, 'no audit entry');
  assert.equal(await countRows(t, 'api_key_usage'), usage, 'no usage flushed');
  await stillWorks(target.secret);
}

describe('a keys:manage API key restricted to one project', () => {
  let manager: { id: string; secret: string };
  let inReach: { id: string; secret: string };
  let unrestricted: { id: string; secret: string };
  let extraScope: { id: string; secret: string };
  let moreProjects: { id: string; secret: string };

  before(async () => {
    manager = await createKey({ name: 'manager', scopes: ['keys:manage', 'projects:read'], projectIds: [projectA] });
    inReach = await createKey({ name: 'in reach', scopes: ['projects:read'], projectIds: [projectA] });
    unrestricted = await createKey({ name: 'root', scopes: [...apiKeyScopes] });
    extraScope = await createKey({ name: 'pii', scopes: ['projects:read', 'pii:reveal'], projectIds: [projectA] });
    moreProjects = await createKey({ name: 'A and B', scopes: ['projects:read'], projectIds: [projectA, projectB] });
  });

  it('cannot rotate, revoke or read the usage of an unrestricted full-scope key', async () => {
    await assertOutOfReach(bearer(manager.secret), unrestricted);
  });

  it('cannot touch a key with a scope it lacks, even within its project', async () => {
    await assertOutOfReach(bearer(manager.secret), extraScope);
  });

  it('cannot touch a key restricted to projects beyond its own', async () => {
    await assertOutOfReach(bearer(manager.secret), moreProjects);
  });

  it('lists only the keys within its reach', async () => {
    const r = await bearer(manager.secret).get(`/v1/orgs/${owner.orgId}/api-keys`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const ids = new Set(r.body.apiKeys.map((k: { id: string }) => k.id));
    assert.ok(ids.has(manager.id) && ids.has(inReach.id), 'itself and the key within reach');
    for (const k of [unrestricted, extraScope, moreProjects]) assert.ok(!ids.has(k.id), `${k.id} is hidden`);
    const all = await owner.client.get(`/v1/orgs/${owner.orgId}/api-keys`);
    assert.ok(all.body.apiKeys.length > r.body.apiKeys.length, 'the owner still sees every key');
    // Paged one at a time, the cursors it is given are its own keys' ids, never the hidden ones'.
    const seen: string[] = [];
    let before: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page: { status: number; body: { apiKeys: { id: string }[]; nextBefore: string | null } } = await bearer(manager.secret).get(`/v1/orgs/${owner.orgId}/api-keys?limit=1${before ? `&before=${before}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...page.body.apiKeys.map((k) => k.id));
      if (page.body.nextBefore !== null) assert.ok(ids.has(page.body.nextBefore), `cursor ${page.body.nextBefore} is a key it may see`);
      before = page.body.nextBefore;
      if (before === null) break;
    }
    assert.deepEqual(new Set(seen), ids, 'and the pages hold exactly what one list does');
  });

  it('can read usage of, rotate and revoke a key within its reach', async () => {
    const c = bearer(manager.secret);
    const usage = await c.get(`/v1/api-keys/${inReach.id}/usage`);
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    const rotated = await c.post(`/v1/api-keys/${inReach.id}/rotate`, { graceSeconds: 0 });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.secret, inReach.secret);
    assert.equal((await bearer(rotated.body.secret).get(`/v1/projects/${projectA}`)).status, 200, 'the new secret works');
    assert.equal((await bearer(inReach.secret).get('/v1/api-keys/current')).status, 401, 'the old one ended');
    assert.equal((await c.delete(`/v1/api-keys/${inReach.id}`)).status, 204);
    assert.equal((await bearer(rotated.body.secret).get('/v1/api-keys/current')).status, 401, 'revoked');
  });
});

describe('an unrestricted keys:manage API key', () => {
  it('cannot touch a key with a scope it lacks', async () => {
    const manager = await createKey({ name: 'no pii', scopes: apiKeyScopes.filter((s) => s !== 'pii:reveal') });
    const target = await createKey({ name: 'pii', scopes: ['pii:reveal'] });
    await assertOutOfReach(bearer(manager.secret), target);
  });
});

describe('a keys:manage API key that expires', () => {
  const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

  it('cannot create a key that never expires or outlives it (nothing written)', async () => {
    const shortLived = await createKey({ name: 'temporary', scopes: ['keys:manage', 'projects:read'], expiresAt: inMinutes(10) });
    const c = bearer(shortLived.secret);
    const keys = await countRows(t, 'api_keys');
    const audit = await countRows(t, 'audit_log');
    for (const body of [{ name: 'forever', scopes: ['projects:read'] }, { name: 'longer', scopes: ['projects:read'], expiresAt: inMinutes(60) }]) {
      const r = await c.post(`/v1/orgs/${owner.orgId}/api-keys`, body);
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, 'insufficient_scope');
      assert.equal(r.body.secret, undefined);
    }
    assert.equal(await countRows(t, 'api_keys'), keys, 'no key created');
    assert.equal(await countRows(t, 'audit_log'), audit, 'no audit entry');
    const shorter = await c.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'shorter', scopes: ['projects:read'], expiresAt: inMinutes(5) });
    assert.equal(shorter.status, 201, 'a key that expires first is within reach');
  });

  it('cannot rotate, revoke or read the usage of a key that never expires or outlives it', async () => {
    const shortLived = await createKey({ name: 'temporary', scopes: ['keys:manage', 'projects:read'], expiresAt: inMinutes(10) });
    await assertOutOfReach(bearer(shortLived.secret), await createKey({ name: 'permanent', scopes: ['projects:read'] }));
    await assertOutOfReach(bearer(shortLived.secret), await createKey({ name: 'later', scopes: ['projects:read'], expiresAt: inMinutes(60) }));
    const earlier = await createKey({ name: 'earlier', scopes: ['projects:read'], expiresAt: inMinutes(5) });
    const rotated = await bearer(shortLived.secret).post(`/v1/api-keys/${earlier.id}/rotate`, { graceSeconds: 0 });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  });
});

describe('a signed-in user with keys:manage', () => {
  it('rotates and revokes any key whose scopes their role holds: an owner every key, an admin all but owner-only scopes', async () => {
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const adminScopes = apiKeyScopes.filter((s) => s !== 'scim:provision');
    for (const [who, scopes] of [[owner.client, [...apiKeyScopes]], [admin.client, adminScopes]] as const) {
      const key = await createKey({ name: 'root', scopes: [...scopes] });
      const rotated = await who.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 0 });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal((await bearer(rotated.body.secret).get('/v1/api-keys/current')).status, 200);
      assert.equal((await who.get(`/v1/api-keys/${key.id}/usage`)).status, 200);
      assert.equal((await who.delete(`/v1/api-keys/${key.id}`)).status, 204);
    }
  });

  it('an admin can neither mint nor rotate (and so read), see or revoke a key with an owner-only scope', async () => {
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const keysBefore = await countRows(t, 'api_keys');
    const minted = await admin.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'scim', scopes: ['scim:provision'] });
    assert.equal(minted.status, 403, JSON.stringify(minted.body));
    assert.equal(await countRows(t, 'api_keys'), keysBefore, 'nothing written');
    const scim = await createKey({ name: 'idp', scopes: ['scim:provision'] });
    assert.equal((await admin.client.post(`/v1/api-keys/${scim.id}/rotate`, { graceSeconds: 0 })).status, 403);
    assert.equal((await admin.client.get(`/v1/api-keys/${scim.id}/usage`)).status, 403);
    assert.equal((await admin.client.delete(`/v1/api-keys/${scim.id}`)).status, 403);
    const listed = (await admin.client.get(`/v1/orgs/${owner.orgId}/api-keys`)).body.apiKeys.map((k: { id: string }) => k.id);
    assert.equal(listed.includes(scim.id), false);
    assert.equal((await bearer(scim.secret).get('/v1/api-keys/current')).status, 200, 'still working: not rotated');
    assert.equal((await owner.client.delete(`/v1/api-keys/${scim.id}`)).status, 204, 'the owner can');
  });
});

describe('a project-restricted key on routes that cover the whole organisation', () => {
  it('is refused the audit log and creating projects (nothing written), but lists only its projects', async () => {
    const limited = await createKey({ scopes: ['audit:read', 'projects:read', 'projects:write'], projectIds: [projectA] });
    const c = bearer(limited.secret);
    const projects = await countRows(t, 'projects');
    const audit = await c.get(`/v1/orgs/${owner.orgId}/audit-log`);
    assert.equal(audit.status, 403, JSON.stringify(audit.body));
    assert.equal(audit.body.code, 'insufficient_scope');
    const created = await c.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'sneaky' });
    assert.equal(created.status, 403, JSON.stringify(created.body));
    assert.equal(await countRows(t, 'projects'), projects);
    const listed = await c.get(`/v1/orgs/${owner.orgId}/projects`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.projects.map((p: { id: string }) => p.id), [projectA]);
    assert.equal((await c.get(`/v1/projects/${projectA}`)).status, 200, 'its own project as before');
  });
});
