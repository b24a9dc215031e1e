import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKeyring } from './keyring.ts';
import { createLocalKms } from './kms.ts';
import { isCryptoError } from './errors.ts';
import { orgScope, subjectScope } from './types.ts';
import { fixture } from './test-helpers.ts';

test('currentKey creates version 1 once, even under concurrent first use', async () => {
  const { keyring, store, kms } = fixture();
  const scope = orgScope('org_1');
  const keys = await Promise.all([keyring.currentKey(scope), keyring.currentKey(scope), keyring.currentKey(scope)]);
  assert.deepEqual(keys.map((k) => k.version), [1, 1, 1]);
  assert.equal(store.rows.size, 1);
  const row = await store.get(scope, 1);
  assert.equal(row?.kekId, kms.keyId);
  assert.equal(row?.wrapped.length, 2 + kms.keyId.length + 12 + 32 + 16);
});

test('two instances sharing a store agree on the same key', async () => {
  const a = fixture();
  const b = createKeyring({ kms: a.kms, store: a.store, clock: a.clock });
  const scope = orgScope('org_1');
  const [ka, kb] = [await a.keyring.currentKey(scope), await b.currentKey(scope)];
  assert.ok(ka.key.equals(kb.key));
});

test('rotate makes a new current version and keeps older ones readable', async () => {
  const { keyring } = fixture();
  const scope = orgScope('org_1');
  const v1 = await keyring.currentKey(scope);
  const v2 = await keyring.rotate(scope);
  assert.equal(v2.version, 2);
  assert.equal((await keyring.currentKey(scope)).version, 2);
  assert.ok((await keyring.keyFor(scope, 1)).key.equals(v1.key));
  assert.equal(v1.key.equals(v2.key), false);
});

test('destroy deletes every version and forgets the cache', async () => {
  const { keyring, store } = fixture();
  const scope = subjectScope('org_1', 'vis_1');
  await keyring.currentKey(scope);
  await keyring.rotate(scope);
  await keyring.currentKey(orgScope('org_1'));
  assert.equal(await keyring.destroy(scope), 2);
  assert.equal(keyring.peek(scope, 1), undefined);
  await assert.rejects(keyring.keyFor(scope, 1), (e) => isCryptoError(e, 'key_not_found'));
  assert.equal(store.rows.size, 1);
});

test('a key still loading when its scope is destroyed is not cached again, nor handed out', async () => {
  const { kms, store, clock } = fixture();
  // Unwraps wait for a gate, so the destroy lands between reading the key row and caching the key.
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const gated = { keyId: kms.keyId, wrap: kms.wrap.bind(kms), unwrap: async (wrapped: Buffer, context: string) => (await gate, kms.unwrap(wrapped, context)) };
  const keyring = createKeyring({ kms: gated, store, clock });
  const other = createKeyring({ kms, store, clock });
  const scope = subjectScope('org_1', 'vis_1');

  for (const load of [(v: number) => keyring.keyFor(scope, v), () => keyring.currentKey(scope), () => keyring.latestKey(scope)]) {
    gate = new Promise((resolve) => (release = resolve));
    other.evict(scope);
    const { version } = await other.currentKey(scope); // a new version (the last round destroyed the one before)
    assert.equal(store.rows.size, 1);
    const loading = load(version);
    await new Promise((resolve) => setImmediate(resolve)); // the row has been read; the unwrap waits
    await keyring.destroy(scope);
    release();
    await assert.rejects(loading, (e: unknown) => isCryptoError(e, 'key_not_found'));
    assert.equal(keyring.peek(scope, version), undefined, 'not cached again');
    assert.equal(keyring.peekCurrent(scope), undefined);
    await assert.rejects(keyring.keyFor(scope, version), (e: unknown) => isCryptoError(e, 'key_not_found'));
  }

  // An eviction that destroyed nothing (a rotation announced by another instance) fails no load.
  gate = new Promise((resolve) => (release = resolve));
  other.evict(scope);
  const { version } = await other.currentKey(scope);
  const loading = keyring.keyFor(scope, version);
  await new Promise((resolve) => setImmediate(resolve));
  keyring.evict(scope);
  release();
  assert.equal((await loading).version, version);
});

test('rotateIfPresent gives a shredded scope no new key', async () => {
  const { keyring, store } = fixture();
  const scope = subjectScope('org_1', 'vis_1');
  await keyring.currentKey(scope);
  assert.equal((await keyring.rotateIfPresent(scope))?.version, 2);
  await keyring.destroy(scope);
  assert.equal(await keyring.rotateIfPresent(scope), undefined);
  assert.equal(store.rows.size, 0);
});

test('a key destroyed by another instance disappears here when the cache expires', async () => {
  const a = fixture({ cacheTtlMs: 1000 });
  const b = createKeyring({ kms: a.kms, store: a.store, clock: a.clock, cacheTtlMs: 1000 });
  const scope = subjectScope('org_1', 'vis_1');
  await a.keyring.currentKey(scope);
  await b.keyFor(scope, 1);
  await a.keyring.destroy(scope);
  assert.ok(b.peek(scope, 1));
  a.clock.advance(1001);
  await assert.rejects(b.keyFor(scope, 1), (e) => isCryptoError(e, 'key_not_found'));
});

test('the cache is bounded', async () => {
  const { kms, store, clock } = fixture();
  const keyring = createKeyring({ kms, store, clock, cacheSize: 3 });
  for (let i = 0; i < 5; i += 1) await keyring.currentKey(orgScope(`org_${i}`));
  assert.equal(keyring.peek(orgScope('org_0'), 1), undefined);
  assert.ok(keyring.peek(orgScope('org_4'), 1));
});

test('a wrapped key copied to another scope does not unwrap', async () => {
  const { keyring, store } = fixture();
  await keyring.currentKey(orgScope('org_a'));
  const stolen = await store.get(orgScope('org_a'), 1);
  assert.ok(stolen);
  await store.insert({ ...stolen, scope: orgScope('org_b') });
  await assert.rejects(keyring.keyFor(orgScope('org_b'), 1), (e) => isCryptoError(e, 'unwrap_failed'));
});

test('rewrapAll moves every key to the new KEK, resumably, and keys stay the same', async () => {
  const { keyring, store, kms, clock } = fixture();
  const scopes = [orgScope('org_1'), orgScope('org_2'), subjectScope('org_1', 'vis_9')];
  const before = await Promise.all(scopes.map((s) => keyring.currentKey(s)));
  await keyring.rotate(scopes[0] ?? orgScope('org_1'));

  const newMaster = randomBytes(32);
  const newKms = createLocalKms(newMaster);
  const result = await keyring.rewrapAll(newKms, 2);
  assert.deepEqual(result, { rewrapped: 4, skipped: 0, unreadable: [] });
  assert.ok([...store.rows.values()].every((r) => r.kekId === newKms.keyId));
  assert.equal(keyring.kekId, newKms.keyId);
  assert.deepEqual(await keyring.rewrapAll(newKms), { rewrapped: 0, skipped: 0, unreadable: [] });

  // A restarted instance that only knows the new master key reads the same keys.
  const restarted = createKeyring({ kms: createLocalKms(newMaster), store, clock });
  for (const [i, scope] of scopes.entries()) {
    assert.ok((await restarted.keyFor(scope, 1)).key.equals(before[i]?.key ?? assert.fail()));
  }
  const oldOnly = createKeyring({ kms, store, clock });
  await assert.rejects(oldOnly.keyFor(scopes[1] ?? orgScope('x'), 1), (e) => isCryptoError(e, 'unknown_kek'));
});

test('invalid scopes are refused', async () => {
  const { keyring } = fixture();
  assert.throws(() => orgScope('org:evil'), (e) => isCryptoError(e, 'invalid_scope'));
  await assert.rejects(keyring.currentKey('org:a:b' as `org:${string}`), (e) => isCryptoError(e, 'invalid_scope'));
});

test('rotate-master as operated: restart with new key current and old key previous, then rewrap', async () => {
  const oldMaster = randomBytes(32);
  const { store, clock } = fixture();
  const before = createKeyring({ kms: createLocalKms(oldMaster), store, clock });
  const original = await before.currentKey(orgScope('org_1'));

  const newMaster = randomBytes(32);
  const both = createLocalKms(newMaster, undefined, [{ key: oldMaster }]);
  const after = createKeyring({ kms: both, store, clock });
  assert.ok((await after.keyFor(orgScope('org_1'), 1)).key.equals(original.key), 'readable before the rewrap');
  assert.deepEqual(await after.rewrapAll(both), { rewrapped: 1, skipped: 0, unreadable: [] });
  const newOnly = createKeyring({ kms: createLocalKms(newMaster), store, clock });
  assert.ok((await newOnly.keyFor(orgScope('org_1'), 1)).key.equals(original.key));
});

test('a scope destroyed and used again starts above the destroyed versions, never reusing a label', async () => {
  const { keyring } = fixture();
  const scope = subjectScope('org_1', 'vis_1');
  await keyring.currentKey(scope);
  await keyring.rotate(scope);
  await keyring.destroy(scope);
  assert.equal((await keyring.currentKey(scope)).version, 3);
  await keyring.destroy(scope);
  assert.equal((await keyring.rotate(scope)).version, 4);
});
