import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../../platform/clock.ts';
import { createMemoryPenaltyBox } from './penalty-box.ts';
import type { PenaltyBox, PenaltyBoxOptions } from './penalty-box.ts';
import { createRedisPenaltyBox } from './penalty-box-redis.ts';
import { blockSeconds, defaultPenaltyPolicy } from './penalty-state.ts';
import { openTestRedis, testRedisUrl } from './redis-test-helper.ts';

function manualClock(start = Date.UTC(2030, 0, 1)): Clock & { advance(seconds: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (seconds) => (now += seconds * 1000) };
}

const policy = { refusalsBeforeBlock: 3, windowSeconds: 60, baseBlockSeconds: 60, maxBlockSeconds: 3_600, levelDecaySeconds: 86_400 };

async function refuse(box: PenaltyBox, times: number, key: string): Promise<Awaited<ReturnType<PenaltyBox['recordRefusal']>>> {
  let last;
  for (let i = 0; i < times; i++) last = await box.recordRefusal('ip', key);
  return last;
}

function behaviour(name: string, make: (options: PenaltyBoxOptions) => PenaltyBox): void {
  describe(name, () => {
    test('blocks after N refusals, for a growing period, capped', async () => {
      const clock = manualClock();
      const box = make({ clock, policy });
      assert.equal(await refuse(box, 2, 'p1:1.2.3.4'), undefined);
      assert.equal(await box.isBlocked('ip', 'p1:1.2.3.4'), undefined);

      const lengths: number[] = [];
      for (let level = 1; level <= 8; level++) {
        const start = clock.now().getTime();
        const block = await refuse(box, level === 1 ? 1 : 3, 'p1:1.2.3.4');
        assert.ok(block, `block at level ${level}`);
        assert.equal(block.level, level);
        lengths.push((block.until.getTime() - start) / 1000);
        assert.equal((await box.isBlocked('ip', 'p1:1.2.3.4'))?.level, level);
        // Refusals while boxed do not extend or escalate the block.
        assert.equal(await refuse(box, 5, 'p1:1.2.3.4'), undefined);
        clock.advance(lengths[lengths.length - 1] ?? 0);
        assert.equal(await box.isBlocked('ip', 'p1:1.2.3.4'), undefined, 'block ends on time');
      }
      assert.deepEqual(lengths, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    });

    test('refusals spread beyond the window do not block', async () => {
      const clock = manualClock();
      const box = make({ clock, policy });
      for (let i = 0; i < 10; i++) {
        assert.equal(await box.recordRefusal('session', 'p1:s1'), undefined);
        clock.advance(31);
      }
    });

    test('the level decays after a quiet period', async () => {
      const clock = manualClock();
      const box = make({ clock, policy });
      assert.equal((await refuse(box, 3, 'p1:decay'))?.level, 1);
      clock.advance(60);
      assert.equal((await refuse(box, 3, 'p1:decay'))?.level, 2);
      clock.advance(policy.levelDecaySeconds + 1);
      assert.equal((await refuse(box, 3, 'p1:decay'))?.level, 1);
    });

    test('list by prefix and lift', async () => {
      const clock = manualClock();
      const box = make({ clock, policy });
      await refuse(box, 3, 'p1:1.1.1.1');
      await refuse(box, 3, 'p1:2001:db8::/64');
      await refuse(box, 3, 'p10:1.1.1.1');
      await refuse(box, 2, 'p1:3.3.3.3');
      for (let i = 0; i < 3; i++) await box.recordRefusal('session', 'p1:sess_a');

      const listed = await box.list('p1:');
      assert.deepEqual(
        listed.map((b) => `${b.dimension} ${b.key} ${b.level}`).sort(),
        ['ip p1:1.1.1.1 1', 'ip p1:2001:db8::/64 1', 'session p1:sess_a 1'],
      );
      assert.equal((await box.list('')).length, 4);
      assert.equal((await box.list('p1:', 2)).length, 2);

      // A client with refusals short of a block keeps them: "lifting" it changes nothing.
      assert.equal(await box.lift('ip', 'p1:3.3.3.3'), false);
      assert.equal((await box.recordRefusal('ip', 'p1:3.3.3.3'))?.level, 1, 'its third refusal still blocks it');
      assert.equal(await box.lift('ip', 'p1:1.1.1.1'), true);
      assert.equal(await box.lift('ip', 'p1:1.1.1.1'), false);
      assert.equal(await box.isBlocked('ip', 'p1:1.1.1.1'), undefined);
      assert.equal((await box.list('p1:')).length, 3, 'the other two blocks, and 3.3.3.3 now');
      // Lifting forgets the history: the next block starts at level 1 again.
      assert.equal((await refuse(box, 3, 'p1:1.1.1.1'))?.level, 1);

      clock.advance(61);
      assert.deepEqual(await box.list('p1:'), [], 'ended blocks are not listed');
      assert.deepEqual(await box.list('p10:'), []);
    });
  });
}

test('block lengths follow base × 2^(level-1), capped', () => {
  assert.deepEqual([1, 2, 3, 7, 8, 50].map((l) => blockSeconds(l, defaultPenaltyPolicy)), [60, 120, 240, 3600, 3600, 3600]);
});

behaviour('memory penalty box', (options) => createMemoryPenaltyBox(options));

test('memory penalty box forgets stale entries when full', async () => {
  const clock = manualClock();
  const box = createMemoryPenaltyBox({ clock, policy, maxEntries: 10 });
  for (let i = 0; i < 10; i++) await box.recordRefusal('ip', `p:${i}`);
  clock.advance(120);
  await box.recordRefusal('ip', 'p:new');
  assert.equal((await refuse(box, 2, 'p:new'))?.level, 1);
});

test('memory penalty box stays within its size when every entry is live, keeping current blocks', async () => {
  const clock = manualClock();
  const box = createMemoryPenaltyBox({ clock, policy, maxEntries: 10 });
  for (let i = 0; i < 10; i++) await refuse(box, 3, `p:${i}`);
  for (let i = 10; i < 1_000; i++) await refuse(box, 3, `p:${i}`);
  const blocks = await box.list('p:');
  assert.equal(blocks.length, 10, 'no more entries than the cap');
  assert.deepEqual(blocks.map((b) => b.key).sort(), Array.from({ length: 10 }, (_, i) => `p:${i}`).sort(), 'the first ten blocks are kept');
  assert.ok(await box.isBlocked('ip', 'p:0'));
});

test('memory penalty box full of past blocks forgets the least recent of them, so new abusers are still boxed', async () => {
  const clock = manualClock();
  const box = createMemoryPenaltyBox({ clock, policy, maxEntries: 10 });
  // One project's sessions, each blocked once: their levels would be kept for a day.
  for (let i = 0; i < 10; i++) await refuse(box, 3, `prjA:s${i}`);
  clock.advance(120); // the blocks have ended; only the levels remain
  assert.equal((await refuse(box, 3, 'prjB:abuser'))?.level, 1, "another project's abuser is blocked");
  assert.ok(await box.isBlocked('ip', 'prjB:abuser'));
  assert.equal((await box.list('')).length, 1);
  // The most recently refused history stays: s9 blocked again escalates to level 2.
  assert.equal((await refuse(box, 3, 'prjA:s9'))?.level, 2);
});

test('memory penalty box: current blocks at the front of a full box do not stop it forgetting history behind them', async () => {
  const clock = manualClock();
  const box = createMemoryPenaltyBox({ clock, policy: { ...policy, baseBlockSeconds: 3_600 }, maxEntries: 300 });
  for (let i = 0; i < 260; i++) await refuse(box, 3, `prjA:long${i}`); // blocked for an hour
  for (let i = 0; i < 40; i++) await box.recordRefusal('ip', `prjA:flood${i}`); // single refusals
  // The first search moves 256 of the blocks to the back and gives up; the next ones reach history.
  for (let round = 0; round < 3; round++) {
    await refuse(box, 4, `prjB:abuser${round}`);
    assert.ok(await box.isBlocked('ip', `prjB:abuser${round}`), `abuser ${round} of another project is blocked`);
  }
  assert.equal((await box.list('prjA:long')).length, 260, 'no current block was dropped');
});

if (testRedisUrl) {
  const r = openTestRedis(testRedisUrl);
  after(() => r.cleanup());
  let n = 0;
  behaviour('redis penalty box', (options) => createRedisPenaltyBox(r.redis, { ...options, prefix: `${r.prefix}${n++}:` }));

  test("redis penalty box: its indexes expire with their newest block, keeping no client's address for good", async () => {
    const prefix = `${r.prefix}ttl:`;
    const box = createRedisPenaltyBox(r.redis, { clock: manualClock(), policy, prefix });
    for (let i = 0; i < 10 && !(await box.isBlocked('ip', 'p1:8.8.8.8')); i++) await box.recordRefusal('ip', 'p1:8.8.8.8');
    assert.ok(await box.isBlocked('ip', 'p1:8.8.8.8'));
    for (const index of [`${prefix}pb:t`, `${prefix}pb:x`]) {
      const ttl = await r.redis.pttl(index);
      assert.ok(ttl > 0 && ttl <= policy.maxBlockSeconds * 1000, `${index}: ${ttl} ms`);
    }
  });

  test('redis penalty box is shared between instances', async () => {
    const clock = manualClock();
    const a = createRedisPenaltyBox(r.redis, { clock, policy, prefix: r.prefix });
    const b = createRedisPenaltyBox(r.second(), { clock, policy, prefix: r.prefix });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).recordRefusal('ip', 'p1:9.9.9.9')));
    assert.equal(results.filter(Boolean).length, 1, 'exactly one refusal starts the block');
    assert.equal((await a.isBlocked('ip', 'p1:9.9.9.9'))?.level, 1);
    assert.equal((await b.list('p1:')).length, 1);
    assert.equal(await b.lift('ip', 'p1:9.9.9.9'), true);
    assert.equal(await a.isBlocked('ip', 'p1:9.9.9.9'), undefined);
  });
} else {
  test('redis penalty box', { skip: 'REDIS_URL not set' }, () => {});
}
