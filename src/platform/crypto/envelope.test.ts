import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { createCipher, decryptWith, encryptWith, isCanonicalBase64url, parseCiphertext } from './envelope.ts';
import { isCryptoError } from './errors.ts';
import { orgScope, subjectScope, type CipherAad } from './types.ts';
import { fixture } from './test-helpers.ts';

const row: CipherAad = { orgId: 'org_a', table: 'messages', column: 'content', rowId: 'msg_1' };

function setup(): ReturnType<typeof fixture> & { cipher: ReturnType<typeof createCipher> } {
  const f = fixture();
  return { ...f, cipher: createCipher({ keyring: f.keyring }) };
}

test('round-trips text and bytes, and names key and version', async () => {
  const { cipher } = setup();
  const text = 'Hello, wörld 👋';
  const ct = await cipher.encrypt(text, row);
  assert.match(ct, /^v1\.o\.1\.[A-Za-z0-9_-]+$/);
  assert.equal(ct.includes('Hello'), false);
  assert.equal(await cipher.decrypt(ct, row), text);
  const bytes = Buffer.from([0, 1, 2, 255]);
  assert.deepEqual(await cipher.decryptBytes(await cipher.encrypt(bytes, row), row), bytes);
  assert.equal(await cipher.decrypt(await cipher.encrypt('', row), row), '');
  assert.notEqual(await cipher.encrypt(text, row), ct, 'fresh IV every time');
});

test('a ciphertext copied into another row, column, table or organisation fails', async () => {
  const { cipher, keyring } = setup();
  const ct = await cipher.encrypt('secret', row);
  await keyring.currentKey(orgScope('org_b'));
  for (const moved of [
    { ...row, rowId: 'msg_2' },
    { ...row, column: 'title' },
    { ...row, table: 'documents' },
    { ...row, orgId: 'org_b' },
  ]) {
    await assert.rejects(cipher.decrypt(ct, moved), (e) => isCryptoError(e, 'decrypt_failed'), JSON.stringify(moved));
  }
});

test('every tampered character is detected', async () => {
  const { cipher } = setup();
  const ct = await cipher.encrypt('a short secret message', row);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < ct.length; i += 1) {
    const original = ct[i] ?? '';
    const replacement = alphabet[(alphabet.indexOf(original) + 1) % alphabet.length] ?? 'A';
    const tampered = ct.slice(0, i) + replacement + ct.slice(i + 1);
    await assert.rejects(cipher.decrypt(tampered, row), (e) => isCryptoError(e), `position ${i}`);
  }
  await assert.rejects(cipher.decrypt(ct.slice(0, -1), row), (e) => isCryptoError(e));
  await assert.rejects(cipher.decrypt(ct + 'A', row), (e) => isCryptoError(e));
  await assert.rejects(cipher.decrypt(ct + '!', row), (e) => isCryptoError(e, 'malformed_ciphertext'));
  await assert.rejects(cipher.decrypt('plain text', row), (e) => isCryptoError(e, 'malformed_ciphertext'));
});

test('older versions keep decrypting after rotation; reencrypt moves them forward', async () => {
  const { cipher, keyring } = setup();
  const old = await cipher.encrypt('before', row);
  await keyring.rotate(orgScope('org_a'));
  const fresh = await cipher.encrypt('after', row);
  assert.match(fresh, /^v1\.o\.2\./);
  assert.equal(await cipher.decrypt(old, row), 'before');
  const moved = await cipher.reencrypt(old, row);
  assert.ok(moved !== undefined && moved.startsWith('v1.o.2.'));
  assert.equal(await cipher.decrypt(moved, row), 'before');
  assert.equal(await cipher.reencrypt(fresh, row), undefined);
});

test('subject keys: shredding one subject leaves everybody else readable', async () => {
  const { cipher, keyring } = setup();
  const alice = subjectScope('org_a', 'vis_alice');
  const bob = subjectScope('org_a', 'vis_bob');
  const a = await cipher.encrypt('alice said', row, alice);
  const b = await cipher.encrypt('bob said', { ...row, rowId: 'msg_2' }, bob);
  const org = await cipher.encrypt('org content', { ...row, rowId: 'msg_3' });
  assert.match(a, /^v1\.s:vis_alice\.1\./);
  await keyring.destroy(alice);
  await assert.rejects(cipher.decrypt(a, row), (e) => isCryptoError(e, 'key_not_found'));
  assert.equal(await cipher.decrypt(b, { ...row, rowId: 'msg_2' }), 'bob said');
  assert.equal(await cipher.decrypt(org, { ...row, rowId: 'msg_3' }), 'org content');
  // A returning subject gets a new key, one version above the shredded one: it never opens what was shredded.
  assert.match(await cipher.encrypt('alice again', row, alice), /^v1\.s:vis_alice\.2\./);
  await assert.rejects(cipher.decrypt(a, row), (e) => isCryptoError(e, 'key_not_found'));
});

test("another organisation's scope cannot be used", async () => {
  const { cipher } = setup();
  await assert.rejects(cipher.encrypt('x', row, orgScope('org_b')), (e) => isCryptoError(e, 'invalid_scope'));
  await assert.rejects(cipher.encrypt('x', row, subjectScope('org_b', 'vis_1')), (e) => isCryptoError(e, 'invalid_scope'));
});

test('sync hot path matches the async API once the key is cached', async () => {
  const { cipher, keyring } = setup();
  assert.equal(cipher.tryEncryptSync('x', row), undefined);
  const key = await keyring.currentKey(orgScope('org_a'));
  const ct = cipher.tryEncryptSync('hot', row);
  assert.ok(ct);
  assert.equal(await cipher.decrypt(ct, row), 'hot');
  assert.equal(cipher.tryDecryptSync(ct, row)?.toString(), 'hot');
  assert.throws(() => cipher.tryDecryptSync(ct, { ...row, rowId: 'msg_2' }), (e) => isCryptoError(e, 'decrypt_failed'));
  const direct = encryptWith(key, 'direct', row);
  assert.equal(decryptWith(key, parseCiphertext(direct, row.orgId), row).toString(), 'direct');
});

test('the canonical base64url check refuses exactly what re-encoding would refuse', () => {
  // Node's decoder skips stray characters, accepts + / = and ignores spare bits: every text that
  // decodes to bytes whose canonical encoding differs from it must be refused, and only those.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const odd = `${alphabet}+/= .\n%é\u0000*`;
  let seed = 7;
  const next = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
  for (let i = 0; i < 50_000; i += 1) {
    let text = Buffer.from(Array.from({ length: next(14) }, () => next(256))).toString('base64url');
    const at = next(text.length + 1);
    const ch = odd[next(odd.length)] ?? 'A';
    const edit = next(4);
    if (edit === 0) text = text.slice(0, at) + ch + text.slice(at);
    else if (edit === 1) text = text.slice(0, at) + ch + text.slice(at + 1);
    else if (edit === 2) text = text.slice(0, at) + text.slice(at + 1);
    const decoded = Buffer.from(text, 'base64url');
    assert.equal(isCanonicalBase64url(text, decoded.length), decoded.toString('base64url') === text, JSON.stringify(text));
  }
});

test('values written before the hot-path rewrite still decrypt (format unchanged)', () => {
  const key = { scope: orgScope('org_a'), version: 1, key: createSecretKey(Buffer.alloc(32, 7)) };
  // Sealed by hand the way the previous implementation did (template-string AAD, Buffer.concat).
  const stored = 'v1.o.1.AAECAwQFBgcICQoLcOSFHHLy4Xeltx3Skbw7E90GAjO1';
  assert.equal(decryptWith(key, parseCiphertext(stored, 'org_a'), row).toString(), 'hello');
});
