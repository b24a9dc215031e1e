/**
 * The knowledge routes over real HTTP on the real app: happy paths, validation, roles, and
 * another organisation's objects answering 404 exactly like missing ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memberWithRole, signUp, startTestApp, type Client, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: Client;
let viewer: Client;
let outsider: Client;
let projectId: string;

before(async () => {
  t = await startTestApp();
  const o = await signUp(t, 'Knowledge Org');
  owner = o.client;
  viewer = (await memberWithRole(t, owner, o.orgId, 'viewer')).client;
  outsider = (await signUp(t, 'Other Org', 'outsider')).client;
  projectId = (await owner.post(`/v1/orgs/${o.orgId}/projects`, { name: 'Docs bot' })).body.project.id;
});
after(() => t.close());

const doc = { title: 'Password help', contentType: 'html', url: 'https://acme.test/help', content: '<h1>Reset</h1><p>To reset your password, open Settings and choose Security.</p><script>bad()</script>' };

describe('knowledge routes', () => {
  it('adds, lists, searches and deletes a document', async () => {
    const created = await owner.post(`/v1/projects/${projectId}/documents`, doc);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.document.id, /^doc_/);
    assert.equal(created.body.document.contentType, 'html');

    const list = await viewer.get(`/v1/projects/${projectId}/documents`);
    assert.equal(list.status, 200);
    assert.equal(list.body.documents.length, 1);

    const search = await viewer.get(`/v1/projects/${projectId}/search?q=${encodeURIComponent('how do I reset my password?')}&limit=3`);
    assert.equal(search.status, 200);
    assert.equal(search.body.results[0].documentId, created.body.document.id);
    assert.equal(search.body.results[0].heading, 'Reset');
    assert.doesNotMatch(search.body.results[0].text, /bad\(\)|</);

    const removed = await owner.delete(`/v1/documents/${created.body.document.id}`);
    assert.equal(removed.status, 204);
    assert.equal((await owner.delete(`/v1/documents/${created.body.document.id}`)).status, 404);
  });

  it('validates input', async () => {
    const bad = [
      { ...doc, contentType: 'pdf' },
      { ...doc, title: '' },
      { ...doc, url: 'javascript:alert(1)' },
      { ...doc, extra: true },
    ];
    for (const body of bad) assert.equal((await owner.post(`/v1/projects/${projectId}/documents`, body)).status, 400, JSON.stringify(body));
    const big = await owner.post(`/v1/projects/${projectId}/documents`, { ...doc, contentType: 'text', content: 'x'.repeat(1_000_001) });
    assert.ok([400, 413].includes(big.status), String(big.status));
    assert.equal((await owner.get(`/v1/projects/${projectId}/search?q=reset&limit=21`)).status, 400);
    assert.equal((await owner.get(`/v1/projects/${projectId}/search?q=`)).status, 400);
  });

  it('searches any text a visitor may type: runs of "-" or "!" that exclude nothing are not operators (33 in a row were a 500)', async () => {
    const created = await owner.post(`/v1/projects/${projectId}/documents`, { ...doc, content: '<p>Reset your password in Settings.</p><p>Parcels ship from Lisbon.</p>' });
    assert.equal(created.status, 201);
    for (const q of ['-'.repeat(33), '- '.repeat(40), '!'.repeat(40), '-(-'.repeat(30), '-&'.repeat(40), '|-'.repeat(40), `password ${'-!'.repeat(100)}`]) {
      const r = await owner.get(`/v1/projects/${projectId}/search?q=${encodeURIComponent(q.slice(0, 500))}`);
      assert.equal(r.status, 200, `${q.slice(0, 20)}…: ${JSON.stringify(r.body)}`);
    }
    const found = await owner.get(`/v1/projects/${projectId}/search?q=${encodeURIComponent('password --- !!')}`);
    assert.match(found.body.results[0]?.text ?? '', /Reset your password/);
    // A command-line flag is asked about, not excluded.
    const flag = await owner.post(`/v1/projects/${projectId}/documents`, { title: 'Flags', contentType: 'text', content: 'Pass --force to overwrite an existing export.' });
    const forced = await owner.get(`/v1/projects/${projectId}/search?q=${encodeURIComponent('what does --force do')}`);
    assert.match(forced.body.results[0]?.text ?? '', /Pass --force to overwrite/);
    await owner.delete(`/v1/documents/${flag.body.document.id}`);
    await owner.delete(`/v1/documents/${created.body.document.id}`);
  });

  it('needs knowledge:write to add or delete', async () => {
    const r = await viewer.post(`/v1/projects/${projectId}/documents`, doc);
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden');
    const created = await owner.post(`/v1/projects/${projectId}/documents`, doc);
    assert.equal((await viewer.delete(`/v1/documents/${created.body.document.id}`)).status, 403);
    assert.equal((await t.client().get(`/v1/projects/${projectId}/search?q=reset`)).status, 401);
  });

  it("answers 404 for another organisation's project and documents, exactly like missing ones", async () => {
    const created = await owner.post(`/v1/projects/${projectId}/documents`, doc);
    const foreign = await outsider.delete(`/v1/documents/${created.body.document.id}`);
    const missing = await outsider.delete('/v1/documents/doc_doesnotexist0000000000');
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.detail, missing.body.detail);
    assert.equal((await outsider.get(`/v1/projects/${projectId}/search?q=reset`)).status, 404);
    assert.equal((await outsider.get(`/v1/projects/${projectId}/documents`)).status, 404);
    assert.equal((await outsider.post(`/v1/projects/${projectId}/documents`, doc)).status, 404);
    const ids = (await owner.get(`/v1/projects/${projectId}/documents`)).body.documents.map((d: { id: string }) => d.id);
    assert.ok(ids.includes(created.body.document.id), 'nothing deleted');
  });
});
