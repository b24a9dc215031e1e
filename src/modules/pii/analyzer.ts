/** analyze(): runs every recogniser over the text once, scores, filters and resolves overlaps. */
import type { EntityType } from './policy.ts';
import type { Finding, Recognizer, ScanInput } from './types.ts';
import { resolveOverlaps } from './overlaps.ts';
import { scanText } from './text-scan.ts';
import { recognizeNumbers } from './recognizers/numbers.ts';
import { newPhoneChecks } from './recognizers/phone.ts';
import { recognizeEmail } from './recognizers/email.ts';
import { recognizeIban } from './recognizers/iban.ts';
import { recognizeIpv6 } from './recognizers/ip.ts';
import { recognizeUrlCredentials } from './recognizers/url-credentials.ts';
import { recognizeSecrets } from './recognizers/secret.ts';
import { recognizeCryptoWallets } from './recognizers/crypto-wallet.ts';
import { recognizeTextDob } from './recognizers/dob.ts';
import { recognizePassport } from './recognizers/passport.ts';
import { recognizePersons } from './recognizers/person.ts';
import { recognizeAddresses } from './recognizers/address.ts';

export interface AnalyzeOptions {
  /** Findings scoring below this are dropped (default 0.5). */
  minScore?: number;
  /** Only these types are reported (default: all). */
  types?: readonly EntityType[];
}

export const RECOGNIZERS: readonly Recognizer[] = [
  recognizeNumbers, recognizeEmail, recognizeIban, recognizeIpv6, recognizeUrlCredentials, recognizeSecrets,
  recognizeCryptoWallets, recognizeTextDob, recognizePassport, recognizePersons, recognizeAddresses,
];

/** Phone metadata look-ups allowed per call: enough for any real message, bounded for hostile ones. */
const PHONE_CHECK_BUDGET = 2500;

/** One code point lower-cased, or kept when lower-casing would change its length. */
function lowerCodePoint(c: string): string {
  const l = c.toLowerCase();
  return l.length === c.length ? l : c;
}

/**
 * Lower-cases code point by code point, keeping those whose lower case has another length, so
 * offsets stay valid. ASCII runs are lower-cased in one go (same result, no per-character work).
 */
function lowerKeepingOffsets(text: string): string {
  return text.replace(/[A-Z]+|[^\0-\x7f]+/g, (run) => (run.charCodeAt(0) < 128 ? run.toLowerCase() : [...run].map(lowerCodePoint).join('')));
}

/** Everything the recognisers share for one text, computed once per call and never kept. */
export function scanInput(text: string, minScore: number): ScanInput {
  let lower = text.toLowerCase();
  // toLowerCase keeps UTF-16 offsets for the scripts we read except a few (e.g. "İ"); fall back if not.
  if (lower.length !== text.length) lower = lowerKeepingOffsets(text);
  return { text, lower, scan: scanText(text), phone: newPhoneChecks(PHONE_CHECK_BUDGET), minScore };
}

export function analyze(text: string, opts: AnalyzeOptions = {}): Finding[] {
  const minScore = opts.minScore ?? 0.5;
  const input = scanInput(text, minScore);
  const raw: Finding[] = [];
  for (const r of RECOGNIZERS) r(input, raw);
  const wanted = opts.types ? new Set(opts.types) : undefined;
  const kept = raw.filter((f) => f.score >= minScore && f.end > f.start && (!wanted || wanted.has(f.type)));
  // resolveOverlaps() returns copies, so rounding in place leaves the recognisers' findings alone.
  const resolved = resolveOverlaps(kept);
  for (const f of resolved) f.score = Math.round(f.score * 100) / 100;
  return resolved;
}
