/** IBANs, compact or in groups of four: country length and mod-97 checked by ibantools. */
import { ValidationErrorsIBAN, validateIBAN } from 'ibantools';

/** Country length, structure and mod-97 must hold; a failed national check digit alone still counts (fail closed). */
function ibanValid(compact: string): boolean {
  const { errorCodes } = validateIBAN(compact);
  return errorCodes.every((e) => e === ValidationErrorsIBAN.WrongAccountBankBranchChecksum);
}
import type { Finding, ScanInput } from '../types.ts';
import { clamp01, windowHas } from '../context.ts';

const IBAN_RE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![A-Za-z0-9])/gi;
/** Letters all upper-case or all lower-case: "gb82west1234..." counts, "Ab12CdEf..." does not. */
const MIXED_CASE_RE = /[a-z][^a-z]*[A-Z]|[A-Z][^A-Z]*[a-z]/;
const CONTEXT = ['iban', 'bank', 'account', 'transfer', 'konto', 'überweis', 'compte', 'virement', 'cuenta', 'transferencia', 'sepa'];

function mod97(iban: string): number {
  const s = iban.slice(4) + iban.slice(0, 4);
  let r = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c <= 57 ? c - 48 : c - 55;
    r = v > 9 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}

export function recognizeIban({ text, lower }: ScanInput, out: Finding[]): void {
  IBAN_RE.lastIndex = 0;
  for (let m = IBAN_RE.exec(text); m; m = IBAN_RE.exec(text)) {
    // Try the longest group-aligned prefix first: a trailing word ("BIC") may have been swallowed.
    let s = m[0];
    if (MIXED_CASE_RE.test(s)) continue;
    for (;;) {
      const compact = s.replace(/ /g, '').toUpperCase();
      if (compact.length >= 15 && mod97(compact) === 1 && ibanValid(compact)) {
        const ctx = windowHas(lower, m.index, m.index + s.length, CONTEXT) ? 0.1 : 0;
        out.push({ type: 'IBAN', start: m.index, end: m.index + s.length, score: clamp01(0.9 + ctx) });
        break;
      }
      const cut = s.lastIndexOf(' ');
      if (cut < 4) break;
      s = s.slice(0, cut);
    }
  }
}
