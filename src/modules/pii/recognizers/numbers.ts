/** Classifies each number run once: date, SSN, IPv4, payment card or phone, in that order. */
import { scanNumberRuns } from '../number-runs.ts';
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

export function recognizeNumbers(input: ScanInput, out: Finding[]): void {
  const { text, lower } = input;
  for (const run of scanNumberRuns(text, input.scan.digitRuns, 6)) {
    const { start, end } = run;
    if (run.digits.length < 7 && run.groups.length < 3) continue;
    if (isNumericDate(run)) {
      if (dobContext(lower, start, end)) out.push({ type: 'DATE_OF_BIRTH', start, end, score: 0.85 });
      continue;
    }
    if (afterCurrency(text, start)) continue;
    // Context words are read only once some shape could use them (many runs are rejected first).
    let ctx = -1;

    const ip = ipv4Score(run, text);
    if (ip > 0) {
      ctx = flagsAround(lower, start, end, CONTEXT);
      const ipCtx = ipv4Context((ctx & IP) !== 0, (ctx & VERSION) !== 0);
      if (ipCtx >= 0) out.push({ type: 'IP_ADDRESS', start, end, score: clamp01(ip + ipCtx) });
      continue;
    }
    const ssn = ssnScore(run);
    if (ssn > 0) {
      ctx = flagsAround(lower, start, end, CONTEXT);
      const score = clamp01(ssn + (ctx & SSN ? 0.35 : 0) - negativeOf(ctx));
      if (score >= 0.3) {
        out.push({ type: 'US_SSN', start, end, score });
        continue;
      }
    }
    const card = cardScore(run);
    if (card > 0) {
      if (ctx < 0) ctx = flagsAround(lower, start, end, CONTEXT);
      const score = clamp01(card + (ctx & CARD ? 0.3 : 0) - negativeOf(ctx));
      // A twelve-digit run without card context may still be a phone number.
      if (run.digits.length >= 13 || score >= input.minScore) {
        out.push({ type: 'CREDIT_CARD', start, end, score });
        continue;
      }
    }
    const raw = text.slice(start, end);
    if (!phoneMayScore(run, raw) || followedByTime(text, end) || afterUnitWord(text, start)) continue;
    if (ctx < 0) ctx = flagsAround(lower, start, end, CONTEXT);
    const negative = negativeOf(ctx);
    const hasCtx = (ctx & PHONE) !== 0;
    const phoneCtx = hasCtx ? 0.35 : 0;
    const phone = phoneScore(run, raw, input.phone, phoneCtx - negative - input.minScore, hasCtx);
    if (phone > 0) {
      out.push({ type: 'PHONE', start, end, score: clamp01(phone + phoneCtx - negative) });
    }
  }
}
