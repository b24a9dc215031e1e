/**
 * Phone numbers. International forms ("+", "00", "011") are checked against the calling code's
 * plans; a number written without a country code must first look like a phone number (digit
 * grouping, no date or time shape) and then be valid in at least one region on a plausibility
 * list. Results are cached per digit string within one call, and the number of distinct strings
 * checked is bounded by a shared budget so no input can become slow.
 */
import type { NumberRun } from '../number-runs.ts';
import type { PhoneChecks } from '../types.ts';
import { internationalCheck, nationalValid, planFor, type IntlCheck, type PhonePlan } from '../phone-plans.ts';
import { phoneShapeOk } from './phone-shape.ts';

const REGIONS: readonly string[] = [
  'US', 'GB', 'DE', 'FR', 'ES', 'IT', 'NL', 'BE', 'CH', 'AT', 'SE', 'NO', 'DK', 'FI', 'IS', 'PL',
  'PT', 'IE', 'AU', 'NZ', 'CA', 'ZA', 'BR', 'MX', 'AR', 'IN', 'HU', 'CZ', 'SK', 'GR', 'CY', 'RO',
  'HR', 'SI', 'EE', 'LV', 'LT', 'LU', 'GL', 'JP', 'RU', 'UA', 'TR', 'IL', 'SG', 'HK', 'PH', 'CO',
];

export const PHONE_CONTEXT: ReadonlySet<string> = new Set([
  'phone', 'tel', 'telephone', 'call', 'mobile', 'cell', 'fax', 'desk', 'office', 'whatsapp', 'sms',
  'text', 'reach', 'ring', 'dial', 'contact', 'number', 'landline', 'home', 'work', 'answering',
  'telefon', 'handy', 'mobil', 'anrufen', 'rufnummer', 'telefonnummer', 'erreichbar', 'festnetz',
  'téléphone', 'portable', 'appeler', 'appelez', 'numéro', 'joindre', 'teléfono', 'móvil', 'celular',
  'llamar', 'llámame', 'llame', 'número', 'telf', 'tlf', 'mob', 'ph', 'rufen', 'ruf', 'erreichen', 'rückruf', 'rappeler', 'llamen',
]);

/** The plans of REGIONS, compiled on first use. */
let plans: PhonePlan[] | undefined;
/** By digit count, the plans under which a number of that many digits could be valid (see nationalValid). */
const plansByLength = new Map<number, readonly PhonePlan[]>();

function mayBeValidNationally(plan: PhonePlan, length: number): boolean {
  if (plan.lengths.has(length)) return true;
  if (plan.prefixDigits !== undefined) return plan.lengths.has(length - plan.prefixDigits.length);
  // A trunk prefix given as a pattern may have any length.
  return plan.prefix !== undefined;
}

function plansForLength(length: number): readonly PhonePlan[] {
  let list = plansByLength.get(length);
  if (!list) {
    plans ??= REGIONS.map(planFor);
    list = plans.filter((plan) => mayBeValidNationally(plan, length));
    plansByLength.set(length, list);
  }
  return list;
}

export function newPhoneChecks(budget: number): PhoneChecks {
  return { left: budget, intl: new Map(), national: new Map() };
}

function intl(digits: string, checks: PhoneChecks): IntlCheck {
  let r = checks.intl.get(digits);
  if (r !== undefined) return r;
  if (checks.left <= 0) return digits.length >= 8 ? 'possible' : 'invalid';
  checks.left--;
  r = internationalCheck(digits);
  checks.intl.set(digits, r);
  return r;
}

function national(digits: string, checks: PhoneChecks): boolean {
  let r = checks.national.get(digits);
  if (r !== undefined) return r;
  if (checks.left <= 0) return digits.length >= 8 && digits.length <= 12;
  checks.left--;
  r = false;
  for (const plan of plansForLength(digits.length)) {
    if (nationalValid(plan, digits)) {
      r = true;
      break;
    }
  }
  checks.national.set(digits, r);
  return r;
}

/** The digits with an "(0)" trunk prefix written after the country code removed. */
function intlDigits(run: NumberRun, raw: string): string {
  const i = raw.indexOf('(0)');
  if (i < 0) return run.digits;
  const before = raw.slice(0, i).replace(/\D/g, '').length;
  return run.digits.slice(0, before) + run.digits.slice(before + 1);
}

/** False when phoneScore() is 0 whatever the context: lets the caller skip reading the context. */
export function phoneMayScore(run: NumberRun, raw: string): boolean {
  const d = run.digits;
  if (d.length > 15) return false;
  if (d.length < 7) return d.length === 6 && !run.plus && run.groups.length === 3 && run.groups.every((g) => g === 2);
  if (/^(\d)\1+$/.test(d)) return false;
  return run.plus || (d.length >= 10 && (d.startsWith('00') || d.startsWith('011'))) || phoneShapeOk(run, raw);
}

/**
 * Base score before context, or 0 when the run cannot be a phone number. `ceiling` is the most
 * that context could still add: when even that cannot reach the threshold, validation is skipped.
 */
export function phoneScore(run: NumberRun, raw: string, checks: PhoneChecks, ceiling: number, hasContext: boolean): number {
  const d = run.digits;
  if (d.length > 15) return 0;
  if (d.length < 7) return d.length === 6 && hasContext && !run.plus && run.groups.length === 3 && run.groups.every((g) => g === 2) ? 0.25 : 0;
  if (/^(\d)\1+$/.test(d)) return 0;
  if (run.plus) {
    const r = intl(intlDigits(run, raw), checks);
    return r === 'valid' ? 0.85 : r === 'possible' && run.groups.length >= 2 ? 0.6 : 0;
  }
  const grouped = run.groups.length >= 2;
  for (const [prefix, score] of [['00', 0.75], ['011', 0.7]] as const) {
    if (d.startsWith(prefix) && d.length >= 10) {
      const r = intl(d.slice(prefix.length), checks);
      if (r === 'valid') return score;
      if (r === 'possible' && grouped && (run.groups[0] ?? 0) === prefix.length) return score - 0.15;
    }
  }
  if (!phoneShapeOk(run, raw)) return 0;
  const base = raw.startsWith('(') ? 0.6 : grouped ? 0.5 : 0.3;
  // Skip the region checks when context could not lift the run over the threshold anyway.
  if (base + ceiling < 0) return 0;
  return national(d, checks) ? base : 0;
}
