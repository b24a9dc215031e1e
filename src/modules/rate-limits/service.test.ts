import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../platform/clock.ts';
import { createMemoryRateLimiter, createRedisRateLimiter } from './limiter.ts';
import { createMemoryPenaltyBox } from './penalty-box.ts';
import { createRedisPenaltyBox } from './penalty-box-redis.ts';
import type { PenaltyBox } from './penalty-box.ts';
import { defaultRateLimits } from './policy.ts';
import { createRateLimitService } from './service.ts';
import type { RefusalEvent } from './service.ts';
import type { RateLimiter } from './types.ts';
import { openTestRedis, testRedisUrl } from './redis-test-helper.ts';

const clock: Clock = { now: () => new Date() };
const policy = { refusalsBeforeBlock: 3, windowSeconds: 60, baseBlockSeconds: 60, maxBlockSeconds: 3_600, levelDecaySeconds: 86_400 };

function setup(limiter: RateLimiter = createMemoryRateLimiter(), penaltyBox: PenaltyBox = createMemoryPenaltyBox({ clock, policy })) {
  const events: RefusalEvent[] = [];
  const service = createRateLimitService({ limiter, penaltyBox, clock, onRefusal: (e) => events.push(e) });
  return { service, events };
}

const base = { projectId: 'prj_1', orgId: 'org_1', channel: 'widget' as const, settings: { ...defaultRateLimits, perIpPerMinute: 5, perSessionPerHour: 3, messagesPerHour: 100 } };

test('per-IP limit refuses, records to the penalty box, then escalates to a block', async () => {
  const { service, events } = setup();
  for (let i = 0; i < 5; i++) assert.equal((await service.checkMessage({ ...base, ip: '203.0.113.9' })).ok, true);
  const refused = await service.checkMessage({ ...base, ip: '203.0.113.9' });
  assert.equal(refused.ok, false);
  assert.deepEqual(events[0], { dimension: 'ip', key: 'prj_1:203.0.113.9', projectId: 'prj_1', orgId: 'org_1', cause: 'limit' });
  await service.checkMessage({ ...base, ip: '203.0.113.9' });
  const third = await service.checkMessage({ ...base, ip: '203.0.113.9' });
  assert.equal(!third.ok && third.blocked, true);
  assert.equal(!third.ok && third.retryAfterSeconds, 60);
  assert.equal(events[2]?.newBlock?.level, 1);
  const boxed = await service.checkMessage({ ...base, ip: '203.0.113.9' });
  assert.equal(!boxed.ok && boxed.blocked, true);
  assert.equal(events[3]?.cause, 'penalty_box');

  assert.deepEqual((await service.listBlocks('prj_1')).map((b) => [b.dimension, b.key]), [['ip', '203.0.113.9']]);
  assert.deepEqual(await service.listBlocks('prj_2'), []);
  assert.equal(await service.liftBlock('prj_1', 'ip', '203.0.113.9'), true);
  assert.equal((await service.listBlocks('prj_1')).length, 0);
});

test('IPv6 clients in one /64 share a limit; other projects do not', async () => {
  const { service } = setup();
  for (let i = 1; i <= 5; i++) assert.equal((await service.checkMessage({ ...base, ip: `2001:db8:1:2::${i}` })).ok, true);
  assert.equal((await service.checkMessage({ ...base, ip: '2001:db8:1:2:ffff::1' })).ok, false);
  assert.equal((await service.checkMessage({ ...base, projectId: 'prj_2', ip: '2001:db8:1:2::9' })).ok, true);
});

test('session limit, tightest decision, and a refused client does not spend the project budget', async () => {
  const { service, events } = setup();
  const check = { ...base, settings: { ...base.settings, messagesPerHour: 4 } };
  const first = await service.checkMessage({ ...check, ip: '198.51.100.1', sessionId: 'vs_1' });
  assert.deepEqual(first, { ok: true, limit: 3, remaining: 2, resetSeconds: 3600 });
  await service.checkMessage({ ...check, ip: '198.51.100.2', sessionId: 'vs_1' });
  await service.checkMessage({ ...check, ip: '198.51.100.3', sessionId: 'vs_1' });
  assert.equal((await service.checkMessage({ ...check, ip: '198.51.100.4', sessionId: 'vs_1' })).ok, false);
  assert.equal(events.at(-1)?.dimension, 'session');
  // The session refusal stopped before the project step, so one project message is left.
  const last = await service.checkMessage({ ...check, ip: '198.51.100.5' });
  assert.deepEqual(last, { ok: true, limit: 4, remaining: 0, resetSeconds: 3600 });
  assert.equal((await service.checkMessage({ ...check, ip: '198.51.100.6' })).ok, false);
});

test('project and organisation ceilings', async () => {
  const { service, events } = setup();
  const settings = { ...defaultRateLimits, messagesPerHour: 2 };
  for (let i = 0; i < 2; i++) assert.equal((await service.checkMessage({ ...base, settings, ip: `192.0.2.${i}` })).ok, true);
  assert.equal((await service.checkMessage({ ...base, settings, ip: '192.0.2.50' })).ok, false);
  assert.equal(events.at(-1)?.dimension, 'project');
  assert.equal((await service.listBlocks('prj_1')).length, 0, 'shared ceilings never box a client');

  const ceiling = { ...base, orgId: 'org_2', orgCeilingPerHour: 3, settings: defaultRateLimits };
  for (let i = 0; i < 3; i++) assert.equal((await service.checkMessage({ ...ceiling, projectId: `prj_${i + 10}`, ip: '192.0.2.9' })).ok, true);
  assert.equal((await service.checkMessage({ ...ceiling, projectId: 'prj_20', ip: '192.0.2.9' })).ok, false);
  assert.equal(events.at(-1)?.dimension, 'org');
});

test("the widget's project and organisation budgets are not the organisation's own callers': visitors who spend theirs refuse no API key", async () => {
  const { service, events } = setup();
  const ceiling = { ...base, orgId: 'org_3', orgCeilingPerHour: 2, settings: { ...defaultRateLimits, messagesPerHour: 1_000 } };
  for (let i = 0; i < 2; i++) assert.equal((await service.checkMessage({ ...ceiling, channel: 'widget', ip: `198.51.100.${i}`, sessionId: `s${i}` })).ok, true);
  assert.equal((await service.checkMessage({ ...ceiling, channel: 'widget', ip: '198.51.100.9', sessionId: 's9' })).ok, false);
  assert.equal(events.at(-1)?.dimension, 'org');
  assert.equal((await service.checkMessage({ ...ceiling, channel: 'api', ip: '192.0.2.1', apiKeyId: 'key_b' })).ok, true, 'an API key has its own budget');
  assert.equal((await service.checkMessage({ ...ceiling, channel: 'api', ip: '192.0.2.1', sessionId: 'user_session' })).ok, true, 'so has a signed-in user');
  assert.equal((await service.checkMessage({ ...ceiling, channel: 'api', ip: '192.0.2.1', apiKeyId: 'key_b' })).ok, false, 'and it is a ceiling too');

  const project = { ...base, projectId: 'prj_30', orgId: 'org_4', settings: { ...defaultRateLimits, messagesPerHour: 1 } };
  assert.equal((await service.checkMessage({ ...project, channel: 'widget', ip: '198.51.100.20', sessionId: 'v1' })).ok, true);
  assert.equal((await service.checkMessage({ ...project, channel: 'widget', ip: '198.51.100.21', sessionId: 'v2' })).ok, false);
  assert.equal((await service.checkMessage({ ...project, channel: 'api', ip: '192.0.2.2', apiKeyId: 'key_c' })).ok, true, "the project's budget per channel");
});

test("visitors behind the back end's address neither spend nor box the organisation's own callers", async () => {
  const { service } = setup();
  const nat = '198.51.100.77';
  for (let i = 0; i < 12; i++) await service.checkMessage({ ...base, ip: nat });
  const visitor = await service.checkMessage({ ...base, ip: nat });
  assert.equal(!visitor.ok && visitor.blocked, true, 'the address is boxed for the widget');
  const key = await service.checkMessage({ ...base, channel: 'api', ip: nat, apiKeyId: 'key_backend' });
  assert.equal(key.ok, true, 'an API key from the same address is not');
  assert.equal(key.ok && key.limit, 100, 'and is held by its own and the project budget, not the per-IP 5');
  assert.equal((await service.checkMessage({ ...base, channel: 'api', ip: nat, sessionId: 'user_session' })).ok, true, 'nor is a signed-in user');
});

test('API keys: per-key request limit and per-key message limit', async () => {
  const { service } = setup();
  assert.equal((await service.checkApiKey('key_a', 2)).ok, true);
  assert.equal((await service.checkApiKey('key_a', 2)).ok, true);
  assert.equal((await service.checkApiKey('key_a', 2)).ok, false);
  assert.equal((await service.checkMessage({ ...base, channel: 'api', ip: '192.0.2.1', apiKeyId: 'key_a', apiKeyMessagesPerMinute: 1 })).ok, true);
  assert.equal((await service.checkMessage({ ...base, channel: 'api', ip: '192.0.2.2', apiKeyId: 'key_a', apiKeyMessagesPerMinute: 1 })).ok, false);
});

test('project ids cannot escape their namespace', async () => {
  const { service } = setup();
  await assert.rejects(service.listBlocks('prj_1:'), RangeError);
});

if (testRedisUrl) {
  const r = openTestRedis(testRedisUrl);
  after(() => r.cleanup());
  test('redis: two instances share limits and blocks', async () => {
    const a = setup(createRedisRateLimiter(r.redis, { prefix: r.prefix }), createRedisPenaltyBox(r.redis, { clock, policy, prefix: r.prefix }));
    const second = r.second();
    const b = setup(createRedisRateLimiter(second, { prefix: r.prefix }), createRedisPenaltyBox(second, { clock, policy, prefix: r.prefix }));
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).service.checkMessage({ ...base, ip: '203.0.113.77' })));
    assert.equal(results.filter((d) => d.ok).length, 5);
    assert.equal((await b.service.checkMessage({ ...base, ip: '203.0.113.77' })).ok, false);
    assert.equal((await a.service.listBlocks('prj_1')).length, 1);
    assert.equal(await b.service.liftBlock('prj_1', 'ip', '203.0.113.77'), true);
  });
} else {
  test('redis service', { skip: 'REDIS_URL not set' }, () => {});
}
