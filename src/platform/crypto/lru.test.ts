import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLru } from './lru.ts';

test('keeps recently used entries, evicts the coldest, and expires old ones', () => {
  const lru = createLru<number>(2, 1000);
  lru.set('a', 1, 0);
  lru.set('b', 2, 0);
  assert.equal(lru.get('a', 10), 1);
  lru.set('c', 3, 20);
  assert.equal(lru.size, 2);
  assert.equal(lru.get('b', 30), undefined, 'b was not used since insertion');
  assert.equal(lru.get('a', 30), 1);
  assert.equal(lru.get('a', 1001), undefined, 'expired');
  lru.deleteWhere((key) => key === 'c');
  assert.equal(lru.size, 0);
});
