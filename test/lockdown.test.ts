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

    // An intruder's invitation to an address of theirs must not outlive the lockdown.
    const invited = `intruder-${Date.now()}@example.test`;
    const invitation = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: invited, role: 'admin' });
    const token = String(invitation.body.invitation.link).split('#')[1];

    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/lockdown`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.revokedApiKeys, 1);
    assert.equal(r.body.revokedInvitations, 1);
    const intruder = t.client();
    await intruder.post('/v1/auth/signup', { email: invited, password: 'violet-harbour-quantum-47', orgName: 'Intruder' });
    assert.equal((await intruder.post('/v1/invitations/accept', { token })).status, 404, 'the invitation died with the lockdown');
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

  it('editors, viewers, another organisation, an API key and no credentials are refused, and nothing is revoked', async () => {
    const owner = await signUp(t, 'Guarded');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'ci', scopes: ['projects:read', 'projects:write', 'keys:manage'] });
    const keyClient = t.client();
    keyClient.bearer = key.body.secret;
    const path = `/v1/orgs/${owner.orgId}/lockdown`;
    for (const role of ['editor', 'viewer'] as const) {
      const member = await memberWithRole(t, owner.client, owner.orgId, role);
      const r = await member.client.post(path);
      assert.equal(r.status, 403, role);
      assert.equal(r.body.code, 'forbidden', role);
      assert.equal((await member.client.get('/v1/me')).status, 200, `${role}: still signed in`);
    }
    const stranger = await signUp(t, 'Stranger');
    const foreign = await stranger.client.post(path);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'not_found');
    const anonymous = await t.client().post(path);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthenticated');
    const byKey = await keyClient.post(path);
    assert.equal(byKey.status, 403, 'no API key scope grants a lockdown');
    assert.equal(byKey.body.code, 'insufficient_scope');

    assert.equal((await owner.client.get('/v1/me')).status, 200, 'no session was revoked');
    assert.equal((await keyClient.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200, 'no key was revoked');
    const log = await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=org.lockdown`);
    assert.equal(log.body.entries.length, 0, 'no lockdown was recorded');
  });
});
