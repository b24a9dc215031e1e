import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInvalidationBus } from '../../platform/cache/invalidation.ts';
import { createMemoryPubSub } from '../../platform/cache/pubsub.ts';
import { createKeyCache, type KeyMetadata } from './cache.ts';

const real: KeyMetadata = { id: 'key_real', orgId: 'org_a', secretDigest: null, previousDigest: null, previousExpiresAt: null, scopes: [], projectIds: null, expiresAt: null, revoked: false };

describe('the API key cache', () => {
  it('keeps unknown ids apart: made-up ids cannot push real keys out', async () => {
    const loads: string[] = [];
    const cache = createKeyCache({
      load: async (id) => (loads.push(id), id === real.id ? real : null),
      invalidation: createInvalidationBus(createMemoryPubSub()),
      clock: { now: () => new Date(0) },
      maxEntries: 100,
    });
    assert.equal(await cache.get(real.id), real);
    for (let i = 0; i < 1_000; i++) assert.equal(await cache.get(`key_madeup${i}`), null);
    const before = loads.length;
    assert.equal(await cache.get(real.id), real);
    assert.equal(cache.peek(real.id), real);
    assert.equal(loads.length, before, 'the real key was still cached');
    assert.equal(await cache.get('key_madeup999'), null);
    assert.equal(loads.length, before, 'a recent unknown id is remembered as unknown');
  });
});
