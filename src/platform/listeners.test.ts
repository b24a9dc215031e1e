import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notifyListener } from './listeners.ts';

test('a throwing or rejecting listener reaches neither the caller nor the process', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const seen: unknown[] = [];
    notifyListener(() => {
      throw new Error('sync');
    }, 1, (e) => seen.push(e));
    notifyListener(async () => {
      throw new Error('async');
    }, 2, (e) => seen.push(e));
    notifyListener(async () => Promise.reject(new Error('no handler given')), 3);
    notifyListener(undefined, 4);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen.map((e) => (e as Error).message), ['sync', 'async']);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
