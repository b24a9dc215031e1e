/**
 * Visitor identity verification: the host site vouches for its signed-in user by signing the
 * user id with the project's identity secret — `hex(HMAC-SHA256(secret, "palisade-identity-v1:"
 * + userId))`, or a JWT (HS256, ≤ 1 hour, `sub` = user id) signed with the same secret. Pure: no I/O.
 *
 * The prefix keeps the two forms apart. Both use the secret as the same HMAC key, and a JWT's
 * signature is the HMAC of `header.payload`: had the plain user id been signed, a host signing an
 * id the attacker chose (a username shaped like `header.payload`) would have handed out a valid
 * JWT for any `sub`. A signed text that starts with the prefix cannot be a JWT's signing input
 * (its first segment would have to decode to a JSON object).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { jwtVerify } from 'jose';
import { AppError } from '../../platform/http/errors.ts';

export type IdentityClaim = { userId: string; signature: string } | { token: string };

const refused = (): AppError => new AppError('invalid_identity', 'The visitor identity could not be verified.');

const USER_ID_SIGNATURE_PREFIX = 'palisade-identity-v1:';

export function signUserId(secret: string, userId: string): string {
  return createHmac('sha256', secret).update(USER_ID_SIGNATURE_PREFIX + userId).digest('hex');
}

export async function verifyIdentity(secret: string, claim: IdentityClaim, now: Date): Promise<string> {
  if ('signature' in claim) {
    const expected = Buffer.from(signUserId(secret, claim.userId), 'hex');
    const given = Buffer.from(claim.signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused();
    return claim.userId;
  }
  try {
    const { payload } = await jwtVerify(claim.token, new TextEncoder().encode(secret), { algorithms: ['HS256'], currentDate: now, maxTokenAge: '1h', requiredClaims: ['sub', 'iat', 'exp'] });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 200) throw refused();
    return payload.sub;
  } catch {
    throw refused();
  }
}
