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

  it('a PATCH repairs the row', async () => {
    const r = await owner.client.patch(`/v1/projects/${projectId}`, { settings: { allowedDomains: ['docs.example.com', 'help.example.com'] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { rows } = await sql<{ settings: Record<string, unknown> }>`SELECT settings FROM projects WHERE id = ${projectId}`.execute(t.database.db);
    const stored = typeof rows[0]?.settings === 'string' ? JSON.parse(rows[0].settings) : rows[0]?.settings;
    assert.deepEqual(stored?.allowedDomains, ['docs.example.com', 'help.example.com']);
    assert.ok(!('fromANewerVersion' in (stored ?? {})));
  });
});
