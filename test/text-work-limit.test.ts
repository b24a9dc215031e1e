/**
 * The text-work budget: text a caller has the server read (knowledge documents converted and
 * indexed, PII dry runs) is counted per caller and per client address per minute; over it the
 * request is 429 rate_limited with Retry-After, before any work or write. Counted in memory or
 * in Redis (REDIS_URL), as the other limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countRows, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let projectId: string;

before(async () => {
  t = await startTestApp({ config: { textWorkKilocharsPerMinute: 10 } });
  owner = await signUp(t, 'Busy Org');
  const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Docs' });
  projectId = p.body.project.id;
});
after(() => t.close());

const text = (kilochars: number): string => 'Plain words for the reader. '.repeat(Math.ceil((kilochars * 1000) / 28)).slice(0, kilochars * 1000);

describe('text work budget', () => {
  it('refuses a caller over its budget with 429 and Retry-After, and writes nothing', async () => {
    const first = await owner.client.post(`/v1/projects/${projectId}/documents`, { title: 'One', contentType: 'text', content: text(6) });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const documents = await countRows(t, 'documents');
    const second = await owner.client.post(`/v1/projects/${projectId}/documents`, { title: 'Two', contentType: 'text', content: text(6) });
    assert.equal(second.status, 429);
    assert.equal(second.body.code, 'rate_limited');
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    assert.equal(await countRows(t, 'documents'), documents, 'nothing written');
    const dryRun = await owner.client.post('/v1/pii/analyze', { text: 'mail me at jane@example.com' });
    assert.equal(dryRun.status, 429, 'the same budget covers PII dry runs');
  });

  it('counts per client address too: another account from the same address shares it', async () => {
    const other = await signUp(t, 'Same Address Org');
    const r = await other.client.post('/v1/pii/analyze', { text: text(5) }); // 6 + 5 over 10 at this address
    assert.equal(r.status, 429);
  });

  it('a request refused before the work (unauthorised, malformed) spends nothing', async () => {
    const fresh = await startTestApp({ config: { textWorkKilocharsPerMinute: 10 } });
    try {
      const a = await signUp(fresh, 'A');
      const b = await signUp(fresh, 'B');
      const p = await a.client.post(`/v1/orgs/${a.orgId}/projects`, { name: 'Docs' });
      for (let i = 0; i < 3; i++) {
        const foreign = await b.client.post(`/v1/projects/${p.body.project.id}/documents`, { title: 'X', contentType: 'text', content: text(6) });
        assert.equal(foreign.status, 404);
        const malformed = await b.client.post('/v1/pii/analyze', { text: text(6), extra: true });
        assert.equal(malformed.status, 400);
      }
      const own = await a.client.post(`/v1/projects/${p.body.project.id}/documents`, { title: 'Mine', contentType: 'text', content: text(9) });
      assert.equal(own.status, 201, JSON.stringify(own.body));
    } finally {
      await fresh.close();
    }
  });
});
