/**
 * Phone numbering plans compiled once from libphonenumber's metadata into plain regular
 * expressions: a number is valid in a region when its national significant number matches the
 * region's general pattern and one of its number-type patterns. Checking a digit string costs a
 * few regex tests, with no parsing or object allocation per call.
 */
import { Metadata, type CountryCode } from 'libphonenumber-js/max';

export interface PhonePlan {
  region: string;
  lengths: ReadonlySet<number>;
  /** "^(?:national prefix for parsing)", when the region has a national (trunk) prefix. */
  prefix: RegExp | undefined;
  /** The prefix itself when it is a plain digit string ("0", "06"): checked without the regex. */
  prefixDigits: string | undefined;
  nsn: RegExp;
  /** Union of the number-type patterns (fixed line, mobile, toll free, ...). */
  types: RegExp;
}

const TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'] as const;

/** Run-time accessors of the selected numbering plan that the published typings leave out. */
interface PlanAccess {
  possibleLengths: () => number[] | undefined;
  nationalPrefixForParsing: () => string | undefined;
  nationalNumberPattern: () => string;
  type: (t: string) => { pattern: () => string } | undefined;
}

function compile(meta: Metadata, region: string): PhonePlan {
  meta.selectNumberingPlan(region as CountryCode);
  const plan = meta.numberingPlan as unknown as PlanAccess;
  const npfp = plan.nationalPrefixForParsing();
  const typePatterns = TYPES.map((t) => plan.type(t)?.pattern() ?? '').filter((p) => p !== '');
  return {
    region,
    lengths: new Set(plan.possibleLengths() ?? []),
    prefix: npfp ? new RegExp(`^(?:${npfp})`) : undefined,
    prefixDigits: npfp && /^\d+$/.test(npfp) ? npfp : undefined,
    nsn: new RegExp(`^(?:${plan.nationalNumberPattern()})$`),
    types: new RegExp(`^(?:${typePatterns.map((p) => `(?:${p})`).join('|') || '(?!)'})$`),
  };
}

const byRegion = new Map<string, PhonePlan>();
const byCallingCode = new Map<string, PhonePlan[]>();
let meta: Metadata | undefined;

function metadata(): Metadata {
  meta ??= new Metadata();
  return meta;
}

export function planFor(region: string): PhonePlan {
  let p = byRegion.get(region);
  if (!p) byRegion.set(region, (p = compile(metadata(), region)));
  return p;
}

/** Plans sharing a country calling code ("1" → US, CA, ...); empty when the code is unassigned. */
export function plansForCallingCode(code: string): readonly PhonePlan[] {
  let list = byCallingCode.get(code);
  if (!list) {
    const m = metadata() as unknown as { getCountryCodesForCallingCode: (c: string) => string[] | undefined };
    list = (m.getCountryCodesForCallingCode(code) ?? []).map(planFor);
    byCallingCode.set(code, list);
  }
  return list;
}

/** True when a national significant number is a valid number of the plan. */
export function nsnValid(plan: PhonePlan, nsn: string): boolean {
  return plan.lengths.has(nsn.length) && plan.nsn.test(nsn) && plan.types.test(nsn);
}

/** A number as dialled inside the region, with or without its trunk prefix. */
export function nationalValid(plan: PhonePlan, digits: string): boolean {
  if (nsnValid(plan, digits)) return true;
  if (plan.prefixDigits !== undefined) {
    const k = plan.prefixDigits.length;
    return digits.startsWith(plan.prefixDigits) && plan.lengths.has(digits.length - k) && nsnValid(plan, digits.slice(k));
  }
  const m = plan.prefix?.exec(digits);
  return m !== null && m !== undefined && m[0].length > 0 && nsnValid(plan, digits.slice(m[0].length));
}

export type IntlCheck = 'valid' | 'possible' | 'invalid';

/** "+<country code><number>": valid, of a possible length only, or not a number at all. */
export function internationalCheck(digits: string): IntlCheck {
  let best: IntlCheck = 'invalid';
  for (let cc = 1; cc <= 3 && cc < digits.length; cc++) {
    const plans = plansForCallingCode(digits.slice(0, cc));
    if (plans.length === 0) continue;
    let nsn = digits.slice(cc);
    for (const p of plans) {
      if (nsnValid(p, nsn)) return 'valid';
      if (p.lengths.has(nsn.length)) best = 'possible';
    }
    // "+44 (0)20 ...": a trunk prefix written after the country code.
    if (nsn.startsWith('0')) {
      nsn = nsn.slice(1);
      for (const p of plans) if (nsnValid(p, nsn)) return 'valid';
    }
    break;
  }
  return best;
}
