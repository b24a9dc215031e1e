/**
 * A Redis outage, with a real redis-server that the test stops: messages are still checked (in
 * per-instance memory) within a second instead of failing with a 500 after the client's retries,
 * the penalty box still blocks on the instance that saw the abuse, and the owner's list and lift
 * answer 503 rather than a partial picture. Skipped where redis-server is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { COMMAND_TIMEOUT_MS, createRedis } from '../../platform/cache/redis.ts';
import { createLoginThrottle, defaultLoginThrottle } from '../accounts/login-throttle.ts';
import { createRateLimits } from './module.ts';

const installed = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('a Redis outage', { skip: !installed && 'redis-server is not installed' }, () => {
  let server: ChildProcess;
  let redis: Redis;
  const storeErrors: unknown[] = [];
  let limits: ReturnType<typeof createRateLimits>;
  const settings = { perIpPerMinute: 3, perSessionPerHour: 100, messagesPerHour: 1_000 };
  const message = (ip: string) => limits.service.checkMessage({ projectId: 'prj_outage', orgId: 'org_outage', channel: 'widget', ip, sessionId: 'ses_1', settings });

  before(async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redis = createRedis(`redis://127.0.0.1:${port}`);
    await redis.ping();
    limits = createRateLimits({ redis, clock: { now: () => new Date() }, prefix: 'outage-test:', penaltyPolicy: { refusalsBeforeBlock: 2 }, onStoreError: (e) => storeErrors.push(e) });
  });
  after(() => {
    redis.disconnect();
    server.kill('SIGKILL');
  });

  it('checks messages in memory within a second, still refuses past the limit and still blocks', async () => {
    assert.equal((await message('192.0.2.1')).ok, true, 'with Redis up');
    server.kill('SIGKILL');
    await once(server, 'exit');
    const started = Date.now();
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await message('192.0.2.2'));
    assert.ok(Date.now() - started < 1_000, `${Date.now() - started} ms for 6 checks`);
    assert.deepEqual(decisions.slice(0, 3).map((d) => d.ok), [true, true, true]);
    assert.equal(decisions[3]?.ok, false, 'past the per-IP limit');
    assert.ok(decisions.slice(4).some((d) => !d.ok && d.blocked), 'the memory penalty box blocked the address');
    assert.equal((await message('192.0.2.2')).ok, false, 'and keeps it blocked');
  });

  it('sign-in attempts are counted in memory too: no 500 for every sign-in, and guesses still refused', async () => {
    const throttle = createLoginThrottle({ ...defaultLoginThrottle, redis, prefix: 'outage-login:' });
    const started = Date.now();
    const waits: number[] = [];
    for (let i = 0; i < defaultLoginThrottle.perAccount + 1; i++) waits.push(await throttle.take('owner@example.com', '192.0.2.9'));
    assert.ok(Date.now() - started < 1_000, `${Date.now() - started} ms`);
    assert.deepEqual(waits.slice(0, defaultLoginThrottle.perAccount), new Array(defaultLoginThrottle.perAccount).fill(0), 'counted, not refused with an error');
    assert.ok((waits.at(-1) ?? 0) > 0, 'past the per-account limit, refused');
  });

  it("the owner's list and lift answer 503 while Redis is down", async () => {
    const unavailable = (e: Error & { code?: string }): boolean => e.code === 'unavailable';
    await assert.rejects(limits.service.listBlocks('prj_outage'), unavailable);
    await assert.rejects(limits.service.liftBlock('prj_outage', 'ip', '192.0.2.2'), unavailable);
    assert.ok(storeErrors.length <= 1, 'an outage is reported at most once per 10 s');
  });
});

describe('a Redis that stops answering or refuses writes', { skip: !installed && 'redis-server is not installed' }, () => {
  let server: ChildProcess;
  let redis: Redis;
  const storeErrors: unknown[] = [];
  let limits: ReturnType<typeof createRateLimits>;
  const settings = { perIpPerMinute: 3, perSessionPerHour: 100, messagesPerHour: 1_000 };

  before(async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redis = createRedis(`redis://127.0.0.1:${port}`);
    await redis.ping();
    limits = createRateLimits({ redis, clock: { now: () => new Date() }, prefix: 'stall-test:', onStoreError: (e) => storeErrors.push(e) });
  });
  after(() => {
    redis.disconnect();
    server.kill('SIGKILL');
  });

  it('reports a Redis that answers reads but refuses every write, instead of counting alone in silence', async () => {
    assert.equal((await limits.service.checkApiKey('key_oom', 5)).ok, true);
    assert.equal(storeErrors.length, 0);
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      assert.equal((await limits.service.checkApiKey('key_oom', 5)).ok, true, 'counted in memory meanwhile');
      assert.equal(storeErrors.length, 1, 'and reported');
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  it('answers within the command timeout when Redis holds the connection but stops answering', async () => {
    assert.equal((await limits.service.checkApiKey('key_stall', 5)).ok, true, 'with Redis answering');
    server.kill('SIGSTOP');
    try {
      const started = Date.now();
      const key = await limits.service.checkApiKey('key_stall', 5);
      const message = await limits.service.checkMessage({ projectId: 'prj_stall', orgId: 'org_stall', channel: 'widget', ip: '192.0.2.7', sessionId: 'ses_1', settings });
      const ms = Date.now() - started;
      assert.equal(redis.status, 'ready', 'the connection itself never dropped');
      assert.equal(key.ok, true);
      assert.equal(message.ok, true);
      assert.ok(ms < 4 * COMMAND_TIMEOUT_MS, `${ms} ms for two checks`);
    } finally {
      server.kill('SIGCONT');
    }
  });
});

