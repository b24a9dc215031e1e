import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import { AppError } from '../../platform/http/errors.ts';
import { signUserId, verifyIdentity } from './identity.ts';

const secret = 'identity-secret-0123456789abcdef0123456789abcdef';
const now = new Date();
const b64u = (value: object | string): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

test('both forms verify a real user id', async () => {
  for (const userId of ['user-42', 'john.smith', 'a.b.c', 'alice@example.com', '12345']) {
    assert.equal(await verifyIdentity(secret, { userId, signature: signUserId(secret, userId) }, now), userId);
  }
  const iat = Math.floor(now.getTime() / 1000);
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('user-42').setIssuedAt(iat).setExpirationTime(iat + 600).sign(new TextEncoder().encode(secret));
  assert.equal(await verifyIdentity(secret, { token }, now), 'user-42');
});

test("a host's HMAC signature of a crafted user id cannot be turned into a JWT for someone else", async () => {
  const iat = Math.floor(now.getTime() / 1000);
  const crafted = `${b64u({ alg: 'HS256' })}.${b64u({ sub: 'victim-42', iat, exp: iat + 3600 })}`;
  // The attacker signs up on the host with this "username"; the host signs it as the docs say.
  const signature = signUserId(secret, crafted);
  assert.equal(await verifyIdentity(secret, { userId: crafted, signature }, now), crafted, 'the attacker is verified as themselves');
  const forged = `${crafted}.${Buffer.from(signature, 'hex').toString('base64url')}`;
  await assert.rejects(verifyIdentity(secret, { token: forged }, now), (e: unknown) => e instanceof AppError && e.code === 'invalid_identity');
  // What the unprefixed signature of the same id would have allowed: a JWT for the victim.
  const unprefixed = `${crafted}.${createHmac('sha256', secret).update(crafted).digest('base64url')}`;
  assert.equal(await verifyIdentity(secret, { token: unprefixed }, now), 'victim-42');
});
