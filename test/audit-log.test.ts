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

describe('audit log export', () => {
  it('exports every entry as JSON lines, newest first, and records the export itself', async () => {
    const paged = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?limit=1000`)).body.entries as { id: string }[];
    const r = await owner.client.get<string>(`/v1/orgs/${owner.orgId}/audit-log/export`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.match(r.headers.get('content-disposition') ?? '', /^attachment; filename="audit-log-org_[0-9A-Za-z]+-\d{4}-\d{2}-\d{2}\.jsonl"$/);
    const lines = r.body.trim().split('\n').map((l) => JSON.parse(l) as { id: string; action: string });
    assert.equal(lines[0]?.action, 'audit.exported', 'the export is recorded before it is read');
    assert.deepEqual(lines.slice(1).map((e) => e.id), paged.map((e) => e.id));
  });

  it('streams past one page: every entry once', async () => {
    const big = await signUp(t, 'Big Log Org');
    await sql`INSERT INTO audit_log (id, org_id, actor_type, action, created_at)
      SELECT 'aud_bulk' || g, ${big.orgId}, 'system', 'test.bulk', now() - make_interval(secs => g) FROM generate_series(1, 2100) g`.execute(t.database.db);
    const r = await big.client.get<string>(`/v1/orgs/${big.orgId}/audit-log/export`);
    const ids = r.body.trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id);
    assert.equal(ids.filter((id) => id.startsWith('aud_bulk')).length, 2100);
    assert.equal(new Set(ids).size, ids.length, 'none twice');
  });

  it('CSV: quoted per RFC 4180, and a cell a spreadsheet would run as a formula is defused', async () => {
    await sql`INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, metadata) VALUES ('aud_formula1', ${owner.orgId}, 'anonymous', NULL, 'widget.origin_refused', ${JSON.stringify({ origin: '=HYPERLINK("https://evil.example")' })}::jsonb)`.execute(t.database.db);
    await sql`INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id) VALUES ('aud_formula2', ${owner.orgId}, 'anonymous', NULL, 'test.formula', 'org', '@SUM(A1)')`.execute(t.database.db);
    const r = await owner.client.get<string>(`/v1/orgs/${owner.orgId}/audit-log/export?format=csv&action=test.formula`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/csv/);
    const text = r.body;
    const [header, row, ...rest] = text.split('\r\n');
    assert.equal(header, 'id,created_at,action,actor_type,actor_id,target_type,target_id,ip,metadata');
    assert.match(row ?? '', /^aud_formula2,[^,]+,test\.formula,anonymous,,org,"'@SUM\(A1\)",,\{\}$/);
    assert.deepEqual(rest, ['']);
    const all = (await owner.client.get<string>(`/v1/orgs/${owner.orgId}/audit-log/export?format=csv&action=widget.origin_refused`)).body;
    assert.ok(all.includes('"{""origin"":""=HYPERLINK(\\""https://evil.example\\"")""}"'), all);
  });

  it('needs audit:read in the organisation; a malformed format is a 400; refusals write nothing', async () => {
    const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(t.database.db)).rows[0]?.n;
    assert.equal((await other.client.get(`/v1/orgs/${owner.orgId}/audit-log/export`)).status, 404);
    assert.equal((await t.client().get(`/v1/orgs/${owner.orgId}/audit-log/export`)).status, 401);
    const bad = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log/export?format=xlsx`);
    assert.equal(bad.status, 400);
    assert.equal((await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log`.execute(t.database.db)).rows[0]?.n, before);
  });
});

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
