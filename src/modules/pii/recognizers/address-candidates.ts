/**
 * Finds street-address cores without running the address patterns over the whole text: every
 * shape contains a house or box number, so the patterns run only at the digit runs of the shared
 * TextScan — sticky at the number for shapes that start with it, and on a short window before
 * it, once a cheap check on the preceding words passes, for shapes that end with it.
 */
import {
  ADDRESS_BOX_RE, ADDRESS_LOOSE_RE, ADDRESS_NUM_FIRST_RE, ADDRESS_NUM_LAST_RE, STREET_PREFIX_WORDS, STREET_WORD_END_RE,
} from './address-patterns.ts';
import { codePointAt, codePointBefore, isLetter, isUpper } from '../char-class.ts';

export interface Core { start: number; end: number }

/** How far before a number a NUM_LAST shape may start (six words of up to 25 letters). */
const BACK = 170;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Starts of digit groups not glued to a preceding letter; `digitRuns` are TextScan's. */
export function numberStarts(text: string, digitRuns: readonly number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < digitRuns.length; k += 2) {
    const i = digitRuns[k] ?? 0;
    // A run is maximal, so the code unit before it is no digit.
    if (i === 0 || !isLetter(text.charCodeAt(i - 1))) out.push(i);
  }
  return out;
}

/** First letters of the French prefixes a number may precede in lower case ("12 rue ...", "3 bd ..."). */
const LOWER_PREFIX_INITIALS = new Set([...'rabpciq'].map((c) => c.charCodeAt(0)));

function digitsFrom(text: string, i: number): number {
  let j = i;
  while (j < text.length && isDigit(text.charCodeAt(j))) j++;
  return j;
}

/** " bis" or " ter" at e, compared by code unit (String#startsWith costs more than the whole check). */
function bisOrTerAt(text: string, e: number): boolean {
  // Reads stay inside the text (see capitalised.ts): past its end no " bis" fits anyway.
  if (e + 3 >= text.length || text.charCodeAt(e) !== 32) return false;
  const a = text.charCodeAt(e + 1);
  const b = text.charCodeAt(e + 2);
  const c = text.charCodeAt(e + 3);
  return (a === 98 && b === 105 && c === 115) || (a === 116 && b === 101 && c === 114);
}

/** After a house number: " Main", ", rue", " bis rue" — a space, then a word that may open a street. */
function streetWordFollows(text: string, e: number): boolean {
  if (bisOrTerAt(text, e)) e += 4;
  if (e < text.length && text.charCodeAt(e) === 44) e++;
  if (e + 1 >= text.length || text.charCodeAt(e) !== 32) return false;
  const cp = codePointAt(text, e + 1);
  return isUpper(cp) || LOWER_PREFIX_INITIALS.has(cp);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** "-12" or "/3" after a house number: where it ends, or -1. */
function suffixEnd(text: string, e: number): number {
  if (e >= text.length) return -1;
  const sep = text.charCodeAt(e);
  if (sep !== 45 && sep !== 47) return -1;
  const k = digitsFrom(text, e + 1);
  return k > e + 1 && k - e - 1 <= 4 ? k : -1;
}

/**
 * A cheap necessary condition for the shapes that start with the house number
 * ("\d{1,5}[A-Za-z]?(?:[-/]\d{1,4})?" then a street word), checked before any pattern runs.
 */
export function mayStartStreet(text: string, d: number): boolean {
  const j = digitsFrom(text, d);
  if (j - d > 5 || j >= text.length) return false;
  // Every shape continues with a space, ",", "-", "/" or a letter after the digits.
  const c = text.charCodeAt(j);
  if (c !== 32 && c !== 44 && c !== 45 && c !== 47 && !isAsciiLetter(c)) return false;
  if (streetWordFollows(text, j)) return true;
  const k = suffixEnd(text, j);
  if (k >= 0 && streetWordFollows(text, k)) return true;
  if (!isAsciiLetter(text.charCodeAt(j))) return false;
  if (streetWordFollows(text, j + 1)) return true;
  const l = suffixEnd(text, j + 1);
  return l >= 0 && streetWordFollows(text, l);
}

/** The words right before a box number: every box shape holds one of them, a space, then its number. */
const BOX_WORDS: readonly string[] = ['Box', 'box', 'Postfach', 'Apartado', 'correos', 'BP'];
const BOX_WORD_ENDS: ReadonlySet<number> = new Set(BOX_WORDS.map((w) => w.charCodeAt(w.length - 1)));

/**
 * True when a box word and a space come right before one of the number starts: without that
 * ADDRESS_BOX_RE cannot match, and its search of the whole text is skipped.
 */
function boxWordBeforeNumber(text: string, starts: readonly number[]): boolean {
  for (const d of starts) {
    if (d < 3 || text.charCodeAt(d - 1) !== 32 || !BOX_WORD_ENDS.has(text.charCodeAt(d - 2))) continue;
    for (const w of BOX_WORDS) if (text.endsWith(w, d - 1)) return true;
  }
  return false;
}

/** Longest first word of a street prefix ("Carretera"): longer words need no look-up. */
const MAX_PREFIX_WORD = Math.max(...[...STREET_PREFIX_WORDS].map((w) => w.length));

/** Where the word that ends just before a space at e - 1 starts (words are cut at 30 characters); -1 if none. */
function wordStartBefore(text: string, e: number): number {
  let s = e - 1;
  while (s > 0 && e - 1 - s < 30 && text.charCodeAt(s - 1) > 32) s--;
  return s === e - 1 ? -1 : s;
}

/** That word without one trailing comma. */
function wordBefore(text: string, s: number, e: number): string {
  return text.slice(s, text.charCodeAt(e - 2) === 44 ? e - 2 : e - 1);
}

/** Street prefixes start with a capital, except "ul.": other words need no look-up. */
function mayBePrefixWord(c: number): boolean {
  return (c >= 65 && c <= 90) || c === 117 || c > 127;
}

/** True when the word right before position d could end a street name ("Hauptstraße 12"). */
function streetWordBefore(text: string, d: number): boolean {
  const s0 = wordStartBefore(text, d);
  if (s0 < 0) return false;
  const first = wordBefore(text, s0, d);
  // Every street-name ending ends in a letter or a dot ("-weg", "Str.").
  const lastChar = first.length > 0 ? first.charCodeAt(first.length - 1) : 0;
  return (lastChar === 46 || isLetter(lastChar)) && STREET_WORD_END_RE.test(first);
}

/** True when one of the (at most seven, same-line) words before position d opens a street prefix ("Rue de la Paix 3"). */
function prefixWordBefore(text: string, d: number): boolean {
  let e = d;
  for (let n = 0; n < 7 && e > 0 && text.charCodeAt(e - 1) === 32; n++) {
    const s = wordStartBefore(text, e);
    if (s < 0) break;
    if (e - 1 - s <= MAX_PREFIX_WORD + 1 && mayBePrefixWord(text.charCodeAt(s)) && STREET_PREFIX_WORDS.has(wordBefore(text, s, e))) return true;
    e = s;
  }
  return false;
}

function windowMatches(text: string, d: number, into: Core[]): void {
  let from = Math.max(0, d - BACK);
  const nl = text.lastIndexOf('\n', d);
  if (nl >= from) from = nl + 1;
  else if (from > 0) {
    const sp = text.indexOf(' ', from);
    from = sp === -1 || sp > d ? d : sp + 1;
  }
  let to = d;
  while (to < text.length && to - d < 12 && /[\dA-Za-z/-]/.test(text[to] ?? ' ')) to++;
  to = Math.min(text.length, to + 1);
  const win = text.slice(from, to);
  // The matches a global search of the window would find, in order: the pattern is tried only where
  // one can start, not at every position (trying it costs far more than the check).
  for (let p = 0; p < win.length; ) {
    if (mayOpenNumLast(win, p)) {
      ADDRESS_NUM_LAST_RE.lastIndex = p;
      const m = ADDRESS_NUM_LAST_RE.exec(win);
      if (m) {
        const end = from + p + m[0].length;
        if (end > d && (end < to || to === text.length)) into.push({ start: from + p, end });
        p += m[0].length;
        continue;
      }
    }
    p += codePointAt(win, p) > 0xffff ? 2 : 1;
  }
}

/**
 * Where ADDRESS_NUM_LAST_RE may match: every shape opens with a house number, a capitalised word
 * or a street prefix (all capitalised but "ul."), behind (?<![\p{L}\d]).
 */
function mayOpenNumLast(win: string, p: number): boolean {
  const cp = codePointAt(win, p);
  if (!((cp >= 48 && cp <= 57) || cp === 117 || isUpper(cp))) return false;
  if (p === 0) return true;
  const before = codePointBefore(win, p);
  return !((before >= 48 && before <= 57) || isLetter(before));
}

/**
 * Street-shape windows searched per text: far more than a real message has (one per number that
 * follows a street word; a message is at most 8,000 characters), and a bound for hostile texts,
 * where every such number ("Rue a 1 Rue a 1 …") costs a window search of up to BACK characters:
 * 100 KB of that took 200 ms. Past the budget, later numbers get no street-shape search.
 */
const WINDOW_BUDGET = 1_500;

/**
 * Address cores, sorted by start; overlapping candidates keep the earliest (then longest).
 * `streetStarts` are the starts that pass mayStartStreet().
 */
export function addressCores(text: string, starts: readonly number[], streetStarts: readonly number[]): Core[] {
  const found: Core[] = [];
  for (const d of streetStarts) {
    ADDRESS_NUM_FIRST_RE.lastIndex = d;
    const m = ADDRESS_NUM_FIRST_RE.exec(text);
    if (m) found.push({ start: d, end: d + m[0].length });
  }
  // No whole-text search for a prefix word first: prefixWordBefore() is cheap and exact on its own,
  // and such a search (a regex tried at every space) cost more than the look-backs it saved.
  let windows = 0;
  for (const d of starts) {
    if (windows === WINDOW_BUDGET) break;
    if (d <= 1 || text.charCodeAt(d - 1) !== 32) continue;
    if (streetWordBefore(text, d) || prefixWordBefore(text, d)) {
      windowMatches(text, d, found);
      windows += 1;
    }
  }
  if (boxWordBeforeNumber(text, starts)) {
    ADDRESS_BOX_RE.lastIndex = 0;
    for (let m = ADDRESS_BOX_RE.exec(text); m; m = ADDRESS_BOX_RE.exec(text)) found.push({ start: m.index, end: m.index + m[0].length });
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Core[] = [];
  for (const c of found) {
    const last = out.length > 0 ? out[out.length - 1] : undefined;
    if (!last || c.start >= last.end) out.push(c);
  }
  return out;
}

/** "12 Word Word 34" shapes, sticky at each number that passes mayStartStreet(). */
export function looseCores(text: string, streetStarts: readonly number[]): Core[] {
  const out: Core[] = [];
  let floor = 0;
  for (const d of streetStarts) {
    if (d < floor) continue;
    ADDRESS_LOOSE_RE.lastIndex = d;
    const m = ADDRESS_LOOSE_RE.exec(text);
    if (m) {
      out.push({ start: d, end: d + m[0].length });
      floor = d + m[0].length;
    }
  }
  return out;
}
