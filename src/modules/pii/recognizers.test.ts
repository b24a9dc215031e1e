import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze } from './index.ts';
import type { EntityType } from './policy.ts';

function found(text: string, type: EntityType): string[] {
  return analyze(text).filter((f) => f.type === type).map((f) => text.slice(f.start, f.end));
}

const positives: [EntityType, string, string][] = [
  ['EMAIL', 'write to Jane.Doe+x@mail.example.co.uk today', 'Jane.Doe+x@mail.example.co.uk'],
  ['PHONE', 'call me on +49 30 901820 please', '+49 30 901820'],
  ['PHONE', "They're not answering at 78 651 450", '78 651 450'],
  ['PHONE', 'Desk: (602)272-9781', '(602)272-9781'],
  ['PHONE', 'Fax: 001-253-366-9781', '001-253-366-9781'],
  ['PHONE', 'Rufen Sie mich an: 030 1234567', '030 1234567'],
  ['CREDIT_CARD', 'my card 4111 1111 1111 1111 expired', '4111 1111 1111 1111'],
  ['CREDIT_CARD', 'amex 3714-496353-98431', '3714-496353-98431'],
  ['IBAN', 'IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX', 'DE89 3704 0044 0532 0130 00'],
  ['IBAN', 'pay to GB82WEST12345698765432.', 'GB82WEST12345698765432'],
  ['US_SSN', "Here's my SSN: 849-66-3189", '849-66-3189'],
  ['IP_ADDRESS', 'blocked from 41.176.181.243 again', '41.176.181.243'],
  ['IP_ADDRESS', 'server 2001:db8::ff00:42:8329 is down', '2001:db8::ff00:42:8329'],
  ['URL_CREDENTIALS', 'use postgres://admin:s3cr3t@db.example.com/app', 'admin:s3cr3t'],
  ['SECRET', 'key ghp_aaaaBBBBccccDDDDeeeeFFFFgggg11112222 leaked', 'ghp_aaaaBBBBccccDDDDeeeeFFFFgggg11112222'],
  ['SECRET', 'aws AKIAIOSFODNN7EXAMPLE here', 'AKIAIOSFODNN7EXAMPLE'],
  ['SECRET', 'my password is hunter2!x', 'hunter2!x'],
  ['CRYPTO_WALLET', 'btc 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2'],
  ['CRYPTO_WALLET', 'to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'],
  ['DATE_OF_BIRTH', 'I was born on 3 March 1985.', '3 March 1985'],
  ['DATE_OF_BIRTH', 'Geburtsdatum: 28.01.1976', '28.01.1976'],
  ['PERSON', 'Hi, my name is Vanessa P. Hertzog.', 'Vanessa P. Hertzog'],
  ['PERSON', 'Please ask Hannah McConnan to call.', 'Hannah McConnan'],
  ['ADDRESS', 'Ship it to 22 Pollen Crescent, Fitzroy, VIC 3065 please', '22 Pollen Crescent, Fitzroy, VIC 3065'],
  ['ADDRESS', 'Ich wohne in der Hauptstraße 12, 10115 Berlin.', 'Hauptstraße 12, 10115 Berlin'],
  ['ADDRESS', "J'habite au 12 rue de la Paix, 75002 Paris.", '12 rue de la Paix, 75002 Paris'],
  ['PASSPORT', 'My passport number is C01X00T47.', 'C01X00T47'],
];

for (const [type, text, value] of positives) {
  test(`${type} found in "${text}"`, () => {
    assert.ok(found(text, type).includes(value), `got ${JSON.stringify(analyze(text).map((f) => [f.type, text.slice(f.start, f.end)]))}`);
  });
}

test('a card or phone number followed by more digits is found in its run: security codes, expiry dates, two numbers side by side', () => {
  const card = '4111 1111 1111 1111';
  const cases: [string, EntityType, string[]][] = [
    [`My card is ${card} 123`, 'CREDIT_CARD', [card]],
    [`card no. ${card} (123)`, 'CREDIT_CARD', [card]],
    [`card ${card} 12/26 123`, 'CREDIT_CARD', [card]],
    [`card ${card} / 123`, 'CREDIT_CARD', [card]],
    ['4111111111111111 123', 'CREDIT_CARD', ['4111111111111111']],
    ['4111-1111-1111-1111-123', 'CREDIT_CARD', ['4111-1111-1111-1111']],
    [`Kartennummer ${card} 123, danke`, 'CREDIT_CARD', [card]],
    [`cards ${card} 5500 0000 0000 0004`, 'CREDIT_CARD', [card, '5500 0000 0000 0004']],
    ['phones 020 7946 0958 / 07700 900123', 'PHONE', ['020 7946 0958', '07700 900123']],
    ['call +1 415 555 2671 2', 'PHONE', ['+1 415 555 2671']],
  ];
  for (const [text, type, values] of cases) assert.deepEqual(found(text, type), values, text);
  // A part joined to the rest by a plain space or dash is no phone number of its own.
  for (const text of ['the code 4111 1111 1111 1112 is printed', 'DE00 3704 0044 0532 0130 00', 'Order 1234 5678 9012 3456 78 shipped', 'tracking 9400 1000 0000 0000 0000 00']) {
    assert.deepEqual(analyze(text).map((f) => [f.type, text.slice(f.start, f.end)]), [], text);
  }
});

const negatives: [string, string][] = [
  ['order number', 'Order 12345678 has not arrived'],
  ['invoice number', 'invoice INV-2024-00042 is wrong'],
  ['tracking number', 'tracking 1Z999AA10123456784 says delivered'],
  ['version string', 'after updating to version 10.2.3.4 the app crashes'],
  ['prices', 'it costs $1,299.00 or 1.299,00 € now'],
  ['ordinary date', 'the meeting is on 12.03.2024 at 10:30'],
  ['uuid', 'request id 123e4567-e89b-12d3-a456-426614174000'],
  ['Luhn-invalid digits', 'the code 4111 1111 1111 1112 is printed'],
  ['ssn never issued', 'reference 666-12-3456'],
  ['invalid IBAN checksum', 'DE00 3704 0044 0532 0130 00'],
  ['time', 'see you at 12:30:45 tomorrow'],
  ['git sha', 'commit 3f786850e387550fdab836ed7e6dc881de23001b broke it'],
  ['plain sentence', 'What are your opening hours on Sunday?'],
];

for (const [name, text] of negatives) {
  test(`hard negative stays untouched: ${name}`, () => {
    assert.deepEqual(analyze(text).map((f) => [f.type, text.slice(f.start, f.end)]), []);
  });
}

test('context words raise a bare number over the threshold', () => {
  assert.deepEqual(found('ref 849663189', 'US_SSN'), []);
  assert.deepEqual(found('my social security number is 849663189', 'US_SSN'), ['849663189']);
});

test('overlaps are resolved and results sorted', () => {
  const text = 'mail bob@example.com, card 4111111111111111, phone +1 212 555 0182';
  const f = analyze(text);
  for (let i = 1; i < f.length; i++) assert.ok((f[i - 1]?.end ?? 0) <= (f[i]?.start ?? 0));
  assert.deepEqual(f.map((x) => x.type), ['EMAIL', 'CREDIT_CARD', 'PHONE']);
});

test('types and minScore options filter findings', () => {
  const text = 'mail bob@example.com or call +1 212 555 0182';
  assert.deepEqual(analyze(text, { types: ['PHONE'] }).map((f) => f.type), ['PHONE']);
  assert.deepEqual(analyze(text, { minScore: 1.01 }), []);
});
