import { randomBytes } from 'node:crypto';

/** Base62 helpers for API key secrets: URL-safe, no separators, double-click selects the whole key. */
export const base62Alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Each character carries log2(62) ≈ 5.95 bits. */
export const bitsPerBase62Char: number = Math.log2(62);

/**
 * Uniform random base62 string. Bytes ≥ 248 (= 4 × 62) are discarded so `byte % 62` has no
 * modulo bias.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= 248) continue;
      out += base62Alphabet.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}

/** Fixed-width base62 of a non-negative integer below 62^width, left-padded with '0'. */
export function encodeBase62Fixed(value: number, width: number): string {
  let n = value;
  let out = '';
  for (let i = 0; i < width; i++) {
    out = base62Alphabet.charAt(n % 62) + out;
    n = Math.floor(n / 62);
  }
  if (n !== 0) throw new RangeError('value does not fit the requested width');
  return out;
}
