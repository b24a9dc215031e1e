/**
 * The ways one identifier may have been written and stored, for finding it again (erasure): most
 * types have one canonical form (normalize.ts). A phone number given in international form was
 * perhaps written without its "+" ("44 20 7946 0958"), or nationally ("020 7946 0958"): a national
 * spelling names no country, so another country's number may share its digits (it is marked, and
 * the erasure asks for confirmation). The national number without its trunk prefix is not looked
 * for: nobody writes "20 7946 0958" for a London number, while "(207) 946-0958" is an American
 * one. A national number given alone names no country and is looked for only as written.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { normalizeValue } from './normalize.ts';
import type { EntityType } from './policy.ts';

export interface Spelling {
  value: string;
  /** A national phone number: it may be another country's number too. */
  national: boolean;
}

export function identifierSpellings(type: EntityType, value: string): Spelling[] {
  const canonical = normalizeValue(type, value);
  const only = [{ value: canonical, national: false }];
  if (type !== 'PHONE' || !canonical.startsWith('+')) return only;
  const parsed = parsePhoneNumberFromString(canonical);
  if (!parsed?.isValid()) return only;
  const international = `${parsed.countryCallingCode}${parsed.nationalNumber}`;
  const national = parsed.formatNational().replace(/\D/g, '');
  return [...only, { value: international, national: false }, ...(national === international ? [] : [{ value: national, national: true }])];
}
