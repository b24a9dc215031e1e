import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { plainE164 } from './phone-e164.ts';

/** What normalizeValue() computed for "+..." before the shortcut existed. */
function viaLibphonenumber(v: string): string {
  const parsed = parsePhoneNumberFromString(v);
  return parsed?.isValid() ? parsed.number : '+' + v.replace(/\D/g, '');
}

const CODES = ['1', '7', '20', '27', '30', '31', '33', '34', '39', '41', '43', '44', '45', '46', '47', '48', '49', '52', '54', '55', '61', '62', '64', '81', '86', '90', '91', '212', '351', '352', '353', '354', '358', '370', '380', '420', '852', '880', '971', '972', '800', '0', '999'];
const plusNumber = fc
  .tuple(
    fc.constantFrom(...CODES),
    fc.array(fc.tuple(fc.constantFrom('', ' ', '-', '.', ' (0)', '(', ') ', ' '), fc.stringMatching(/^\d{1,4}$/)), { maxLength: 5 }),
  )
  .map(([cc, parts]) => `+${cc}${parts.map(([sep, d]) => sep + d).join('')}`);

test('the E.164 shortcut agrees with libphonenumber whenever it answers', () => {
  let answered = 0;
  fc.assert(
    fc.property(plusNumber, (v) => {
      const fast = plainE164(v);
      if (fast === undefined) return;
      answered++;
      assert.equal(fast, viaLibphonenumber(v), v);
    }),
    { numRuns: 3000, seed: 20261123 },
  );
  assert.ok(answered > 1000, `shortcut answered only ${answered} of 3000`);
});

test('numbers whose trunk prefix libphonenumber strips are left to it', () => {
  assert.equal(plainE164('+44 (0)20 7946 0958'), undefined);
  assert.equal(plainE164('+49 30 901820'), '+4930901820');
  assert.equal(plainE164('+1 212 555 0182 x12'), undefined);
  assert.equal(plainE164('+54 11 3085 9522'), '+541130859522');
});
