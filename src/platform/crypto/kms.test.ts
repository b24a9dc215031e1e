import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLocalKms, localKeyId, wrappedKekId } from './kms.ts';
import { isCryptoError } from './errors.ts';

test('wrap and unwrap round-trip under the same context', async () => {
  const kms = createLocalKms(randomBytes(32));
  const key = randomBytes(32);
  const wrapped = await kms.wrap(key, 'ctx-a');
  assert.deepEqual(await kms.unwrap(wrapped, 'ctx-a'), key);
  assert.equal(wrappedKekId(wrapped), kms.keyId);
  assert.equal(wrapped.includes(key), false);
});

test('a different context, a flipped byte or another master key fails', async () => {
  const master = randomBytes(32);
  const kms = createLocalKms(master);
  const wrapped = await kms.wrap(randomBytes(32), 'ctx-a');
  await assert.rejects(kms.unwrap(wrapped, 'ctx-b'), (e) => isCryptoError(e, 'unwrap_failed'));
  const flipped = Buffer.from(wrapped);
  flipped.writeUInt8(flipped.readUInt8(flipped.length - 20) ^ 1, flipped.length - 20);
  await assert.rejects(kms.unwrap(flipped, 'ctx-a'), (e) => isCryptoError(e, 'unwrap_failed'));
  const impostor = createLocalKms(randomBytes(32), kms.keyId);
  await assert.rejects(impostor.unwrap(wrapped, 'ctx-a'), (e) => isCryptoError(e, 'unwrap_failed'));
  await assert.rejects(createLocalKms(randomBytes(32)).unwrap(wrapped, 'ctx-a'), (e) => isCryptoError(e, 'unknown_kek'));
});

test('previous master keys unwrap, only the current one wraps', async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const wrappedOld = await createLocalKms(oldKey).wrap(Buffer.alloc(32, 7), 'c');
  const kms = createLocalKms(newKey, undefined, [{ key: oldKey }]);
  assert.equal(kms.keyId, localKeyId(newKey));
  assert.deepEqual(await kms.unwrap(wrappedOld, 'c'), Buffer.alloc(32, 7));
  assert.equal(wrappedKekId(await kms.wrap(Buffer.alloc(32), 'c')), localKeyId(newKey));
});

test('rejects master keys of the wrong size', () => {
  assert.throws(() => createLocalKms(randomBytes(16)), (e) => isCryptoError(e, 'invalid_master_key'));
});
