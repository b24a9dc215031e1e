/**
 * Context scoring in the manner of Presidio: words near a match raise (or, for hard negatives,
 * lower) its score. Windows are bounded so the cost stays linear in the number of matches.
 */

import { isLetterOrNumber } from './char-class.ts';

/** Context words of several sets in one map: each word carries the bits of the sets it belongs to. */
export interface WordIndex {
  flags: ReadonlyMap<string, number>;
  maxLength: number;
  /** Whether any word holds an ASCII digit: if none does, words with digits are not looked up. */
  digits: boolean;
  /** A filter on wordHash() of the index's words: a word whose slot is 0 is not looked up. */
  hashed: Uint8Array;
}

const HASH_SLOTS = 4096;

/** Polynomial hash of code units, accumulated as a scanner walks a word (slot = hash & (HASH_SLOTS - 1)). */
function hashStep(h: number, unit: number): number {
  return (Math.imul(h, 31) + unit) | 0;
}

export function wordIndex(sets: readonly (readonly [ReadonlySet<string>, number])[]): WordIndex {
  const flags = new Map<string, number>();
  for (const [set, bit] of sets) for (const w of set) flags.set(w, (flags.get(w) ?? 0) | bit);
  const words = [...flags.keys()];
  const hashed = new Uint8Array(HASH_SLOTS);
  for (const w of words) {
    let h = 0;
    for (let i = 0; i < w.length; i++) h = hashStep(h, w.charCodeAt(i));
    hashed[h & (HASH_SLOTS - 1)] = 1;
  }
  return { flags, maxLength: Math.max(0, ...words.map((w) => w.length)), digits: words.some((w) => /[0-9]/.test(w)), hashed };
}

/** The code point at i, not reading past `limit` (a pair cut by the limit counts as a lone surrogate). */
function codePointIn(s: string, i: number, limit: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < limit) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** [0-9a-z] (the text is lower-cased, but upper-case ASCII counts too) by code unit. */
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD[c] = (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) ? 1 : 0;

/** OR of the index bits of the words ([\p{L}\p{N}]+ runs) in lower[from, to). */
function flagsIn(lower: string, from: number, to: number, index: WordIndex): number {
  let flags = 0;
  let i = from;
  while (i < to) {
    let c = lower.charCodeAt(i);
    // ASCII is classified by table; everything else goes through codePointIn and the class table.
    if (c < 128) {
      if (ASCII_WORD[c] === 0) {
        i++;
        continue;
      }
    } else {
      const cp = codePointIn(lower, i, to);
      if (!isLetterOrNumber(cp)) {
        i += cp > 0xffff ? 2 : 1;
        continue;
      }
    }
    const start = i;
    let digit = false;
    let h = 0;
    for (;;) {
      if (c < 128) {
        if (ASCII_WORD[c] === 0) break;
        if (c <= 57) digit = true;
        h = hashStep(h, c);
        i++;
      } else {
        const cp = codePointIn(lower, i, to);
        if (!isLetterOrNumber(cp)) break;
        h = hashStep(h, c);
        if (cp > 0xffff) h = hashStep(h, lower.charCodeAt(i + 1));
        i += cp > 0xffff ? 2 : 1;
      }
      if (i >= to) break;
      c = lower.charCodeAt(i);
    }
    // The hash filter spares cutting out and looking up words that are not in the index.
    if (i - start > index.maxLength || (digit && !index.digits) || index.hashed[h & (HASH_SLOTS - 1)] === 0) continue;
    flags |= index.flags.get(lower.slice(start, i)) ?? 0;
  }
  return flags;
}

/**
 * The index bits of the words in a window before (and after) a span: the maximal runs of letters
 * and numbers inside each window (a word cut by the window's edge counts as its visible part),
 * each looked up once, without building a list of words.
 */
export function flagsAround(lower: string, start: number, end: number, index: WordIndex, before = 48, after = 16): number {
  return flagsIn(lower, Math.max(0, start - before), start, index) | flagsIn(lower, end, Math.min(lower.length, end + after), index);
}

/** Phrases (lower-case, may contain spaces) compiled into one alternation of literals. */
export interface PhraseSet {
  pattern: RegExp;
}

export function phraseSet(phrases: readonly string[]): PhraseSet {
  const escaped = phrases.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  // One search of the window instead of one String#includes per phrase (several times faster); no flags, so
  // it matches exactly where some phrase occurs as a substring.
  return { pattern: new RegExp(escaped.join('|')) };
}

/** True when one of the phrases occurs in the window. */
export function windowHas(lower: string, start: number, end: number, phrases: PhraseSet, before = 48, after = 0): boolean {
  return phrases.pattern.test(lower.slice(Math.max(0, start - before), Math.min(lower.length, end + after)));
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Words that mark a number as a business identifier rather than personal data. */
export const NEGATIVE_NUMBER_WORDS: ReadonlySet<string> = new Set([
  'order', 'orders', 'invoice', 'tracking', 'track', 'ref', 'reference', 'ticket', 'case', 'sku',
  'version', 'build', 'release', 'serial', 'shipment', 'parcel', 'item', 'article', 'receipt',
  'booking', 'confirmation', 'po',
  'bestellung', 'bestellnummer', 'rechnung', 'rechnungsnummer', 'sendung', 'sendungsnummer', 'auftrag',
  'commande', 'facture', 'colis', 'suivi', 'référence', 'pedido', 'factura', 'envío', 'seguimiento',
  'referencia', 'usd', 'eur', 'gbp', 'price', 'total', 'preis', 'prix', 'precio', 'qty', 'quantity',
  'license', 'licence', 'driver', 'zip', 'postcode', 'postal', 'plz', 'führerschein', 'permis', 'licencia',
]);
