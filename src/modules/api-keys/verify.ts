/**
 * The hot-path decision for a presented secret, pure: parse (shape and checksum, no I/O) is
 * done by the caller; this compares the hash in constant time against the current secret and,
 * during a rotation's grace period, the previous one, then checks revocation and expiry.
 *
 * Must never: compare hashes with `===`, or tell the caller which check failed (only the log may).
 */
import { verifySecretDigest } from './token.ts';
import type { KeyMetadata } from './cache.ts';
import type { VerifyFailure } from './types.ts';

/** `viaPreviousSecret`: the secret a rotation replaced, still in its grace period. */
export type KeyDecision = { ok: true; key: KeyMetadata; viaPreviousSecret: boolean } | { ok: false; reason: VerifyFailure };

export function decideKey(key: KeyMetadata | null, secret: string, now: Date): KeyDecision {
  if (!key) return { ok: false, reason: 'unknown' };
  const current = verifySecretDigest(secret, key.secretDigest);
  // Always compute both comparisons so timing does not reveal which secret matched.
  const previous =
    key.previousDigest !== null && verifySecretDigest(secret, key.previousDigest) && key.previousExpiresAt !== null && key.previousExpiresAt > now;
  if (!current && !previous) return { ok: false, reason: 'wrong_secret' };
  if (key.revoked) return { ok: false, reason: 'revoked' };
  if (key.expiresAt !== null && key.expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, key, viaPreviousSecret: !current };
}
