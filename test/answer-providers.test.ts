/**
 * Answer providers: the built-in extractive answerer (quotes, citations, an honest "no answer")
 * and the OpenAI-compatible client against a real HTTP server speaking Chat Completions,
 * including its failure modes (HTTP 500, a hung provider, a stream that stalls).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAnswerProvider, noAnswer, type AnswerEvent, type AnswerInput, type Passage } from '../src/modules/chat/answer-providers/index.ts';
import { createOpenAiCompatibleProvider } from '../src/modules/chat/answer-providers/openai-compatible.ts';
import { AppError } from '../src/platform/http/errors.ts';
import { startOpenAiStub, type OpenAiStub } from './helpers/openai-stub.ts';

const passages: Passage[] = [
  {
    documentId: 'doc_refunds',
    title: 'Refund policy',
    url: 'https://example.test/refunds',
    heading: 'Refunds',
    text: 'We issue refunds within 30 days of purchase. Refunds go back to the original card. Our office is in Lisbon.',
    score: 0.5,
  },
  {
    documentId: 'doc_support',
    title: 'Support',
    url: null,
    heading: 'Contact',
    text: 'To request a refund, write to support from the e-mail address of your account. We answer within two working days.',
    score: 0.3,
  },
];

function input(question: string, extra: Partial<AnswerInput> = {}): AnswerInput {
  return { question, history: [], passages, systemPrompt: 'You are the Acme helper.', ...extra };
}

async function collect(events: AsyncIterable<AnswerEvent>): Promise<{ text: string; deltas: number; citations: { title: string; url: string | null }[] | null }> {
  let text = '';
  let deltas = 0;
  let citations: { title: string; url: string | null }[] | null = null;
  for await (const e of events) {
    if (e.type === 'delta') {
      text += e.text;
      deltas += 1;
    } else citations = e.citations;
  }
  return { text, deltas, citations };
}

async function failure(events: AsyncIterable<AnswerEvent>): Promise<{ error: AppError; text: string }> {
  let text = '';
  try {
    for await (const e of events) if (e.type === 'delta') text += e.text;
  } catch (error) {
    assert.ok(error instanceof AppError, String(error));
    return { error, text };
  }
  assert.fail('expected a provider_error');
}

describe('extractive answerer', () => {
  const extractive = createAnswerProvider({ provider: 'extractive', systemPrompt: '' });

  it('quotes the most relevant sentences and cites their documents', async () => {
    const r = await collect(extractive.answer(input('How long do refunds take?')));
    assert.match(r.text, /We issue refunds within 30 days of purchase\. \[1\]/);
    assert.doesNotMatch(r.text, /Lisbon/, 'an irrelevant sentence is not quoted');
    assert.ok(r.deltas >= 2, 'streamed in a few deltas');
    assert.deepEqual(r.citations?.[0], { title: 'Refund policy', url: 'https://example.test/refunds' });
    for (const [i, c] of (r.citations ?? []).entries()) assert.ok(r.text.includes(`[${i + 1}]`), `citation ${c.title} is used`);
  });

  it('says plainly when the passages hold no answer, with no citations', async () => {
    for (const q of ['What is the capital of France?', 'the and of', '']) {
      const r = await collect(extractive.answer(input(q)));
      assert.equal(r.text, noAnswer);
      assert.equal(r.citations, null);
    }
    const none = await collect(extractive.answer(input('How long do refunds take?', { passages: [] })));
    assert.equal(none.text, noAnswer);
  });

  it('is deterministic and fast', async () => {
    const first = await collect(extractive.answer(input('refund card')));
    const started = performance.now();
    for (let i = 0; i < 500; i += 1) assert.deepEqual(await collect(extractive.answer(input('refund card'))), first);
    const perAnswer = (performance.now() - started) / 500;
    assert.ok(perAnswer < 5, `${perAnswer.toFixed(3)} ms per answer`);
  });
});

describe('OpenAI-compatible provider', () => {
  let stub: OpenAiStub;
  before(async () => {
    stub = await startOpenAiStub({ reply: 'Refunds take up to 30 days [1].' });
  });
  after(() => stub.close());

  const provider = (extra: { timeoutMs?: number; idleTimeoutMs?: number; apiKey?: string } = {}) =>
    createOpenAiCompatibleProvider({ baseUrl: stub.baseUrl, model: 'stub-model', timeoutMs: 2000, ...extra });

  it('streams the answer, then cites the passages it was given', async () => {
    stub.mode = 'normal';
    stub.requests.length = 0;
    const history = [
      { role: 'user' as const, content: 'Hello' },
      { role: 'assistant' as const, content: 'Hi! How can I help?' },
    ];
    const r = await collect(provider({ apiKey: 'sk-test-123' }).answer(input('How long do refunds take?', { history })));
    assert.equal(r.text, 'Refunds take up to 30 days [1].');
    assert.ok(r.deltas > 1);
    assert.deepEqual(r.citations, [
      { title: 'Refund policy', url: 'https://example.test/refunds' },
      { title: 'Support', url: null },
    ]);
    const [request] = stub.requests;
    assert.ok(request);
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer sk-test-123');
    assert.equal(request.body.model, 'stub-model');
    assert.equal(request.body.stream, true);
    const messages = request.body.messages ?? [];
    assert.deepEqual(messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
    assert.match(messages[0]?.content ?? '', /^You are the Acme helper\./);
    assert.match(messages[0]?.content ?? '', /only the numbered passages/);
    assert.match(messages[0]?.content ?? '', /\[1\] Refund policy — Refunds\nWe issue refunds within 30 days/);
    assert.match(messages[0]?.content ?? '', /\[2\] Support — Contact/);
    assert.equal(messages[3]?.content, 'How long do refunds take?');
  });

  it('sends no Authorization header without a key, and is chosen by project settings', async () => {
    stub.mode = 'normal';
    stub.requests.length = 0;
    const chosen = createAnswerProvider({ provider: 'openai-compatible', baseUrl: stub.baseUrl, model: 'm', systemPrompt: '', timeoutMs: 2000 });
    const r = await collect(chosen.answer(input('refunds?')));
    assert.equal(r.text, stub.reply);
    assert.equal(stub.requests[0]?.headers.authorization, undefined);
  });

  it('an HTTP error becomes provider_error with the status only', async () => {
    stub.mode = 'http500';
    const { error } = await failure(provider({ apiKey: 'sk-test-123' }).answer(input('refunds?')));
    assert.equal(error.code, 'provider_error');
    assert.equal(error.message, 'The answer provider replied with HTTP 500.');
  });

  it('a provider that never answers times out with a clear error', async () => {
    stub.mode = 'hang';
    const started = Date.now();
    const { error } = await failure(provider({ timeoutMs: 300 }).answer(input('refunds?')));
    assert.equal(error.message, 'The answer provider did not respond in time.');
    assert.ok(Date.now() - started < 2000);
  });

  it('a stream that stalls mid-answer times out after the part already sent', async () => {
    stub.mode = 'stall';
    const { error, text } = await failure(provider({ timeoutMs: 5000, idleTimeoutMs: 200 }).answer(input('refunds?')));
    assert.equal(error.message, 'The answer provider did not respond in time.');
    assert.equal(text, 'Refunds ');
  });

  it('an unreachable provider is reported without details', async () => {
    const closed = await startOpenAiStub();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const p = createOpenAiCompatibleProvider({ baseUrl, model: 'm', apiKey: 'sk-test-123', timeoutMs: 2000 });
    const { error } = await failure(p.answer(input('refunds?')));
    assert.equal(error.message, 'The answer provider could not be reached.');
  });

  it('stops quietly when the caller goes away', async () => {
    stub.mode = 'hang';
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const r = await collect(provider({ timeoutMs: 5000 }).answer(input('refunds?', { signal: controller.signal })));
    assert.equal(r.text, '');
    assert.equal(r.citations, null);
  });
});
