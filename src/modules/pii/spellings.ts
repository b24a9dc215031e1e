/**
 * The ways one identifier may have been written and stored, for finding it again (erasure): most
 * types have one canonical form (normalize.ts); a phone number given in international form was
 * perhaps written nationally, with or without the trunk prefix ("+44 20 7946 0958", "020 7946
 * 0958"). A national number given alone names no country, so it is looked for only as written.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { normalizeValue } from './normalize.ts';
import type { EntityType } from './policy.ts';

export function identifierSpellings(type: EntityType, value: string): string[] {
  const canonical = normalizeValue(type, value);
  if (type !== 'PHONE' || !canonical.startsWith('+')) return [canonical];
  const parsed = parsePhoneNumberFromString(canonical);
  if (!parsed?.isValid()) return [canonical];
  const national = parsed.formatNational().replace(/\D/g, '');
  // E.164, national with and without the trunk prefix, and the digits of the international form
  // written without "+" ("1 415 555 2671").
  return [...new Set([canonical, national, parsed.nationalNumber, `${parsed.countryCallingCode}${parsed.nationalNumber}`])];
}
