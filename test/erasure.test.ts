/**
 * Erasure requests: a person named by visitor id or by an identifier is erased for good — every
 * conversation of theirs with its messages and vault rows, their visitor row, their keys
 * (tombstoned) — and nobody else; the audit record names how, never the identifier.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

const origin = 'https://docs.example.com';
let t: TestApp;
let owner: SignedUp;
let projectId: string;

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Erasure Org');
  projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot', settings: { allowedDomains: ['docs.example.com'] } })).body.project.id;
});
after(() => t.close());

async function visitor(): Promise<{ token: string; visitorId: string }> {
  const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
  return { token: s.body.token, visitorId: s.body.visitorId };
}

async function say(v: { token: string }, content: string): Promise<string> {
  const r = await t.client().post(`/v1/widget/${projectId}/messages`, { content }, { origin, authorization: `Bearer ${v.token}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.conversationId;
}

const rows = async (table: string, column: string, value: string): Promise<number> =>
  Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE ${sql.ref(column)} = ${value}`.execute(t.database.db)).rows[0]?.n ?? 0);
const tombstoned = async (subjectId: string): Promise<boolean> =>
  (await sql`SELECT 1 FROM key_erasures WHERE scope = ${`subject:${owner.orgId}:${subjectId}`}`.execute(t.database.db)).rows.length === 1;

describe('erasure requests', () => {
  it('deleting a project owes and shreds its people\'s keys', async () => {
    const p = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Short-lived', settings: { allowedDomains: ['docs.example.com'] } })).body.project.id as string;
    const s = await t.client().post(`/v1/widget/${p}/sessions`, {}, { origin });
    assert.equal((await t.client().post(`/v1/widget/${p}/messages`, { content: 'Mail me: eve@example.com' }, { origin, authorization: `Bearer ${s.body.token}` })).status, 200);
    assert.equal((await owner.client.delete(`/v1/projects/${p}`)).status, 204);
    assert.ok(await tombstoned(s.body.visitorId), "the visitor's key is shredded with the project");
    assert.equal(await rows('pending_shreds', 'org_id', owner.orgId), 0, 'nothing left owed');
  });

  it('by visitor id: all their conversations, their visitor row and key go; nobody else is touched', async () => {
    const alice = await visitor();
    const bob = await visitor();
    const a1 = await say(alice, 'Mail me at alice@example.com');
    const a2 = await say(alice, 'Another question');
    const b1 = await say(bob, 'I am Bob, bob@example.com');
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { visitorId: alice.visitorId });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.erasure.conversations, 2);
    assert.match(r.body.erasure.id, /^era_/);
    for (const id of [a1, a2]) {
      assert.equal(await rows('conversations', 'id', id), 0);
      assert.equal(await rows('messages', 'conversation_id', id), 0);
      assert.equal(await rows('pii_vault', 'conversation_id', id), 0);
      assert.equal((await owner.client.get(`/v1/conversations/${id}/messages`)).status, 404);
    }
    assert.equal(await rows('visitors', 'id', alice.visitorId), 0);
    assert.ok(await tombstoned(alice.visitorId), 'the key is shredded');
    assert.equal((await owner.client.get(`/v1/conversations/${b1}/messages`)).status, 200, 'another visitor stays');
    assert.match(await say(bob, 'Still here?'), /^conv_/, 'and may go on writing');
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=privacy.erased`)).body.entries;
    assert.deepEqual(log[0].target, { type: 'visitor', id: alice.visitorId });
    assert.equal(log[0].metadata.conversations, 2);
  });

  it('by identifier (any spelling): every conversation holding it, and all conversations of the visitors who wrote it', async () => {
    const carol = await visitor();
    const dave = await visitor();
    const c1 = await say(carol, 'Reach me: Carol.Jones@Example.com');
    const c2 = await say(carol, 'Nothing personal here');
    const d1 = await say(dave, 'dave@example.com here');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'crm', scopes: ['chat:write', 'chat:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    const apiConversation = (await t.client().post(`/v1/projects/${projectId}/conversations`, {}, bearer)).body.conversation.id as string;
    assert.equal((await t.client().post(`/v1/conversations/${apiConversation}/messages`, { content: 'Customer carol.jones@example.com called' }, bearer)).status, 200);

    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { identifier: { type: 'EMAIL', value: ' CAROL.JONES@example.com ' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.erasure.conversations, 3);
    assert.equal(r.body.erasure.visitors, 1);
    assert.equal(r.body.erasure.subjects, 2, "Carol's key and the API conversation's own");
    assert.equal(r.body.erasure.keysOwed, 0, 'all shredded');
    for (const id of [c1, c2, apiConversation]) assert.equal(await rows('conversations', 'id', id), 0, id);
    assert.equal(await rows('visitors', 'id', carol.visitorId), 0);
    assert.ok(await tombstoned(carol.visitorId));
    assert.ok(await tombstoned(apiConversation));
    assert.equal(await rows('conversations', 'id', d1), 1, 'Dave stays');
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=privacy.erased`)).body.entries;
    assert.equal(log[0].metadata.identifierType, 'EMAIL');
    assert.doesNotMatch(JSON.stringify(log), /carol/i, 'the identifier is not in the audit log');
  });

  it('an identifier in several visitors\' conversations: a dry run counts, and only the stated count erases them all', async () => {
    const a = await visitor();
    const b = await visitor();
    await say(a, 'Our shared mailbox is team@example.org');
    await say(b, 'Write to team@example.org please');
    const path = `/v1/orgs/${owner.orgId}/erasure-requests`;
    const identifier = { type: 'EMAIL', value: 'team@example.org' };
    const conversations = await rows('conversations', 'project_id', projectId);
    const refused = await owner.client.post(path, { identifier });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /2 visitors/);
    const dry = await owner.client.post(path, { identifier, dryRun: true });
    assert.equal(dry.status, 200);
    assert.deepEqual({ visitors: dry.body.erasure.visitors, conversations: dry.body.erasure.conversations, dryRun: dry.body.erasure.dryRun }, { visitors: 2, conversations: 2, dryRun: true });
    assert.equal(await rows('conversations', 'project_id', projectId), conversations, 'refusal and dry run delete nothing');
    const checked = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=privacy.erasure_checked`)).body.entries;
    assert.deepEqual(checked[0].metadata, { by: 'identifier', identifierType: 'EMAIL', conversations: 2, visitors: 2, mentions: 0 }, 'a dry run is audited, without the identifier');
    assert.equal((await owner.client.post(path, { identifier, expectVisitors: 1 })).status, 409, 'a wrong count is refused too');
    const done = await owner.client.post(path, { identifier, expectVisitors: 2 });
    assert.equal(done.status, 201);
    assert.equal(done.body.erasure.visitors, 2);
  });

  it("an identifier the organisation's own caller wrote into a visitor's conversation goes alone: that visitor is someone else", async () => {
    const ann = await visitor();
    const annConversation = await say(ann, 'Where is my order?');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'agent desk', scopes: ['chat:write', 'chat:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    assert.equal((await t.client().post(`/v1/conversations/${annConversation}/messages`, { content: 'I forwarded this to bob@partner.example' }, bearer)).status, 200);
    const mentioned = async (): Promise<number> =>
      Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM pii_vault WHERE conversation_id = ${annConversation} AND by_subject = false AND value_hash <> 'erased'`.execute(t.database.db)).rows[0]?.n);
    assert.equal(await mentioned(), 1);
    const path = `/v1/orgs/${owner.orgId}/erasure-requests`;
    const identifier = { type: 'EMAIL', value: 'bob@partner.example' };
    const dry = await owner.client.post(path, { identifier, dryRun: true });
    assert.deepEqual([dry.body.erasure.visitors, dry.body.erasure.conversations, dry.body.erasure.mentions], [0, 0, 1]);
    const r = await owner.client.post(path, { identifier });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual([r.body.erasure.visitors, r.body.erasure.conversations, r.body.erasure.mentions], [0, 0, 1]);
    assert.equal(await mentioned(), 0, "Bob's address is gone from the vault");
    const [kept] = (await sql<{ id: string }>`SELECT id FROM pii_vault WHERE conversation_id = ${annConversation} AND value_hash = 'erased'`.execute(t.database.db)).rows;
    const reveals = await rows('audit_log', 'action', 'pii.revealed');
    const reveal = await owner.client.post(`/v1/entities/${kept?.id}/reveal`);
    assert.equal(reveal.status, 404, 'an erased value is not revealed (as an empty one)');
    assert.equal(await rows('audit_log', 'action', 'pii.revealed'), reveals, 'nor recorded as revealed');
    assert.equal(await rows('visitors', 'id', ann.visitorId), 1, 'Ann stays');
    assert.ok(!(await tombstoned(ann.visitorId)), "and so does Ann's key");
    const history = await owner.client.get(`/v1/conversations/${annConversation}/messages`);
    assert.equal(history.status, 200);
    assert.doesNotMatch(JSON.stringify(history.body), /bob@partner/);
    // Her own address, in the same conversation, gets a token of its own: the erased value's
    // number is not given again (the agent's message would then read as her address).
    const more = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Mine is ann@example.com', conversationId: annConversation }, { origin, authorization: `Bearer ${ann.token}` });
    assert.equal(more.status, 200, JSON.stringify(more.body));
    const tokens = await t.database.db.selectFrom('pii_vault').select(['token', 'by_subject']).where('conversation_id', '=', annConversation).orderBy('token').execute();
    assert.deepEqual(tokens, [{ token: '<EMAIL_1>', by_subject: false }, { token: '<EMAIL_2>', by_subject: true }]);
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=privacy.erased`)).body.entries;
    assert.equal(log[0].metadata.mentions, 1);
  });

  it("keysOwed counts this erasure's keys not yet shredded, also one another runner holds", async () => {
    const eve = await visitor();
    await say(eve, 'Hello');
    // A retention sweep elsewhere has claimed Eve's key and not finished.
    await sql`INSERT INTO pending_shreds (org_id, subject_id, claimed_at) VALUES (${owner.orgId}, ${eve.visitorId}, now())`.execute(t.database.db);
    try {
      const r = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { visitorId: eve.visitorId });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.erasure.keysOwed, 1, 'not reported as shredded while it is not');
    } finally {
      await sql`DELETE FROM pending_shreds WHERE subject_id = ${eve.visitorId}`.execute(t.database.db);
      await t.services.crypto.shred(owner.orgId, eve.visitorId);
    }
  });

  it('a phone number given in international form also finds it written nationally, and then asks for the count (another country may share the digits)', async () => {
    const frank = await visitor();
    const f1 = await say(frank, 'Call me back on 020 7946 0958 please');
    // An American number with the London number's digits but its trunk prefix: someone else.
    const gina = await visitor();
    const g1 = await say(gina, 'My cell is (207) 946-0958');
    const path = `/v1/orgs/${owner.orgId}/erasure-requests`;
    const identifier = { type: 'PHONE', value: '+44 20 7946 0958' };
    const refused = await owner.client.post(path, { identifier });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /national phone number/);
    const dry = await owner.client.post(path, { identifier, dryRun: true });
    assert.deepEqual({ visitors: dry.body.erasure.visitors, conversations: dry.body.erasure.conversations }, { visitors: 1, conversations: 1 }, 'Gina is not found');
    const r = await owner.client.post(path, { identifier, expectVisitors: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.erasure.conversations, 1);
    assert.equal(await rows('conversations', 'id', f1), 0);
    assert.equal(await rows('conversations', 'id', g1), 1, 'Gina stays');
    assert.ok(!(await tombstoned(gina.visitorId)));
  });

  it("a value an agent wrote nationally into someone's conversation goes only once the count is stated", async () => {
    const holly = await visitor();
    const conversation = await say(holly, 'Who should I call?');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'agent phone', scopes: ['chat:write', 'chat:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    assert.equal((await t.client().post(`/v1/conversations/${conversation}/messages`, { content: 'Our partner is on 020 7946 0321' }, bearer)).status, 200);
    // The partner chatted too, giving the number in international form: they surely are its owner.
    const partner = await visitor();
    await say(partner, 'Reach me on +44 20 7946 0321');
    const path = `/v1/orgs/${owner.orgId}/erasure-requests`;
    const identifier = { type: 'PHONE', value: '+44 20 7946 0321' };
    const refused = await owner.client.post(path, { identifier });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /expectMentions: 1/, 'only the national mention needs a count, not the visitor found by the number itself');
    const done = await owner.client.post(path, { identifier, expectMentions: 1 });
    assert.equal(done.status, 201, JSON.stringify(done.body));
    assert.deepEqual([done.body.erasure.mentions, done.body.erasure.visitors], [1, 1]);
    assert.equal(await rows('conversations', 'id', conversation), 1, "Holly's conversation stays");
  });

  it('an identifier in several conversations without a visitor: only the stated count erases them all', async () => {
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'helpdesk', scopes: ['chat:write', 'chat:read'] });
    const bearer = { authorization: `Bearer ${key.body.secret}` };
    const made: string[] = [];
    for (const customer of ['Hal', 'Ida', 'Jo']) {
      const id = (await t.client().post(`/v1/projects/${projectId}/conversations`, {}, bearer)).body.conversation.id as string;
      assert.equal((await t.client().post(`/v1/conversations/${id}/messages`, { content: `${customer} asked; cc support@acme.example` }, bearer)).status, 200);
      made.push(id);
    }
    const path = `/v1/orgs/${owner.orgId}/erasure-requests`;
    const identifier = { type: 'EMAIL', value: 'support@acme.example' };
    const refused = await owner.client.post(path, { identifier });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /3 conversations without a visitor/);
    assert.equal((await owner.client.post(path, { identifier, expectConversations: 2 })).status, 409, 'a wrong count is refused too');
    for (const id of made) assert.equal(await rows('conversations', 'id', id), 1, 'nothing deleted by a refusal');
    const done = await owner.client.post(path, { identifier, expectConversations: 3 });
    assert.equal(done.status, 201, JSON.stringify(done.body));
    for (const id of made) assert.equal(await rows('conversations', 'id', id), 0);
  });

  it('only identifiers that name one person; an unknown visitor or identifier erases nothing and is still recorded; malformed requests are 400 and write nothing', async () => {
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { identifier: { type: 'PHONE', value: '+44 20 7946 0000' } });
    assert.equal(r.status, 201);
    assert.equal(r.body.erasure.conversations, 0);
    const ghost = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, { visitorId: 'vis_nobody' });
    assert.deepEqual({ conversations: ghost.body.erasure.conversations, subjects: ghost.body.erasure.subjects }, { conversations: 0, subjects: 0 });
    const audited = await rows('audit_log', 'org_id', owner.orgId);
    for (const body of [
      {},
      { visitorId: 'vis_x', identifier: { type: 'EMAIL', value: 'a@b.c' } },
      { identifier: { type: 'NAME', value: 'x' } },
      { identifier: { type: 'PERSON', value: 'Jane Roe' } },
      { identifier: { type: 'DATE_OF_BIRTH', value: '1990-01-01' } },
      { visitorId: 'not-a-visitor' },
      { identifier: { type: 'EMAIL', value: '   ' } },
      { visitorId: 'vis_x', expectVisitors: 0 },
    ]) {
      const bad = await owner.client.post(`/v1/orgs/${owner.orgId}/erasure-requests`, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.code, 'invalid_request');
    }
    assert.equal(await rows('audit_log', 'org_id', owner.orgId), audited);
  });
});
