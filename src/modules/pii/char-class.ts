/**
 * Unicode character classes by code point, so hand-written scanners can test "letter",
 * "upper-case letter" or "letter or number" without running a regular expression per character.
 * Classes of the Basic Multilingual Plane are computed once per code unit on first use and kept
 * in a 64 KB table; astral code points (surrogate pairs) are rare and tested directly.
 */

export const LETTER = 1;
export const UPPER = 2;
export const NUMBER = 4;
const KNOWN = 128;

const LETTER_RE = /^\p{L}$/u;
const UPPER_RE = /^\p{Lu}$/u;
const NUMBER_RE = /^\p{N}$/u;

const bmp = new Uint8Array(65536);

function classify(s: string): number {
  return (LETTER_RE.test(s) ? LETTER : 0) | (UPPER_RE.test(s) ? UPPER : 0) | (NUMBER_RE.test(s) ? NUMBER : 0);
}

/** Class bits of a code point (LETTER | UPPER | NUMBER). */
export function classOf(cp: number): number {
  if (cp < 65536) {
    let v = bmp[cp] ?? 0;
    if (v === 0) bmp[cp] = v = classify(String.fromCharCode(cp)) | KNOWN;
    return v & ~KNOWN;
  }
  // NaN (a read past the end of a string) or anything outside Unicode has no class.
  return cp >= 0x10000 && cp <= 0x10ffff ? classify(String.fromCodePoint(cp)) : 0;
}

/** The code point starting at i (a lone surrogate is its own code point, as in /u regexes). */
export function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** The code point ending just before i (a /u regex's lookbehind steps back by code points). */
export function codePointBefore(text: string, i: number): number {
  const d = text.charCodeAt(i - 1);
  if (d >= 0xdc00 && d <= 0xdfff && i >= 2) {
    const c = text.charCodeAt(i - 2);
    if (c >= 0xd800 && c <= 0xdbff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return d;
}

/** [\p{L}\p{N}] for one code unit or code point. */
export function isLetterOrNumber(cp: number): boolean {
  if (cp < 128) return (cp >= 48 && cp <= 57) || ((cp | 32) >= 97 && (cp | 32) <= 122);
  return (classOf(cp) & (LETTER | NUMBER)) !== 0;
}

export function isLetter(cp: number): boolean {
  if (cp < 128) return (cp | 32) >= 97 && (cp | 32) <= 122;
  return (classOf(cp) & LETTER) !== 0;
}

export function isUpper(cp: number): boolean {
  if (cp < 128) return cp >= 65 && cp <= 90;
  return (classOf(cp) & UPPER) !== 0;
}

const WHITESPACE_RE = /\s/;

/** /\s/ on the code unit at k: ASCII by code, anything else by the pattern. */
export function isWhitespaceAt(text: string, k: number): boolean {
  const c = text.charCodeAt(k);
  return c < 128 ? c === 32 || (c >= 9 && c <= 13) : WHITESPACE_RE.test(text[k] ?? '');
}
