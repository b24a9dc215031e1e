/**
 * The PII routes over real HTTP: a conversation's entities (tokens and counts, never values),
 * reveal (`pii:reveal` only, audited without the value, never cached, 404 across
 * organisations, API key scopes) and the analyze dry run (spans, anonymised text, bounds,
 * nothing stored, never the organisation's hash key).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashPlaceholder } from '../src/modules/pii/index.ts';
import { countRows, memberWithRole, signUp, startTestApp, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';

const email = 'pat.doe@example.com';
const phone = '+44 20 7946 0958';

let t: TestApp;
let owner: SignedUp;
let outsider: SignedUp;
let projectId: string;
let conversationId: string;
let entities: { id: string; type: string; token: string; count: number }[];

async function apiKey(scopes: string[]): Promise<Client> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'pii', scopes });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = t.client();
  c.bearer = r.body.secret;
  return c;
}

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Entity Org');
  outsider = await signUp(t, 'Outsider Org', 'outsider');
  projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot' })).body.project.id;
  conversationId = (await owner.client.post(`/v1/projects/${projectId}/conversations`)).body.conversation.id;
  for (const content of [`Write to ${email}, or ${email} again`, `Or call ${phone}; my mail is still ${email}`]) {
    const r = await owner.client.post(`/v1/conversations/${conversationId}/messages`, { content });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  entities = (await owner.client.get(`/v1/conversations/${conversationId}/entities`)).body.entities;
});
after(() => t.close());

const entity = (type: string) => {
  const e = entities.find((x) => x.type === type);
  assert.ok(e, `no ${type} entity`);
  return e;
};

describe('listing a conversation’s entities', () => {
  it('lists id, type, token and occurrences, never a value', async () => {
    assert.deepEqual(
      entities.map(({ type, token, count }) => ({ type, token, count })),
      [
        { type: 'EMAIL', token: '<EMAIL_1>', count: 3 },
        { type: 'PHONE', token: '<PHONE_1>', count: 1 },
      ],
    );
    for (const e of entities) assert.match(e.id, /^ent_[0-9A-Za-z]+$/);
    const r = await owner.client.get(`/v1/conversations/${conversationId}/entities`);
    assert.ok(!JSON.stringify(r.body).includes(email) && !JSON.stringify(r.body).includes('7946'));
  });

  it('is open to chat:read (viewer), 404 to another organisation and for an unknown id', async () => {
    const viewer = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    assert.equal((await viewer.client.get(`/v1/conversations/${conversationId}/entities`)).status, 200);
    const foreign = await outsider.client.get(`/v1/conversations/${conversationId}/entities`);
    const missing = await outsider.client.get('/v1/conversations/conv_0000000000000000000000/entities');
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);
    assert.equal((await owner.client.get('/v1/conversations/not-an-id/entities')).status, 400);
  });
});

describe('revealing an entity', () => {
  it('viewer and editor: 403 forbidden, and no audit record', async () => {
    for (const role of ['viewer', 'editor']) {
      const m = await memberWithRole(t, owner.client, owner.orgId, role);
      const r = await m.client.post(`/v1/entities/${entity('EMAIL').id}/reveal`);
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, 'forbidden');
      assert.ok(!JSON.stringify(r.body).includes(email));
    }
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=pii.revealed`);
    assert.equal(log.body.entries.length, 0);
  });

  it('admin and owner: the value, no-store, and a pii.revealed record without the value', async () => {
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    for (const who of [admin, owner]) {
      const r = await who.client.post(`/v1/entities/${entity('EMAIL').id}/reveal`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { id: entity('EMAIL').id, type: 'EMAIL', token: '<EMAIL_1>', value: email });
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
    const phoneReveal = await admin.client.post(`/v1/entities/${entity('PHONE').id}/reveal`);
    assert.equal(phoneReveal.body.value, phone);
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=pii.revealed`);
    assert.equal(log.body.entries.length, 3);
    const [latest] = log.body.entries;
    assert.deepEqual(latest.target, { type: 'pii_entity', id: entity('PHONE').id });
    assert.deepEqual(latest.actor, { type: 'user', id: admin.userId });
    assert.equal(latest.metadata.entityType, 'PHONE');
    const text = JSON.stringify(log.body);
    assert.ok(!text.includes(email) && !text.includes('7946'), 'the audit log holds a value');
  });

  it('another organisation (even its owner): 404, like an id that never existed, nothing written', async () => {
    const before = await countRows(t, 'audit_log');
    const foreign = await outsider.client.post(`/v1/entities/${entity('EMAIL').id}/reveal`);
    const missing = await outsider.client.post('/v1/entities/ent_0000000000000000000000/reveal');
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'not_found');
    assert.equal(foreign.body.detail, missing.body.detail);
    assert.equal(await countRows(t, 'audit_log'), before);
    assert.equal((await owner.client.post('/v1/entities/msg_123/reveal')).status, 400);
    assert.equal((await t.client().post(`/v1/entities/${entity('EMAIL').id}/reveal`)).status, 401);
  });

  it('API keys: without the pii:reveal scope 403 insufficient_scope; with it the value, audited as the key', async () => {
    const reader = await apiKey(['chat:read', 'projects:read']);
    assert.equal((await reader.get(`/v1/conversations/${conversationId}/entities`)).status, 200);
    const refused = await reader.post(`/v1/entities/${entity('EMAIL').id}/reveal`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 'insufficient_scope');
    const revealer = await apiKey(['pii:reveal']);
    const r = await revealer.post(`/v1/entities/${entity('EMAIL').id}/reveal`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.value, email);
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=pii.revealed&limit=1`);
    assert.equal(log.body.entries[0].actor.type, 'api_key');
  });
});

describe('a project’s PII policy', () => {
  it('is set only with pii:reveal: an editor or a projects:write key cannot switch it off, and nothing is written', async () => {
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const keyResponse = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'writer', scopes: ['projects:write', 'projects:read'] });
    const writer = t.client();
    writer.bearer = keyResponse.body.secret;
    const off = { pii: { enabled: false, defaultOperator: 'allow' } };
    const projects = await countRows(t, 'projects');
    const audit = await countRows(t, 'audit_log');
    const before = (await owner.client.get(`/v1/projects/${projectId}`)).body.project.settings.pii;
    for (const client of [editor.client, writer]) {
      const created = await client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Leaky', settings: off });
      const patched = await client.patch(`/v1/projects/${projectId}`, { settings: off });
      for (const r of [created, patched]) {
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.ok(['forbidden', 'insufficient_scope'].includes(r.body.code), r.body.code);
      }
    }
    assert.equal(await countRows(t, 'projects'), projects);
    assert.equal(await countRows(t, 'audit_log'), audit);
    assert.deepEqual((await owner.client.get(`/v1/projects/${projectId}`)).body.project.settings.pii, before);
    const renamed = await editor.client.patch(`/v1/projects/${projectId}`, { name: 'Still editable' });
    assert.equal(renamed.status, 200, 'the rest of the settings stay an editor’s');
  });

  it('changes are audited with the policy before and after, so a switched-off policy shows what it was', async () => {
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const created = await editor.client.post(`/v1/orgs/${owner.orgId}/projects`, {
      name: 'Watched',
      settings: { allowedDomains: ['docs.example.com'], answer: { provider: 'extractive', systemPrompt: 'Internal prompt text' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.project.id;
    const r = await owner.client.patch(`/v1/projects/${id}`, { settings: { pii: { enabled: false, defaultOperator: 'allow' }, allowedDomains: ['*.example.com'] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const entries = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`)).body.entries as { action: string; target: { id: string }; metadata: any }[];
    const creation = entries.find((e) => e.action === 'project.created' && e.target.id === id);
    assert.deepEqual(creation?.metadata.settings.allowedDomains, ['docs.example.com']);
    assert.equal(creation?.metadata.settings.pii.enabled, true);
    const update = entries.find((e) => e.action === 'project.updated' && e.target.id === id);
    assert.ok(update, 'audited');
    assert.deepEqual(update.metadata.changes.pii.from, { enabled: true, defaultOperator: 'tokenize', operators: {}, minScore: 0.5 });
    assert.equal(update.metadata.changes.pii.to.enabled, false);
    assert.deepEqual(update.metadata.changes.allowedDomains, { from: ['docs.example.com'], to: ['*.example.com'] });
    assert.equal(update.metadata.changes.answer, undefined, 'unchanged sections are left out');
    assert.doesNotMatch(JSON.stringify(entries), /Internal prompt text/, 'a system prompt is recorded by length only');
  });
});

describe('POST /v1/pii/analyze', () => {
  const text = `Mail ${email} or call ${phone}.`;

  it('returns spans and the anonymised text with the default policy, storing nothing', async () => {
    const vault = await countRows(t, 'pii_vault');
    const r = await outsider.client.post('/v1/pii/analyze', { text });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.body.anonymized, 'Mail <EMAIL_1> or call <PHONE_1>.');
    const spans = r.body.entities.map((e: { type: string; start: number; end: number }) => [e.type, text.slice(e.start, e.end)]);
    assert.deepEqual(spans, [['EMAIL', email], ['PHONE', phone]]);
    for (const e of r.body.entities) assert.ok(e.score > 0 && e.score <= 1 && e.operator === 'tokenize');
    assert.equal(await countRows(t, 'pii_vault'), vault);
  });

  it("applies a named project's policy, but never with the organisation's hash key", async () => {
    await owner.client.patch(`/v1/projects/${projectId}`, { settings: { pii: { operators: { EMAIL: 'hash', PHONE: 'mask' } } } });
    const viewer = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const r = await viewer.client.post('/v1/pii/analyze', { text, projectId });
    const again = await viewer.client.post('/v1/pii/analyze', { text, projectId });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.anonymized, /^Mail <EMAIL_HASH_[0-9a-f]{12}> or call \*\*\*\*0958\.$/);
    assert.deepEqual(r.body.entities.map((e: { operator: string }) => e.operator), ['hash', 'mask']);
    // A viewer must not be able to hash guesses and match them against stored placeholders.
    const production = hashPlaceholder('EMAIL', email, await t.services.pii.hashKey(owner.orgId));
    assert.ok(!r.body.anonymized.includes(production) && !again.body.anonymized.includes(production));
    assert.notEqual(r.body.anonymized, again.body.anonymized, 'a new key per request');
    const unnamed = await owner.client.post('/v1/pii/analyze', { text: `Mail ${email}` });
    assert.equal(unnamed.body.anonymized, 'Mail <EMAIL_1>', 'without a project, the default policy');
  });

  it('authorises the project: another organisation 404, a key without projects:read 403, no credentials 401', async () => {
    const foreign = await outsider.client.post('/v1/pii/analyze', { text, projectId });
    assert.equal(foreign.status, 404);
    const key = await apiKey(['chat:read']);
    assert.equal((await key.post('/v1/pii/analyze', { text, projectId })).body.code, 'insufficient_scope');
    assert.equal((await key.post('/v1/pii/analyze', { text })).status, 200);
    assert.equal((await t.client().post('/v1/pii/analyze', { text })).status, 401);
  });

  it('refuses malformed input with 400 and bounds the text at 100,000 characters', async () => {
    for (const body of [{}, { text: '' }, { text: 42 }, { text, extra: true }, { text, projectId: 'org_x' }, { text: 'a'.repeat(100_001) }]) {
      const r = await owner.client.post('/v1/pii/analyze', body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(r.body.code, 'invalid_request');
    }
    const big = await owner.client.post('/v1/pii/analyze', { text: `${'lorem ipsum '.repeat(8000)}${email}`.slice(-100_000) });
    assert.equal(big.status, 200);
    assert.equal(big.body.entities.length, 1);
  });
});
