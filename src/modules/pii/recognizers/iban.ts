/** IBANs, compact or in groups of four: mod-97 here, then country length and structure as ibantools decides them. */
import type { Finding, ScanInput } from '../types.ts';
import { ibanValidGivenMod97 } from './iban-check.ts';
import { clamp01, phraseSet, windowHas } from '../context.ts';

/** Sticky at a candidate (two letters, two digits) that no letter or digit precedes. */
const IBAN_RE = /[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![A-Za-z0-9])/iy;
/** Letters all upper-case or all lower-case: "gb82west1234..." counts, "Ab12CdEf..." does not. */
const MIXED_CASE_RE = /[a-z][^a-z]*[A-Z]|[A-Z][^A-Z]*[a-z]/;
const CONTEXT = phraseSet(['iban', 'bank', 'account', 'transfer', 'konto', 'überweis', 'compte', 'virement', 'cuenta', 'transferencia', 'sepa']);

function digitValue(c: number): number {
  return c <= 57 ? c - 48 : c - 55;
}

function step97(r: number, c: number): number {
  const v = digitValue(c);
  return v > 9 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
}

/**
 * Scratch for prefixMod97(), shared by all calls (a typed array per IBAN shape cost more than the
 * arithmetic). Slot 4 is never written, so it stays 0; IBAN_RE caps a compact shape at 36 characters.
 */
const BODY = new Int32Array(64);

/**
 * mod97 (ISO 13616: the first four characters moved to the end, letters as two digits) of every
 * prefix of a compact IBAN: one pass over the body, then four steps per prefix, instead of one
 * pass per prefix when a trailing group has to be cut off. The result is valid until the next call.
 */
function prefixMod97(compact: string): (length: number) => number {
  const body = compact.length < BODY.length ? BODY : new Int32Array(compact.length + 1);
  for (let i = 4; i < compact.length; i++) body[i + 1] = step97(body[i] ?? 0, compact.charCodeAt(i));
  return (length) => {
    let r = body[length] ?? 0;
    for (let i = 0; i < 4; i++) r = step97(r, compact.charCodeAt(i));
    return r;
  };
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * IBAN-shaped strings, as a global search of (?<![A-Za-z0-9])IBAN_RE would find them. An IBAN
 * opens with two letters and two digits, so it starts two letters before a digit run of TextScan.
 */
function ibanShapes(text: string, digitRuns: readonly number[]): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  let floor = 0;
  for (let k = 0; k < digitRuns.length; k += 2) {
    const s = digitRuns[k] ?? 0;
    if (s < 2 || (digitRuns[k + 1] ?? 0) - s < 2 || !isAsciiLetter(text.charCodeAt(s - 1)) || !isAsciiLetter(text.charCodeAt(s - 2))) continue;
    const at = s - 2;
    if (at < floor || (at > 0 && isAlnum(text.charCodeAt(at - 1)))) continue;
    IBAN_RE.lastIndex = at;
    const m = IBAN_RE.exec(text);
    if (!m) continue;
    found.push(m);
    floor = at + m[0].length;
  }
  return found;
}

/** Compact lengths to try, longest first: the whole match, then cut before each space from the right. */
function candidateLengths(shape: string): number[] {
  const lengths: number[] = [];
  let spaces = 0;
  for (let i = 0; i < shape.length; i++) {
    if (shape.charCodeAt(i) !== 32) continue;
    if (i >= 4) lengths.push(i - spaces);
    spaces++;
  }
  lengths.push(shape.length - spaces);
  return lengths.reverse();
}

export function recognizeIban({ text, lower, scan }: ScanInput, out: Finding[]): void {
  for (const m of ibanShapes(text, scan.digitRuns)) {
    // Try the longest group-aligned prefix first: a trailing word ("BIC") may have been swallowed.
    const shape = m[0];
    if (MIXED_CASE_RE.test(shape)) continue;
    const compact = shape.replace(/ /g, '').toUpperCase();
    const mod97 = prefixMod97(compact);
    for (const length of candidateLengths(shape)) {
      if (length < 15 || mod97(length) !== 1 || !ibanValidGivenMod97(compact.slice(0, length))) continue;
      // The span ends after the length-th non-space character of the shape.
      let end = 0;
      for (let n = 0; n < length; end++) if (shape.charCodeAt(end) !== 32) n++;
      const ctx = windowHas(lower, m.index, m.index + end, CONTEXT) ? 0.1 : 0;
      out.push({ type: 'IBAN', start: m.index, end: m.index + end, score: clamp01(0.9 + ctx) });
      break;
    }
  }
}
