/**
 * Answers that go wrong: a provider that streams without end (a project's provider is any endpoint
 * its owner names) is cut at MAX_ANSWER_CHARS, shown and stored at that length, and its request
 * closed; a failed answer names the conversation its question was stored in.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { MAX_ANSWER_CHARS } from '../src/modules/chat/service.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startOpenAiStub, type OpenAiStub } from './helpers/openai-stub.ts';

let t: TestApp;
let stub: OpenAiStub;
let owner: SignedUp;

before(async () => {
  stub = await startOpenAiStub({ reply: 'lorem '.repeat(2 * MAX_ANSWER_CHARS / 6) });
  t = await startTestApp();
  owner = await signUp(t, 'Long answers');
});
after(async () => {
  await t.close();
  await stub.close();
});

it('cuts an endless answer at the cap, stores it at that length and closes the provider request', async () => {
  const created = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, {
    name: 'Talkative',
    settings: { answer: { provider: 'openai-compatible', baseUrl: stub.baseUrl, model: 'stub' } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const doc = await owner.client.post(`/v1/projects/${created.body.project.id}/documents`, { title: 'Everything', content: 'Everything there is to tell, in one document.', contentType: 'text', url: 'https://docs.example.com/everything' });
  assert.equal(doc.status, 201, JSON.stringify(doc.body));
  const conversation = await owner.client.post(`/v1/projects/${created.body.project.id}/conversations`, {});
  const id = conversation.body.conversation.id as string;
  const r = await owner.client.post(`/v1/conversations/${id}/messages`, { content: 'Tell me everything' });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  assert.equal(r.body.message.content.length, MAX_ANSWER_CHARS);
  assert.deepEqual(r.body.message.citations.map((c: { title: string }) => c.title), ['Everything'], 'the passages it was given are cited, as a whole answer would');
  const history = await owner.client.get(`/v1/conversations/${id}/messages`);
  const stored = history.body.messages.find((m: { role: string }) => m.role === 'assistant');
  assert.equal(stored.content.length, MAX_ANSWER_CHARS);
  for (let i = 0; i < 50 && stub.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stub.open, 0, 'the provider request was closed');
});

it('a failed answer names the conversation its question was stored in, so a retry continues it', async () => {
  const failing = await startOpenAiStub({ mode: 'http500' });
  try {
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, {
      name: 'Failing',
      settings: { allowedDomains: ['docs.example.com'], answer: { provider: 'openai-compatible', baseUrl: failing.baseUrl, model: 'stub' } },
    });
    const projectId = created.body.project.id as string;
    const origin = 'https://docs.example.com';
    const session = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
    const r = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Hello?' }, { origin, authorization: `Bearer ${session.body.token}` });
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.code, 'provider_error');
    assert.match(r.body.conversationId ?? '', /^conv_/, 'the conversation opened for the question');
    const again = await t.client().post(`/v1/widget/${projectId}/messages`, { content: 'Hello again?', conversationId: r.body.conversationId }, { origin, authorization: `Bearer ${session.body.token}` });
    assert.equal(again.body.conversationId, r.body.conversationId, 'the retry continues it');
  } finally {
    await failing.close();
  }
});
