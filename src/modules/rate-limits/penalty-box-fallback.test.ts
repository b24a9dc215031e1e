import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryPenaltyBox, type PenaltyBox } from './penalty-box.ts';
import { withMemoryFallback } from './penalty-box-fallback.ts';
import { createStoreHealth } from './store-health.ts';

const policy = { refusalsBeforeBlock: 3, windowSeconds: 60, baseBlockSeconds: 60, maxBlockSeconds: 3_600, levelDecaySeconds: 86_400 };

test('a Redis that answers reads but refuses writes (out of memory, a read-only replica) still boxes abusers', async () => {
  const readOnly: PenaltyBox = {
    isBlocked: async () => undefined,
    recordRefusal: async () => {
      throw new Error("READONLY You can't write against a read only replica.");
    },
    list: async () => [],
    lift: async () => false,
  };
  const errors: unknown[] = [];
  const box = withMemoryFallback(readOnly, createMemoryPenaltyBox({ policy }), createStoreHealth({ isConnected: () => true, onStoreError: (e) => errors.push(e) }));
  for (let i = 0; i < 3; i++) await box.recordRefusal('ip', 'prj:1.2.3.4');
  assert.ok(await box.isBlocked('ip', 'prj:1.2.3.4'), 'the block recorded locally is seen');
  assert.equal(await box.isBlocked('ip', 'prj:5.6.7.8'), undefined);
  assert.equal(errors.length, 1, 'reported once, not per refusal');
});

test('blocks recorded in memory during an outage are listed and lifted once Redis is back', async () => {
  let connected = false;
  const shared = createMemoryPenaltyBox({ policy }); // stands in for Redis: it works, when connected
  const box = withMemoryFallback(shared, createMemoryPenaltyBox({ policy }), createStoreHealth({ isConnected: () => connected, onStoreError: () => undefined }));
  for (let i = 0; i < 3; i++) await box.recordRefusal('ip', 'prj:1.2.3.4');
  await assert.rejects(box.list('prj:'), (e: Error & { code?: string }) => e.code === 'unavailable');
  connected = true;
  assert.deepEqual((await box.list('prj:')).map((b) => b.key), ['prj:1.2.3.4']);
  assert.equal(await box.lift('ip', 'prj:1.2.3.4'), true);
  assert.equal(await box.isBlocked('ip', 'prj:1.2.3.4'), undefined);
});
