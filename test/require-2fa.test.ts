/**
 * An organisation's `require2fa` setting is enforced: members without two-factor sign-in are
 * refused its routes (403 forbidden, saying what to do), and nobody can require it without
 * having it themselves. API keys are not sign-ins and are unaffected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { memberWithRole, signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;

/** Stands in for the TOTP enrolment flow (test/totp.test.ts covers that): 2FA on for this user. */
async function turnOn2fa(userId: string): Promise<void> {
  await sql`UPDATE users SET totp_secret = 'v1.o.1.placeholder', totp_enabled = true WHERE id = ${userId}`.execute(t.database.db);
}

before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Strict Org');
});
after(() => t.close());

describe('require2fa', () => {
  it('cannot be turned on by someone without two-factor sign-in (nothing changes)', async () => {
    const r = await owner.client.patch(`/v1/orgs/${owner.orgId}`, { require2fa: true });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'invalid_request');
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}`)).body.org.require2fa, false);
  });

  it('once on, refuses members without 2FA until they turn it on; API keys are unaffected', async () => {
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const key = await owner.client.post(`/v1/orgs/${owner.orgId}/api-keys`, { name: 'k', scopes: ['projects:read'] });
    assert.equal(key.status, 201);
    await turnOn2fa(owner.userId);
    const on = await owner.client.patch(`/v1/orgs/${owner.orgId}`, { require2fa: true });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    assert.equal(on.body.org.require2fa, true);

    const refused = await editor.client.get(`/v1/orgs/${owner.orgId}/projects`);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'forbidden');
    assert.match(refused.body.detail, /two-factor/);
    const write = await editor.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'nope' });
    assert.equal(write.status, 403);
    assert.equal((await editor.client.get('/v1/me')).status, 200, 'their own account routes stay open, to enrol');

    const bearer = t.client();
    bearer.bearer = key.body.secret;
    assert.equal((await bearer.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);

    await turnOn2fa(editor.userId);
    assert.equal((await editor.client.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/projects`)).status, 200);
  });

  it('is audited with its value before and after, so switching it off shows', async () => {
    const other = await signUp(t, 'Audited Org', 'auditor');
    await turnOn2fa(other.userId);
    assert.equal((await other.client.patch(`/v1/orgs/${other.orgId}`, { require2fa: true })).status, 200);
    assert.equal((await other.client.patch(`/v1/orgs/${other.orgId}`, { require2fa: false, name: 'Relaxed Org' })).status, 200);
    const log = await other.client.get(`/v1/orgs/${other.orgId}/audit-log?action=org.updated`);
    const changes = log.body.entries.map((e: { metadata: { changes: unknown } }) => e.metadata.changes);
    assert.deepEqual(changes, [
      { require2fa: { from: true, to: false }, name: { from: 'Audited Org', to: 'Relaxed Org' } },
      { require2fa: { from: false, to: true } },
    ]);
    assert.equal((await other.client.patch(`/v1/orgs/${other.orgId}`, { name: 'Relaxed Org' })).status, 200);
    const again = await other.client.get(`/v1/orgs/${other.orgId}/audit-log?action=org.updated`);
    assert.equal(again.body.entries.length, 2, 'a patch that changes nothing records nothing');
  });
});
