/**
 * The API access log: every request made with a valid API key — refused ones too — with key,
 * address, route pattern, status and time; session requests and unknown keys are not in it; an
 * organisation sees only its own; old rows are pruned.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUp, startTestApp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe('API access log', () => {
  it('records each API key request, allowed or refused, with its route pattern and status; not sessions or unknown keys', async () => {
    const owner = await signUp(t, 'Logged');
    const other = await signUp(t, 'Elsewhere');
    const made = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const key = t.client();
    key.bearer = made.body.secret;
    const project = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    assert.equal((await key.get(`/v1/projects/${project.body.project.id}`)).status, 200);
    assert.equal((await key.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'x' })).status, 403, 'scope missing');
    const unknown = t.client();
    unknown.bearer = 'pk_live_madeup';
    assert.equal((await unknown.get(`/v1/orgs/${owner.orgId}/projects`)).status, 401);
    await t.services.accessLog.flush();

    const r = await owner.client.get(`/v1/orgs/${owner.orgId}/access-log`);
    assert.equal(r.status, 200);
    const entries = r.body.entries as Array<Record<string, unknown>>;
    assert.equal(entries.length, 2, JSON.stringify(entries));
    assert.deepEqual(
      entries.map(({ keyId, ip, method, route, status }) => ({ keyId, ip, method, route, status })),
      [
        { keyId: made.body.apiKey.id, ip: '127.0.0.1', method: 'POST', route: '/v1/orgs/:orgId/projects', status: 403 },
        { keyId: made.body.apiKey.id, ip: '127.0.0.1', method: 'GET', route: '/v1/projects/:projectId', status: 200 },
      ],
    );
    assert.ok(entries.every((e) => typeof e.durationMs === 'number' && !Number.isNaN(Date.parse(String(e.at)))));
    assert.equal(JSON.stringify(entries).includes(project.body.project.id), false, 'route patterns, never URLs');

    const filtered = await owner.client.get(`/v1/orgs/${owner.orgId}/access-log?status=403&keyId=${made.body.apiKey.id}`);
    assert.equal(filtered.body.entries.length, 1);
    const page = await owner.client.get(`/v1/orgs/${owner.orgId}/access-log?limit=1`);
    assert.equal(page.body.entries.length, 1);
    const next = await owner.client.get(`/v1/orgs/${owner.orgId}/access-log?limit=1&before=${page.body.nextBefore}`);
    assert.equal(next.body.entries[0].status, 200);

    assert.deepEqual((await other.client.get(`/v1/orgs/${other.orgId}/access-log`)).body.entries, [], 'another organisation sees none of it');
    assert.equal((await other.client.get(`/v1/orgs/${owner.orgId}/access-log`)).status, 404);
    for (const q of ['status=42', 'before=abc', 'limit=0', 'keyId=prj_x', 'since=yesterday', 'extra=1']) {
      const bad = await owner.client.get(`/v1/orgs/${owner.orgId}/access-log?${q}`);
      assert.equal(bad.status, 400, q);
      assert.equal(bad.body.code, 'invalid_request');
    }
  });

  it("a request with a valid key is logged, counted and rate-limited even when its input is refused (400, 413, 415); a revoked key gets 401 before its input is read", async () => {
    const owner = await signUp(t, 'Refused Input');
    const made = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read', 'projects:write'] });
    const key = t.client();
    key.bearer = made.body.secret;
    const create = `/v1/orgs/${owner.orgId}/projects`;
    const bad = await key.post(create, { name: 'x', unknownField: true });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('ratelimit-limit') !== null || bad.headers.get('x-ratelimit-limit') !== null, true, 'counted against the key\'s limit');
    assert.equal((await key.request('POST', create, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
    assert.equal((await key.post(create, { name: 'x'.repeat(2_000_000) })).status, 413);
    await t.services.accessLog.flush();
    const statuses = (await owner.client.get(`/v1/orgs/${owner.orgId}/access-log`)).body.entries.map((e: { status: number; route: string }) => `${e.status} ${e.route}`);
    assert.deepEqual(statuses.sort(), ['400 /v1/orgs/:orgId/projects', '413 /v1/orgs/:orgId/projects', '415 /v1/orgs/:orgId/projects']);

    assert.equal((await owner.client.delete(`/v1/api-keys/${made.body.apiKey.id}`)).status, 204);
    const revoked = await key.post(create, { name: 'x', unknownField: true });
    assert.equal(revoked.status, 401, 'the key is refused before its input is described back to it');
    assert.equal(revoked.body.code, 'invalid_api_key');
    assert.equal((await owner.client.get(create)).body.projects.length, 0, 'nothing written');
    // Other Bearer tokens (a visitor token's shape) are not read as API keys on the way in: the
    // body is checked first, as before.
    const other = await t.client().post(create, { name: 'x', unknownField: true }, { authorization: 'Bearer vt_not-an-api-key' });
    assert.equal(other.status, 400);
  });

  it('a response its client cuts off is logged too: an event stream the client closes', async () => {
    const owner = await signUp(t, 'Streaming');
    const made = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'siem', scopes: ['audit:read'] });
    const controller = new AbortController();
    const res = await fetch(`${t.url}/v1/orgs/${owner.orgId}/events/stream`, { headers: { authorization: `Bearer ${made.body.secret}`, accept: 'text/event-stream' }, signal: controller.signal });
    assert.equal(res.status, 200);
    controller.abort();
    let routes: string[] = [];
    for (let i = 0; i < 50 && routes.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the server sees the close a moment later
      await t.services.accessLog.flush();
      routes = (await owner.client.get(`/v1/orgs/${owner.orgId}/access-log`)).body.entries.map((e: { method: string; route: string; status: number }) => `${e.status} ${e.method} ${e.route}`);
    }
    assert.deepEqual(routes, ['200 GET /v1/orgs/:orgId/events/stream']);
  });

  it('requests alike within one write interval are one entry with their count, the first time and the longest duration', async () => {
    const owner = await signUp(t, 'Busy Key');
    const made = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'busy', scopes: ['projects:read'] });
    const key = t.client();
    key.bearer = made.body.secret;
    await t.services.accessLog.flush();
    for (let i = 0; i < 5; i++) assert.equal((await key.get('/v1/api-keys/current')).status, 200);
    assert.equal((await key.get(`/v1/orgs/${owner.orgId}/api-keys`)).status, 403);
    await t.services.accessLog.flush();
    const entries = (await owner.client.get(`/v1/orgs/${owner.orgId}/access-log`)).body.entries as { route: string; status: number; count: number }[];
    assert.deepEqual(entries.map((e) => `${e.count} × ${e.status} ${e.route}`).sort(), ['1 × 403 /v1/orgs/:orgId/api-keys', '5 × 200 /v1/api-keys/current']);
  });

  it('an organisation with more distinct rows in one interval than one statement can bind is written in full', async () => {
    const owner = await signUp(t, 'Many Addresses');
    await t.services.accessLog.flush();
    const at = new Date();
    for (let i = 0; i < 8_000; i++) {
      t.services.accessLog.record({ orgId: owner.orgId, keyId: 'key_spread', ip: `2001:db8::${i.toString(16)}`, method: 'GET', route: '/v1/orgs', status: 429, durationMs: 1, at });
    }
    await t.services.accessLog.flush();
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM api_access_log WHERE org_id = ${owner.orgId}`.execute(t.database.db);
    assert.equal(rows[0]?.n, 8_000);
  });

  it('prunes rows older than 90 days', async () => {
    const owner = await signUp(t, 'Pruned');
    await t.database.db
      .insertInto('api_access_log')
      .values([
        { org_id: owner.orgId, key_id: 'key_old', ip: '192.0.2.1', method: 'GET', route: '/v1/orgs', status: 200, duration_ms: 1, at: new Date(Date.now() - 91 * 86_400_000) },
        { org_id: owner.orgId, key_id: 'key_new', ip: '192.0.2.1', method: 'GET', route: '/v1/orgs', status: 200, duration_ms: 1, at: new Date(Date.now() - 89 * 86_400_000) },
      ])
      .execute();
    assert.ok((await t.services.accessLog.prune()) >= 1);
    const left = (await owner.client.get(`/v1/orgs/${owner.orgId}/access-log`)).body.entries.map((e: { keyId: string }) => e.keyId);
    assert.deepEqual(left, ['key_new']);
  });
});
