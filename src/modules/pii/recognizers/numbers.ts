/** Classifies each number run once: date, SSN, IPv4, payment card or phone, in that order. */
import { scanNumberRuns } from '../number-runs.ts';
import type { Finding, ScanInput } from '../types.ts';
import { NEGATIVE_NUMBER_WORDS, clamp01, hasAnyWord, wordsAround } from '../context.ts';
import { CARD_CONTEXT, cardScore } from './card.ts';
import { SSN_CONTEXT, ssnScore } from './ssn.ts';
import { ipv4Context, ipv4Score } from './ip.ts';
import { PHONE_CONTEXT, phoneScore } from './phone.ts';
import { dobContext, isNumericDate } from './dob.ts';

const CURRENCY = /[$€£¥₹]\s?$/;
/** The word right before a run that makes it a house, unit or box number ("Suite 541 6343"). */
const UNIT_WORD = /(?:^|[^\p{L}])(?:apt|apartment|suite|ste|unit|flat|room|floor|box|no|nr|bldg|building)\.?\s{1,2}#?$/iu;

/** "12:30" right after the run: the run ends in the hour of a time stamp. */
function followedByTime(text: string, end: number): boolean {
  const c = text.charCodeAt(end + 1);
  return text[end] === ':' && c >= 48 && c <= 57;
}

export function recognizeNumbers(input: ScanInput, out: Finding[]): void {
  const { text, lower } = input;
  for (const run of scanNumberRuns(text)) {
    const { start, end } = run;
    if (run.digits.length < 6 || (run.digits.length < 7 && run.groups.length < 3)) continue;
    if (isNumericDate(run)) {
      if (dobContext(lower, start, end)) out.push({ type: 'DATE_OF_BIRTH', start, end, score: 0.85 });
      continue;
    }
    if (CURRENCY.test(text.slice(Math.max(0, start - 2), start))) continue;
    const raw = text.slice(start, end);
    const words = wordsAround(lower, start, end);
    const negative = hasAnyWord(words, NEGATIVE_NUMBER_WORDS) ? 0.45 : 0;

    const ip = ipv4Score(run, text);
    if (ip > 0) {
      const ctx = ipv4Context(words);
      if (ctx >= 0) out.push({ type: 'IP_ADDRESS', start, end, score: clamp01(ip + ctx) });
      continue;
    }
    const ssn = ssnScore(run);
    if (ssn > 0) {
      const score = clamp01(ssn + (hasAnyWord(words, SSN_CONTEXT) ? 0.35 : 0) - negative);
      if (score >= 0.3) {
        out.push({ type: 'US_SSN', start, end, score });
        continue;
      }
    }
    const card = cardScore(run);
    if (card > 0) {
      const score = clamp01(card + (hasAnyWord(words, CARD_CONTEXT) ? 0.3 : 0) - negative);
      // A twelve-digit run without card context may still be a phone number.
      if (run.digits.length >= 13 || score >= input.minScore) {
        out.push({ type: 'CREDIT_CARD', start, end, score });
        continue;
      }
    }
    if (followedByTime(text, end) || UNIT_WORD.test(text.slice(Math.max(0, start - 14), start))) continue;
    const hasCtx = hasAnyWord(words, PHONE_CONTEXT);
    const ctx = hasCtx ? 0.35 : 0;
    const phone = phoneScore(run, raw, input.phone, ctx - negative - input.minScore, hasCtx);
    if (phone > 0) {
      out.push({ type: 'PHONE', start, end, score: clamp01(phone + ctx - negative) });
    }
  }
}
