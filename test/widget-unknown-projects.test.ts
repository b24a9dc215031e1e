/**
 * Made-up project ids on widget routes: each new one costs a database look-up, so a client
 * address gets UNKNOWN_PROJECTS_PER_MINUTE of them a minute; past that it gets 429 with
 * Retry-After and no look-up, while real projects (cached, or found and refunded) keep working
 * for it and other addresses are not affected.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UNKNOWN_IDS_PER_MINUTE as UNKNOWN_PROJECTS_PER_MINUTE } from '../src/modules/rate-limits/unknown-ids.ts';
import { signUp, startTestApp, type TestApp } from './helpers/harness.ts';

const origin = 'https://docs.example.com';
let t: TestApp;
let owner: Awaited<ReturnType<typeof signUp>>;

before(async () => {
  t = await startTestApp({ config: { trustProxy: true } });
  owner = await signUp(t, 'Directory Org');
});
after(() => t.close());

let lastAddress = 0;
/** A client address no other request of this file uses. */
const fromAddress = (): { 'x-forwarded-for': string } => ({ 'x-forwarded-for': `198.51.100.${++lastAddress}` });
const madeUpId = (): string => `prj_${randomBytes(12).toString('hex')}`;
const config = (projectId: string, address: { 'x-forwarded-for': string }) => t.client().get(`/v1/widget/${projectId}/config`, { origin, ...address });

async function newProject(): Promise<string> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot', settings: { allowedDomains: ['docs.example.com'] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.project.id;
}

describe('unknown project ids', () => {
  it(`allows ${UNKNOWN_PROJECTS_PER_MINUTE} a minute per address (403), then 429 with Retry-After and no look-up`, async () => {
    const address = fromAddress();
    const real = await newProject();
    assert.equal((await config(real, address)).status, 200);
    const statuses: number[] = [];
    for (let i = 0; i < UNKNOWN_PROJECTS_PER_MINUTE; i++) statuses.push((await config(madeUpId(), address)).status);
    assert.deepEqual(new Set(statuses), new Set([403]));

    const lookupsBefore = t.services.originGuard.unknownIds.refused;
    const refused = await config(madeUpId(), address);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal(t.services.originGuard.unknownIds.refused, lookupsBefore + 1);
    // The same request on the message route, and a preflight: refused the same way before any work.
    const message = await t.client().post(`/v1/widget/${madeUpId()}/messages`, { content: 'hi' }, { origin, ...address });
    assert.equal(message.status, 429);

    assert.equal((await config(real, address)).status, 200, 'a cached real project still answers');
    assert.equal((await config(madeUpId(), fromAddress())).status, 403, 'another address has its own allowance');
  });

  it('looking up real projects takes nothing from the allowance', async () => {
    const address = fromAddress();
    for (let i = 0; i < UNKNOWN_PROJECTS_PER_MINUTE + 5; i++) {
      const r = await config(await newProject(), address);
      assert.equal(r.status, 200, `project ${i}: ${JSON.stringify(r.body)}`);
    }
  });
});
