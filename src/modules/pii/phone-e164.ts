/**
 * A fast, exact shortcut for the E.164 form of "+<digits>" written with ordinary separators.
 * libphonenumber parses such a number as calling code + national number and changes the digits
 * only when it strips a national (trunk) prefix after the calling code ("+44 (0)20 ..."): when
 * the main plan of the calling code has no prefix pattern, or it matches nothing (or only the
 * empty string) at the start of the national number, its result is "+" and the digits whether the number is valid
 * or not, and the full parse (tens of microseconds) can be skipped. Anything else returns
 * undefined and the caller asks libphonenumber.
 */
import { Metadata } from 'libphonenumber-js/max';

/** "+", then only ASCII digits, spaces, dots, dashes and parentheses: no extension, no letters. */
const PLAIN_PLUS_RE = /^\+[0-9 ().-]{1,60}$/;
const MAX_CALLING_CODE = 3;

let meta: Metadata | undefined;
/** Calling code → "^(?:national prefix for parsing)" of its main plan, or null when it has none. */
const prefixByCallingCode = new Map<string, RegExp | null>();

interface PlanAccess {
  hasCallingCode: (code: string) => boolean;
  selectNumberingPlan: (code: string) => void;
  numberingPlan: { nationalPrefixForParsing: () => string | undefined };
}

function nationalPrefix(code: string): RegExp | null | undefined {
  if (prefixByCallingCode.has(code)) return prefixByCallingCode.get(code);
  meta ??= new Metadata();
  const m = meta as unknown as PlanAccess;
  if (!m.hasCallingCode(code)) return undefined;
  m.selectNumberingPlan(code);
  const npfp = m.numberingPlan.nationalPrefixForParsing();
  const re = npfp ? new RegExp(`^(?:${npfp})`) : null;
  prefixByCallingCode.set(code, re);
  return re;
}

/** "+" and the digits when libphonenumber would return exactly that; undefined when unsure. */
export function plainE164(value: string): string | undefined {
  if (!PLAIN_PLUS_RE.test(value)) return undefined;
  const digits = value.replace(/\D/g, '');
  // No calling code starts with 0: libphonenumber rejects the number and keeps the digits.
  if (digits.length === 0 || digits[0] === '0') return '+' + digits;
  for (let len = 1; len <= MAX_CALLING_CODE && len <= digits.length; len++) {
    const prefix = nationalPrefix(digits.slice(0, len));
    if (prefix === undefined) continue;
    // An empty match (Argentina's prefix pattern is all optional) strips nothing either.
    const stripped = prefix?.exec(digits.slice(len));
    return stripped && stripped[0] !== '' ? undefined : '+' + digits;
  }
  // No calling code matches: not a number, so the digits stay as they are.
  return '+' + digits;
}
