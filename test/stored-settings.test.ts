/**
 * A project whose stored settings today's schema refuses (a wildcard a later public-suffix list
 * calls a suffix, a bound tightened since, a newer instance's key) keeps working: it is read
 * narrowed, listed, served to its remaining allowed domains, and repaired by a PATCH.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let projectId: string;

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Drift Org');
  const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Drifted', settings: { allowedDomains: ['docs.example.com'] } });
  projectId = p.body.project.id;
  const settings = { ...p.body.project.settings, allowedDomains: ['docs.example.com', '*.github.io'], rateLimits: { ...p.body.project.settings.rateLimits, perIpPerMinute: 99_999 }, fromANewerVersion: true };
  await sql`UPDATE projects SET settings = ${JSON.stringify(settings)}::jsonb WHERE id = ${projectId}`.execute(t.database.db);
});
after(() => t.close());

describe('stored settings that no longer validate', () => {
  it('are read narrowed: the project and the organisation list answer 200', async () => {
    const one = await owner.client.get(`/v1/projects/${projectId}`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.deepEqual(one.body.project.settings.allowedDomains, ['docs.example.com']);
    assert.equal(one.body.project.settings.rateLimits.perIpPerMinute, 10_000);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
  });

  it('the widget works on the domains still allowed, and not on the dropped wildcard', async () => {
    const ok = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: 'https://docs.example.com' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    const dropped = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin: 'https://someone.github.io' });
    assert.equal(dropped.status, 403);
  });

  it('a PATCH repairs the row, and its audit record shows what the repair changed too', async () => {
    const r = await owner.client.patch(`/v1/projects/${projectId}`, { settings: { allowedDomains: ['docs.example.com', 'help.example.com'] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const audit = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=project.updated`);
    const changes = audit.body.entries.find((e: { target: { id: string } }) => e.target.id === projectId).metadata.changes;
    assert.deepEqual(changes.allowedDomains, { from: ['docs.example.com', '*.github.io'], to: ['docs.example.com', 'help.example.com'] });
    assert.equal(changes.rateLimits.from.perIpPerMinute, 99_999, 'the clamped limit as it was stored, not as it was read');
    assert.deepEqual(changes.fromANewerVersion, { from: true, to: null });
    const { rows } = await sql<{ settings: Record<string, unknown> }>`SELECT settings FROM projects WHERE id = ${projectId}`.execute(t.database.db);
    const stored = typeof rows[0]?.settings === 'string' ? JSON.parse(rows[0].settings) : rows[0]?.settings;
    assert.deepEqual(stored?.allowedDomains, ['docs.example.com', 'help.example.com']);
    assert.ok(!('fromANewerVersion' in (stored ?? {})));
  });
});

describe('a PATCH of the settings', () => {
  it('changes only the fields it names: the others keep their values, not their defaults', async () => {
    const strict = {
      widget: { greeting: 'Hello', color: '#123456', requireIdentity: true },
      rateLimits: { perIpPerMinute: 5, perSessionPerHour: 7, messagesPerHour: 11 },
      pii: { defaultOperator: 'redact', operators: { PHONE: 'mask' }, minScore: 0.7 },
      answer: { provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm1', systemPrompt: 'Be brief.', timeoutMs: 5000 },
      retentionDays: 30,
    };
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Strict', settings: strict });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const id = p.body.project.id;
    const patched = await owner.client.patch(`/v1/projects/${id}`, {
      settings: { widget: { greeting: 'Welcome' }, rateLimits: { perIpPerMinute: 3 }, pii: { operators: { EMAIL: 'hash' } }, answer: { provider: 'openai-compatible', model: 'm2' } },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const s = (await owner.client.get(`/v1/projects/${id}`)).body.project.settings;
    assert.deepEqual(s.widget, { greeting: 'Welcome', color: '#123456', requireIdentity: true }, 'anonymous visitors stay out');
    assert.deepEqual(s.rateLimits, { perIpPerMinute: 3, perSessionPerHour: 7, messagesPerHour: 11 });
    assert.deepEqual(s.pii, { enabled: true, defaultOperator: 'redact', operators: { EMAIL: 'hash' }, minScore: 0.7 }, 'the operators table is what the PATCH says: an override it leaves out does not linger');
    assert.deepEqual(s.answer, { provider: 'openai-compatible', baseUrl: 'https://llm.example.com/v1', model: 'm2', systemPrompt: 'Be brief.', timeoutMs: 5000 });
    assert.equal(s.retentionDays, 30);
    const audit = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=project.updated`);
    const changes = audit.body.entries.find((e: { target: { id: string } }) => e.target.id === id).metadata.changes;
    assert.deepEqual(Object.keys(changes).sort(), ['answer', 'pii', 'rateLimits', 'widget']);

    // Another provider replaces the part whole; what it lacks is refused by name, and nothing is written.
    const incomplete = await owner.client.patch(`/v1/projects/${id}`, { settings: { answer: { provider: 'extractive', model: 'm2' } } });
    assert.equal(incomplete.status, 400);
    assert.equal(incomplete.body.code, 'invalid_request');
    assert.match(incomplete.body.detail, /^body\.settings\.answer/);
    const missing = await owner.client.patch(`/v1/projects/${id}`, { settings: { widget: { greeting: 'x' }, answer: { provider: 'openai-compatible', baseUrl: null } } });
    assert.equal(missing.status, 400);
    assert.deepEqual((await owner.client.get(`/v1/projects/${id}`)).body.project.settings, s);
    const extractive = await owner.client.patch(`/v1/projects/${id}`, { settings: { answer: { provider: 'extractive' } } });
    assert.equal(extractive.status, 200, JSON.stringify(extractive.body));
    assert.deepEqual(extractive.body.project.settings.answer, { provider: 'extractive', systemPrompt: '' });
    const newOne = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Half', settings: { answer: { provider: 'openai-compatible', model: 'm' } } });
    assert.equal(newOne.status, 400, 'a creation missing a required field is a 400, not a 500');
    assert.match(newOne.body.detail, /^body\.settings\.answer\.baseUrl/);
  });
});
