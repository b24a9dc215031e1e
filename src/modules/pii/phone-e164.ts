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

/** At most this many characters may follow the "+" (as /^\+[0-9 ().-]{1,60}$/ allows). */
const MAX_BODY = 60;
const MAX_CALLING_CODE = 3;

let meta: Metadata | undefined;
/**
 * Calling code, as a number, → "^(?:national prefix for parsing)" of its main plan, null when it
 * has none, false when no country has the code. Keyed by number rather than by a cut-out string:
 * codes never start with 0, so the number stands for exactly one code.
 */
const prefixByCallingCode = new Map<number, RegExp | null | false>();

interface PlanAccess {
  hasCallingCode: (code: string) => boolean;
  selectNumberingPlan: (code: string) => void;
  numberingPlan: { nationalPrefixForParsing: () => string | undefined };
}

function nationalPrefix(digits: string, len: number, code: number): RegExp | null | undefined {
  const known = prefixByCallingCode.get(code);
  if (known !== undefined) return known === false ? undefined : known;
  meta ??= new Metadata();
  const m = meta as unknown as PlanAccess;
  const key = digits.slice(0, len);
  if (!m.hasCallingCode(key)) {
    prefixByCallingCode.set(code, false);
    return undefined;
  }
  m.selectNumberingPlan(key);
  const npfp = m.numberingPlan.nationalPrefixForParsing();
  const re = npfp ? new RegExp(`^(?:${npfp})`) : null;
  prefixByCallingCode.set(code, re);
  return re;
}

/**
 * The digits of "+" followed by 1 to 60 of [0-9 ().-] and nothing else, or undefined when value
 * is not of that form: one pass instead of a test and a replace.
 */
function plainDigits(value: string): string | undefined {
  const n = value.length;
  if (n < 2 || n > MAX_BODY + 1 || value.charCodeAt(0) !== 43) return undefined;
  let from = 1;
  let digits = '';
  for (let i = 1; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c !== 32 && c !== 40 && c !== 41 && c !== 46 && c !== 45) return undefined;
    digits += value.slice(from, i);
    from = i + 1;
  }
  return from === 1 ? value.slice(1) : digits + value.slice(from);
}

/** "+" and the digits when libphonenumber would return exactly that; undefined when unsure. */
export function plainE164(value: string): string | undefined {
  const digits = plainDigits(value);
  if (digits === undefined) return undefined;
  // No calling code starts with 0: libphonenumber rejects the number and keeps the digits.
  if (digits.length === 0 || digits.charCodeAt(0) === 48) return '+' + digits;
  let code = 0;
  for (let len = 1; len <= MAX_CALLING_CODE && len <= digits.length; len++) {
    code = code * 10 + digits.charCodeAt(len - 1) - 48;
    const prefix = nationalPrefix(digits, len, code);
    if (prefix === undefined) continue;
    // An empty match (Argentina's prefix pattern is all optional) strips nothing either.
    const stripped = prefix?.exec(digits.slice(len));
    return stripped && stripped[0] !== '' ? undefined : '+' + digits;
  }
  // No calling code matches: not a number, so the digits stay as they are.
  return '+' + digits;
}
