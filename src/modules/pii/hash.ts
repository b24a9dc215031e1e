/**
 * Keyed hashing of identifiers: HMAC-SHA256 with a per-organisation key over the normalised
 * value, so an erasure request for "Alice@Example.com" finds the hash of "alice@example.com".
 */
import { createHmac } from 'node:crypto';
import type { EntityType } from './policy.ts';
import { normalizeValue } from './normalize.ts';

const HEX_CHARS = 12;

/** The hex digest (truncated to 48 bits: enough to look up, too short to be a fingerprint of record). */
export function hashIdentifier(type: EntityType, value: string, key: Buffer): string {
  return createHmac('sha256', key).update(`${type}\u0000${normalizeValue(type, value)}`).digest('hex').slice(0, HEX_CHARS);
}

/** The placeholder written into the text, e.g. `<EMAIL_HASH_3fa9c2d1e0b4>`. */
export function hashPlaceholder(type: EntityType, value: string, key: Buffer): string {
  return `<${type}_HASH_${hashIdentifier(type, value, key)}>`;
}
