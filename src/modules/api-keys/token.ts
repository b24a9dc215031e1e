/**
 * API key secrets: `pal_<env>_<id>_<secret><checksum>`, e.g.
 * `pal_live_4fX9kQ2mZt7Lp0aB_Vb3...<24 chars>...<6-char CRC32>`.
 *
 * - The fixed `pal_<env>_` prefix lets secret scanners (GitHub push protection, gitleaks) match a
 *   leaked key, and the trailing CRC32 lets them and us refuse a mistyped key with no look-up.
 * - `<id>` is the public key id (stored as `key_<id>`), so verification is one indexed look-up.
 * - `<secret>` carries ≥ 128 bits from the CSPRNG.
 *
 * Owns: generating, parsing and hashing secrets. Must never: log a secret, store it, or compare
 * hashes with `===`.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { bitsPerBase62Char, encodeBase62Fixed, randomBase62 } from './token-base62.ts';
import { crc32 } from './token-crc32.ts';

export const keyIdLength = 16;
export const secretLength = 24;
export const checksumLength = 6;
export const defaultKeyEnvironment = 'live';

/** 24 base62 characters ≈ 142.9 bits; the floor below is the design promise. */
export const secretEntropyBits: number = secretLength * bitsPerBase62Char;

const environmentPattern = /^[a-z][a-z0-9]{1,9}$/;
const secretPattern = new RegExp(
  `^pal_([a-z][a-z0-9]{1,9})_([0-9A-Za-z]{${keyIdLength}})_([0-9A-Za-z]{${secretLength + checksumLength}})$`,
);
// Longest possible key; anything longer is refused before the regex runs.
const maxSecretLength = 4 + 10 + 1 + keyIdLength + 1 + secretLength + checksumLength;

export interface GeneratedApiKeySecret {
  /** Shown to the user exactly once; never stored or logged. */
  secret: string;
  /** Public id, `key_<id>`. */
  keyId: string;
  /** SHA-256 hex of `secret`, the only form kept at rest. */
  hash: string;
  /** Short non-secret prefix for lists, e.g. `pal_live_4fX9kQ`. */
  start: string;
}

export type ParsedApiKeySecret =
  | { ok: true; keyId: string; environment: string }
  | { ok: false; reason: 'malformed' | 'bad_checksum' };

/** `keyId` keeps an existing key's id (rotation issues a new secret for the same key). */
export function generateApiKeySecret(options: { environment?: string; keyId?: string } = {}): GeneratedApiKeySecret {
  const environment = options.environment ?? defaultKeyEnvironment;
  if (!environmentPattern.test(environment)) {
    throw new RangeError('API key environment must be 2-10 lowercase letters or digits, starting with a letter');
  }
  const id = options.keyId === undefined ? randomBase62(keyIdLength) : options.keyId.replace(/^key_/, '');
  if (!new RegExp(`^[0-9A-Za-z]{${keyIdLength}}$`).test(id)) throw new RangeError('not an API key id');
  const body = `pal_${environment}_${id}_${randomBase62(secretLength)}`;
  const secret = body + checksumOf(body);
  return { secret, keyId: `key_${id}`, hash: hashSecret(secret), start: `pal_${environment}_${id.slice(0, 6)}` };
}

/** Cheap structural check and checksum, no I/O: run it before any database look-up. */
export function parseApiKeySecret(input: string): ParsedApiKeySecret {
  if (typeof input !== 'string' || input.length > maxSecretLength) return { ok: false, reason: 'malformed' };
  const match = secretPattern.exec(input);
  const environment = match?.[1];
  const id = match?.[2];
  if (environment === undefined || id === undefined) return { ok: false, reason: 'malformed' };
  const body = input.slice(0, -checksumLength);
  if (checksumOf(body) !== input.slice(-checksumLength)) return { ok: false, reason: 'bad_checksum' };
  return { ok: true, keyId: `key_${id}`, environment };
}

/**
 * SHA-256, hex. A slow password hash (argon2) protects low-entropy secrets from guessing; a
 * 128-bit random secret cannot be guessed, so a fast hash is as safe here and keeps
 * verification cheap on every request.
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** A stored hash as the 32 bytes verifySecretDigest compares with, or null if it is not one. */
export function digestOf(storedHash: string): Buffer | null {
  return /^[0-9a-f]{64}$/.test(storedHash) ? Buffer.from(storedHash, 'hex') : null;
}

/** Constant-time comparison of `secret`'s SHA-256 with a stored digest (see digestOf). */
export function verifySecretDigest(secret: string, storedDigest: Buffer | null): boolean {
  if (storedDigest === null) return false;
  return timingSafeEqual(hash('sha256', secret, 'buffer'), storedDigest);
}

/** Constant-time comparison of `secret`'s hash with a stored hash. */
export function verifySecretHash(secret: string, storedHash: string): boolean {
  return verifySecretDigest(secret, digestOf(storedHash));
}

function checksumOf(body: string): string {
  return encodeBase62Fixed(crc32(body), checksumLength);
}
