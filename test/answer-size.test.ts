/**
 * An answer provider that streams without end (a project's provider is any endpoint its owner
 * names): the answer is cut at MAX_ANSWER_CHARS, shown and stored at that length, and the
 * provider's request is closed.
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
  const conversation = await owner.client.post(`/v1/projects/${created.body.project.id}/conversations`, {});
  const id = conversation.body.conversation.id as string;
  const r = await owner.client.post(`/v1/conversations/${id}/messages`, { content: 'Tell me everything' });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  assert.equal(r.body.message.content.length, MAX_ANSWER_CHARS);
  const history = await owner.client.get(`/v1/conversations/${id}/messages`);
  const stored = history.body.messages.find((m: { role: string }) => m.role === 'assistant');
  assert.equal(stored.content.length, MAX_ANSWER_CHARS);
  for (let i = 0; i < 50 && stub.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stub.open, 0, 'the provider request was closed');
});
