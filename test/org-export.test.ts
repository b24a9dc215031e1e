/**
 * The organisation's data export: JSON lines of the organisation, members, projects, documents
 * and conversations with decrypted messages; personal data as tokens unless asked for (and the
 * caller may reveal it); audited; owners and admins only; erased people are left out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

const origin = 'https://docs.example.com';
let t: TestApp;
let owner: SignedUp;
let projectId: string;
let conversationId: string;

type Line = { type: string; [k: string]: unknown };
const parse = (body: string): Line[] => body.trim().split('\n').map((l) => JSON.parse(l) as Line);

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Export Org');
  projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Docs bot', settings: { allowedDomains: ['docs.example.com'] } })).body.project.id;
  await owner.client.post(`/v1/projects/${projectId}/documents`, { title: 'Refunds', contentType: 'markdown', content: '# Refunds\n\nRefunds take five days.' });
  const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
  const m = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'How long do refunds take? Mail me at pat@example.com' }, { origin, authorization: `Bearer ${s.body.token}` });
  conversationId = m.body.conversationId;
});
after(() => t.close());

describe('organisation export', () => {
  it('holds everything, personal data as tokens by default, and is audited', async () => {
    const hook = await owner.client.post(`/v1/orgs/${owner.orgId}/webhooks`, { url: 'https://hooks.example.com/in', eventTypes: ['privacy.*'] });
    const r = await owner.client.get<string>(`/v1/orgs/${owner.orgId}/export`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-disposition') ?? '', /^attachment; filename="palisade-export-org_/);
    const lines = parse(r.body);
    assert.equal(lines[0]?.type, 'organisation');
    assert.equal(lines[0]?.personalData, 'tokens');
    assert.ok(lines.some((l) => l.type === 'member' && l.email === owner.email && l.role === 'owner'));
    assert.ok(lines.some((l) => l.type === 'project' && l.id === projectId));
    const { id, url, description, eventTypes, enabled, createdAt } = hook.body.webhook;
    assert.deepEqual(lines.find((l) => l.type === 'webhook'), { type: 'webhook', id, url, description, eventTypes, enabled, createdAt }, 'its webhooks');
    assert.equal(r.body.includes(hook.body.secret.slice('whsec_'.length)), false, 'never their secrets');
    const doc = lines.find((l) => l.type === 'document') as { chunks: { text: string }[] } | undefined;
    assert.match(JSON.stringify(doc?.chunks), /five days/);
    const at = lines.findIndex((l) => l.type === 'conversation' && l.id === conversationId);
    const [question, answer, entities] = lines.slice(at + 1, at + 4);
    assert.deepEqual([question?.type, question?.conversationId, question?.role, question?.content], ['message', conversationId, 'user', 'How long do refunds take? Mail me at <EMAIL_1>'], 'its messages follow it, a line each');
    assert.deepEqual([answer?.type, answer?.role], ['message', 'assistant']);
    assert.deepEqual(entities, { type: 'entities', conversationId, entities: [{ token: '<EMAIL_1>', type: 'EMAIL' }] }, 'then its entities, read after them');
    assert.deepEqual(lines.at(-1), { type: 'end', records: lines.length - 1 }, 'the last line says the file is whole');
    assert.doesNotMatch(r.body, /pat@example\.com/);
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.exported`)).body.entries;
    assert.deepEqual(log[0].metadata, { personalData: 'tokens' });
  });

  it('with personalData=values (pii:reveal), the values too', async () => {
    const r = await owner.client.get<string>(`/v1/orgs/${owner.orgId}/export?personalData=values`);
    const found = parse(r.body).find((l) => l.type === 'entities' && l.conversationId === conversationId) as { entities: { value?: string }[] } | undefined;
    assert.equal(found?.entities[0]?.value, 'pat@example.com');
  });

  it('owners and admins only; another organisation gets 404; nothing recorded for a refusal', async () => {
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const outsider = await signUp(t, 'Outsider');
    const before = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.exported`)).body.entries.length;
    assert.equal((await editor.client.get(`/v1/orgs/${owner.orgId}/export`)).status, 403);
    assert.equal((await outsider.client.get(`/v1/orgs/${owner.orgId}/export`)).status, 404);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/export?personalData=all`)).status, 400);
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'reader', scopes: ['projects:read', 'chat:read', 'pii:reveal'] });
    assert.equal((await t.client().get(`/v1/orgs/${owner.orgId}/export`, { authorization: `Bearer ${key.body.secret}` })).status, 403);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.exported`)).body.entries.length, before);
  });

  it('a long conversation is read a page at a time and comes out a message per line, in order', async () => {
    // Three keys: each may send 120 messages a minute.
    const keys = await Promise.all([1, 2, 3].map((n) => owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: `long ${n}`, scopes: ['chat:read', 'chat:write'] })));
    const api = (i: number) => ({ authorization: `Bearer ${keys[i % 3]?.body.secret}` });
    const busy = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Busy bot', settings: { rateLimits: { perIpPerMinute: 1000 } } });
    const conv = await t.client().post(`/v1/projects/${busy.body.project.id}/conversations`, {}, api(0));
    const id = conv.body.conversation.id as string;
    for (let i = 0; i < 260; i++) {
      const r = await t.client().post(`/v1/conversations/${id}/messages`, { content: `question ${i}` }, api(i));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const lines = parse((await owner.client.get<string>(`/v1/orgs/${owner.orgId}/export`)).body);
    const messages = lines.filter((l) => l.type === 'message' && l.conversationId === id);
    assert.equal(messages.length, 520, 'past one page of 500');
    assert.deepEqual(messages.filter((m) => m.role === 'user').map((m) => m.content), Array.from({ length: 260 }, (_, i) => `question ${i}`));
    assert.equal(new Set(messages.map((m) => m.id)).size, 520, 'none twice');
    assert.ok(lines.every((l) => JSON.stringify(l).length < 64 * 1024), 'no line holds a whole conversation');
  });

  it('large documents are read a few at a time (2,000,000 characters a read), and every one comes out once, whole', async () => {
    const big = await signUp(t, 'Big Knowledge');
    const projectId = (await big.client.post(`/v1/orgs/${big.orgId}/projects`, { name: 'Manuals' })).body.project.id as string;
    const sentence = (n: number) => `Manual ${n} explains the device. `;
    for (let n = 0; n < 4; n++) {
      const r = await big.client.post(`/v1/projects/${projectId}/documents`, { title: `Manual ${n}`, contentType: 'text', content: sentence(n).repeat(Math.floor(950_000 / sentence(n).length)) });
      assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    }
    const lines = parse((await big.client.get<string>(`/v1/orgs/${big.orgId}/export`)).body);
    const docs = lines.filter((l) => l.type === 'document');
    assert.deepEqual(docs.map((d) => d.title).sort(), [0, 1, 2, 3].map((n) => `Manual ${n}`));
    for (const d of docs) {
      const text = (d.chunks as { text: string }[]).map((c) => c.text).join(' ');
      assert.ok(text.length > 900_000, `${d.title}: ${text.length} characters`);
    }
  });

  it('another site cannot start one through the signed-in browser (a link or form navigating to it): 403, nothing recorded', async () => {
    const count = async () => (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.exported`)).body.entries.length;
    const before = await count();
    for (const site of ['cross-site', 'same-site']) {
      const r = await owner.client.get(`/v1/orgs/${owner.orgId}/export?personalData=values`, { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' });
      assert.deepEqual([r.status, r.body.code], [403, 'csrf_failed'], site);
    }
    assert.equal(await count(), before);
    for (const site of ['same-origin', 'none']) {
      assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/export`, { 'sec-fetch-site': site })).status, 200, `${site}: from the dashboard, or typed`);
    }
  });

  it('leaves out people who were erased', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { identifier: { type: 'EMAIL', value: 'pat@example.com' } });
    assert.equal(r.body.erasure.conversations, 1);
    const lines = parse((await owner.client.get<string>(`/v1/orgs/${owner.orgId}/export?personalData=values`)).body);
    assert.ok(!lines.some((l) => l.type === 'conversation' && l.id === conversationId));
    assert.doesNotMatch(JSON.stringify(lines), /pat@example\.com|refunds take\?/i);
  });
});
