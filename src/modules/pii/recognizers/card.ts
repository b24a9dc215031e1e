/** Payment cards: 13–19 digits, Luhn-valid, card-like grouping; a known issuer prefix raises the score. */
import type { NumberRun } from '../number-runs.ts';

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

const BRANDS: readonly { re: RegExp; lengths: readonly number[] }[] = [
  { re: /^4/, lengths: [13, 16, 19] },
  { re: /^(5[1-5]|2[2-7])/, lengths: [16] },
  { re: /^3[47]/, lengths: [15] },
  { re: /^3(0[0-5]|[689])/, lengths: [14, 15, 16, 17, 18, 19] },
  { re: /^(6011|64[4-9]|65)/, lengths: [16, 17, 18, 19] },
  { re: /^35(2[89]|[3-8])/, lengths: [16, 17, 18, 19] },
  { re: /^62/, lengths: [16, 17, 18, 19] },
  { re: /^(5018|5020|5038|56|57|58|6304|6759|676[1-3])/, lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
];

const MAESTRO_RE = /^(?:5018|5020|5038|5[6-8]|6304|6759|676[1-3])/;

function cardGrouping(run: NumberRun): boolean {
  if (run.groups.length === 1) return true;
  if (/[^ -]/.test(run.seps)) return false;
  const [a, b, c] = run.groups;
  if (run.groups.length === 3 && a === 4 && b === 6 && (c === 5 || c === 4)) return true;
  for (let i = 0; i < run.groups.length - 1; i++) if (run.groups[i] !== 4) return false;
  return true;
}

/** Base score before context, or 0 when the run cannot be a card. */
export function cardScore(run: NumberRun): number {
  const d = run.digits;
  if (run.plus || d.length < 12 || d.length > 19 || !cardGrouping(run) || !luhnValid(d)) return 0;
  if (/^(\d)\1+$/.test(d)) return 0;
  // Twelve digits only for Maestro ranges, and then only with card context.
  if (d.length === 12) return MAESTRO_RE.test(d) ? 0.25 : 0;
  for (const b of BRANDS) if (b.re.test(d) && b.lengths.includes(d.length)) return 0.75;
  return 0.4;
}

export const CARD_CONTEXT: ReadonlySet<string> = new Set([
  'card', 'credit', 'debit', 'visa', 'mastercard', 'amex', 'cc', 'karte', 'kreditkarte', 'carte',
  'crédit', 'tarjeta', 'crédito', 'débito', 'cvv', 'expiry', 'pan', 'kartennummer', 'bancaire',
]);
