import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryRateLimiter, createRedisRateLimiter } from './limiter.ts';
import type { RateLimiter } from './types.ts';
import { openTestRedis, testRedisUrl } from './redis-test-helper.ts';

function behaviour(name: string, make: () => RateLimiter): void {
  describe(name, () => {
    test('admits up to the limit, then refuses with Retry-After', async () => {
      const limiter = make();
      const limit = { points: 3, durationSeconds: 60 };
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        const d = await limiter.consume('b', 'k', limit);
        assert.equal(d.ok, true);
        remaining.push(d.remaining);
      }
      assert.deepEqual(remaining, [2, 1, 0]);
      const refused = await limiter.consume('b', 'k', limit);
      assert.equal(refused.ok, false);
      if (refused.ok) return;
      assert.equal(refused.limit, 3);
      assert.equal(refused.remaining, 0);
      assert.ok(refused.retryAfterSeconds >= 59 && refused.retryAfterSeconds <= 60);
      assert.equal((await limiter.consume('b', 'other', limit)).ok, true, 'keys are independent');
      assert.equal((await limiter.consume('other', 'k', limit)).ok, true, 'buckets are independent');
    });

    test('cost counts several points', async () => {
      const limiter = make();
      const limit = { points: 5, durationSeconds: 60 };
      assert.equal((await limiter.consume('b', 'cost', limit, 4)).remaining, 1);
      assert.equal((await limiter.consume('b', 'cost', limit, 2)).ok, false);
      await assert.rejects(limiter.consume('b', 'cost', limit, 0), RangeError);
      await assert.rejects(limiter.consume('b', 'cost', { points: 1.5, durationSeconds: 60 }), RangeError);
    });

    test('reset clears the counter', async () => {
      const limiter = make();
      const limit = { points: 1, durationSeconds: 60 };
      await limiter.consume('b', 'reset', limit);
      assert.equal((await limiter.consume('b', 'reset', limit)).ok, false);
      await limiter.reset('b', 'reset');
      assert.equal((await limiter.consume('b', 'reset', limit)).ok, true);
    });

    test('a changed limit applies on the next request', async () => {
      const limiter = make();
      for (let i = 0; i < 2; i++) await limiter.consume('b', 'change', { points: 2, durationSeconds: 60 });
      assert.equal((await limiter.consume('b', 'change', { points: 2, durationSeconds: 60 })).ok, false);
      assert.equal((await limiter.consume('b', 'change', { points: 10, durationSeconds: 60 })).ok, true);
    });

    test('a lowered limit applies to the current window: counts go on, they do not start afresh', async () => {
      const limiter = make();
      for (let i = 0; i < 20; i++) await limiter.consume('b', 'lower', { points: 30, durationSeconds: 60 });
      const lowered = await limiter.consume('b', 'lower', { points: 10, durationSeconds: 60 });
      assert.equal(lowered.ok, false, 'twenty already counted against a limit of ten');
      assert.equal((await limiter.consume('b', 'lower', { points: 30, durationSeconds: 60 })).remaining, 8, 'and every request counts');
    });

    test('the window ends', async () => {
      const limiter = make();
      const limit = { points: 1, durationSeconds: 1 };
      assert.equal((await limiter.consume('b', 'window', limit)).ok, true);
      assert.equal((await limiter.consume('b', 'window', limit)).ok, false);
      await new Promise((r) => setTimeout(r, 1_100));
      assert.equal((await limiter.consume('b', 'window', limit)).ok, true);
    });
  });
}

behaviour('memory limiter', () => createMemoryRateLimiter());

test('memory limiter: many other limits never drop one whose window is open (its counts would start afresh)', async () => {
  const limiter = createMemoryRateLimiter({ maxLimiters: 2 });
  const ceiling = { points: 3, durationSeconds: 60 };
  for (let i = 0; i < 3; i++) assert.equal((await limiter.consume('org', 'o1', ceiling)).ok, true);
  assert.equal((await limiter.consume('org', 'o1', ceiling)).ok, false);
  // An owner changing their project's limit over and over mints a new limiter each time.
  for (let points = 1; points <= 50; points++) {
    assert.equal((await limiter.consume('ip', 'k', { points, durationSeconds: 60 })).ok, true);
  }
  assert.equal((await limiter.consume('org', 'o1', ceiling)).ok, false, 'still used up');
});

test('memory limiter: limiters whose windows have closed make room again', async () => {
  const limiter = createMemoryRateLimiter({ maxLimiters: 2 });
  for (let points = 1; points <= 5; points++) await limiter.consume('short', 'k', { points, durationSeconds: 1 });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const limit = { points: 1, durationSeconds: 60 };
  assert.equal((await limiter.consume('fresh', 'k', limit)).ok, true);
  assert.equal((await limiter.consume('fresh', 'k', limit)).ok, false, 'a new limiter counts as usual');
});

if (testRedisUrl) {
  const r = openTestRedis(testRedisUrl);
  after(() => r.cleanup());
  let n = 0;
  behaviour('redis limiter', () => createRedisRateLimiter(r.redis, { prefix: `${r.prefix}${n++}:` }));

  test('redis: two instances, 500 concurrent requests, limit 100: exactly 100 admitted', async () => {
    const limit = { points: 100, durationSeconds: 60 };
    const a = createRedisRateLimiter(r.redis, { prefix: r.prefix });
    const other = r.second();
    await other.ping(); // connected, as a serving instance's is (a connection not yet up counts in memory)
    const b = createRedisRateLimiter(other, { prefix: r.prefix });
    const decisions = await Promise.all(
      Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? a : b).consume('conc', 'project-1', limit)),
    );
    assert.equal(decisions.filter((d) => d.ok).length, 100);
    const remainders = decisions.filter((d) => d.ok).map((d) => d.remaining).sort((x, y) => x - y);
    assert.deepEqual(remainders, Array.from({ length: 100 }, (_, i) => i), 'each admitted request saw a distinct count');
  });

  test('redis: counters are shared between instances', async () => {
    const limit = { points: 2, durationSeconds: 60 };
    const a = createRedisRateLimiter(r.redis, { prefix: r.prefix });
    const other = r.second();
    await other.ping(); // connected, as a serving instance's is (a connection not yet up counts in memory)
    const b = createRedisRateLimiter(other, { prefix: r.prefix });
    assert.equal((await a.consume('shared', 'k', limit)).ok, true);
    assert.equal((await b.consume('shared', 'k', limit)).ok, true);
    assert.equal((await a.consume('shared', 'k', limit)).ok, false);
    await b.reset('shared', 'k');
    assert.equal((await a.consume('shared', 'k', limit)).ok, true);
  });
} else {
  test('redis limiter', { skip: 'REDIS_URL not set' }, () => {});
}

describe('memory counters are bounded', () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

  test('each bucket keeps its most recently used keys; the least recent is forgotten (its count starts again)', async () => {
    const limiter = createMemoryRateLimiter({ maxKeysPerBucket: 1_000 });
    const limit = { points: 1, durationSeconds: 3_600 };
    const before = timers();
    assert.equal((await limiter.consume('sessions', 'first', limit)).ok, true);
    assert.equal((await limiter.consume('sessions', 'first', limit)).ok, false);
    for (let i = 0; i < 5_000; i++) await limiter.consume('sessions', `minted-${i}`, limit);
    // Every counted key holds a record and a timer for its whole window: 1,000 are left, not 5,001.
    assert.ok(timers() - before <= 1_000, `${timers() - before} live counters`);
    assert.equal((await limiter.consume('sessions', 'first', limit)).ok, true, 'forgotten, so counted afresh');
    assert.equal((await limiter.consume('sessions', 'minted-4999', limit)).ok, false, 'a recent key keeps its count');
    assert.equal((await limiter.consume('other-bucket', 'first', limit)).ok, true, 'buckets have their own keys');
  });
});
