/**
 * The public widget path end to end over real HTTP: origin checks on every route, visitor
 * tokens bound to project and origin, streamed answers with citations from the knowledge base,
 * identity verification, and refusals recorded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUserId } from '../src/modules/widget/identity.ts';
import { createRefusalRecorder } from '../src/modules/widget/refusals.ts';
import { countRows, memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let projectId: string;
const allowed = 'https://docs.example.com';
const refusals: { projectId: string; reason: string; origin: string | null }[] = [];

before(async () => {
  t = await startTestApp({ onOriginRefused: (r) => refusals.push(r) });
  owner = await signUp(t, 'Widget Org');
  const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Docs bot', settings: { allowedDomains: ['docs.example.com', '*.example.org'] } });
  projectId = p.body.project.id;
  const doc = await owner.client.post(`/v1/projects/${projectId}/documents`, {
    title: 'Running on PostgreSQL',
    url: 'https://docs.example.com/postgres',
    contentType: 'markdown',
    content: '# Running on PostgreSQL\n\nSet DATABASE_URL to a postgres:// URL and Palisade uses PostgreSQL instead of the embedded PGlite database. Migrations run at start-up.\n\n# Rate limits\n\nEach project has per-IP and per-session message limits.',
  });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
});
after(() => t.close());

async function session(origin: string, body: unknown = {}) {
  return t.client().post(`/v1/widget/${projectId}/sessions`, body, { origin });
}

function parseSse(text: string): { event: string; data: any }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      return { event, data };
    });
}

describe('origin policy on widget routes', () => {
  it('serves config to an allowed origin with CORS for that origin only', async () => {
    const r = await t.client().get(`/v1/widget/${projectId}/config`, { origin: allowed });
    assert.equal(r.status, 200);
    assert.equal(r.body.projectId, projectId);
    assert.equal(r.headers.get('access-control-allow-origin'), allowed);
    const sub = await t.client().get(`/v1/widget/${projectId}/config`, { origin: 'https://a.b.example.org' });
    assert.equal(sub.status, 200);
    // A host written with its trailing dot is the same site; browsers compare the header byte for byte.
    const dotted = await t.client().get(`/v1/widget/${projectId}/config`, { origin: `${allowed}.` });
    assert.deepEqual([dotted.status, dotted.headers.get('access-control-allow-origin')], [200, `${allowed}.`]);
  });

  for (const [name, headers] of [
    ['a foreign origin', { origin: 'https://evil.example.net' }],
    ['a look-alike origin', { origin: 'https://docs.example.com.evil.net' }],
    ['the apex of a wildcard', { origin: 'https://example.org' }],
    ['http instead of https', { origin: 'http://docs.example.com' }],
    ['Origin: null', { origin: 'null' }],
    ['no Origin header', {}],
  ] as const) {
    it(`refuses ${name} with 403 origin_not_allowed on every route, writing nothing`, async () => {
      const before = await countRows(t, 'visitors');
      const c = t.client();
      const config = await c.get(`/v1/widget/${projectId}/config`, headers);
      assert.equal(config.status, 403);
      assert.equal(config.body.code, 'origin_not_allowed');
      assert.equal(config.headers.get('access-control-allow-origin'), null);
      const s = await c.post(`/v1/widget/${projectId}/sessions`, {}, headers);
      assert.equal(s.body.code, 'origin_not_allowed');
      const m = await c.post(`/v1/widget/${projectId}/messages`, { content: 'hi' }, headers);
      assert.equal(m.body.code, 'origin_not_allowed');
      assert.equal(await countRows(t, 'visitors'), before);
    });
  }

  it('an unknown project is refused exactly like a foreign origin', async () => {
    const r = await t.client().get('/v1/widget/prj_0000000000000000000000/config', { origin: allowed });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'origin_not_allowed');
  });

  it('a project with no allowed domains refuses every origin', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Closed' });
    const r = await t.client().get(`/v1/widget/${p.body.project.id}/config`, { origin: allowed });
    assert.equal(r.body.code, 'origin_not_allowed');
  });

  it('records refusals: the hook fires and the audit log has an entry', async () => {
    assert.ok(refusals.some((r) => r.origin === 'https://evil.example.net' && r.reason === 'not_allowed'));
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=widget.origin_refused`);
    assert.ok(log.body.entries.length >= 1);
    assert.ok(t.services.originGuard.counts.refused > 0);
  });

  it('a flood of refusals from ever-new origins writes one audit row, and every refusal is still counted', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Flooded', settings: { allowedDomains: ['docs.example.com'] } });
    const id: string = p.body.project.id;
    const refusedBefore = t.services.originGuard.counts.refused;
    for (let i = 0; i < 50; i++) {
      const r = await t.client().get(`/v1/widget/${id}/config`, { origin: `https://x${i}.evil.example.net` });
      assert.equal(r.status, 403);
    }
    assert.equal(t.services.originGuard.counts.refused - refusedBefore, 50);
    assert.equal(refusals.filter((r) => r.projectId === id).length, 50);
    // Audit writes are not awaited by the request: wait for the first, then give any others time to land.
    const rows = async (): Promise<number> => {
      const { sql } = await import('kysely');
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE action = 'widget.origin_refused' AND target_id = ${id}`.execute(t.database.db);
      return Number(r.rows[0]?.n ?? 0);
    };
    for (let i = 0; i < 100 && (await rows()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await rows(), 1);
  });

  it('audit records: one per project and reason per minute, capped per project, skipped ones carried into the next record', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const written: { orgId: string; metadata?: Record<string, unknown> }[] = [];
    const hooked: string[] = [];
    const record = createRefusalRecorder({
      db: t.database.db,
      audit: { record: async (_tx, entry) => void written.push(entry) },
      clock: { now: () => new Date(now) },
      onRefusal: (r) => hooked.push(r.reason),
      log: (error) => assert.fail(String(error)),
    });
    const refuse = (reason: string, origin: string | null, projectId = 'prj_flood'): void => record({ projectId, orgId: owner.orgId, origin, reason, ip: '203.0.113.9' });
    for (let i = 0; i < 50; i++) refuse('not_allowed', `https://x${i}.evil.example.net`);
    for (let i = 0; i < 10; i++) refuse(`reason_${i}`, null);
    refuse('not_allowed', 'https://other.example.net', 'prj_other');
    record({ projectId: 'prj_unknown', orgId: null, origin: 'https://x.example', reason: 'unknown_project', ip: '203.0.113.9' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(hooked.length, 62);
    // prj_flood: not_allowed once, then 4 more reasons up to the cap of 5; prj_other: 1; an unknown project: none.
    assert.equal(written.length, 6);
    now += 60_000;
    refuse('not_allowed', 'https://late.evil.example.net');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(written.length, 7);
    // The skipped refusals ride along on the project's next record.
    const samples = [1, 2, 3, 4, 5].map((i) => `https://x${i}.evil.example.net`);
    assert.deepEqual(written.find((e) => e.metadata?.reason === 'reason_0')?.metadata, { origin: null, reason: 'reason_0', skippedSinceLastRecord: 49, skippedOrigins: samples });
    assert.deepEqual(written.at(-1)?.metadata, { origin: 'https://late.evil.example.net', reason: 'not_allowed', skippedSinceLastRecord: 6, skippedOrigins: [] });
  });

  it('audit records across projects are capped too (one client refused on thousands of public project ids)', async () => {
    const now = Date.parse('2031-01-01T00:00:00Z');
    let written = 0;
    const record = createRefusalRecorder({
      db: t.database.db,
      audit: { record: async () => void (written += 1) },
      clock: { now: () => new Date(now) },
      log: (error) => assert.fail(String(error)),
    });
    for (let i = 0; i < 1_000; i++) record({ projectId: `prj_many${i}`, orgId: owner.orgId, origin: 'https://evil.example.net', reason: 'not_allowed', ip: '203.0.113.9' });
    // Written in the background: waited for (a busy machine took longer than half a second), then a little more for any beyond the cap.
    for (let waited = 0; written < 300 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(written, 300);
  });

  it('answers a preflight for an allowed origin and refuses it for a foreign one', async () => {
    const ok = await t.client().request('OPTIONS', `/v1/widget/${projectId}/messages`, undefined, { origin: allowed, 'access-control-request-method': 'POST' });
    assert.equal(ok.status, 204);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const bad = await t.client().request('OPTIONS', `/v1/widget/${projectId}/messages`, undefined, { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' });
    assert.equal(bad.status, 403);
  });

  it('a settings change takes effect at once (no stale allow-list)', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Moving', settings: { allowedDomains: ['old.example.com'] } });
    const id = p.body.project.id;
    assert.equal((await t.client().get(`/v1/widget/${id}/config`, { origin: 'https://old.example.com' })).status, 200);
    await owner.client.patch(`/v1/projects/${id}`, { settings: { allowedDomains: ['new.example.com'] } });
    assert.equal((await t.client().get(`/v1/widget/${id}/config`, { origin: 'https://old.example.com' })).status, 403);
    assert.equal((await t.client().get(`/v1/widget/${id}/config`, { origin: 'https://new.example.com' })).status, 200);
  });
});

describe('visitor sessions and messages', () => {
  it('answers a question with a citation from the knowledge base (JSON)', async () => {
    const s = await session(allowed);
    assert.equal(s.status, 201);
    const m = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'How do I use PostgreSQL?' }, { origin: allowed, authorization: `Bearer ${s.body.token}` });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    assert.match(m.body.message.content, /DATABASE_URL/);
    assert.deepEqual(m.body.message.citations[0], { title: 'Running on PostgreSQL', url: 'https://docs.example.com/postgres' });
    assert.ok(m.headers.get('ratelimit-limit'));
  });

  it('streams the answer over SSE: meta, deltas, citations, done', async () => {
    const s = await session(allowed);
    const res = await fetch(`${t.url}/v1/widget/${projectId}/messages`, {
      method: 'POST',
      headers: { origin: allowed, authorization: `Bearer ${s.body.token}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'What about rate limits?' }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.equal(res.headers.get('access-control-allow-origin'), allowed);
    assert.ok(res.headers.get('ratelimit-limit'), 'a streamed reply carries the rate-limit headers too');
    const events = parseSse(await res.text());
    assert.equal(events[0]?.event, 'meta');
    assert.ok(events.some((e) => e.event === 'delta'));
    assert.ok(events.some((e) => e.event === 'citations'));
    assert.equal(events.at(-1)?.event, 'done');
  });

  it('says plainly when the knowledge base has no answer', async () => {
    const s = await session(allowed);
    const m = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'What is the airspeed of an unladen swallow?' }, { origin: allowed, authorization: `Bearer ${s.body.token}` });
    assert.match(m.body.message.content, /could not find/i);
    assert.deepEqual(m.body.message.citations, []);
  });

  it('continues a conversation, but not another visitor’s', async () => {
    const a = await session(allowed);
    const first = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'PostgreSQL?' }, { origin: allowed, authorization: `Bearer ${a.body.token}` });
    const conversationId = first.body.conversationId;
    const again = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'And migrations?', conversationId }, { origin: allowed, authorization: `Bearer ${a.body.token}` });
    assert.equal(again.body.conversationId, conversationId);
    const b = await session(allowed);
    const hijack = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'hi', conversationId }, { origin: allowed, authorization: `Bearer ${b.body.token}` });
    assert.equal(hijack.status, 404);
  });

  it('refuses a visitor token used from another allowed origin, another project, or tampered with', async () => {
    const s = await session(allowed);
    const other = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'hi' }, { origin: 'https://x.example.org', authorization: `Bearer ${s.body.token}` });
    assert.equal(other.status, 401);
    assert.equal(other.body.code, 'invalid_visitor_token');
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Other', settings: { allowedDomains: ['docs.example.com'] } });
    const cross = await t.client().post(`/v1/widget/${p.body.project.id}/messages`, { content: 'hi' }, { origin: allowed, authorization: `Bearer ${s.body.token}` });
    assert.equal(cross.body.code, 'invalid_visitor_token');
    const tampered = s.body.token.slice(0, -3) + (s.body.token.endsWith('AAA') ? 'BBB' : 'AAA');
    const bad = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'hi' }, { origin: allowed, authorization: `Bearer ${tampered}` });
    assert.equal(bad.body.code, 'invalid_visitor_token');
    const none = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'hi' }, { origin: allowed });
    assert.equal(none.body.code, 'invalid_visitor_token');
  });

  it('refuses malformed messages with 400 and writes nothing', async () => {
    const s = await session(allowed);
    const before = await countRows(t, 'messages');
    for (const body of [{}, { content: '' }, { content: 'x'.repeat(4001) }, { content: 'hi', extra: 1 }, { content: 'hi', conversationId: 'nope' }]) {
      const r = await t.client().post(`/v1/widget/${projectId}/messages`, body, { origin: allowed, authorization: `Bearer ${s.body.token}` });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'invalid_request');
    }
    assert.equal(await countRows(t, 'messages'), before);
  });
});

describe('anonymous sessions', () => {
  it('opening a session writes nothing; the visitor is recorded with their first message', async () => {
    const before = await countRows(t, 'visitors');
    const s = await session(allowed);
    assert.equal(s.status, 201);
    assert.equal(await countRows(t, 'visitors'), before);
    await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'PostgreSQL?' }, { origin: allowed, authorization: `Bearer ${s.body.token}` });
    assert.equal(await countRows(t, 'visitors'), before + 1);
  });
});

describe('visitor identity verification', () => {
  it('verifies an HMAC-signed user id, gives a stable visitor id, and refuses a wrong signature', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Members only', settings: { allowedDomains: ['docs.example.com'], widget: { requireIdentity: true } } });
    const id = p.body.project.id;
    const secretReply = await owner.client.post(`/v1/projects/${id}/identity-secret`);
    assert.equal(secretReply.status, 201);
    const secret = secretReply.body.secret as string;
    const anonymous = await t.client().post(`/v1/widget/${id}/sessions`, {}, { origin: allowed });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'invalid_identity');
    const identity = { userId: 'user-42', signature: signUserId(secret, 'user-42') };
    const one = await t.client().post(`/v1/widget/${id}/sessions`, { identity }, { origin: allowed });
    const two = await t.client().post(`/v1/widget/${id}/sessions`, { identity }, { origin: allowed });
    assert.equal(one.status, 201);
    assert.equal(one.body.verified, true);
    assert.equal(one.body.visitorId, two.body.visitorId);
    assert.ok(one.body.expiresIn > 3590 && one.body.expiresIn <= 3600, 'its lifetime too: a visitor clock hours off must not think it expired');
    const upper = await t.client().post(`/v1/widget/${id}/sessions`, { identity: { ...identity, signature: identity.signature.toUpperCase() } }, { origin: allowed });
    assert.deepEqual([upper.status, upper.body.visitorId], [201, one.body.visitorId], 'hex in upper case (.NET) is the same signature');
    const wrong = await t.client().post(`/v1/widget/${id}/sessions`, { identity: { userId: 'user-43', signature: identity.signature } }, { origin: allowed });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'invalid_identity');
  });

  it('requiring identities also refuses the messages of anonymous sessions opened before, writing nothing', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Soon members only', settings: { allowedDomains: ['docs.example.com'] } });
    const id = p.body.project.id;
    const session = await t.client().post(`/v1/widget/${id}/sessions`, {}, { origin: allowed });
    assert.equal(session.status, 201);
    const send = () => t.client().post(`/v1/widget/${id}/messages`, { content: 'Hello?' }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    assert.equal((await send()).status, 200);
    const changed = await owner.client.patch(`/v1/projects/${id}`, { settings: { widget: { requireIdentity: true } } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const messages = await countRows(t, 'messages');
    const refused = await send();
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'invalid_identity');
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
  });

  it('rotating the identity secret ends the verified sessions minted with the old one; anonymous ones go on', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Rotating', settings: { allowedDomains: ['docs.example.com'] } });
    const id = p.body.project.id;
    const first = (await owner.client.post(`/v1/projects/${id}/identity-secret`)).body.secret as string;
    const start = (identity?: object) => t.client().post(`/v1/widget/${id}/sessions`, identity ? { identity } : {}, { origin: allowed });
    const send = (token: string) => t.client().post(`/v1/widget/${id}/messages`, { content: 'Hello?' }, { origin: allowed, authorization: `Bearer ${token}` });
    const verified = await start({ userId: 'user-7', signature: signUserId(first, 'user-7') });
    const anonymous = await start();
    assert.equal(verified.body.verified, true);
    assert.equal((await send(verified.body.token)).status, 200);

    const second = (await owner.client.post(`/v1/projects/${id}/identity-secret`)).body.secret as string;
    const messages = await countRows(t, 'messages');
    const stale = await send(verified.body.token);
    assert.equal(stale.status, 401);
    assert.equal(stale.body.code, 'invalid_visitor_token');
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
    assert.equal((await send(anonymous.body.token)).status, 200, 'an anonymous session is not tied to the secret');
    const renewed = await start({ userId: 'user-7', signature: signUserId(second, 'user-7') });
    assert.equal(renewed.body.visitorId, verified.body.visitorId, 'the same visitor, verified with the new secret');
    assert.equal((await send(renewed.body.token)).status, 200);
  });

  it('only those who may reveal PII may rotate the identity secret (an editor could sign as a verified visitor and be given their earlier values); another org gets 404', async () => {
    const outsider = await signUp(t, 'Outsider');
    const r = await outsider.client.post(`/v1/projects/${projectId}/identity-secret`);
    assert.equal(r.status, 404);
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const viewer = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'writer', scopes: ['projects:write', 'projects:read'] });
    const before = await countRows(t, 'project_identity_secrets');
    const audited = await countRows(t, 'audit_log');
    for (const member of [editor, viewer]) assert.equal((await member.client.post(`/v1/projects/${projectId}/identity-secret`)).status, 403);
    const byKey = await t.client().post(`/v1/projects/${projectId}/identity-secret`, {}, { authorization: `Bearer ${key.body.secret}` });
    assert.equal(byKey.status, 403, 'a key with projects:write alone');
    assert.equal(await countRows(t, 'project_identity_secrets'), before, 'nothing written');
    assert.equal(await countRows(t, 'audit_log'), audited, 'nothing audited');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    assert.equal((await admin.client.post(`/v1/projects/${projectId}/identity-secret`)).status, 201);
  });
});

describe('ending visitor sessions', () => {
  it("ends every open session of the project at once, anonymous and verified, and nothing else", async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Leaked token', settings: { allowedDomains: ['docs.example.com'] } });
    const id = p.body.project.id;
    const secret = (await owner.client.post(`/v1/projects/${id}/identity-secret`)).body.secret as string;
    const start = (project: string, identity?: object) => t.client().post(`/v1/widget/${project}/sessions`, identity ? { identity } : {}, { origin: allowed });
    const send = (project: string, token: string) => t.client().post(`/v1/widget/${project}/messages`, { content: 'Hello?' }, { origin: allowed, authorization: `Bearer ${token}` });
    const anonymous = await start(id);
    const verified = await start(id, { userId: 'user-9', signature: signUserId(secret, 'user-9') });
    const elsewhere = await start(projectId);
    for (const s of [anonymous, verified]) assert.equal((await send(id, s.body.token)).status, 200);

    const ended = await owner.client.delete(`/v1/projects/${id}/visitor-sessions`);
    assert.equal(ended.status, 204, JSON.stringify(ended.body));
    const messages = await countRows(t, 'messages');
    for (const s of [anonymous, verified]) {
      const refused = await send(id, s.body.token);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.code, 'invalid_visitor_token');
    }
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
    assert.equal((await send(projectId, elsewhere.body.token)).status, 200, "another project's sessions go on");

    const again = await start(id, { userId: 'user-9', signature: signUserId(secret, 'user-9') });
    assert.equal(again.body.visitorId, verified.body.visitorId, 'the same verified visitor, in a new session');
    assert.equal((await send(id, again.body.token)).status, 200);
    assert.equal((await send(id, (await start(id)).body.token)).status, 200);

    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=project.visitor_sessions_ended`);
    assert.deepEqual(log.body.entries.map((e: { target: { id: string } }) => e.target.id), [id]);
  });

  it('refuses another organisation (404) and a made-up project, changing nothing', async () => {
    const outsider = await signUp(t, 'Outsider 2');
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: allowed });
    const foreign = await outsider.client.delete(`/v1/projects/${projectId}/visitor-sessions`);
    assert.equal(foreign.status, 404);
    assert.equal((await owner.client.delete('/v1/projects/prj_doesNotExist1/visitor-sessions')).status, 404);
    assert.equal((await owner.client.delete('/v1/projects/not-a-project/visitor-sessions')).status, 400);
    const sent = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Still here?' }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    assert.equal(sent.status, 200);
  });
});

describe("after a visitor's key is erased (crypto-shredding)", () => {
  it('their conversation cannot be continued (404, nothing written) and its history leaves the erased messages out', async () => {
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: allowed });
    const send = (content: string, conversationId?: string) =>
      t.client().post(`/v1/widget/${projectId}/messages`, { content, ...(conversationId ? { conversationId } : {}) }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    const first = await send('How do I run on PostgreSQL? Mail me at kim@example.com');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const conversationId = first.body.conversationId as string;
    assert.equal(await t.services.crypto.shred(owner.orgId, session.body.visitorId), 1);

    const messages = await countRows(t, 'messages');
    const again = await send('And migrations?', conversationId);
    assert.equal(again.status, 404, JSON.stringify(again.body));
    assert.equal(again.body.code, 'not_found');
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
    const history = await owner.client.get(`/v1/conversations/${conversationId}/messages`);
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.deepEqual(history.body.messages, []);
    const entities = await owner.client.get(`/v1/conversations/${conversationId}/entities`);
    assert.equal(entities.status, 200, JSON.stringify(entities.body));
    const email = (entities.body.entities as { id: string; type: string }[]).find((e) => e.type === 'EMAIL');
    assert.ok(email, JSON.stringify(entities.body));
    assert.equal((await owner.client.post(`/v1/entities/${email.id}/reveal`)).status, 404, 'its values are gone');
    assert.equal((await send('Starting over')).status, 200, 'a new conversation works');
  });

  it('a visitor erased, back, and erased again: the second conversation is gone too (404), not a 500', async () => {
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: allowed });
    const send = (content: string, conversationId?: string) =>
      t.client().post(`/v1/widget/${projectId}/messages`, { content, ...(conversationId ? { conversationId } : {}) }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    const first = await send('First life');
    assert.equal(await t.services.crypto.shred(owner.orgId, session.body.visitorId), 1);
    assert.equal((await send('Still there?', first.body.conversationId)).status, 404, 'the first erasure is seen (and remembered)');
    const second = await send('Second life');
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(await t.services.crypto.shred(owner.orgId, session.body.visitorId), 1);
    const again = await send('And now?', second.body.conversationId);
    assert.equal(again.status, 404, JSON.stringify(again.body));
    const history = await owner.client.get(`/v1/conversations/${second.body.conversationId}/messages`);
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.deepEqual(history.body.messages, []);
  });

  it("a returning visitor's newer key, lost, is an error too: the tombstone covers only what it erased", async () => {
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: allowed });
    const send = (content: string) => t.client().post(`/v1/widget/${projectId}/messages`, { content }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    assert.equal((await send('First life')).status, 200);
    assert.equal(await t.services.crypto.shred(owner.orgId, session.body.visitorId), 1);
    const again = await send('Second life');
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const scope = `subject:${owner.orgId}:${session.body.visitorId}` as const;
    await sql`DELETE FROM keystore.subject_keys WHERE scope = ${scope}`.execute(t.database.db);
    t.services.crypto.keyring.evict(scope);
    const history = await owner.client.get(`/v1/conversations/${again.body.conversationId}/messages`);
    assert.equal(history.status, 500, JSON.stringify(history.body));
  });

  it('a key missing without an erasure (a lost key store) is an error, never passed off as an erasure', async () => {
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: allowed });
    const first = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Hello there' }, { origin: allowed, authorization: `Bearer ${session.body.token}` });
    const conversationId = first.body.conversationId as string;
    const scope = `subject:${owner.orgId}:${session.body.visitorId}` as const;
    await sql`DELETE FROM keystore.subject_keys WHERE scope = ${scope}`.execute(t.database.db);
    t.services.crypto.keyring.evict(scope);
    const history = await owner.client.get(`/v1/conversations/${conversationId}/messages`);
    assert.equal(history.status, 500);
    assert.equal(history.body.code, 'internal');
  });
});

describe('starting sessions', () => {
  it('is limited per address and project like messages, so minting sessions cannot reset the per-session limit', async () => {
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, {
      name: 'Few sessions',
      settings: { allowedDomains: ['docs.example.com'], rateLimits: { perIpPerMinute: 3 } },
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const start = () => t.client().post(`/v1/widget/${p.body.project.id}/sessions`, {}, { origin: allowed });
    for (let i = 0; i < 3; i++) {
      const r = await start();
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.headers.get('ratelimit-remaining'), String(2 - i));
    }
    const refused = await start();
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await session(allowed)).status, 201, "another project's budget is its own");
  });
});
