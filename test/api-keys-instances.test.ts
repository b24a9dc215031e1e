/**
 * Two server processes sharing PostgreSQL and Redis: a revocation on A fails the very next
 * request on B (Redis pub/sub fan-out), rotation is seen by both, and under many concurrent
 * clients spread over both instances the shared per-key limit admits exactly its limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signUp, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';
import { multiInstanceSkip, startTwoInstances, type TwoInstances } from './helpers/instances.ts';

const perMinute = 40;
let two: TwoInstances;
let owner: SignedUp;

describe('two instances on one PostgreSQL and one Redis', { skip: multiInstanceSkip }, () => {
  before(async () => {
    two = await startTwoInstances({ API_KEY_REQUESTS_PER_MINUTE: String(perMinute) });
    owner = await signUp({ client: () => two.a.client() } as unknown as TestApp, 'Two Instances');
  });
  after(() => two?.close());

  async function key(): Promise<{ id: string; secret: string }> {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
    assert.equal(r.status, 201);
    return { id: r.body.apiKey.id, secret: r.body.secret };
  }
  const bearerOn = (make: () => Client, secret: string): Client => {
    const c = make();
    c.bearer = secret;
    return c;
  };

  it('revocation on A: the next request on B fails (repeated)', async () => {
    for (let round = 0; round < 5; round++) {
      const k = await key();
      const onB = bearerOn(two.b.client, k.secret);
      // Warm B's cache first, so only the fan-out can make B refuse.
      assert.equal((await onB.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
      assert.equal((await onB.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
      assert.equal((await owner.client.delete(`/v1/api-keys/${k.id}`)).status, 204);
      const r = await onB.get(`/v1/orgs/${owner.orgId}/projects`);
      assert.equal(r.status, 401, `round ${round}: B still accepted a revoked key`);
      assert.equal(r.body.code, 'invalid_api_key');
    }
  });

  it('rotation with no grace on A: B refuses the old secret at once and accepts the new one', async () => {
    const k = await key();
    const oldOnB = bearerOn(two.b.client, k.secret);
    assert.equal((await oldOnB.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    const r = await owner.client.post(`/v1/api-keys/${k.id}/rotate`, { graceSeconds: 0 });
    assert.equal(r.status, 200);
    assert.equal((await oldOnB.get(`/v1/orgs/${owner.orgId}/projects`)).status, 401);
    assert.equal((await bearerOn(two.b.client, r.body.secret).get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
  });

  it('many concurrent clients over both instances never exceed the shared per-key limit', async () => {
    const k = await key();
    const requests = Array.from({ length: perMinute * 2.5 }, (_, i) =>
      bearerOn(i % 2 === 0 ? two.a.client : two.b.client, k.secret).get(`/v1/orgs/${owner.orgId}/projects`),
    );
    const replies = await Promise.all(requests);
    const admitted = replies.filter((r) => r.status === 200).length;
    const refused = replies.filter((r) => r.status === 429);
    assert.equal(admitted, perMinute, `admitted ${admitted}`);
    assert.equal(refused.length, replies.length - perMinute);
    const sample = refused[0];
    assert.ok(sample);
    assert.equal(sample.body.code, 'rate_limited');
    assert.ok(Number(sample.headers.get('retry-after')) >= 1);
    assert.equal(sample.headers.get('ratelimit-remaining'), '0');
  });
});
