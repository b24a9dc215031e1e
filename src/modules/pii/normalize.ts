/** Canonical forms of identifiers, so the same identifier hashes and tokenises the same way. */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { EntityType } from './policy.ts';
import { plainE164 } from './phone-e164.ts';

const WHITESPACE_RE = /\s/;

/** True when the only whitespace in v is single spaces, so collapsing /\s+/ to " " changes nothing. */
function singleSpaced(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 32) {
      if (v.charCodeAt(i + 1) === 32) return false;
    } else if (c < 33 || (c >= 128 && WHITESPACE_RE.test(v[i] ?? ''))) return false;
  }
  return true;
}

export function normalizeValue(type: EntityType, value: string): string {
  const v = value.trim();
  switch (type) {
    case 'EMAIL':
    case 'IP_ADDRESS':
      return v.toLowerCase();
    case 'PHONE': {
      if (v.startsWith('+')) {
        const fast = plainE164(v);
        if (fast !== undefined) return fast;
      }
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
      return (singleSpaced(v) ? v : v.replace(/\s+/g, ' ')).toLowerCase();
  }
}
