import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checksumLength,
  generateApiKeySecret,
  hashSecret,
  keyIdLength,
  parseApiKeySecret,
  secretEntropyBits,
  secretLength,
  verifySecretHash,
} from './token.ts';
import { crc32 } from './token-crc32.ts';
import { base62Alphabet, encodeBase62Fixed } from './token-base62.ts';

const base62 = /^[0-9A-Za-z]+$/;

test('crc32 matches the standard check value', () => {
  assert.equal(crc32('123456789'), 0xcbf43926);
  assert.equal(crc32(''), 0);
});

test('fixed-width base62 round-trips the largest CRC and refuses overflow', () => {
  assert.equal(encodeBase62Fixed(0, 6), '000000');
  assert.equal(encodeBase62Fixed(0xffffffff, 6).length, 6);
  assert.throws(() => encodeBase62Fixed(62 ** 6, 6), RangeError);
});

test('generated keys have the documented shape', () => {
  const key = generateApiKeySecret();
  const [pal, env, id, rest] = key.secret.split('_');
  assert.equal(pal, 'pal');
  assert.equal(env, 'live');
  assert.equal(id?.length, keyIdLength);
  assert.equal(rest?.length, secretLength + checksumLength);
  assert.match(id ?? '', base62);
  assert.match(rest ?? '', base62);
  assert.equal(key.keyId, `key_${id}`);
  assert.ok(key.secret.startsWith(key.start));
  assert.ok(key.start.length < 20, 'start reveals only the public id prefix');
  assert.match(key.hash, /^[0-9a-f]{64}$/);
  assert.ok(secretEntropyBits >= 128);
});

test('environment is configurable and validated', () => {
  const key = generateApiKeySecret({ environment: 'test' });
  assert.ok(key.secret.startsWith('pal_test_'));
  const parsed = parseApiKeySecret(key.secret);
  assert.deepEqual(parsed, { ok: true, keyId: key.keyId, environment: 'test' });
  assert.throws(() => generateApiKeySecret({ environment: 'Live' }), RangeError);
  assert.throws(() => generateApiKeySecret({ environment: 'a_b' }), RangeError);
});

test('every generated key parses to its key id', () => {
  fc.assert(
    fc.property(fc.constantFrom('live', 'test', 'dev2'), (environment) => {
      const key = generateApiKeySecret({ environment });
      const parsed = parseApiKeySecret(key.secret);
      return parsed.ok && parsed.keyId === key.keyId && parsed.environment === environment;
    }),
    { numRuns: 300 },
  );
});

test('any single-character change is refused', () => {
  const keys = Array.from({ length: 20 }, () => generateApiKeySecret());
  const alphabet = `${base62Alphabet}_-. `;
  fc.assert(
    fc.property(
      fc.constantFrom(...keys),
      fc.nat({ max: (keys[0]?.secret.length ?? 1) - 1 }),
      fc.constantFrom(...alphabet.split('')),
      (key, index, replacement) => {
        fc.pre(key.secret[index] !== replacement);
        const mutated = key.secret.slice(0, index) + replacement + key.secret.slice(index + 1);
        const parsed = parseApiKeySecret(mutated);
        if (parsed.ok) return false;
        // A base62-for-base62 swap inside the random or checksum part keeps the shape: the checksum must catch it.
        const inBody = index >= key.secret.length - secretLength - checksumLength - keyIdLength - 1;
        if (inBody && key.secret[index] !== '_' && base62.test(replacement)) return parsed.reason === 'bad_checksum';
        return true;
      },
    ),
    { numRuns: 2000 },
  );
});

test('malformed inputs are refused cheaply', () => {
  const { secret } = generateApiKeySecret();
  for (const bad of ['', 'pal_live_', secret.slice(0, -1), `${secret}0`, `x${secret}`, secret.replace('pal_', 'ghp_'), 'a'.repeat(10_000)]) {
    assert.deepEqual(parseApiKeySecret(bad), { ok: false, reason: 'malformed' }, bad.slice(0, 40));
  }
});

test('hash verification is exact and tolerates junk stored hashes', () => {
  const key = generateApiKeySecret();
  assert.equal(hashSecret(key.secret), key.hash);
  assert.equal(verifySecretHash(key.secret, key.hash), true);
  assert.equal(verifySecretHash(generateApiKeySecret().secret, key.hash), false);
  assert.equal(verifySecretHash(key.secret, key.hash.toUpperCase()), false);
  assert.equal(verifySecretHash(key.secret, 'abc'), false);
  assert.equal(verifySecretHash(key.secret, ''), false);
});

test('two keys never share an id or secret', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const { keyId, secret } = generateApiKeySecret();
    assert.ok(!seen.has(keyId) && !seen.has(secret));
    seen.add(keyId).add(secret);
  }
});
