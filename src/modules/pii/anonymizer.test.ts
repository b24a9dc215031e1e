import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, anonymize, createMemoryTokenVault, defaultPiiPolicy, hashIdentifier, piiPolicySchema, protect, restore } from './index.ts';

const orgA = Buffer.alloc(32, 1);
const orgB = Buffer.alloc(32, 2);

test('tokenize: the same value gets the same token within a conversation', () => {
  const vault = createMemoryTokenVault();
  const ctx = { tokenFor: vault.tokenFor, hashKey: orgA };
  const first = protect('I am bob@example.com, call +1 212 555 0182', defaultPiiPolicy, ctx);
  const second = protect('again: BOB@example.com and carol@example.com', defaultPiiPolicy, ctx);
  assert.equal(first.text, 'I am <EMAIL_1>, call <PHONE_1>');
  assert.equal(second.text, 'again: <EMAIL_1> and <EMAIL_2>');
  assert.equal(first.replacements[0]?.value, 'bob@example.com');
  assert.equal(first.replacements[0]?.token, '<EMAIL_1>');
});

test('tokens start over in another conversation', () => {
  const a = createMemoryTokenVault();
  const b = createMemoryTokenVault();
  a.tokenFor('EMAIL', 'x@example.com');
  assert.equal(b.tokenFor('EMAIL', 'y@example.com'), '<EMAIL_1>');
  assert.equal(a.tokenFor('EMAIL', 'y@example.com'), '<EMAIL_2>');
});

test('hash: stable across conversations, different across organisations, normalised', () => {
  const policy = piiPolicySchema.parse({ operators: { EMAIL: 'hash' } });
  const text = 'mail Alice@Example.com';
  const run = (key: Buffer): string => anonymize(text, analyze(text), policy, { tokenFor: createMemoryTokenVault().tokenFor, hashKey: key }).text;
  assert.equal(run(orgA), run(orgA));
  assert.notEqual(run(orgA), run(orgB));
  assert.match(run(orgA), /^mail <EMAIL_HASH_[0-9a-f]{12}>$/);
  assert.equal(run(orgA), `mail <EMAIL_HASH_${hashIdentifier('EMAIL', 'alice@example.com', orgA)}>`);
  assert.equal(hashIdentifier('PHONE', '+1 (212) 555-0182', orgA), hashIdentifier('PHONE', '+12125550182', orgA));
});

test('mask, redact and allow', () => {
  const policy = piiPolicySchema.parse({ operators: { CREDIT_CARD: 'mask', EMAIL: 'redact', PHONE: 'allow' } });
  const vault = createMemoryTokenVault();
  const text = 'card 4111 1111 1111 1111, mail bob@example.com, phone +1 212 555 0182';
  const out = protect(text, policy, { tokenFor: vault.tokenFor, hashKey: orgA });
  assert.equal(out.text, 'card ****1111, mail [REDACTED], phone +1 212 555 0182');
  assert.deepEqual(out.replacements.map((r) => r.operator), ['mask', 'redact']);
});

test('a disabled policy leaves the text alone', () => {
  const policy = piiPolicySchema.parse({ enabled: false });
  const out = protect('mail bob@example.com', policy, { tokenFor: createMemoryTokenVault().tokenFor, hashKey: orgA });
  assert.equal(out.text, 'mail bob@example.com');
  assert.deepEqual(out.replacements, []);
});

test('restore puts known tokens back and leaves others', () => {
  const vault = createMemoryTokenVault();
  const { text } = protect('I am bob@example.com', defaultPiiPolicy, { tokenFor: vault.tokenFor, hashKey: orgA });
  const answer = `Thanks, we wrote to ${text.slice(5)}; <PHONE_9> and <EMAIL_HASH_abcdef012345> stay.`;
  assert.equal(restore(answer, vault.lookup), 'Thanks, we wrote to bob@example.com; <PHONE_9> and <EMAIL_HASH_abcdef012345> stay.');
});
