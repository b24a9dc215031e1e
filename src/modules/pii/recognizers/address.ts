/**
 * Street addresses: a street shape (number + name + suffix, compound street names, prefixed
 * streets, PO boxes), then units, post code, city and country on the same or the next lines.
 * A loose "number words number" shape needs address context or a post-code line after it.
 */
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, phraseSet, windowHas } from '../context.ts';
import { CITY_LINE_RE, UNIT_RE } from './address-patterns.ts';
import { addressCores, looseCores, mayStartStreet, numberStarts } from './address-candidates.ts';

const CONTEXT = phraseSet([
  'address', 'live', 'lives', 'living', 'drops you off', 'ship', 'deliver', 'located', 'located at', 'billing', 'mailing',
  'moved', 'move to', 'visit', 'adresse', 'wohne', 'wohnhaft', 'anschrift', 'lieferadresse', 'habite', 'domicile', 'livraison',
  'dirección', 'direccion', 'vivo', 'domicilio', 'envío', 'residence', 'street', 'stay at', 'apartment',
]);
const POSTAL_RE = /(?<![\d-])(?:\d{4,6}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}|[A-Z]\d[A-Z] \d[A-Z]\d|\d{2}-\d{3})(?![\d-])/;
const LONG_DIGITS_RE = /\d[\d ().-]{6,}\d/;

/** ASCII initials of UNIT_RE's words, either case ("Apt", "Suite" ...); its /iu matching of other characters is left to it. */
const UNIT_INITIALS: ReadonlySet<number> = new Set([...'asufrwpbASUFRWPB'].map((c) => c.charCodeAt(0)));

function isIndent(c: number): boolean {
  return c === 32 || c === 9 || c === 62 || c === 63;
}

/**
 * UNIT_RE on s with its first `blank` code units read as spaces, or null. UNIT_RE allows at most
 * three of [ ,] before its word, so where that word would have to start is found first, and the
 * pattern runs only when an ASCII character there could open one (anything else is left to it).
 */
function unitAt(s: string, blank: number): RegExpExecArray | null {
  let w = blank;
  while (w < s.length && w <= 3 && (s.charCodeAt(w) === 32 || s.charCodeAt(w) === 44)) w++;
  // Nothing but blanks: no unit word can follow (and s is not read past its end).
  if (w >= s.length) return null;
  const c = s.charCodeAt(w);
  if (w > 3 || (c < 128 && !UNIT_INITIALS.has(c))) return null;
  return UNIT_RE.exec(blank === 0 ? s : ' '.repeat(blank) + s.slice(blank));
}

/** How many code units /^[ \t]*\n[ \t>?]* / matches at the start of s (a line break and its indentation), or 0. */
function lineBreakLength(s: string): number {
  // Every read is bounds-checked: one read past the end makes V8 reoptimise the function's reads slower.
  const n = s.length;
  let i = 0;
  while (i < n && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  if (i >= n || s.charCodeAt(i) !== 10) return 0;
  i++;
  while (i < n && isIndent(s.charCodeAt(i))) i++;
  return i;
}

/** True when s holds nothing but whitespace at its ends and " ,\n>?" in between. */
function onlySeparators(s: string): boolean {
  const t = s.trim();
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c !== 32 && c !== 44 && c !== 10 && c !== 62 && c !== 63) return false;
  }
  return true;
}

/** Extends an address over a unit, then over up to three following city/post-code lines. */
function extend(text: string, end: number): number {
  const unit = unitAt(text.slice(end, end + 24), 0);
  if (unit) end += unit[0].length;
  let best = end;
  let cur = end;
  for (let i = 0; i < 4; i++) {
    const slice = text.slice(cur, cur + 64);
    // A unit may also open the next line: the line break and its indentation count as spaces.
    const u = unitAt(slice, lineBreakLength(slice));
    if (u && u[0].trim().length > 0 && slice.indexOf('\n') < u.index + u[0].length) {
      cur += u[0].length;
      best = cur;
      continue;
    }
    const m = CITY_LINE_RE.exec(slice);
    if (!m || onlySeparators(m[0]) || LONG_DIGITS_RE.test(m[0]) || m[0].includes(':')) break;
    const sameLine = !m[0].includes('\n');
    if (sameLine && !/^[ \t]*,/.test(m[0])) break;
    cur += m[0].length;
    if (POSTAL_RE.test(m[0]) || sameLine) best = cur;
  }
  return best;
}

/** "Berlin." ends a sentence; "St." is an abbreviation and keeps its dot. */
function trimEnd(text: string, start: number, end: number): number {
  let e = end;
  while (e > start && /[\s,]/.test(text[e - 1] ?? '')) e--;
  if (text[e - 1] === '.' && /\p{L}{4}\.$/u.test(text.slice(Math.max(start, e - 5), e))) e--;
  return e;
}

export function recognizeAddresses({ text, lower, scan }: ScanInput, out: Finding[]): void {
  const starts = numberStarts(text, scan.digitRuns);
  if (starts.length === 0) return;
  let floor = 0;
  const streetStarts: number[] = [];
  for (const d of starts) if (mayStartStreet(text, d)) streetStarts.push(d);
  for (const core of addressCores(text, starts, streetStarts)) {
    if (core.start < floor) continue;
    const end = trimEnd(text, core.start, extend(text, core.end));
    const ctx = windowHas(lower, core.start, end, CONTEXT, 60) ? 0.25 : 0;
    const multi = end > core.end ? 0.1 : 0;
    out.push({ type: 'ADDRESS', start: core.start, end, score: clamp01(0.6 + ctx + multi) });
    floor = Math.max(core.end, end);
  }
  for (const core of looseCores(text, streetStarts)) {
    const ctx = windowHas(lower, core.start, core.end, CONTEXT, 60);
    const lineStart = core.start === 0 || /\n[ \t>?]*$/.test(text.slice(Math.max(0, core.start - 8), core.start));
    // Without context or a line of its own the score stays below 0.5 even with a city line.
    if (!ctx && !lineStart) continue;
    const end = trimEnd(text, core.start, extend(text, core.end));
    const score = (ctx ? 0.55 : 0.2) + (end > core.end ? 0.2 : 0) + (lineStart ? 0.1 : 0);
    if (score >= 0.5) out.push({ type: 'ADDRESS', start: core.start, end, score: clamp01(score) });
  }
}
