/**
 * Writes that encrypt inside a database transaction must not load a data key there: the load
 * would wait for a connection the transaction itself holds (PGlite has exactly one), and every
 * request after it would queue behind the stuck one. Keys leave the cache after a TTL or when a
 * rotation evicts them, so the tests run on a keyring that never has a key cached: every
 * encryption loads its key from the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Keyring } from '../src/platform/crypto/keyring.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';
import { startOpenAiStub, type OpenAiStub } from './helpers/openai-stub.ts';

const origin = 'https://docs.example.com';
let t: TestApp;
let stub: OpenAiStub;
let owner: SignedUp;
let loads = 0;

/** The real keyring, with its cache emptied before every key it hands out. */
function neverCached(real: Keyring): Keyring {
  return {
    kekId: real.kekId,
    peek: () => undefined,
    peekCurrent: () => undefined,
    currentKey: (scope) => {
      loads += 1;
      real.evict(scope);
      return real.currentKey(scope);
    },
    latestKey: (scope) => {
      real.evict(scope);
      return real.latestKey(scope);
    },
    keyFor: (scope, version) => {
      real.evict(scope);
      return real.keyFor(scope, version);
    },
    rotate: (scope) => real.rotate(scope),
    rotateIfPresent: (scope) => real.rotateIfPresent(scope),
    destroy: (scope) => real.destroy(scope),
    evict: (scope) => real.evict(scope),
    rewrapAll: (kms, batchSize) => real.rewrapAll(kms, batchSize),
  };
}

before(async () => {
  stub = await startOpenAiStub({ reply: 'An answer from the stub.' });
  t = await startTestApp({ wrapKeyring: neverCached });
  owner = await signUp(t, 'Cold Keys Org');
});
after(async () => {
  await t.close();
  await stub.close();
});

async function project(settings: Record<string, unknown>): Promise<string> {
  const r = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Cold keys bot', settings: { allowedDomains: ['docs.example.com'], ...settings } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.project.id;
}

/** A visitor's conversation of `turns` messages, each answered within a few seconds. */
async function converse(projectId: string, turns: number): Promise<void> {
  const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  let conversationId: string | undefined;
  for (let i = 0; i < turns; i++) {
    const r = await t
      .client()
      .post(`/v1/widget/${projectId}/messages`, { content: `Question ${i}: my email is visitor${i}@example.com`, ...(conversationId ? { conversationId } : {}) }, { origin, authorization: `Bearer ${s.body.token}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    conversationId = r.body.conversationId;
  }
}

describe('a data key that is not cached when a message is written', () => {
  it('is loaded before the transaction: the built-in answerer stores question and answer', { timeout: 30_000 }, async () => {
    const before = loads;
    await converse(await project({}), 3);
    assert.ok(loads > before, 'the keys really were loaded from the store');
  });

  it('is loaded before the transaction with a remote answer provider too', { timeout: 30_000 }, async () => {
    await converse(await project({ answer: { provider: 'openai-compatible', baseUrl: stub.baseUrl, model: 'stub' } }), 2);
  });

  it("is loaded before the transaction that stores a project's answer key", { timeout: 30_000 }, async () => {
    const projectId = await project({ answer: { provider: 'openai-compatible', baseUrl: stub.baseUrl, model: 'stub' } });
    const set = await owner.client.post(`/v1/projects/${projectId}/answer-key`, { apiKey: 'sk-cold-0123456789abcdefghij' }, {});
    assert.equal(set.status, 204, JSON.stringify(set.body));
    assert.equal((await owner.client.get(`/v1/projects/${projectId}/answer-key`)).body.answerKey.configured, true);
  });
});
