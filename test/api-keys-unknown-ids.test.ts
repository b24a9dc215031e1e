/**
 * API key ids with a valid checksum are no secret: anyone can make them up, and each new one costs
 * a database read. A client address gets 30 that turn out unknown a minute; past that its
 * Bearer requests naming ids the cache does not know get 429 before any read, while keys already
 * cached keep working and other addresses are unaffected. Real keys never use the allowance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateApiKeySecret } from '../src/modules/api-keys/token.ts';
import { UNKNOWN_IDS_PER_MINUTE } from '../src/modules/rate-limits/unknown-ids.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
before(async () => {
  t = await startTestApp({ config: { trustProxy: true } });
  owner = await signUp(t, 'Key Org');
});
after(() => t.close());

let lastAddress = 0;
/** A client address no other request of this file uses. */
const fromAddress = (): { 'x-forwarded-for': string } => ({ 'x-forwarded-for': `203.0.113.${++lastAddress}` });
const madeUpKey = (): string => generateApiKeySecret().secret;
const list = (secret: string, address: { 'x-forwarded-for': string }) =>
  t.client().get(`/v1/orgs/${owner.orgId}/projects`, { authorization: `Bearer ${secret}`, ...address });

async function newKey(): Promise<string> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.secret;
}

describe('made-up API key ids', () => {
  it(`${UNKNOWN_IDS_PER_MINUTE} a minute per address are refused as invalid (401), then 429 with Retry-After and no read`, async () => {
    const address = fromAddress();
    const real = await newKey();
    assert.equal((await list(real, address)).status, 200);
    const statuses = new Set<number>();
    for (let i = 0; i < UNKNOWN_IDS_PER_MINUTE; i++) statuses.add((await list(madeUpKey(), address)).status);
    assert.deepEqual(statuses, new Set([401]));
    const refused = await list(madeUpKey(), address);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await list(real, address)).status, 200, 'a cached key keeps working');
    assert.equal((await list(madeUpKey(), fromAddress())).status, 401, 'another address has its own allowance');
  });

  it('verifying real keys takes nothing from the allowance', async () => {
    const address = fromAddress();
    for (let i = 0; i < UNKNOWN_IDS_PER_MINUTE + 5; i++) assert.equal((await list(await newKey(), address)).status, 200, `key ${i}`);
  });
});
