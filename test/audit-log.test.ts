/**
 * Reading the audit log page by page: keyset paging on (created_at, id), so entries written in
 * one transaction (one created_at) are never skipped at a page boundary; another organisation's
 * entry id as a cursor gives nothing; a malformed one is a 400.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let other: SignedUp;

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Paged Org');
  other = await signUp(t, 'Other Org');
  // Seven entries written at one instant, as one transaction writes them.
  const at = new Date('2026-01-02T03:04:05.678Z');
  for (let i = 0; i < 7; i++) {
    await sql`INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, created_at) VALUES (${`aud_sametime${i}`}, ${owner.orgId}, 'system', NULL, 'test.same_instant', ${at})`.execute(t.database.db);
  }
});
after(() => t.close());

describe('audit log paging', () => {
  it('walks every entry once, across entries that share a timestamp', async () => {
    const all = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?limit=1000`)).body.entries as { id: string }[];
    assert.ok(all.length >= 8, 'the seven and the sign-up');
    const seen: string[] = [];
    let before: string | null = null;
    for (let page = 0; page < 50; page++) {
      const r: { status: number; body: { entries: { id: string }[]; nextBefore: string | null } } = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?limit=2${before ? `&before=${before}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen.push(...(r.body.entries as { id: string }[]).map((e) => e.id));
      before = r.body.nextBefore;
      if (!before) break;
    }
    assert.deepEqual(seen, all.map((e) => e.id), 'the same entries in the same order, none twice, none skipped');
  });

  it("another organisation's entry as the cursor gives an empty page; a malformed one is a 400", async () => {
    const foreign = (await other.client.get(`/v1/orgs/${other.orgId}/audit-log`)).body.entries[0].id as string;
    const r = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?before=${foreign}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.entries, []);
    assert.equal(r.body.nextBefore, null);
    const bad = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?before=x'); DROP TABLE audit_log;--`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_request');
  });
});
