import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createMemoryPubSub, createRedisPubSub } from './pubsub.ts';
import type { PubSub } from './pubsub.ts';

const redisUrl = process.env.REDIS_URL;

function nextMessage(pubsub: PubSub, channel: string): Promise<{ message: string; unsubscribe: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 2 s')), 2_000);
    let unsubscribe: () => Promise<void> = async () => {};
    pubsub
      .subscribe(channel, (message) => {
        clearTimeout(timer);
        resolve({ message, unsubscribe });
      })
      .then((fn) => {
        unsubscribe = fn;
      }, reject);
  });
}

async function behaves(makeA: () => PubSub, makeB: () => PubSub): Promise<void> {
  const a = makeA();
  const b = makeB();
  try {
    const channel = `palisade-test:${randomUUID()}`;
    const received: string[] = [];
    const offFirst = await b.subscribe(channel, (m) => received.push(`1:${m}`));
    const offSecond = await b.subscribe(channel, () => {
      throw new Error('a failing handler must not stop the others');
    });
    const offThird = await b.subscribe(channel, (m) => received.push(`3:${m}`));
    const waiting = nextMessage(b, channel);
    await new Promise((r) => setTimeout(r, 10));
    await a.publish(channel, 'revoke:key_1');
    const { message, unsubscribe } = await waiting;
    assert.equal(message, 'revoke:key_1');
    assert.deepEqual(received.sort(), ['1:revoke:key_1', '3:revoke:key_1']);

    await Promise.all([offFirst(), offSecond(), unsubscribe()]);
    await a.publish(channel, 'second');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(received.sort(), ['1:revoke:key_1', '3:revoke:key_1', '3:second']);
    await offThird();
    await a.publish(channel, 'third');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 3);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

test('memory pub/sub delivers to every handler and unsubscribes', async () => {
  const shared = createMemoryPubSub();
  await behaves(() => shared, () => shared);
});

test('redis pub/sub fans out between two instances', { skip: redisUrl ? false : 'REDIS_URL not set' }, async () => {
  const url = redisUrl ?? '';
  await behaves(() => createRedisPubSub(url), () => createRedisPubSub(url));
});
