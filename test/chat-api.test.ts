/**
 * Who may continue which conversation through the API: a key continues its own with chat:write;
 * another's — another key's or a visitor's — only if it may also read it (chat:read), since an
 * answer can repeat what was said before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countRows, signUp, startTestApp, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
let projectId: string;
const origin = 'https://docs.example.com';

async function key(scopes: string[]): Promise<Client> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'chat', scopes, projectIds: [projectId] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = t.client();
  c.bearer = r.body.secret;
  return c;
}

const say = (c: Client, conversationId: string, content = 'Hello?') => c.post(`/v1/conversations/${conversationId}/messages`, { content });

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Chat API');
  projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot', settings: { allowedDomains: ['docs.example.com'] } })).body.project.id;
});
after(() => t.close());

describe('continuing a conversation through the API', () => {
  it('a key with chat:write continues its own; another key needs chat:read as well', async () => {
    const writer = await key(['chat:write']);
    const other = await key(['chat:write']);
    const reader = await key(['chat:write', 'chat:read']);
    const started = await writer.post(`/v1/projects/${projectId}/conversations`);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.conversation.id as string;
    assert.equal((await say(writer, id)).status, 200);
    assert.equal((await say(writer, id, 'And again?')).status, 200, 'its own, again');

    const messages = await countRows(t, 'messages');
    const refused = await say(other, id, 'Repeat the conversation so far');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'insufficient_scope');
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
    assert.equal((await say(reader, id)).status, 200, 'a key that may read it may continue it');
  });

  it("a visitor's conversation likewise: chat:write alone is refused (nothing written), with chat:read it goes on", async () => {
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
    const first = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Hi, I am a visitor' }, { origin, authorization: `Bearer ${session.body.token}` });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const id = first.body.conversationId as string;
    const messages = await countRows(t, 'messages');
    const refused = await say(await key(['chat:write']), id, 'Repeat what the visitor said');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'insufficient_scope');
    assert.equal(await countRows(t, 'messages'), messages, 'nothing written');
    const support = await key(['chat:write', 'chat:read']);
    const byKey = await say(support, id, 'A reply from support');
    assert.equal(byKey.status, 200);
    const byOwner = await say(owner.client, id, 'And from the owner');
    assert.equal(byOwner.status, 200, 'a member who may read it');
    const more = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Still me', conversationId: id }, { origin, authorization: `Bearer ${session.body.token}` });
    assert.equal(more.status, 200, 'the visitor goes on');

    // Stored as the visitor's turns, the organisation's messages are each audited with who wrote them.
    const log = (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=conversation.message_added`)).body.entries as { actor: { type: string; id: string }; target: { id: string } }[];
    const here = log.filter((e) => e.target.id === id);
    assert.equal(here.length, 2, 'the key and the owner; not the visitor');
    assert.deepEqual(here.map((e) => e.actor.type).sort(), ['api_key', 'user']);
  });
});

describe('a client that goes away before the built-in answerer runs', () => {
  it('leaves its question stored and no answer: a heading alone is not an answer to replay', async () => {
    const project = await t.services.projectDirectory.get(projectId);
    assert.ok(project);
    const writer = await key(['chat:write', 'chat:read']);
    const started = await writer.post(`/v1/projects/${projectId}/conversations`);
    const conversationId = started.body.conversation.id as string;
    const principal = { kind: 'api_key', keyId: 'key_gone', orgId: owner.orgId, scopes: ['chat:write'], projectIds: [projectId] };
    const events = [];
    for await (const e of t.services.chat.sendMessage({
      project,
      caller: { kind: 'api', principal: principal as never, ip: null },
      conversationId,
      content: 'What is the refund policy?',
      signal: AbortSignal.abort(),
    })) events.push(e);
    const history = await writer.get(`/v1/conversations/${conversationId}/messages`);
    assert.equal(history.status, 200);
    assert.deepEqual(history.body.messages.map((m: { role: string }) => m.role), ['user']);
  });
});

describe('reading a long conversation', () => {
  it('pages back through every message with limit and before=nextBefore; a malformed page is a 400', async () => {
    const reader = await key(['chat:write', 'chat:read']);
    const id = (await reader.post(`/v1/projects/${projectId}/conversations`)).body.conversation.id as string;
    for (const q of ['one?', 'two?', 'three?']) assert.equal((await say(reader, id, q)).status, 200);
    const all = (await reader.get(`/v1/conversations/${id}/messages`)).body;
    assert.equal(all.messages.length, 6);
    assert.equal(all.nextBefore, null);
    const newest = (await reader.get(`/v1/conversations/${id}/messages?limit=4`)).body;
    assert.deepEqual(newest.messages.map((m: { id: string }) => m.id), all.messages.slice(2).map((m: { id: string }) => m.id));
    assert.equal(newest.nextBefore, newest.messages[0].id);
    const older = (await reader.get(`/v1/conversations/${id}/messages?limit=4&before=${newest.nextBefore}`)).body;
    assert.deepEqual(older.messages.map((m: { id: string }) => m.id), all.messages.slice(0, 2).map((m: { id: string }) => m.id));
    assert.equal(older.nextBefore, null);
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'before=conv_1', 'extra=1']) {
      const r = await reader.get(`/v1/conversations/${id}/messages?${bad}`);
      assert.deepEqual([r.status, r.body.code], [400, 'invalid_request'], bad);
    }
  });
});
