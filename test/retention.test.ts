/**
 * Retention: a project's retentionDays is enforced. A sweep deletes the conversations whose last
 * message is older (messages and vault rows with them), shreds the keys nothing needs any more (an
 * API conversation's own, a visitor's with no conversation left), records it in the audit log,
 * and leaves recent conversations and projects that keep theirs (retentionDays null) alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createRetention } from '../src/modules/chat/retention.ts';
import { owedShredder } from '../src/platform/crypto/pending-shreds.ts';
import { signUserId } from '../src/modules/widget/identity.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

const origin = 'https://docs.example.com';
let t: TestApp;
let owner: SignedUp;

before(async () => {
  t = await startTestApp({ config: { retentionSweepMinutes: 0 } });
  owner = await signUp(t, 'Retention Org');
});
after(() => t.close());

async function project(retentionDays: number | null): Promise<string> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot', settings: { allowedDomains: ['docs.example.com'], retentionDays } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.project.id;
}

async function visitorConversation(projectId: string, content: string): Promise<{ conversationId: string; visitorId: string }> {
  const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
  const m = await t.client().post(`/v1/widget/${projectId}/messages`, { content }, { origin, authorization: `Bearer ${s.body.token}` });
  assert.equal(m.status, 200, JSON.stringify(m.body));
  return { conversationId: m.body.conversationId, visitorId: s.body.visitorId };
}

async function age(conversationId: string, days: number): Promise<void> {
  await sql`UPDATE conversations SET last_message_at = now() - make_interval(days => ${days}) WHERE id = ${conversationId}`.execute(t.database.db);
}

const count = async (table: string, column: string, value: string): Promise<number> =>
  Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE ${sql.ref(column)} = ${value}`.execute(t.database.db)).rows[0]?.n ?? 0);

describe('retention', () => {
  it("deletes what is past the project's retentionDays, shreds the keys nothing needs, audits it, and keeps the rest", async () => {
    const kept = await project(null);
    const expiring = await project(1);
    const old = await visitorConversation(expiring, 'Please mail jane.roe@example.com about my order');
    const recent = await visitorConversation(expiring, 'Hello there');
    const keeper = await visitorConversation(kept, 'Mail john@example.com');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'server', scopes: ['chat:write', 'chat:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    const apiConversation = (await t.client().post(`/v1/projects/${expiring}/conversations`, {}, bearer)).body.conversation.id as string;
    assert.equal((await t.client().post(`/v1/conversations/${apiConversation}/messages`, { content: 'Order for bob@example.com' }, bearer)).status, 200);
    for (const id of [old.conversationId, apiConversation]) await age(id, 2);
    await age(keeper.conversationId, 400); // past the 90-day default: null means keep, not unset
    assert.ok((await count('pii_vault', 'conversation_id', old.conversationId)) > 0);

    const swept = await t.services.retention.sweep();
    assert.deepEqual(swept, { conversations: 2, subjects: 2 });
    for (const id of [old.conversationId, apiConversation]) {
      assert.equal(await count('conversations', 'id', id), 0, id);
      assert.equal(await count('messages', 'conversation_id', id), 0, id);
      assert.equal(await count('pii_vault', 'conversation_id', id), 0, id);
    }
    assert.equal(await count('visitors', 'id', old.visitorId), 0, 'the visitor, with nothing left');
    const erased = (await sql<{ scope: string }>`SELECT scope FROM key_erasures`.execute(t.database.db)).rows.map((r) => r.scope);
    assert.ok(erased.includes(`subject:${owner.orgId}:${old.visitorId}`), 'the visitor key is shredded');
    assert.ok(erased.includes(`subject:${owner.orgId}:${apiConversation}`), "the API conversation's key is shredded");
    assert.equal(await count('conversations', 'id', recent.conversationId), 1, 'a recent conversation stays');
    assert.equal(await count('conversations', 'id', keeper.conversationId), 1, 'retentionDays null keeps everything');
    assert.equal((await owner.client.get(`/v1/conversations/${recent.conversationId}/messages`)).status, 200);

    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=conversation.retention_expired`)).body.entries;
    assert.equal(log.length, 1);
    assert.deepEqual({ target: log[0].target, conversations: log[0].metadata.conversations, days: log[0].metadata.retentionDays }, { target: { type: 'project', id: expiring }, conversations: 2, days: 1 });
    assert.deepEqual(await t.services.retention.sweep(), { conversations: 0, subjects: 0 }, 'a second sweep finds nothing');
  });

  it('reads projects a page at a time, and one whose settings name no retention keeps the default 90 days', async () => {
    // Many projects sorting before the one that matters (ids are compared as text): it is on a later page.
    await sql`INSERT INTO orgs (id, name, slug) VALUES ('org_0000filler', 'Filler', 'filler-org')`.execute(t.database.db);
    await sql`INSERT INTO projects (id, org_id, name, settings) SELECT 'prj_0000page' || lpad(i::text, 4, '0'), 'org_0000filler', 'filler', '{"retentionDays": null}'::jsonb FROM generate_series(1, 600) i`.execute(t.database.db);
    const unset = await project(null);
    await sql`UPDATE projects SET settings = settings - 'retentionDays' WHERE id = ${unset}`.execute(t.database.db);
    const ancient = await visitorConversation(unset, 'Hello from long ago');
    const fresh = await visitorConversation(unset, 'Hello from last month');
    await age(ancient.conversationId, 100);
    await age(fresh.conversationId, 50);
    const swept = await t.services.retention.sweep();
    assert.equal(swept.conversations, 1, JSON.stringify(swept));
    assert.equal(await count('conversations', 'id', ancient.conversationId), 0, 'past the default 90 days');
    assert.equal(await count('conversations', 'id', fresh.conversationId), 1);
    await sql`DELETE FROM orgs WHERE id = 'org_0000filler'`.execute(t.database.db);
  });

  it('keys owed when a sweep stops after deleting are shredded by the next sweep', async () => {
    const p = await project(1);
    const old = await visitorConversation(p, 'An old question');
    await age(old.conversationId, 5);
    const failures: unknown[] = [];
    const broken = createRetention({
      db: t.database.db,
      clock: { now: () => new Date() },
      audit: t.services.audit,
      shredOwed: owedShredder(t.database.db, async () => Promise.reject(new Error('the key store did not answer')), (error) => failures.push(error)),
    });
    const first = await broken.sweep();
    assert.equal(first.subjects, 0, 'nothing shredded');
    assert.ok(failures.length >= 1, 'the failure is reported');
    assert.equal(await count('conversations', 'id', old.conversationId), 0, 'deleted and committed');
    assert.equal(await count('pending_shreds', 'subject_id', old.visitorId), 1, 'the key is owed');
    const swept = await t.services.retention.sweep();
    assert.equal(swept.subjects, 1);
    assert.equal(await count('pending_shreds', 'subject_id', old.visitorId), 0);
    const erased = (await sql<{ scope: string }>`SELECT scope FROM key_erasures WHERE scope = ${`subject:${owner.orgId}:${old.visitorId}`}`.execute(t.database.db)).rows;
    assert.equal(erased.length, 1);
  });

  it("a verified visitor's row stays (their key goes): their host user is found again, and in-flight messages do not bring it back anonymous", async () => {
    const p = await project(1);
    const secret = (await owner.client.post(`/v1/projects/${p}/identity-secret`)).body.secret as string;
    const s = await t.client().post(`/v1/widget/${p}/sessions`, { identity: { userId: 'user-1', signature: signUserId(secret, 'user-1') } }, { origin });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const m = await t.client().post(`/v1/widget/${p}/messages`, { content: 'Hello' }, { origin, authorization: `Bearer ${s.body.token}` });
    await age(m.body.conversationId, 2);
    await t.services.retention.sweep();
    assert.equal(await count('conversations', 'id', m.body.conversationId), 0);
    const row = (await sql<{ verified: boolean; external_ref: string | null }>`SELECT verified, external_ref FROM visitors WHERE id = ${s.body.visitorId}`.execute(t.database.db)).rows[0];
    assert.ok(row?.verified && row.external_ref, 'still the verified visitor of that user');
    const again = await t.client().post(`/v1/widget/${p}/sessions`, { identity: { userId: 'user-1', signature: signUserId(secret, 'user-1') } }, { origin });
    assert.equal(again.body.visitorId, s.body.visitorId, 'the same visitor when they come back');
    const next = await t.client().post(`/v1/widget/${p}/messages`, { content: 'Back again' }, { origin, authorization: `Bearer ${again.body.token}` });
    assert.equal(next.status, 200, 'a new key, one version above the shredded one');
  });

  it("a visitor's key stays while one of their conversations is still kept", async () => {
    const p = await project(1);
    const s = await t.client().post(`/v1/widget/${p}/sessions`, {}, { origin });
    const auth = { origin, authorization: `Bearer ${s.body.token}` };
    const first = await t.client().post(`/v1/widget/${p}/messages`, { content: 'First question' }, auth);
    const second = await t.client().post(`/v1/widget/${p}/messages`, { content: 'Another topic' }, auth);
    assert.notEqual(first.body.conversationId, second.body.conversationId);
    await age(first.body.conversationId, 3);
    assert.deepEqual(await t.services.retention.sweep(), { conversations: 1, subjects: 0 });
    const again = await t.client().post(`/v1/widget/${p}/messages`, { content: 'Still here', conversationId: second.body.conversationId }, auth);
    assert.equal(again.status, 200, 'the kept conversation still decrypts and goes on');
    assert.equal((await owner.client.get(`/v1/conversations/${second.body.conversationId}/messages`)).body.messages.length, 4);
  });
});
