import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStoredSettings, projectSettingsSchema } from './settings.ts';

const valid = projectSettingsSchema.parse({
  allowedDomains: ['docs.example.com', '*.example.org'],
  rateLimits: { perIpPerMinute: 5, perSessionPerHour: 50, messagesPerHour: 100 },
  pii: { defaultOperator: 'allow', operators: { EMAIL: 'tokenize', PHONE: 'mask' }, minScore: 0.6 },
  widget: { greeting: 'Hello', color: '#123456', requireIdentity: true },
});

test('a valid stored row is read as it is', () => {
  assert.deepEqual(parseStoredSettings(structuredClone(valid)), valid);
});

test('a stored row today\'s schema refuses is narrowed part by part, never widened, never refused', () => {
  const stored = structuredClone(valid) as Record<string, any>;
  // A wildcard a later public-suffix list calls a suffix, a bound tightened since, a key and a
  // PII type a newer instance wrote.
  stored.allowedDomains = ['docs.example.com', '*.github.io', 42];
  stored.rateLimits.perIpPerMinute = 50_000;
  stored.rateLimits.perSessionPerHour = 0;
  stored.pii.operators = { EMAIL: 'tokenize', PHONE: 'mask', PASSPORT_V2: 'allow', IBAN: 'encrypt' };
  stored.widget.greeting = 'x'.repeat(600);
  stored.futureSetting = { on: true };
  const read = parseStoredSettings(stored);
  assert.deepEqual(read.allowedDomains, ['docs.example.com'], 'only fewer sites may embed');
  assert.deepEqual(read.rateLimits, { perIpPerMinute: 10_000, perSessionPerHour: 1, messagesPerHour: 100 }, 'clamped to the nearest bound');
  assert.deepEqual(
    read.pii,
    { enabled: true, defaultOperator: 'allow', operators: { EMAIL: 'tokenize', PHONE: 'mask', IBAN: 'redact' }, minScore: 0.6 },
    "per-type operators kept; one it cannot read for a type it knows is redact (dropping it would let 'allow' pass IBANs); an unknown type goes",
  );
  assert.equal(read.widget.requireIdentity, true, 'a valid field next to an invalid one stays');
  assert.equal(read.widget.greeting, projectSettingsSchema.parse({}).widget.greeting);
  assert.ok(!('futureSetting' in read));
  assert.equal(read.answer.provider, 'extractive');
});

test('where a default would open something up, the safe value is read instead', () => {
  const read = parseStoredSettings({ ...structuredClone(valid), widget: { ...valid.widget, requireIdentity: 'yes' }, retentionDays: 'forever' });
  assert.equal(read.widget.requireIdentity, true, 'not the default false: anonymous visitors stay out');
  assert.equal(read.retentionDays, null, 'not the default 90: nothing is deleted on a value it cannot read');
});

test('a whole section it cannot read takes the safe values too, and an out-of-bounds retentionDays keeps everything', () => {
  const read = parseStoredSettings({ ...structuredClone(valid), widget: 'corrupt', pii: { ...valid.pii, operators: 'corrupt' }, retentionDays: 99_999 });
  assert.equal(read.widget.requireIdentity, true);
  assert.equal(read.pii.operators.IBAN, 'redact', 'every known type, not the allow default');
  assert.equal(read.pii.operators.EMAIL, 'redact');
  assert.equal(read.retentionDays, null, 'not clamped down to a bound that would delete data');
});

test('an unreadable answer provider becomes the built-in one; junk becomes the defaults', () => {
  assert.equal(parseStoredSettings({ answer: { provider: 'from-the-future', baseUrl: 'https://x.example' } }).answer.provider, 'extractive');
  const junk = parseStoredSettings('junk');
  assert.deepEqual({ requireIdentity: junk.widget.requireIdentity, retentionDays: junk.retentionDays, iban: junk.pii.operators.IBAN }, { requireIdentity: true, retentionDays: null, iban: 'redact' }, 'a document it cannot read at all: safe values');
  assert.deepEqual(parseStoredSettings(null), projectSettingsSchema.parse({}));
});
