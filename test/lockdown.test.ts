/**
 * Incident response: POST /v1/orgs/{orgId}/lockdown revokes every API key of the organisation
 * and every session of its members at once; other organisations are untouched; only admins and
 * owners may do it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { memberWithRole, signUp, startTestApp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

describe('lockdown', () => {
  it('revokes every key and every member session at once, and is audited', async () => {
    const owner = await signUp(t, 'Breached');
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const bystander = await signUp(t, 'Bystander');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const other = await bystander.client.post(`/v1/orgs/${bystander.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read'] });
    const keyClient = t.client();
    keyClient.bearer = key.body.secret;
    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);

    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.revokedApiKeys, 1);
    assert.ok(r.body.revokedSessions >= 2);

    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 401);
    assert.equal((await editor.client.get('/v1/me')).status, 401);
    assert.equal((await owner.client.get('/v1/me')).status, 401);
    assert.equal((await bystander.client.get('/v1/me')).status, 200, 'another organisation is untouched');
    const otherKey = t.client();
    otherKey.bearer = other.body.secret;
    assert.equal((await otherKey.get(`/v1/orgs/${bystander.orgId}/projects`)).status, 200);

    const fresh = t.client();
    await fresh.post('/v1/auth/login', { email: owner.email, password: 'violet-harbour-quantum-47' });
    const log = await fresh.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.lockdown`);
    assert.equal(log.body.entries.length, 1);
  });

  it('an editor cannot lock down; another organisation gets 404', async () => {
    const owner = await signUp(t, 'Guarded');
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    assert.equal((await editor.client.post(`/v1/orgs/${owner.orgId}/lockdown`)).status, 403);
    const stranger = await signUp(t, 'Stranger');
    assert.equal((await stranger.client.post(`/v1/orgs/${owner.orgId}/lockdown`)).status, 404);
    assert.equal((await owner.client.get('/v1/me')).status, 200);
  });
});
