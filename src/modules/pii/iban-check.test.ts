/** The IBAN check must decide exactly as ibantools' validateIBAN() for every candidate whose mod-97 is 1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationErrorsIBAN, countrySpecs, validateIBAN } from 'ibantools';
import { ibanValidGivenMod97 } from './recognizers/iban-check.ts';

function mod97(rearranged: string): number {
  let r = 0;
  for (const c of rearranged) {
    const v = parseInt(c, 36);
    r = v > 9 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}

const COUNTRIES = [...Object.keys(countrySpecs), 'XX', 'QQ'];
const candidate = fc
  .record({
    country: fc.constantFrom(...COUNTRIES),
    lengthDelta: fc.constantFrom(0, 0, 0, -1, 1),
    // Digits only half the time: most countries' account formats are all digits.
    body: fc.oneof(
      fc.array(fc.constantFrom(...'0123456789'), { minLength: 40, maxLength: 40 }),
      fc.array(fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), { minLength: 40, maxLength: 40 }),
    ),
    bump: fc.constantFrom(0, 0, 0, 97, -97),
  })
  .map(({ country, lengthDelta, body, bump }) => {
    const length = Math.max(5, (countrySpecs[country]?.chars ?? 20) + lengthDelta);
    const bban = body.join('').slice(0, length - 4);
    // Check digits that make mod-97 equal 1, sometimes moved by 97 to the out-of-range forms (00, 01, 99).
    const check = 98 - mod97(`${bban}${country}00`) + bump;
    return `${country}${String(((check % 100) + 100) % 100).padStart(2, '0')}${bban}`;
  });

test('ibanValidGivenMod97 agrees with validateIBAN on candidates whose mod-97 is 1', () => {
  fc.assert(
    fc.property(candidate, (iban) => {
      if (mod97(iban.slice(4) + iban.slice(0, 4)) !== 1) return;
      const expected = validateIBAN(iban).errorCodes.every((e) => e === ValidationErrorsIBAN.WrongAccountBankBranchChecksum);
      assert.equal(ibanValidGivenMod97(iban), expected, iban);
    }),
    { numRuns: 20000, seed: 41 },
  );
});
