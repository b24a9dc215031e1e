/**
 * Opaque identifiers and secret tokens. Ids carry a type prefix (org_, prj_, …) and 128 bits
 * of randomness; secret tokens 256 bits, stored only as a SHA-256 hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function base62(bytes: Buffer): string {
  let n = BigInt('0x' + bytes.toString('hex'));
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(Math.ceil((bytes.length * 8) / Math.log2(62)), '0');
}

export type IdPrefix = 'usr' | 'org' | 'prj' | 'ses' | 'inv' | 'aud' | 'key' | 'conv' | 'msg' | 'doc' | 'whk' | 'ent' | 'vis' | 'era' | 'dlv' | 'evt';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${base62(randomBytes(16))}`;
}

export function newSecretToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
