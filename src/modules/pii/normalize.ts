/** Canonical forms of identifiers, so the same identifier hashes and tokenises the same way. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { EntityType } from './policy.ts';

export function normalizeValue(type: EntityType, value: string): string {
  const v = value.trim();
  switch (type) {
    case 'EMAIL':
    case 'IP_ADDRESS':
      return v.toLowerCase();
    case 'PHONE': {
      const digits = v.replace(/\D/g, '');
      const intl = v.startsWith('+') ? v : digits.startsWith('00') ? '+' + digits.slice(2) : undefined;
      const parsed = intl ? parsePhoneNumberFromString(intl) : undefined;
      return parsed?.isValid() ? parsed.number : (v.startsWith('+') ? '+' : '') + digits;
    }
    case 'CREDIT_CARD':
    case 'US_SSN':
      return v.replace(/\D/g, '');
    case 'IBAN':
    case 'PASSPORT':
      return v.replace(/\s/g, '').toUpperCase();
    default:
      return v.replace(/\s+/g, ' ').toLowerCase();
  }
}
