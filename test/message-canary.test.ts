/**
 * Encryption at rest, end to end: a canary sent through the widget as a visitor message comes
 * back in the answer's context and the history, but the raw database — PGlite's data files, or
 * every PostgreSQL table read as text — holds no plaintext of it, nor of the answer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signUp, startTestApp, type TestApp } from './helpers/harness.ts';
import { scanForPlaintext } from './helpers/raw-scan.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe('message canary', () => {
  it('a visitor message and its answer never reach storage in the clear', async () => {
    const owner = await signUp(t, 'Canary Org');
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'bot', settings: { allowedDomains: ['docs.example.com'] } });
    const projectId = p.body.project.id;
    const marker = `zebracanary${randomBytes(6).toString('hex')}`;
    await owner.client.post(`/v1/projects/${projectId}/documents`, { title: 'Canary', contentType: 'text', content: `The ${marker}answer is forty-two.` });
    const origin = 'https://docs.example.com';
    const s = await t.client().post(`/v1/widget/${projectId}/sessions`, {}, { origin });
    // Letters only: a high-entropy canary would be tokenised as a secret before it is stored.
    const canary = `quokka ${[...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('')} canary`;
    const m = await t.client().post(`/v1/widget/${projectId}/messages`, { content: `Tell me about ${canary} please` }, { origin, authorization: `Bearer ${s.body.token}` });
    assert.equal(m.status, 200);
    const history = await owner.client.get(`/v1/conversations/${m.body.conversationId}/messages`);
    assert.ok(history.body.messages.some((x: { content: string }) => x.content.includes(canary)), 'the owner reads it back decrypted');
    assert.deepEqual(await scanForPlaintext(t, canary), [], 'the canary is in raw storage');
  });
});
