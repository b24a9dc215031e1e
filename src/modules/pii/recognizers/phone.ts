/**
 * Phone numbers. International forms are validated directly; a number written without a country
 * code counts when it is valid in at least one region on a plausibility list. Each region check
 * spends from a shared budget so an input full of digit runs cannot become slow.
 */
import { Metadata, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { NumberRun } from '../number-runs.ts';

const REGIONS: readonly CountryCode[] = [
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

function validInternational(digits: string, budget: { phoneChecks: number }): boolean {
  if (budget.phoneChecks <= 0) return digits.length >= 8;
  budget.phoneChecks--;
  return parsePhoneNumberFromString('+' + digits)?.isValid() === true;
}

interface Plan { region: CountryCode; lengths: ReadonlySet<number>; prefix: string; nsn: RegExp }
let plans: Plan[] | undefined;

/** Possible national lengths per region, read once from the metadata: a cheap filter before parsing. */
function regionPlans(): Plan[] {
  if (plans) return plans;
  const meta = new Metadata();
  plans = REGIONS.map((region) => {
    meta.selectNumberingPlan(region);
    // These two accessors exist at run time but are missing from the published typings.
    const plan = meta.numberingPlan as (typeof meta.numberingPlan & { nationalPrefixForParsing: () => string | undefined; nationalNumberPattern: () => string }) | undefined;
    const prefix = plan?.nationalPrefixForParsing() ?? '';
    const pattern = plan?.nationalNumberPattern() ?? '\\d+';
    return { region, lengths: new Set(plan?.possibleLengths() ?? []), prefix: /^\d{1,3}$/.test(prefix) ? prefix : '', nsn: new RegExp(`^(?:${pattern})$`) };
  });
  return plans;
}

/** True when the run is a valid number somewhere plausible; stops at the first region that agrees. */
function validNational(digits: string, budget: { phoneChecks: number }): boolean {
  for (const { region: r, lengths, prefix, nsn } of regionPlans()) {
    // The region's general number pattern is a cheap necessary condition; the full parse confirms.
    const stripped = prefix !== '' && digits.startsWith(prefix) ? digits.slice(prefix.length) : '';
    const fits = (lengths.has(digits.length) && nsn.test(digits)) || (stripped !== '' && lengths.has(stripped.length) && nsn.test(stripped));
    if (!fits) continue;
    if (budget.phoneChecks <= 0) return digits.length >= 8 && digits.length <= 12;
    budget.phoneChecks--;
    if (parsePhoneNumberFromString(digits, r)?.isValid() === true) return true;
  }
  return false;
}

/** Base score before context, or 0 when the run cannot be a phone number. */
export function phoneScore(run: NumberRun, raw: string, budget: { phoneChecks: number }, ceiling: number): number {
  const d = run.digits;
  if (d.length < 7 || d.length > 15) return 0;
  if (run.plus) return validInternational(d, budget) ? 0.85 : 0;
  if (/^(\d)\1+$/.test(d)) return 0;
  if (d.startsWith('00') && d.length >= 10 && validInternational(d.slice(2), budget)) return 0.75;
  if (d.startsWith('011') && d.length >= 11 && validInternational(d.slice(3), budget)) return 0.7;
  const grouped = run.groups.length >= 2;
  // Separators other than space, dash, dot and a parenthesised area code are not phone style.
  if (/[/]/.test(run.seps) && !raw.includes('(')) return 0;
  const base = raw.startsWith('(') ? 0.6 : grouped ? 0.5 : 0.3;
  // Skip the costly region checks when context could not lift the run over the threshold anyway.
  if (base + ceiling < 0) return 0;
  return validNational(d, budget) ? base : 0;
}
