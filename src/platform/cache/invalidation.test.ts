import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInvalidationBus } from './invalidation.ts';
import { createMemoryPubSub, createRedisPubSub, type PubSub } from './pubsub.ts';

const redisUrl = process.env.REDIS_URL;

async function fansOut(makePubSub: () => PubSub): Promise<void> {
  const [pa, pb] = [makePubSub(), makePubSub()];
  const a = createInvalidationBus(pa);
  const b = createInvalidationBus(pb);
  const seenA: string[] = [];
  const seenB: string[] = [];
  a.on('sessions', (ids) => seenA.push(...ids));
  b.on('sessions', (ids) => seenB.push(...ids));
  await a.start();
  await b.start();
  try {
    await a.publish('sessions', ['ses_1']);
    // Applied here at once, and — because publish waits for its own echo — everywhere by now.
    assert.deepEqual(seenA, ['ses_1']);
    assert.deepEqual(seenB, ['ses_1']);
    await b.publish('other-topic', ['x']);
    assert.deepEqual(seenA, ['ses_1']);
  } finally {
    await a.stop();
    await b.stop();
    await pa.close();
    await pb.close();
  }
}

test('an invalidation reaches every instance before publish resolves (memory)', async () => {
  const shared = createMemoryPubSub();
  await fansOut(() => ({ ...shared, close: async () => undefined }));
  await shared.close();
});

test('an invalidation reaches every instance before publish resolves (Redis)', { skip: !redisUrl && 'REDIS_URL is not set' }, async () => {
  await fansOut(() => createRedisPubSub(redisUrl ?? ''));
});

test('a message that never comes back is reported, and publish still resolves', async () => {
  // A channel that swallows everything, like a Redis that accepts the publish and loses it.
  const silent: PubSub = { publish: async () => undefined, subscribe: async () => async () => undefined, close: async () => undefined };
  const missed: string[] = [];
  const bus = createInvalidationBus(silent, { echoTimeoutMs: 20, onMissedEcho: (topic) => missed.push(topic) });
  const applied: string[] = [];
  bus.on('api-keys', (ids) => applied.push(...ids));
  await bus.start();
  const hold = setTimeout(() => undefined, 5_000); // the bus's own timer does not keep the process alive
  await bus.publish('api-keys', ['key_1']);
  clearTimeout(hold);
  assert.deepEqual(applied, ['key_1'], 'applied here at once');
  assert.deepEqual(missed, ['api-keys']);
  await bus.stop();
});

test('Redis unreachable when publishing: the change still applies here and publish resolves, telling onMissedEcho (a lockdown must not stop half-way)', async () => {
  const shared = createMemoryPubSub();
  const down: PubSub = { ...shared, publish: async () => Promise.reject(new Error('MaxRetriesPerRequestError')), close: async () => undefined };
  const missed: string[] = [];
  const bus = createInvalidationBus(down, { onMissedEcho: (topic) => missed.push(topic), echoTimeoutMs: 60_000 });
  const seen: string[] = [];
  bus.on('api-keys', (ids) => seen.push(...ids));
  await bus.start();
  try {
    const started = Date.now();
    await bus.publish('api-keys', ['key_1']);
    assert.deepEqual([seen, missed], [['key_1'], ['api-keys']]);
    assert.ok(Date.now() - started < 1000, 'without waiting for an echo that cannot come');
  } finally {
    await bus.stop();
    await shared.close();
  }
});
