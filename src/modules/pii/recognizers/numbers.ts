/** Classifies each number run once: date, SSN, IPv4, payment card or phone, in that order. */
import { groupSpans, partOfRun, scanNumberRuns, type NumberRun } from '../number-runs.ts';
import type { Finding, ScanInput } from '../types.ts';
import { NEGATIVE_NUMBER_WORDS, clamp01, flagsAround, wordIndex } from '../context.ts';
import { CARD_CONTEXT, cardScore } from './card.ts';
import { SSN_CONTEXT, ssnScore } from './ssn.ts';
import { IP_CONTEXT, VERSION_WORDS, ipv4Context, ipv4Score } from './ip.ts';
import { PHONE_CONTEXT, phoneMayScore, phoneScore } from './phone.ts';
import { dobContext, isNumericDate } from './dob.ts';
import { isWhitespaceAt } from '../char-class.ts';

/** The word right before a run that makes it a house, unit or box number ("Suite 541 6343"). */
const UNIT_WORD = /(?:^|[^\p{L}])(?:apt|apartment|suite|ste|unit|flat|room|floor|box|no|nr|bldg|building)\.?\s{1,2}#?$/iu;
/** Last letters of UNIT_WORD's words, lower-case. */
const UNIT_WORD_ENDS: ReadonlySet<number> = new Set([...'temrxog'].map((c) => c.charCodeAt(0)));

const NEGATIVE = 1;
const SSN = 2;
const CARD = 4;
const PHONE = 8;
const IP = 16;
const VERSION = 32;
/** Every context word a number run is scored with, looked up once per word. */
const CONTEXT = wordIndex([
  [NEGATIVE_NUMBER_WORDS, NEGATIVE], [SSN_CONTEXT, SSN], [CARD_CONTEXT, CARD], [PHONE_CONTEXT, PHONE], [IP_CONTEXT, IP], [VERSION_WORDS, VERSION],
]);

function isCurrencySign(c: number): boolean {
  return c === 36 || c === 0x20ac || c === 0xa3 || c === 0xa5 || c === 0x20b9;
}

/** "$ 12" or "€12": a currency sign, optionally one space, right before the run. */
function afterCurrency(text: string, start: number): boolean {
  if (start > 0 && isCurrencySign(text.charCodeAt(start - 1))) return true;
  return start > 1 && isCurrencySign(text.charCodeAt(start - 2)) && isWhitespaceAt(text, start - 1);
}

/**
 * "Suite 541 6343": the run follows a unit word. UNIT_WORD ends in a letter, an optional ".", one
 * or two spaces and an optional "#", which is checked first so the pattern rarely has to run.
 */
function afterUnitWord(text: string, start: number): boolean {
  // No read before the text's start (see followedByTime).
  let k = start - 1;
  if (k >= 0 && text.charCodeAt(k) === 35) k--;
  let spaces = 0;
  while (spaces < 2 && k >= 0 && isWhitespaceAt(text, k)) {
    k--;
    spaces++;
  }
  if (spaces === 0 || k < 0) return false;
  if (text.charCodeAt(k) === 46) k--;
  if (k < 0) return false;
  const c = text.charCodeAt(k);
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127)) return false;
  // An ASCII letter there has to end one of the unit words; other letters are left to the pattern.
  if (c <= 127 && !UNIT_WORD_ENDS.has(c | 32)) return false;
  return UNIT_WORD.test(text.slice(Math.max(0, start - 14), start));
}

/** Business-identifier words near the run lower every score. */
function negativeOf(ctx: number): number {
  return ctx & NEGATIVE ? 0.45 : 0;
}

/** "12:30" right after the run: the run ends in the hour of a time stamp. */
function followedByTime(text: string, end: number): boolean {
  // Bounds first: a read past the end would make V8 reoptimise this function's reads slower.
  if (end + 1 >= text.length) return false;
  const c = text.charCodeAt(end + 1);
  return text.charCodeAt(end) === 58 && c >= 48 && c <= 57;
}

/**
 * What one run is: a finding; null when its shape decides it is none (an IP-shaped run outside
 * IP context, a version string); undefined when no shape fits the run as a whole.
 */
function classify(input: ScanInput, run: NumberRun): Finding | null | undefined {
  const { text, lower } = input;
  const { start, end } = run;
  // Context words are read only once some shape could use them (many runs are rejected first).
  let ctx = -1;

  const ip = ipv4Score(run, text);
  if (ip > 0) {
    ctx = flagsAround(lower, start, end, CONTEXT);
    const ipCtx = ipv4Context((ctx & IP) !== 0, (ctx & VERSION) !== 0);
    return ipCtx >= 0 ? { type: 'IP_ADDRESS', start, end, score: clamp01(ip + ipCtx) } : null;
  }
  const ssn = ssnScore(run);
  if (ssn > 0) {
    ctx = flagsAround(lower, start, end, CONTEXT);
    const score = clamp01(ssn + (ctx & SSN ? 0.35 : 0) - negativeOf(ctx));
    if (score >= 0.3) return { type: 'US_SSN', start, end, score };
  }
  const card = cardScore(run);
  if (card > 0) {
    if (ctx < 0) ctx = flagsAround(lower, start, end, CONTEXT);
    const score = clamp01(card + (ctx & CARD ? 0.3 : 0) - negativeOf(ctx));
    // A twelve-digit run without card context may still be a phone number.
    if (run.digits.length >= 13 || score >= input.minScore) return { type: 'CREDIT_CARD', start, end, score };
  }
  const raw = text.slice(start, end);
  if (!phoneMayScore(run, raw) || followedByTime(text, end) || afterUnitWord(text, start)) return undefined;
  if (ctx < 0) ctx = flagsAround(lower, start, end, CONTEXT);
  const negative = negativeOf(ctx);
  const hasCtx = (ctx & PHONE) !== 0;
  const phoneCtx = hasCtx ? 0.35 : 0;
  const phone = phoneScore(run, raw, input.phone, phoneCtx - negative - input.minScore, hasCtx);
  return phone > 0 ? { type: 'PHONE', start, end, score: clamp01(phone + phoneCtx - negative) } : undefined;
}

/** One space, "-", "." or no-break space: how the digit groups of one number are joined. */
function isJoin(sep: string): boolean {
  return sep.length === 1 && (sep === ' ' || sep === '-' || sep === '.' || sep === '\u00a0');
}

/**
 * A national phone number in a longer run is believed only when it is set apart from the rest
 * ("020 7946 0958 / 07700 900123"): with the plain joins of one number on both sides, "4111 1111"
 * of a mistyped card would be one. An international one ("+1 415 555 2671 2") carries its proof.
 */
function phonePartStandsApart(text: string, spans: readonly number[], from: number, to: number, plus: boolean): boolean {
  if (from === 0 && plus) return true;
  const g = spans.length / 2;
  if (from > 0 && isJoin(text.slice(spans[2 * from - 1] ?? 0, spans[2 * from] ?? 0))) return false;
  return to >= g || !isJoin(text.slice(spans[2 * to - 1] ?? 0, spans[2 * to] ?? 0));
}

/** Parts of one run tried per call at most: enough for any real message, bounded for hostile ones. */
const PART_BUDGET = 2000;

/**
 * A run no shape fits as a whole may hold one that fits a part of it: a card followed by its
 * security code or expiry ("4111 1111 1111 1111 123", "… 12/26"), two numbers written side by
 * side ("020 7946 0958 / 07700 900123"), a phone number with a stray digit. From each group on,
 * the longest run of whole groups that is a card or phone number is taken, and the search goes on
 * after it. Parts are whole digit groups: a number is never cut inside a group.
 */
function classifyParts(input: ScanInput, run: NumberRun, budget: { left: number }, out: Finding[]): void {
  const { text } = input;
  const spans = groupSpans(text, run);
  const g = spans.length / 2;
  const lengths = run.groups;
  // No part of fewer than 13 digits can be a card, and none set apart can be a phone number: done.
  if (run.digits.length < 13 && !run.plus && !hasApartBoundary(text, spans)) return;
  for (let from = 0; from < g - 1 && budget.left > 0; ) {
    let digits = 0;
    let to = from;
    // The longest window of at most 19 digits starting at this group…
    while (to < g && digits + (lengths[to] ?? 0) <= 19) digits += lengths[to++] ?? 0;
    let found: Finding | undefined;
    // …then shorter ones, down to 7 digits; never the whole run (it was tried).
    for (; to > from && digits >= 7 && budget.left > 0; digits -= lengths[--to] ?? 0) {
      if (from === 0 && to === g) continue;
      const apart = phonePartStandsApart(text, spans, from, to, run.plus);
      // Neither a card (12 digits or more, starting 2 to 6 as the payment networks' do) nor a phone
      // number that would be taken.
      if (!apart && (digits < 12 || !mayStartCard(text.charCodeAt(spans[2 * from] ?? 0)))) continue;
      budget.left--;
      const part = partOfRun(text, run, spans, from, to);
      if (isNumericDate(part)) continue;
      const f = classify(input, part);
      if (f && (f.type === 'CREDIT_CARD' || (f.type === 'PHONE' && apart))) {
        found = f;
        break;
      }
    }
    if (found) {
      out.push(found);
      from = to;
    } else from++;
  }
}

/** Payment networks' numbers start with 2 to 6 (Mastercard 2 and 5, Amex, Diners and JCB 3, Visa 4, Discover and UnionPay 6). */
function mayStartCard(c: number): boolean {
  return c >= 50 && c <= 54;
}

/** Whether any two neighbouring groups of the run are set apart by more than a plain join. */
function hasApartBoundary(text: string, spans: readonly number[]): boolean {
  for (let k = 1; k < spans.length / 2; k++) if (!isJoin(text.slice(spans[2 * k - 1] ?? 0, spans[2 * k] ?? 0))) return true;
  return false;
}

export function recognizeNumbers(input: ScanInput, out: Finding[]): void {
  const { text, lower } = input;
  const budget = { left: PART_BUDGET };
  for (const run of scanNumberRuns(text, input.scan.digitRuns, 6)) {
    const { start, end } = run;
    if (run.digits.length < 7 && run.groups.length < 3) continue;
    if (isNumericDate(run)) {
      if (dobContext(lower, start, end)) out.push({ type: 'DATE_OF_BIRTH', start, end, score: 0.85 });
      continue;
    }
    if (afterCurrency(text, start)) continue;
    const found = classify(input, run);
    if (found) out.push(found);
    else if (found === undefined && run.groups.length >= 2 && run.digits.length >= 8) classifyParts(input, run, budget, out);
  }
}
