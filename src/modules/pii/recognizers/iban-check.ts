/**
 * What ibantools' validateIBAN() decides for a compact IBAN whose mod-97 is already known to be 1,
 * without its per-call costs (a new RegExp per check, the checksum recomputed through strings):
 * the country's length and BBAN format must hold and the check digits must be 02–98. A failed
 * national check digit alone still counts (fail closed), so that check is not run at all.
 */
import { countrySpecs } from 'ibantools';

const bbanFormats = new Map<string, RegExp>();

function bbanFormat(source: string): RegExp {
  let re = bbanFormats.get(source);
  if (!re) bbanFormats.set(source, (re = new RegExp(source, '')));
  return re;
}

/**
 * validateIBAN(compact) reports no error but WrongAccountBankBranchChecksum. With mod-97 equal to
 * 1, ibantools' own checksum test (98 minus the remainder with "00" as check digits equals the
 * check digits) holds exactly for check digits 02 to 98.
 */
export function ibanValidGivenMod97(compact: string): boolean {
  const spec = countrySpecs[compact.slice(0, 2)];
  if (!spec || !(spec.bban_regexp || spec.chars)) return false;
  if (spec.chars && spec.chars !== compact.length) return false;
  if (spec.bban_regexp && !bbanFormat(spec.bban_regexp).test(compact.slice(4))) return false;
  const checkDigits = Number(compact.slice(2, 4));
  return checkDigits >= 2 && checkDigits <= 98;
}
