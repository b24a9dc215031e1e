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

export function recognizeNumbers(input: ScanInput, out: Finding[]): void {
  const { text, lower } = input;
  for (const run of scanNumberRuns(text)) {
    const { start, end } = run;
    if (run.digits.length < 7 && run.groups.length < 3) continue;
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
      out.push({ type: 'CREDIT_CARD', start, end, score: clamp01(card + (hasAnyWord(words, CARD_CONTEXT) ? 0.3 : 0) - negative) });
      continue;
    }
    const ctx = hasAnyWord(words, PHONE_CONTEXT) ? 0.35 : 0;
    const phone = phoneScore(run, raw, input.budget, ctx - negative - input.minScore);
    if (phone > 0) {
      out.push({ type: 'PHONE', start, end, score: clamp01(phone + ctx - negative) });
    }
  }
}
