import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockedAddressError, LookupsBusyError, createGuardedFetch } from './guarded-fetch.ts';

test('names whose DNS never answers cannot take every look-up thread: past two waiting, a call fails at once', async () => {
  const waiting: Array<() => void> = [];
  let entered = 0;
  const hanging = (_host: string, _options: { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: []) => void): void => {
    entered++;
    waiting.push(() => callback(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' }), []));
  };
  const guarded = createGuardedFetch(() => true, hanging);
  const settled: unknown[] = [];
  const calls = Array.from({ length: 6 }, (_, i) => guarded(`https://blackhole-${i}.example/`).then(() => 'answered', (e: unknown) => e).then((outcome) => (settled.push(outcome), outcome)));
  try {
    // The four beyond the two waiting are refused without waiting for anything.
    for (let i = 0; i < 100 && settled.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(entered, 2, 'two look-ups wait; the others are not started');
    assert.equal(settled.length, 4);
    assert.ok(settled.every((e) => e instanceof LookupsBusyError && /backed up/.test(e.message)), String(settled));
  } finally {
    for (const release of waiting) release(); // the "resolver" gives up: the two slots are free again
  }
  const all = await Promise.all(calls);
  assert.equal(all.filter((e) => e instanceof Error && !(e instanceof BlockedAddressError) && !(e instanceof LookupsBusyError)).length, 2, 'the two that waited fail with the resolver');
  const answered = createGuardedFetch(() => false, (_h, _o, callback) => callback(null, [{ address: '10.0.0.1', family: 4 }]));
  await assert.rejects(answered('https://after.example/'), (e: unknown) => e instanceof BlockedAddressError && !/backed up/.test(e.message), 'look-ups run again once those ended');
});

test("a name that does not exist fails like one that resolves only to private addresses: no oracle for the operator's DNS", async () => {
  const missing = createGuardedFetch(() => false, (_h, _o, callback) => callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []));
  const internal = createGuardedFetch(() => false, (_h, _o, callback) => callback(null, [{ address: '10.1.2.3', family: 4 }]));
  const messages: string[] = [];
  for (const [guarded, host] of [[missing, 'nonexistent.corp.internal'], [internal, 'vault.corp.internal']] as const) {
    await assert.rejects(guarded(`https://${host}/`), (e: unknown) => {
      assert.ok(e instanceof BlockedAddressError);
      messages.push(e.message.replace(host, 'HOST'));
      return true;
    });
  }
  assert.equal(messages[0], messages[1]);
});
