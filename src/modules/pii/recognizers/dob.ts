/**
 * Dates of birth: a date only counts when birth context is near. Ordinary dates are hard
 * negatives, so numeric dates are also recognised here to keep them away from the phone check.
 */
import type { NumberRun } from '../number-runs.ts';
import type { Finding, ScanInput } from '../types.ts';
import { flagsAround, wordIndex } from '../context.ts';
import { isLetter } from '../char-class.ts';

const DOB_WORDS: ReadonlySet<string> = new Set([
  'born', 'birthday', 'birth', 'dob', 'birthdate', 'bday', 'geboren', 'geburtsdatum', 'geburtstag', 'geb',
  'né', 'née', 'naissance', 'nacido', 'nacida', 'nacimiento', 'cumpleaños', 'anniversaire',
]);
const DOB_INDEX = wordIndex([[DOB_WORDS, 1]]);
const DOB_STEMS: readonly string[] = ['born', 'birth', 'dob', 'geb', 'né', 'naissance', 'nac', 'cumple', 'bday', 'anniversaire'];

function dayMonthOk(day: number, month: number): boolean {
  return day >= 1 && day <= 31 && month >= 1 && month <= 12;
}

/** True when a number run reads as a calendar date (d.m.y, m/d/y, y-m-d). */
export function isNumericDate(run: NumberRun): boolean {
  const g = run.groups;
  if (g.length !== 3 || run.plus) return false;
  const s = run.seps;
  if (s.length !== 2 || s[0] !== s[1] || !'./-'.includes(s[0] ?? ' ')) return false;
  const d = run.digits;
  const [a = 0, b = 0, c = 0] = g;
  if (a === 4 && b <= 2 && c <= 2) return dayMonthOk(Number(d.slice(4 + b)), Number(d.slice(4, 4 + b)));
  if (a <= 2 && b <= 2 && (c === 4 || c === 2)) {
    const x = Number(d.slice(0, a));
    const y = Number(d.slice(a, a + b));
    return dayMonthOk(x, y) || dayMonthOk(y, x);
  }
  return false;
}

/** Birth words in the same sentence, before the date or just after it. */
export function dobContext(lower: string, start: number, end: number): boolean {
  const from = Math.max(0, start - 40);
  const win = lower.slice(from, start);
  const cut = Math.max(win.lastIndexOf('. '), win.lastIndexOf('\n'), win.lastIndexOf('? '), win.lastIndexOf('! '));
  const before = cut >= 0 ? win.length - cut - 1 : 40;
  return flagsAround(lower, start, end, DOB_INDEX, before, 8) !== 0;
}

const MONTHS =
  'january|february|march|april|may|june|july|august|september|october|november|december|' +
  'jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|mai|juni|juli|oktober|dezember|' +
  'janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|' +
  'enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre';
const TEXT_DATE_RE = new RegExp(
  `(?<![\\p{L}\\d])(?:\\d{1,2}(?:st|nd|rd|th|er|\\.)? (?:de )?(?:${MONTHS})\\.?,? (?:de )?\\d{4}|(?:${MONTHS})\\.? \\d{1,2}(?:st|nd|rd|th)?,? \\d{4})(?![\\p{L}\\d])`,
  'gu',
);

/** Every birth stem in one search; a position holds at most one stem, so none is missed. */
const STEM_RE = new RegExp(DOB_STEMS.join('|'), 'g');
const YEAR_RE = /\d{4}/;

/** [\p{L}\d] for one code unit, as /[\p{L}\d]/u tests a one-character string. */
function isLetterOrDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || isLetter(c);
}

/** Longest birth stem ("anniversaire"). */
const MAX_STEM = Math.max(...DOB_STEMS.map((s) => s.length));

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Whether the four-digit run at y can end a TEXT_DATE_RE date. In that pattern the year follows a
 * space, and no letter follows it; the space follows a month, "de", a suffix, "." or "," — or the
 * day itself, one or two digits after a space ("march 3 1999"). So card and account groups
 * ("4111 1111") are no years, which spares the stem search around them.
 */
function mayBeYear(lower: string, y: number): boolean {
  // Reads stay inside the text: one read past an end makes V8 reoptimise the function's reads slower.
  if (y < 2 || lower.charCodeAt(y - 1) !== 32 || (y + 4 < lower.length && isLetter(lower.charCodeAt(y + 4)))) return false;
  let d = y - 1;
  while (d > 0 && d > y - 4 && isDigit(lower.charCodeAt(d - 1))) d--;
  if (d === y - 1) return true;
  return y - 1 - d <= 2 && d > 0 && lower.charCodeAt(d - 1) === 32;
}

/**
 * Where a birth stem has to start for its window (48 characters before it, 80 after it) to hold
 * a year: every written-out date ends in a run of exactly four digits that passes mayBeYear().
 * Merged [from, to] ranges, flattened; empty when the text has no such run.
 */
function stemRanges(lower: string, digitRuns: readonly number[]): number[] {
  const ranges: number[] = [];
  for (let k = 0; k < digitRuns.length; k += 2) {
    const y = digitRuns[k] ?? 0;
    if ((digitRuns[k + 1] ?? 0) - y !== 4 || !mayBeYear(lower, y)) continue;
    const from = Math.max(0, y + 4 - 80 - MAX_STEM);
    const to = y + 48;
    if (ranges.length > 0 && from <= (ranges[ranges.length - 1] ?? 0) + 1) ranges[ranges.length - 1] = to;
    else ranges.push(from, to);
  }
  return ranges;
}

/** Written-out dates near birth context ("born on 3 March 1985", "né le 12 mars 1990"): only windows around birth words near a year are scanned. */
export function recognizeTextDob({ lower, scan }: ScanInput, out: Finding[]): void {
  const ranges = stemRanges(lower, scan.digitRuns);
  if (ranges.length === 0) return;
  const seen = new Set<number>();
  let next = 0;
  for (let r = 0; r < ranges.length; r += 2) {
    const from = Math.max(next, ranges[r] ?? 0);
    const to = ranges[r + 1] ?? 0;
    // The stems starting in [from, to], searched for in a slice so the search ends with the range.
    const win = lower.slice(from, to + MAX_STEM);
    STEM_RE.lastIndex = 0;
    for (let s = STEM_RE.exec(win); s && from + s.index <= to; s = STEM_RE.exec(win)) {
      STEM_RE.lastIndex = s.index + 1;
      const i = from + s.index;
      next = i + 1;
      datesAround(lower, i, s[0].length, seen, out);
    }
  }
}

/** The written-out dates in the window around the birth stem at i, each start reported once. */
function datesAround(lower: string, i: number, stemLength: number, seen: Set<number>, out: Finding[]): void {
  // A date ends at most 8 characters before the birth word or starts at most 40 after it.
  let from = Math.max(0, i - 48);
  while (from > 0 && from < i && isLetterOrDigit(lower.charCodeAt(from - 1))) from++;
  const win = lower.slice(from, Math.min(lower.length, i + stemLength + 80));
  // Every written-out date has a four-digit year.
  if (!YEAR_RE.test(win)) return;
  TEXT_DATE_RE.lastIndex = 0;
  for (let m = TEXT_DATE_RE.exec(win); m; m = TEXT_DATE_RE.exec(win)) {
    const start = from + m.index;
    const end = start + m[0].length;
    if (seen.has(start) || (end === from + win.length && end < lower.length)) continue;
    seen.add(start);
    if (dobContext(lower, start, end)) out.push({ type: 'DATE_OF_BIRTH', start, end, score: 0.85 });
  }
}
