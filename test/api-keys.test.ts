/**
 * API keys end to end on the real app: creation (secret once, hash only at rest), Bearer on /v1
 * routes, every way a key can be refused (401 invalid_api_key + RFC 6750 header), scopes (403
 * insufficient_scope), project restriction, no privilege escalation, rotation with a grace
 * period, revocation, other organisations' keys (404), and batched usage counting.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Clock } from '../src/platform/clock.ts';
import { MAX_KEYS_CREATED_PER_DAY, MAX_LIVE_KEYS_PER_ORG } from '../src/modules/api-keys/service.ts';
import { testBackend } from './helpers/database.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';
import { countRows, signUp, startTestApp, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';

let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
let t: TestApp;
let owner: SignedUp;
let outsider: SignedUp;
let projectA: string;
let projectB: string;

before(async () => {
  // Usage is flushed only on demand here, so "no write per request" is observable.
  t = await startTestApp({ clock, apiKeys: { usageFlushMs: 600_000 } });
  owner = await signUp(t, 'Keys Org');
  outsider = await signUp(t, 'Other Org', 'outsider');
  projectA = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'A' })).body.project.id;
  projectB = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'B' })).body.project.id;
});
after(() => t.close());

async function createKey(body: Record<string, unknown>, by: Client = owner.client, orgId = owner.orgId): Promise<{ id: string; secret: string }> {
  const r = await by.post(`/v1/orgs/${orgId}/api-keys`, { name: 'k', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.apiKey.id, secret: r.body.secret };
}

function bearer(secret: string): Client {
  const c = t.client();
  c.bearer = secret;
  return c;
}

function assertInvalidKey(r: { status: number; headers: Headers; body: { code?: string } }): void {
  assert.equal(r.status, 401, JSON.stringify(r.body));
  assert.equal(r.body.code, 'invalid_api_key');
  assert.equal(r.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
}

describe('creating and listing keys', () => {
  it('returns the secret once, in the documented format; the list and the database hold no secret', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'CI', scopes: ['projects:read'] });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const secret: string = r.body.secret;
    assert.match(secret, /^pal_live_[0-9A-Za-z]{16}_[0-9A-Za-z]{30}$/);
    assert.equal(r.body.apiKey.id, `key_${secret.split('_')[2]}`);
    assert.ok(secret.startsWith(r.body.apiKey.start));
    assert.equal(r.body.apiKey.status, 'active');
    assert.equal(r.body.apiKey.createdBy, owner.userId, 'it names its maker');
    const list = await owner.client.get(`/v1/orgs/${owner.orgId}/api-keys`);
    assert.equal(list.status, 200);
    const text = JSON.stringify(list.body);
    assert.ok(list.body.apiKeys.some((k: { id: string }) => k.id === r.body.apiKey.id));
    assert.ok(!text.includes(secret.slice(-30)) && !/hash/i.test(text), 'no secret or hash in the list');
    const rows = await sql<{ j: string }>`SELECT row_to_json(k)::text AS j FROM api_keys k`.execute(t.database.db);
    const audit = await sql<{ j: string }>`SELECT row_to_json(a)::text AS j FROM audit_log a`.execute(t.database.db);
    for (const row of [...rows.rows, ...audit.rows]) assert.ok(!row.j.includes(secret.slice(-30)), 'the secret is never stored');
  });

  it('validates scopes, expiry and projects', async () => {
    const bad = [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['root'] },
      { name: 'x', scopes: ['chat:read', 'chat:read'] },
      { name: 'x', scopes: ['chat:read'], expiresAt: 'tomorrow' },
      { name: 'x', scopes: ['chat:read'], expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { name: 'x', scopes: ['chat:read'], projectIds: ['prj_doesnotexist'] },
    ];
    for (const body of bad) {
      const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'invalid_request');
    }
    const foreign = (await outsider.client.post(`/v1/orgs/${outsider.orgId}/projects`, { name: 'theirs' })).body.project.id;
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'x', scopes: ['chat:read'], projectIds: [foreign] });
    assert.equal(r.status, 400, 'another organisation’s project cannot be named');
  });

  it('an editor may not manage keys; another organisation sees 404', async () => {
    const r = await outsider.client.get(`/v1/orgs/${owner.orgId}/api-keys`);
    assert.equal(r.status, 404);
    const key = await createKey({ scopes: ['projects:read'] });
    for (const res of [
      await outsider.client.post(`/v1/api-keys/${key.id}/rotate`, {}),
      await outsider.client.delete(`/v1/api-keys/${key.id}`),
      await outsider.client.get(`/v1/api-keys/${key.id}/usage`),
    ]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'not_found');
    }
    assert.equal((await bearer(key.secret).get('/v1/orgs/' + owner.orgId + '/projects')).status, 200, 'still works');
  });
});

describe('Bearer authentication', () => {
  it('works on /v1 routes with the matching scope and sends RateLimit headers', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const r = await bearer(key.secret).get(`/v1/orgs/${owner.orgId}/projects`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.projects.length, 2);
    assert.equal(r.headers.get('ratelimit-limit'), String(t.config.apiKeyRequestsPerMinute));
    assert.ok(Number(r.headers.get('ratelimit-remaining')) < t.config.apiKeyRequestsPerMinute);
    assert.ok(r.headers.get('ratelimit-reset'));
  });

  it('GET /v1/api-keys/current describes only the calling key; a session or no credentials is refused', async () => {
    const key = await createKey({ scopes: ['projects:read'], projectIds: [projectA] });
    const r = await bearer(key.secret).get('/v1/api-keys/current');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { apiKey: { id: key.id, orgId: owner.orgId, scopes: ['projects:read'], projectIds: [projectA] } });
    assert.doesNotMatch(JSON.stringify(r.body), new RegExp(key.secret), 'never the secret');
    const bySession = await owner.client.get('/v1/api-keys/current');
    assert.equal(bySession.status, 400);
    assert.equal(bySession.body.code, 'invalid_request');
    const anonymous = await t.client().get('/v1/api-keys/current');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthenticated');
    const mistyped = `${key.secret.slice(0, -1)}${key.secret.endsWith('x') ? 'y' : 'x'}`;
    assertInvalidKey(await bearer(mistyped).get('/v1/api-keys/current'));
  });

  it('refuses a missing scope with 403 insufficient_scope and writes nothing', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const before = await countRows(t, 'projects');
    const r = await bearer(key.secret).post(`/v1/orgs/${owner.orgId}/projects`, { name: 'nope' });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'insufficient_scope');
    assert.equal(await countRows(t, 'projects'), before);
  });

  it('refuses malformed, mistyped, unknown and wrong secrets alike', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const last = key.secret.at(-1) === 'A' ? 'B' : 'A';
    const parts = key.secret.split('_');
    const unknownId = `pal_live_${'Z'.repeat(16)}_${parts[3]}`;
    const cases = [
      'not-a-key',
      key.secret.slice(0, -1) + last, // checksum mismatch: refused before any look-up
      unknownId,
      'x'.repeat(600),
    ];
    for (const secret of cases) assertInvalidKey(await bearer(secret).get(`/v1/orgs/${owner.orgId}/projects`));
    assertInvalidKey(await t.client().get(`/v1/orgs/${owner.orgId}/projects`, { authorization: 'Basic abc' }));
    assertInvalidKey(await t.client().get(`/v1/orgs/${owner.orgId}/projects`, { authorization: `Bearer ${key.secret} extra` }));
  });

  it('refuses a correctly formed key with a valid checksum but a wrong secret', async () => {
    const { generateApiKeySecret } = await import('../src/modules/api-keys/token.ts');
    const key = await createKey({ scopes: ['projects:read'] });
    const forged = generateApiKeySecret({ keyId: key.id }).secret;
    assertInvalidKey(await bearer(forged).get(`/v1/orgs/${owner.orgId}/projects`));
  });

  it('restricts a key to its projects (others are 404)', async () => {
    const key = await createKey({ scopes: ['projects:read'], projectIds: [projectA] });
    const c = bearer(key.secret);
    assert.equal((await c.get(`/v1/projects/${projectA}`)).status, 200);
    const r = await c.get(`/v1/projects/${projectB}`);
    assert.equal(r.status, 404);
    const list = await c.get(`/v1/orgs/${owner.orgId}/projects`);
    assert.deepEqual(list.body.projects.map((p: { id: string }) => p.id), [projectA]);
  });

  it('a key never reaches another organisation (404)', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const r = await bearer(key.secret).get(`/v1/orgs/${outsider.orgId}/projects`);
    assert.equal(r.status, 404);
  });

  it('an expired key is refused', async () => {
    const key = await createKey({ scopes: ['projects:read'], expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    assert.equal((await bearer(key.secret).get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    offsetMs += 61_000;
    try {
      assertInvalidKey(await bearer(key.secret).get(`/v1/orgs/${owner.orgId}/projects`));
    } finally {
      offsetMs -= 61_000;
    }
  });

  it('a key cannot mint a more powerful key', async () => {
    const manager = await createKey({ scopes: ['keys:manage', 'projects:read'], projectIds: [projectA] });
    const c = bearer(manager.secret);
    const wider = await c.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'wider', scopes: ['projects:write'], projectIds: [projectA] });
    assert.equal(wider.status, 403);
    assert.equal(wider.body.code, 'insufficient_scope');
    const unrestricted = await c.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'all projects', scopes: ['projects:read'] });
    assert.equal(unrestricted.status, 403);
    const ok = await c.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'narrower', scopes: ['projects:read'], projectIds: [projectA] });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });
});

describe('revocation and rotation', () => {
  it('revocation takes effect on the very next request', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const c = bearer(key.secret);
    assert.equal((await c.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200); // now cached
    assert.equal((await owner.client.delete(`/v1/api-keys/${key.id}`)).status, 204);
    assertInvalidKey(await c.get(`/v1/orgs/${owner.orgId}/projects`));
    const list = await owner.client.get(`/v1/orgs/${owner.orgId}/api-keys`);
    assert.equal(list.body.apiKeys.find((k: { id: string }) => k.id === key.id).status, 'revoked');
    assert.equal((await owner.client.post(`/v1/api-keys/${key.id}/rotate`, {})).status, 409, 'a revoked key cannot be rotated');
  });

  it('rotation issues a new secret; the old one works for the grace period, then fails', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    const old = bearer(key.secret);
    assert.equal((await old.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    const r = await owner.client.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 120 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.notEqual(r.body.secret, key.secret);
    assert.equal(r.body.apiKey.id, key.id, 'same key, new secret');
    assert.ok(r.body.apiKey.previousSecretExpiresAt);
    const fresh = bearer(r.body.secret);
    assert.equal((await fresh.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    assert.equal((await old.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200, 'old secret within grace');
    offsetMs += 121_000;
    try {
      assertInvalidKey(await old.get(`/v1/orgs/${owner.orgId}/projects`));
      assert.equal((await fresh.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    } finally {
      offsetMs -= 121_000;
    }
  });

  it('a replaced secret in its grace period sets up no credential or channel that outlives the rotation', async () => {
    const key = await createKey({ scopes: ['projects:read', 'projects:write', 'keys:manage'] });
    const old = bearer(key.secret);
    assert.equal((await old.get(`/v1/orgs/${owner.orgId}/api-keys`)).status, 200);
    const rotated = await owner.client.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 3600 });
    assert.equal(rotated.status, 200);
    const keysBefore = await countRows(t, 'api_keys');
    assert.equal((await old.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200, 'still works for the rest');
    const again = await old.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 0 });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'insufficient_scope');
    const minted = await old.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'escape', scopes: ['projects:read'] });
    assert.equal(minted.status, 403);
    assert.equal(await countRows(t, 'api_keys'), keysBefore, 'nothing written');
    const identity = await old.post(`/v1/projects/${projectA}/identity-secret`);
    assert.equal(identity.status, 403, 'no identity secret to sign visitors with after the rotation');
    const redirected = await old.patch(`/v1/projects/${projectA}`, { settings: { answer: { provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm' } } });
    assert.equal(redirected.status, 403, 'no answer provider to send questions elsewhere');
    assert.equal(await countRows(t, 'project_identity_secrets'), 0);
    assert.deepEqual((await old.get('/v1/api-keys/current')).body.apiKey.scopes, ['projects:read']);
    const fresh = bearer(rotated.body.secret);
    assert.equal((await fresh.get(`/v1/orgs/${owner.orgId}/api-keys`)).status, 200, 'the new secret manages keys');
    assert.deepEqual((await fresh.get('/v1/api-keys/current')).body.apiKey.scopes, ['projects:read', 'projects:write', 'keys:manage']);
  });

  it('rotation with no grace period ends the old secret at once', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    await bearer(key.secret).get(`/v1/orgs/${owner.orgId}/projects`);
    const r = await owner.client.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 0 });
    assert.equal(r.status, 200);
    assertInvalidKey(await bearer(key.secret).get(`/v1/orgs/${owner.orgId}/projects`));
  });
});

describe('usage', () => {
  it('counts per day and route in memory (no write per request) and reports last use', async () => {
    const key = await createKey({ scopes: ['projects:read', 'keys:manage'] });
    const c = bearer(key.secret);
    const rowsBefore = await countRows(t, 'api_key_usage');
    for (let i = 0; i < 3; i++) await c.get(`/v1/orgs/${owner.orgId}/projects`, { 'user-agent': 'usage-test/1.0' });
    await c.get(`/v1/projects/${projectA}`, { 'user-agent': 'usage-test/1.0' });
    assert.equal(await countRows(t, 'api_key_usage'), rowsBefore, 'nothing written on the hot path');
    const r = await owner.client.get(`/v1/api-keys/${key.id}/usage`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const u = r.body.usage;
    assert.equal(u.lastIp, '127.0.0.1');
    assert.equal(u.lastUserAgent, 'usage-test/1.0');
    assert.ok(u.lastUsedAt);
    assert.equal(u.days.length, 1);
    assert.equal(u.days[0].total, 4);
    assert.deepEqual(
      Object.fromEntries(u.days[0].routes.map((x: { route: string; count: number }) => [x.route, x.count])),
      { 'GET /v1/orgs/:orgId/projects': 3, 'GET /v1/projects/:projectId': 1 },
    );
    // A key with keys:manage reads its own usage; counts keep adding up across flushes.
    await c.get(`/v1/projects/${projectA}`);
    const again = await c.get(`/v1/api-keys/${key.id}/usage`);
    assert.equal(again.body.usage.days[0].total, 6);
  });
});

describe('rotations of one key at once', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite never interleaves transactions)' }, () => {
  it('apply one after the other: every secret they return works', async () => {
    const key = await createKey({ scopes: ['projects:read'] });
    // Another transaction holds the row, so both rotations are in flight together when it lets go.
    const holder = await holdLocks(t.database.db, (tx) => sql`SELECT 1 FROM api_keys WHERE id = ${key.id} FOR UPDATE`.execute(tx));
    const rotations = [0, 1].map(() => owner.client.post(`/v1/api-keys/${key.id}/rotate`, { graceSeconds: 120 }));
    // Both rotations wait: the first on the key's row (the fix takes the lock before reading;
    // without it, both read the same secret first and wait only at their writes), the second on
    // the caller's session, which the first holds (credential-hold.ts).
    const waiting = await lockWaiters(t.database.db, /api_keys|sessions/i, 2);
    await holder.release();
    const replies = await Promise.all(rotations);
    assert.equal(waiting, 2, 'both rotations were in flight together');
    for (const r of replies) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await bearer(r.body.secret).get(`/v1/orgs/${owner.orgId}/projects`)).status, 200, 'a returned secret works');
    }
  });
});

describe('what a key learns about its organisation', () => {
  it('its id from GET /v1/orgs, none of its settings', async () => {
    const key = await createKey({ scopes: ['chat:write'], projectIds: [projectA] });
    const r = await bearer(key.secret).get('/v1/orgs');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { orgs: [{ id: owner.orgId }] });
    assert.equal((await bearer(key.secret).get(`/v1/orgs/${owner.orgId}`)).status, 403);
  });
});

describe('how many keys an organisation holds', () => {
  it(`at most ${MAX_LIVE_KEYS_PER_ORG} working ones, also when the last are asked for at once; revoked and expired ones do not count`, async () => {
    const org = await signUp(t, 'Key Hoarder');
    // Made days ago: the keys made in the last 24 hours have a bound of their own (below).
    const insert = (n: number, extra: string) =>
      sql`INSERT INTO api_keys (id, org_id, name, start, secret_hash, scopes, created_at, ${sql.raw(extra)}) SELECT 'key_bulk' || i || ${org.orgId.slice(4)} || ${extra.slice(0, 3)}, ${org.orgId}, 'bulk', 'x', 'h' || i, '["projects:read"]'::jsonb, now() - interval '3 days', ${sql.raw(extra === 'revoked_at' ? 'now()' : "now() - interval '1 day'")} FROM generate_series(1, ${n}) i`.execute(t.database.db);
    await insert(5, 'revoked_at');
    await insert(5, 'expires_at');
    await sql`INSERT INTO api_keys (id, org_id, name, start, secret_hash, scopes, created_at) SELECT 'key_live' || i || ${org.orgId.slice(4)}, ${org.orgId}, 'bulk', 'x', 'l' || i, '["projects:read"]'::jsonb, now() - interval '3 days' FROM generate_series(1, ${MAX_LIVE_KEYS_PER_ORG - 2}) i`.execute(t.database.db);
    const racing = await Promise.all([1, 2, 3].map(() => org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'one more', scopes: ['projects:read'] })));
    assert.deepEqual(racing.map((r) => r.status).sort(), [201, 201, 409]);
    assert.equal(racing.find((r) => r.status === 409)?.body.code, 'conflict');
    const live = await sql<{ n: number }>`SELECT count(*)::int AS n FROM api_keys WHERE org_id = ${org.orgId} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`.execute(t.database.db);
    assert.equal(live.rows[0]?.n, MAX_LIVE_KEYS_PER_ORG);
  });

  it(`at most ${MAX_KEYS_CREATED_PER_DAY} made in 24 hours, revoked ones too: creating and revoking in a loop does not grow the table without end`, async () => {
    const org = await signUp(t, 'Key Churner');
    await sql`INSERT INTO api_keys (id, org_id, name, start, secret_hash, scopes, revoked_at) SELECT 'key_churn' || i || ${org.orgId.slice(4)}, ${org.orgId}, 'churn', 'x', 'c' || i, '["projects:read"]'::jsonb, now() FROM generate_series(1, ${MAX_KEYS_CREATED_PER_DAY}) i`.execute(t.database.db);
    const refused = await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'one more', scopes: ['projects:read'] });
    assert.deepEqual([refused.status, refused.body.code], [409, 'conflict']);
    await sql`UPDATE api_keys SET created_at = now() - interval '25 hours' WHERE org_id = ${org.orgId}`.execute(t.database.db);
    assert.equal((await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name: 'next day', scopes: ['projects:read'] })).status, 201);
  });

  it('are listed a page at a time, newest first', async () => {
    const org = await signUp(t, 'Key Pager');
    for (const name of ['a', 'b', 'c']) assert.equal((await org.client.post(`/v1/orgs/${org.orgId}/api-keys`, { name, scopes: ['projects:read'] })).status, 201);
    const first = await org.client.get(`/v1/orgs/${org.orgId}/api-keys?limit=2`);
    assert.deepEqual(first.body.apiKeys.map((k: { name: string }) => k.name), ['c', 'b']);
    const rest = await org.client.get(`/v1/orgs/${org.orgId}/api-keys?limit=2&before=${first.body.nextBefore}`);
    assert.deepEqual(rest.body.apiKeys.map((k: { name: string }) => k.name), ['a']);
    assert.equal(rest.body.nextBefore, null);
    for (const bad of ['limit=0', 'limit=1001', 'before=nope', 'other=1']) assert.equal((await org.client.get(`/v1/orgs/${org.orgId}/api-keys?${bad}`)).status, 400, bad);
  });
});

/** A request whose headers arrive now (it is authenticated) and whose body comes when `finish` is called. */
function slowRequest(method: string, path: string, secret: string, body: unknown): { finish: () => Promise<{ status: number; body: { code?: string } }> } {
  const url = new URL(t.url + path);
  const payload = JSON.stringify(body);
  const req = request({ host: url.hostname, port: url.port, path: url.pathname, method, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
  const answered = new Promise<{ status: number; body: { code?: string } }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    finish: async () => {
      req.end(payload);
      return answered;
    },
  };
}

describe('a request authenticated before its key was rotated or revoked', () => {
  it('cannot rotate it back, mint a key or rotate another with what the rotation took away', async () => {
    const leaked = await createKey({ scopes: ['keys:manage', 'projects:read', 'projects:write', 'pii:reveal'] });
    const other = await createKey({ scopes: ['projects:read'] });
    const takeBack = slowRequest('POST', `/v1/api-keys/${leaked.id}/rotate`, leaked.secret, { graceSeconds: 0 });
    const mint = slowRequest('POST', `/v1/orgs/${owner.orgId}/api-keys`, leaked.secret, { name: 'backdoor', scopes: ['keys:manage'] });
    const rotateOther = slowRequest('POST', `/v1/api-keys/${other.id}/rotate`, leaked.secret, { graceSeconds: 0 });
    const repoint = slowRequest('PATCH', `/v1/projects/${projectA}`, leaked.secret, { settings: { answer: { provider: 'openai-compatible', baseUrl: 'https://attacker.example/v1', model: 'm' } } });
    const identity = slowRequest('POST', `/v1/projects/${projectA}/identity-secret`, leaked.secret, {});
    await new Promise((r) => setTimeout(r, 300)); // their headers are read and the key accepted
    // The owner contains the leak: the leaked secret is replaced (kept an hour for clients, without keys:manage).
    const contained = await owner.client.post(`/v1/api-keys/${leaked.id}/rotate`, {});
    assert.equal(contained.status, 200);
    // Refused when its body arrives (the key checked again: its old secret has lost keys:manage and
    // every scope that makes lasting access) or, failing that, when the write holds the key.
    for (const [name, pending] of [['rotate itself back', takeBack], ['mint a key', mint], ['rotate another key', rotateOther], ['repoint the answer provider', repoint], ['take an identity secret', identity]] as const) {
      const r = await pending.finish();
      assert.ok(
        (r.status === 401 && r.body.code === 'invalid_api_key') || (r.status === 403 && r.body.code === 'insufficient_scope'),
        `${name}: ${r.status} ${r.body.code}`,
      );
    }
    assert.equal((await bearer(contained.body.secret).get('/v1/api-keys/current')).status, 200, "the owner's new secret works");
    assert.equal((await bearer(other.secret).get('/v1/api-keys/current')).status, 200, 'the other key was not rotated');
    const keys = (await owner.client.get(`/v1/orgs/${owner.orgId}/api-keys`)).body.apiKeys as { name: string }[];
    assert.ok(!keys.some((k) => k.name === 'backdoor'));
    assert.equal((await owner.client.get(`/v1/projects/${projectA}`)).body.project.settings.answer.provider, 'extractive');
  });

  it('revoked while its body was still arriving: nothing is written, whatever the route', async () => {
    const leaked = await createKey({ scopes: ['projects:read', 'projects:write', 'knowledge:write'] });
    const project = slowRequest('POST', `/v1/orgs/${owner.orgId}/projects`, leaked.secret, { name: 'late project', settings: { allowedDomains: ['attacker.example'] } });
    const document = slowRequest('POST', `/v1/projects/${projectA}/documents`, leaked.secret, { title: 'late document', content: 'planted after the revocation', contentType: 'text' });
    await new Promise((r) => setTimeout(r, 300)); // their headers are read and the key accepted
    assert.equal((await owner.client.delete(`/v1/api-keys/${leaked.id}`)).status, 204);
    for (const [name, pending] of [['create a project', project], ['add a document', document]] as const) {
      const r = await pending.finish();
      assert.deepEqual([r.status, r.body.code], [401, 'invalid_api_key'], name);
    }
    const names = ((await owner.client.get(`/v1/orgs/${owner.orgId}/projects`)).body.projects as { name: string }[]).map((p) => p.name);
    assert.ok(!names.includes('late project'));
    const titles = ((await owner.client.get(`/v1/projects/${projectA}/documents`)).body.documents as { title: string }[]).map((d) => d.title);
    assert.ok(!titles.includes('late document'));
  });
});
