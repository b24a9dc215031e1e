/**
 * Finds street-address cores without running the address patterns over the whole text: every
 * shape contains a house or box number, so one linear scan finds the numbers and the patterns run
 * only there — sticky at the number for shapes that start with it, and on a short window before
 * it, once a cheap check on the preceding words passes, for shapes that end with it.
 */
import {
  ADDRESS_BOX_RE, ADDRESS_LOOSE_RE, ADDRESS_NUM_FIRST_RE, ADDRESS_NUM_LAST_RE, STREET_PREFIX_WORDS, STREET_WORD_END_RE,
} from './address-patterns.ts';

export interface Core { start: number; end: number }

const LETTER_RE = /\p{L}/u;
/** How far before a number a NUM_LAST shape may start (six words of up to 25 letters). */
const BACK = 170;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLetterOrDigit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  return c > 127 && LETTER_RE.test(text[i] ?? '');
}

/** Starts of digit groups not glued to a preceding letter or digit. */
export function numberStarts(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (!isDigit(text.charCodeAt(i))) continue;
    if (i === 0 || !isLetterOrDigit(text, i - 1)) out.push(i);
    while (i + 1 < text.length && isDigit(text.charCodeAt(i + 1))) i++;
  }
  return out;
}

/** The words (space-separated, same line) before position d, nearest first, at most `max`. */
function wordsBefore(text: string, d: number, max: number): string[] {
  const words: string[] = [];
  let e = d;
  while (words.length < max && e > 0 && text[e - 1] === ' ') {
    let s = e - 1;
    while (s > 0 && e - 1 - s < 30 && text.charCodeAt(s - 1) > 32) s--;
    if (s === e - 1) break;
    words.push(text.slice(s, e - 1).replace(/,$/, ''));
    e = s;
  }
  return words;
}

function numLastPossible(text: string, d: number): boolean {
  const words = wordsBefore(text, d, 7);
  const first = words[0];
  if (first !== undefined && STREET_WORD_END_RE.test(first)) return true;
  return words.some((w) => STREET_PREFIX_WORDS.has(w));
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
  ADDRESS_NUM_LAST_RE.lastIndex = 0;
  for (let m = ADDRESS_NUM_LAST_RE.exec(win); m; m = ADDRESS_NUM_LAST_RE.exec(win)) {
    const end = from + m.index + m[0].length;
    if (end > d && (end < to || to === text.length)) into.push({ start: from + m.index, end });
  }
}

/** Address cores, sorted by start; overlapping candidates keep the earliest (then longest). */
export function addressCores(text: string, starts: readonly number[]): Core[] {
  const found: Core[] = [];
  for (const d of starts) {
    ADDRESS_NUM_FIRST_RE.lastIndex = d;
    const m = ADDRESS_NUM_FIRST_RE.exec(text);
    if (m) found.push({ start: d, end: d + m[0].length });
    if (d > 1 && text[d - 1] === ' ' && numLastPossible(text, d)) windowMatches(text, d, found);
  }
  if (/box|postfach|apartado|BP /i.test(text)) {
    ADDRESS_BOX_RE.lastIndex = 0;
    for (let m = ADDRESS_BOX_RE.exec(text); m; m = ADDRESS_BOX_RE.exec(text)) found.push({ start: m.index, end: m.index + m[0].length });
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Core[] = [];
  for (const c of found) {
    const last = out[out.length - 1];
    if (!last || c.start >= last.end) out.push(c);
  }
  return out;
}

/** "12 Word Word 34" shapes, sticky at each number. */
export function looseCores(text: string, starts: readonly number[]): Core[] {
  const out: Core[] = [];
  let floor = 0;
  for (const d of starts) {
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
