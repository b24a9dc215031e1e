/**
 * Rate limits on the real app: the per-key request limit (429 rate_limited, Retry-After,
 * RateLimit-* headers), message limits from the project's `rateLimits` settings through the
 * service the chat path calls, refusals counted and passed to the events hook, the penalty box
 * escalating, and the owner routes that list and lift blocks (permission projects:write).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RefusalEvent } from '../src/modules/rate-limits/service.ts';
import { defaultApiKeyMessagesPerMinute } from '../src/modules/rate-limits/policy.ts';
import { sql } from 'kysely';
import type { Clock } from '../src/platform/clock.ts';
import { memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

const events: RefusalEvent[] = [];
let offsetMs = 0;
const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
let t: TestApp;
let owner: SignedUp;
let projectId: string;

before(async () => {
  t = await startTestApp({
    clock,
    config: { apiKeyRequestsPerMinute: 3, orgMessagesPerHour: 40, textWorkKilocharsPerMinute: 1 },
    onRateLimitRefusal: (e) => events.push(e),
    penaltyPolicy: { refusalsBeforeBlock: 3, baseBlockSeconds: 60 },
  });
  owner = await signUp(t, 'Limits Org');
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, {
    name: 'Bot',
    settings: { rateLimits: { perIpPerMinute: 2, perSessionPerHour: 100, messagesPerHour: 1000 } },
  });
  projectId = r.body.project.id;
});
after(() => t.close());

async function settings() {
  return (await t.services.projects.get(owner.orgId, projectId)).settings.rateLimits;
}

describe('per API key', () => {
  it('admits the limit, then 429 problem+json with Retry-After and RateLimit headers', async () => {
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
    const c = t.client();
    c.bearer = created.body.secret;
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.get(`/v1/orgs/${owner.orgId}/projects`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('ratelimit-limit'), '3');
      remaining.push(r.headers.get('ratelimit-remaining') ?? '');
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const r = await c.get(`/v1/orgs/${owner.orgId}/projects`);
    assert.equal(r.status, 429);
    assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(r.body.code, 'rate_limited');
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
    assert.equal(r.headers.get('ratelimit-limit'), null, 'nor whose limit it was (its number would tell)');
    assert.ok(!JSON.stringify(r.body).includes('api_key'), 'the reply does not say which dimension refused');
    assert.equal(events.at(-1)?.dimension, 'api_key');
    assert.ok((t.services.rateLimitRefusals.snapshot()['api_key:limit'] ?? 0) >= 1);
  });
});

describe('a refusal after an admitted check', () => {
  it("does not carry the admitted check's RateLimit headers (they would invite an early retry)", async () => {
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'text', scopes: ['projects:read'] });
    const c = t.client();
    c.bearer = created.body.secret;
    const first = await c.post('/v1/pii/analyze', { text: 'x'.repeat(1000) });
    assert.equal(first.status, 200, 'spends the text-work budget (1,000 characters a minute here)');
    const r = await c.post('/v1/pii/analyze', { text: 'y'.repeat(10) });
    assert.equal(r.status, 429, 'the key itself still has requests left; the text budget is spent');
    assert.equal(r.body.code, 'rate_limited');
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
    assert.equal(r.headers.get('ratelimit-limit'), null);
    assert.equal(r.headers.get('ratelimit-reset'), r.headers.get('retry-after'), 'the reset is the refusal\'s, not the key\'s');
  });
});

describe('opening conversations', () => {
  it('is limited per caller and project, per caller in all, and per organisation (each is a row kept until retention); a refusal writes nothing', async () => {
    const app = await startTestApp({ config: { orgMessagesPerHour: 300 } });
    try {
      const org = await signUp(app, 'Conversations');
      const editor = await memberWithRole(app, org.client, org.orgId, 'editor');
      const make = async (name: string) => (await org.client.post(`/v1/orgs/${org.orgId}/projects`, { name })).body.project.id as string;
      const [first, second, third] = [await make('First'), await make('Second'), await make('Third')];
      const opened = async () => Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM conversations WHERE org_id = ${org.orgId}`.execute(app.database.db)).rows[0]?.n);
      const open = async (who: SignedUp, projectId: string) => (await who.client.post(`/v1/projects/${projectId}/conversations`, {})).status;
      const statuses: number[] = [];
      for (let i = 0; i <= defaultApiKeyMessagesPerMinute; i++) statuses.push(await open(editor, first));
      assert.deepEqual(statuses.filter((s) => s !== 201), [429], 'one over the per-project limit is refused');
      assert.equal(await opened(), defaultApiKeyMessagesPerMinute, 'and wrote nothing');
      for (let i = 0; i < defaultApiKeyMessagesPerMinute; i++) assert.equal(await open(editor, second), 201);
      assert.equal(await open(editor, third), 429, "the caller's allowance across projects (twice that) is spent");
      // The organisation's hour (its message ceiling, 300 here): another caller has the rest of it.
      for (let i = 0; i < 300 - 2 * defaultApiKeyMessagesPerMinute; i++) assert.equal(await open(org, third), 201);
      assert.equal(await open(org, third), 429, "the organisation's ceiling");
      assert.equal(await opened(), 300);
    } finally {
      await app.close();
    }
  });
});

describe('messages (the service the chat path calls)', () => {
  it('uses the project’s settings; IPv6 clients are grouped by /64', async () => {
    const base = { projectId, orgId: owner.orgId, channel: 'widget' as const, settings: await settings() };
    assert.equal((await t.services.rateLimits.checkMessage({ ...base, ip: '2001:db8:1:2::1' })).ok, true);
    assert.equal((await t.services.rateLimits.checkMessage({ ...base, ip: '2001:db8:1:2:ffff::9' })).ok, true);
    const third = await t.services.rateLimits.checkMessage({ ...base, ip: '2001:db8:1:2:abcd::1' });
    assert.equal(third.ok, false, 'a third address of the same /64 is the same client');
    assert.equal((await t.services.rateLimits.checkMessage({ ...base, ip: '2001:db8:1:3::1' })).ok, true, 'another /64 is another client');
  });

  it('the organisation-wide ceiling applies whatever the project allows', async () => {
    const base = { projectId, orgId: owner.orgId, channel: 'widget' as const, settings: { ...(await settings()), perIpPerMinute: 1000 }, orgCeilingPerHour: 2 };
    await t.services.rateLimits.checkMessage({ ...base, ip: '198.51.100.1' });
    await t.services.rateLimits.checkMessage({ ...base, ip: '198.51.100.2' });
    const r = await t.services.rateLimits.checkMessage({ ...base, ip: '198.51.100.3' });
    assert.equal(r.ok, false);
    assert.equal(events.at(-1)?.dimension, 'org');
  });

  it('the organisation ceiling is the operator’s ORG_MESSAGES_PER_HOUR (here 40)', async () => {
    const orgId = 'org_ceiling_from_config';
    const limits = { ...(await settings()), perIpPerMinute: 1000, messagesPerHour: 1_000_000 };
    for (let i = 0; i < 40; i++) {
      const admitted = await t.services.rateLimits.checkMessage({ projectId: `prj_ceiling${i % 4}`, orgId, channel: 'widget', settings: limits, ip: `198.51.100.${i + 10}` });
      assert.equal(admitted.ok, true, `message ${i + 1}`);
    }
    const refused = await t.services.rateLimits.checkMessage({ projectId: 'prj_ceiling9', orgId, channel: 'widget', settings: limits, ip: '198.51.100.99' });
    assert.equal(refused.ok, false);
    assert.equal(events.at(-1)?.dimension, 'org');
  });
});

describe('penalty box and its owner routes', () => {
  const ip = '203.0.113.7';

  async function hammer(times: number): Promise<void> {
    const base = { projectId, orgId: owner.orgId, channel: 'widget' as const, settings: await settings(), orgCeilingPerHour: 1_000_000 };
    for (let i = 0; i < times; i++) await t.services.rateLimits.checkMessage({ ...base, ip });
  }

  it('a client that keeps hitting the limit is blocked; the owner lists and lifts the block', async () => {
    await hammer(2 + 3); // 2 admitted, 3 refusals → blocked
    const listed = await owner.client.get(`/v1/projects/${projectId}/rate-limit-blocks`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const block = listed.body.blocks.find((b: { key: string }) => b.key === ip);
    assert.ok(block, JSON.stringify(listed.body));
    assert.equal(block.dimension, 'ip');
    assert.equal(block.level, 1);
    const seconds = (Date.parse(block.until) - Date.now()) / 1000;
    assert.ok(seconds > 50 && seconds <= 60, String(seconds));
    const boxed = await t.services.rateLimits.checkMessage({ projectId, orgId: owner.orgId, channel: 'widget', settings: await settings(), ip });
    assert.equal(boxed.ok, false);
    assert.ok(!boxed.ok && boxed.blocked);
    assert.ok(events.some((e) => e.cause === 'penalty_box'));

    assert.equal((await owner.client.delete(`/v1/projects/${projectId}/rate-limit-blocks/ip/${encodeURIComponent(ip)}`)).status, 204);
    const after = await owner.client.get(`/v1/projects/${projectId}/rate-limit-blocks`);
    assert.ok(!after.body.blocks.some((b: { key: string }) => b.key === ip));
    const audit = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`)).body.entries;
    const lifted = audit.find((e: { action: string }) => e.action === 'rate_limit.block_lifted');
    assert.ok(lifted, 'lifting a block is audited');
    assert.deepEqual(lifted.metadata, { dimension: 'ip', key: ip });
    assert.equal(lifted.target.id, projectId);
    const liftsAudited = audit.filter((e: { action: string }) => e.action === 'rate_limit.block_lifted').length;
    const gone = await owner.client.delete(`/v1/projects/${projectId}/rate-limit-blocks/ip/${encodeURIComponent(ip)}`);
    assert.equal(gone.status, 404);
    const later = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log`)).body.entries as { action: string }[];
    assert.equal(later.filter((e) => e.action === 'rate_limit.block_lifted').length, liftsAudited, 'a lift that found no block records nothing');
  });

  it('repeat offenders get longer blocks', async () => {
    const repeat = '203.0.113.8';
    const base = { projectId, orgId: owner.orgId, channel: 'widget' as const, settings: await settings(), orgCeilingPerHour: 1_000_000, ip: repeat };
    for (let i = 0; i < 5; i++) await t.services.rateLimits.checkMessage(base);
    const first = (await t.services.rateLimits.listBlocks(projectId)).find((b) => b.key === repeat);
    assert.equal(first?.level, 1);
    offsetMs += 61_000; // the first block is served; the client carries on hitting the limit
    try {
      for (let i = 0; i < 3; i++) await t.services.rateLimits.checkMessage(base);
      const second = (await t.services.rateLimits.listBlocks(projectId)).find((b) => b.key === repeat);
      assert.equal(second?.level, 2);
      const seconds = ((second?.until.getTime() ?? 0) - clock.now().getTime()) / 1000;
      assert.ok(seconds > 110 && seconds <= 120, `second block lasts twice as long (${seconds} s)`);
    } finally {
      offsetMs -= 61_000;
    }
  });

  it('listing and lifting need projects:write; other organisations see 404', async () => {
    const viewer = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const r = await viewer.client.get(`/v1/projects/${projectId}/rate-limit-blocks`);
    assert.equal(r.status, 403);
    const outsider = await signUp(t, 'Elsewhere', 'outsider');
    assert.equal((await outsider.client.get(`/v1/projects/${projectId}/rate-limit-blocks`)).status, 404);
    assert.equal((await outsider.client.delete(`/v1/projects/${projectId}/rate-limit-blocks/ip/1.2.3.4`)).status, 404);
    assert.equal((await t.client().get(`/v1/projects/${projectId}/rate-limit-blocks`)).status, 401);
    const bad = await owner.client.delete(`/v1/projects/${projectId}/rate-limit-blocks/project/x`);
    assert.equal(bad.status, 400);
  });
});
