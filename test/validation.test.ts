/**
 * Bad input gets a clear 4xx problem+json naming the field — never a 500, never a partial write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countRows, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
const tables = ['users', 'orgs', 'memberships', 'projects', 'audit_log', 'invitations'];

before(async () => {
  t = await startTestApp();
  owner = await signUp(t);
});
after(() => t.close());

async function snapshot(): Promise<number[]> {
  return Promise.all(tables.map((x) => countRows(t, x)));
}

function assertProblem(r: { status: number; headers: Headers; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(r.body.code, code);
  assert.equal(r.body.status, status);
  assert.ok(r.body.requestId);
  assert.equal(JSON.stringify(r.body).includes('    at '), false, 'no stack trace');
}

describe('malformed input', () => {
  it('malformed JSON → 400 invalid_request, nothing written', async () => {
    const before = await snapshot();
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name": "x",');
    assertProblem(r, 400, 'invalid_request');
    assert.deepEqual(await snapshot(), before);
  });

  it('a wrong type names the field', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 42 });
    assertProblem(r, 400, 'invalid_request');
    assert.equal(r.body.errors[0].field, 'body.name');
  });

  it('an unknown field is refused and named', async () => {
    const before = await snapshot();
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'ok', isAdmin: true });
    assertProblem(r, 400, 'invalid_request');
    assert.equal(r.body.errors[0].field, 'body.isAdmin');
    assert.deepEqual(await snapshot(), before);
  });

  it('an unknown nested settings field is refused and named', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'ok', settings: { rateLimits: { perIpPerMinute: 10, burst: 3 } } });
    assertProblem(r, 400, 'invalid_request');
    assert.equal(r.body.errors[0].field, 'body.settings.rateLimits.burst');
  });

  it('invalid project settings write nothing: bad domain, public-suffix wildcard, bad PII operator', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot' });
    const before = await snapshot();
    for (const settings of [
      { allowedDomains: ['https://example.com/path'] },
      { allowedDomains: ['*.co.uk'] },
      { pii: { operators: { EMAIL: 'shred' } } },
      { retentionDays: -1 },
    ]) {
      const r = await owner.client.patch(`/v1/projects/${p.body.project.id}`, { settings });
      assertProblem(r, 400, 'invalid_request');
      assert.match(r.body.errors[0].field, /^body\.settings\./);
    }
    assert.deepEqual(await snapshot(), before);
    const unchanged = await owner.client.get(`/v1/projects/${p.body.project.id}`);
    assert.deepEqual(unchanged.body.project.settings.allowedDomains, []);
  });

  it('an oversized body → 413 payload_too_large, nothing written', async () => {
    const before = await snapshot();
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'x', settings: { answer: { provider: 'extractive', systemPrompt: 'a'.repeat(2 * 1024 * 1024) } } });
    assertProblem(r, 413, 'payload_too_large');
    assert.deepEqual(await snapshot(), before);
  });

  it('an over-long string is refused by its bound', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'x'.repeat(101) });
    assertProblem(r, 400, 'invalid_request');
    assert.equal(r.body.errors[0].field, 'body.name');
  });

  it('a malformed id in the path → 400 naming the parameter', async () => {
    const r = await owner.client.get('/v1/projects/not-a-project-id');
    assertProblem(r, 400, 'invalid_request');
    assert.equal(r.body.errors[0].field, 'params.projectId');
  });

  it('a wrong content type → 415', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assertProblem(r, 415, 'unsupported_media_type');
    const text = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"x"}', { 'content-type': 'text/plain' });
    assertProblem(text, 415, 'unsupported_media_type');
  });

  it('an unknown route → 404 problem+json', async () => {
    assertProblem(await owner.client.get('/v1/nothing-here'), 404, 'not_found');
  });

  it('signup with a bad e-mail and a missing field writes nothing', async () => {
    const before = await snapshot();
    const r = await t.client().post('/v1/auth/signup', { email: 'not-an-email', password: 'violet-harbour-quantum-47' });
    assertProblem(r, 400, 'invalid_request');
    const fields = r.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['body.email', 'body.orgName']);
    assert.deepEqual(await snapshot(), before);
  });

  it('a NUL character (U+0000) in any text is refused with 400, never a 500, and writes nothing', async () => {
    const project = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'nul target' })).body.project.id;
    const documents = () => countRows(t, 'documents');
    const before = await snapshot();
    const docsBefore = await documents();
    const keysBefore = await countRows(t, 'api_keys');
    const refused = [
      await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'a\u0000b' }),
      await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"ok","settings":{"answer":{"provider":"extractive","systemPrompt":"x\\u0000"}}}'),
      await owner.client.post(`/v1/projects/${project}/documents`, { title: 't\u0000', contentType: 'text', content: 'hello' }),
      await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k\u0000', scopes: ['projects:read'] }),
      await owner.client.patch(`/v1/orgs/${owner.orgId}`, { name: 'Org\u0000' }),
      await t.client().post('/v1/auth/signup', { email: 'nul@example.test', password: 'violet-harbour-quantum-47', orgName: 'N\u0000' }),
      await owner.client.get(`/v1/projects/${project}/search?q=a%00b`),
      await owner.client.get(`/v1/projects/${project}/search?q=a%2500b%00`),
    ];
    for (const r of refused) {
      assertProblem(r, 400, 'invalid_request');
      assert.match(r.body.detail, /NUL/);
    }
    assert.deepEqual(await snapshot(), before);
    assert.equal(await documents(), docsBefore, 'no document');
    assert.equal(await countRows(t, 'api_keys'), keysBefore, 'no key');
    // An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    const literal = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"back\\\\u0000slash"}');
    assert.equal(literal.status, 201, JSON.stringify(literal.body));
    assert.equal(literal.body.project.name, 'back\\u0000slash');
  });

  it('an unpaired surrogate in any text is refused with 400, never a 500, and writes nothing; pairs are fine', async () => {
    const project = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'surrogate target' })).body.project.id;
    const before = await snapshot();
    const keysBefore = await countRows(t, 'api_keys');
    const settingsBefore = (await owner.client.get(`/v1/projects/${project}`)).body;
    const refused = [
      await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, '{"name":"a\\ud800b","scopes":["projects:read"]}'),
      await owner.client.patch(`/v1/projects/${project}`, '{"settings":{"widget":{"greeting":"hi \\udc00"}}}'),
      await owner.client.patch(`/v1/projects/${project}`, '{"settings":{"answer":{"provider":"extractive","systemPrompt":"\\uDBFF"}}}'),
      await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"x","settings":{"\\ud83d":1}}'),
    ];
    for (const r of refused) {
      assertProblem(r, 400, 'invalid_request');
      assert.match(r.body.detail, /surrogate/);
    }
    assert.deepEqual(await snapshot(), before);
    assert.equal(await countRows(t, 'api_keys'), keysBefore, 'no key');
    assert.deepEqual((await owner.client.get(`/v1/projects/${project}`)).body, settingsBefore, 'settings unchanged');
    // A pair written as escapes is one character (an emoji), and an escaped backslash is text.
    const emoji = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"bot \\ud83d\\ude00 \\\\ud800"}');
    assert.equal(emoji.status, 201, JSON.stringify(emoji.body));
    assert.equal(emoji.body.project.name, 'bot \u{1F600} \\ud800');
  });

  it('__proto__ in a body does not pollute and is refused as an unknown field', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, '{"name":"x","__proto__":{"polluted":true}}');
    assert.ok(r.status === 400, JSON.stringify(r.body));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
