/**
 * Pending invitations: the organisation sees and withdraws them; those a member sent stop working
 * when the member is removed, leaves, or is demoted below the role they invited to; and accepting
 * re-checks that whoever sent one may still do so. Both storage tiers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { testBackend } from './helpers/database.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';
import { up as withdrawOrphaned } from '../src/platform/db/migrations/0727_withdraw_orphaned_invitations.ts';
import { countRows, memberWithRole, signUp, startTestApp, strongPassword, uniqueEmail, type Client, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(() => t.close());

async function invite(by: Client, orgId: string, role: string): Promise<{ id: string; email: string; token: string }> {
  const email = uniqueEmail('invitee');
  const r = await by.post(`/v1/orgs/${orgId}/members`, { email, role });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.invitation.id, email, token: String(r.body.invitation.link).split('#')[1] ?? '' };
}

/** Signs the invited address up and tries the invitation. */
async function accept(inv: { email: string; token: string }) {
  const c = t.client();
  await c.post('/v1/auth/signup', { email: inv.email, password: strongPassword, orgName: 'Own' });
  return c.post('/v1/invitations/accept', { token: inv.token });
}

async function auditOf(owner: SignedUp, action: string) {
  return (await owner.client.get(`/v1/orgs/${owner.orgId}/audit-log?action=${action}`)).body.entries as { target: { id: string }; metadata: Record<string, unknown> }[];
}

describe('pending invitations', () => {
  it('are listed without their links, and a withdrawn one cannot be accepted', async () => {
    const owner = await signUp(t, 'Inviting');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const one = await invite(owner.client, owner.orgId, 'editor');
    const two = await invite(admin.client, owner.orgId, 'viewer');
    const list = await owner.client.get(`/v1/orgs/${owner.orgId}/invitations`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.invitations.map((i: { email: string; role: string; invitedBy: string }) => [i.email, i.role, i.invitedBy]),
      [[one.email, 'editor', owner.userId], [two.email, 'viewer', admin.userId]],
    );
    assert.equal(JSON.stringify(list.body).includes(one.token), false, 'no link, no token');

    const revoked = await admin.client.delete(`/v1/orgs/${owner.orgId}/invitations/${one.id}`);
    assert.equal(revoked.status, 204);
    assert.equal((await accept(one)).status, 404);
    assert.deepEqual((await owner.client.get(`/v1/orgs/${owner.orgId}/invitations`)).body.invitations.map((i: { id: string }) => i.id), [two.id]);
    assert.equal((await admin.client.delete(`/v1/orgs/${owner.orgId}/invitations/${one.id}`)).status, 404, 'already withdrawn');
    const [entry] = await auditOf(owner, 'invitation.revoked');
    assert.equal(entry?.target.id, one.id);
    assert.deepEqual(entry?.metadata, { email: one.email, role: 'editor' });
    const created = await auditOf(owner, 'invitation.created');
    assert.ok(created.some((e) => e.metadata.email === two.email), 'the invited address is in the audit log');
    assert.equal((await accept(two)).status, 200);
  });

  it("a member's address, however written, is refused 409 and nothing is written; an account that is no member is invited like any address", async () => {
    const owner = await signUp(t, 'Already');
    const editor = await memberWithRole(t, owner.client, owner.orgId, 'editor');
    const before = await countRows(t, 'invitations');
    const again = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: editor.email.toUpperCase(), role: 'viewer' });
    assert.deepEqual([again.status, again.body.code], [409, 'conflict']);
    assert.equal(await countRows(t, 'invitations'), before);
    const stranger = await signUp(t, 'Elsewhere');
    assert.equal((await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: stranger.email, role: 'viewer' })).status, 201);
  });

  it('only an owner may withdraw an invitation to the owner role; another organisation gets 404', async () => {
    const owner = await signUp(t, 'Owners only');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const inv = await invite(owner.client, owner.orgId, 'owner');
    const byAdmin = await admin.client.delete(`/v1/orgs/${owner.orgId}/invitations/${inv.id}`);
    assert.equal(byAdmin.status, 403);
    const outsider = await signUp(t, 'Elsewhere');
    assert.equal((await outsider.client.delete(`/v1/orgs/${owner.orgId}/invitations/${inv.id}`)).status, 404);
    assert.equal((await outsider.client.delete(`/v1/orgs/${outsider.orgId}/invitations/${inv.id}`)).status, 404, "not in the caller's own organisation either");
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/invitations/not-an-id`)).status, 400);
    assert.equal((await accept(inv)).status, 200, 'the refused calls changed nothing');
  });
});

describe("a member's invitations", () => {
  it('stop working when the member is removed, and the removal records how many', async () => {
    const owner = await signUp(t, 'Removing');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const backdoor = await invite(admin.client, owner.orgId, 'admin');
    const fromOwner = await invite(owner.client, owner.orgId, 'viewer');
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${admin.userId}`)).status, 204);
    assert.equal((await accept(backdoor)).status, 404, 'the removed admin cannot come back through an address of theirs');
    assert.equal((await accept(fromOwner)).status, 200, "others' invitations go on");
    const [removed] = await auditOf(owner, 'member.removed');
    assert.equal(removed?.metadata.expiredInvitations, 1);
  });

  it('to the same address stop working once one is accepted: a member removed or demoted cannot come back by a second link', async () => {
    const owner = await signUp(t, 'Twice invited');
    const first = await invite(owner.client, owner.orgId, 'admin');
    const r = await owner.client.post(`/v1/orgs/${owner.orgId}/members`, { email: first.email, role: 'admin' });
    assert.equal(r.status, 201, 'the first link was "lost": a second one is sent');
    const second = { email: first.email, token: String(r.body.invitation.link).split('#')[1] ?? '' };
    const c = t.client();
    await c.post('/v1/auth/signup', { email: first.email, password: strongPassword, orgName: 'Own' });
    const joined = await c.post('/v1/invitations/accept', { token: first.token });
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    const [accepted] = await auditOf(owner, 'invitation.accepted');
    assert.equal(accepted?.metadata.otherInvitationsWithdrawn, 1);
    const me = (await c.get('/v1/me')).body;
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${me.user?.id ?? me.id}`)).status, 204);
    const back = await c.post('/v1/invitations/accept', { token: second.token });
    assert.equal(back.status, 404, JSON.stringify(back.body));
    assert.equal((await owner.client.get(`/v1/orgs/${owner.orgId}/members`)).body.members.length, 1, 'only the owner');
  });

  it('stop working when the member leaves', async () => {
    const owner = await signUp(t, 'Leaving');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const inv = await invite(admin.client, owner.orgId, 'editor');
    assert.equal((await admin.client.delete(`/v1/orgs/${owner.orgId}/membership`)).status, 204);
    assert.equal((await accept(inv)).status, 404);
  });

  it('to roles the new role cannot grant stop working on a demotion; the others go on', async () => {
    const owner = await signUp(t, 'Demoting');
    const second = await memberWithRole(t, owner.client, owner.orgId, 'owner');
    const toOwner = await invite(second.client, owner.orgId, 'owner');
    const toAdmin = await invite(second.client, owner.orgId, 'admin');
    assert.equal((await owner.client.patch(`/v1/orgs/${owner.orgId}/members/${second.userId}`, { role: 'admin' })).status, 200);
    assert.equal((await accept(toOwner)).status, 404, 'an admin could not have invited an owner');
    assert.equal((await accept(toAdmin)).status, 200);

    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const toViewer = await invite(admin.client, owner.orgId, 'viewer');
    assert.equal((await owner.client.patch(`/v1/orgs/${owner.orgId}/members/${admin.userId}`, { role: 'editor' })).status, 200);
    assert.equal((await accept(toViewer)).status, 404, 'an editor invites nobody');
  });

  it('are refused at acceptance when their sender no longer may send them, even if one was not expired', async () => {
    const owner = await signUp(t, 'Racing');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const inv = await invite(admin.client, owner.orgId, 'admin');
    assert.equal((await owner.client.delete(`/v1/orgs/${owner.orgId}/members/${admin.userId}`)).status, 204);
    // As if it had been written while the removal committed: still pending.
    await t.database.db.updateTable('invitations').set({ expires_at: new Date(Date.now() + 86_400_000) }).where('id', '=', inv.id).execute();
    const r = await accept(inv);
    assert.equal(r.status, 404);
    const members = (await owner.client.get(`/v1/orgs/${owner.orgId}/members`)).body.members as { email: string }[];
    assert.equal(members.some((m) => m.email === inv.email), false, 'no membership was written');
  });
});

describe('invitations sent before removals withdrew them', () => {
  it('are withdrawn by migration 0727 when their sender no longer may send them', async () => {
    const owner = await signUp(t, 'Migrated');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const demoted = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const formerOwner = await memberWithRole(t, owner.client, owner.orgId, 'owner');
    const orphan = await invite(admin.client, owner.orgId, 'editor');
    const byDemoted = await invite(demoted.client, owner.orgId, 'viewer');
    const ownerInvite = await invite(formerOwner.client, owner.orgId, 'owner');
    const adminInvite = await invite(formerOwner.client, owner.orgId, 'admin');
    const kept = await invite(owner.client, owner.orgId, 'viewer');
    // As an earlier version removed and demoted members: their invitations stayed pending.
    const db = t.database.db;
    await sql`DELETE FROM memberships WHERE org_id = ${owner.orgId} AND user_id = ${admin.userId}`.execute(db);
    await sql`UPDATE memberships SET role = 'editor' WHERE org_id = ${owner.orgId} AND user_id = ${demoted.userId}`.execute(db);
    await sql`UPDATE memberships SET role = 'admin' WHERE org_id = ${owner.orgId} AND user_id = ${formerOwner.userId}`.execute(db);
    await withdrawOrphaned(db as never);
    const pending = (await owner.client.get(`/v1/orgs/${owner.orgId}/invitations`)).body.invitations as { id: string }[];
    assert.deepEqual(pending.map((i) => i.id).sort(), [adminInvite.id, kept.id].sort(), 'an admin may still invite admins');
    for (const gone of [orphan, byDemoted, ownerInvite]) assert.equal((await accept(gone)).status, 404);
    assert.equal((await accept(kept)).status, 200);
    assert.equal((await accept(adminInvite)).status, 200);
  });
});

describe('an acceptance racing a withdrawal', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite never interleaves transactions)' }, () => {
  it('loses when the withdrawal commits between its read and its write', async () => {
    const owner = await signUp(t, 'Racing withdrawal');
    const inv = await invite(owner.client, owner.orgId, 'viewer');
    const c = t.client();
    await c.post('/v1/auth/signup', { email: inv.email, password: strongPassword, orgName: 'Own' });
    // The withdrawal holds the row: the acceptance reads it as pending, then waits at its write.
    const withdrawal = await holdLocks(
      t.database.db,
      (tx) => sql`SELECT 1 FROM invitations WHERE id = ${inv.id} FOR UPDATE`.execute(tx),
      (tx) => sql`UPDATE invitations SET expires_at = created_at WHERE id = ${inv.id}`.execute(tx),
    );
    const accepting = c.post('/v1/invitations/accept', { token: inv.token });
    const waited = await lockWaiters(t.database.db, /update "invitations"/i);
    await withdrawal.release();
    const r = await accepting;
    assert.ok(waited > 0, 'the acceptance read the invitation as pending and waited at its write');
    assert.equal(r.status, 404, JSON.stringify(r.body));
    const members = (await owner.client.get(`/v1/orgs/${owner.orgId}/members`)).body.members as { email: string }[];
    assert.equal(members.some((m) => m.email === inv.email), false, 'no membership was written');
  });
});

describe("an invitation racing its sender's removal", { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite never interleaves transactions)' }, () => {
  it('is refused when the removal commits first, and nothing is written', async () => {
    const owner = await signUp(t, 'Racing removal');
    const admin = await memberWithRole(t, owner.client, owner.orgId, 'admin');
    const invitations = await countRows(t, 'invitations');
    // The removal has deleted the membership but not committed: the invitation waits for it.
    const removal = await holdLocks(t.database.db, (tx) => sql`DELETE FROM memberships WHERE org_id = ${owner.orgId} AND user_id = ${admin.userId}`.execute(tx));
    const inviting = admin.client.post(`/v1/orgs/${owner.orgId}/members`, { email: uniqueEmail('late'), role: 'admin' });
    const waited = await lockWaiters(t.database.db, /memberships/i);
    await removal.release();
    const r = await inviting;
    assert.ok(waited > 0, 'the invitation waited on the membership row');
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(await countRows(t, 'invitations'), invitations, 'nothing written');
  });
});

describe('a member acting while being demoted', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite never interleaves transactions)' }, () => {
  it('an owner whose demotion commits first cannot make someone else owner on the way out, and nothing is written', async () => {
    const owner = await signUp(t, 'Racing demotion');
    const leaving = await memberWithRole(t, owner.client, owner.orgId, 'owner');
    const accomplice = await memberWithRole(t, owner.client, owner.orgId, 'viewer');
    const demotion = await holdLocks(t.database.db, (tx) => sql`UPDATE memberships SET role = 'admin' WHERE org_id = ${owner.orgId} AND user_id = ${leaving.userId}`.execute(tx));
    const promoting = leaving.client.patch(`/v1/orgs/${owner.orgId}/members/${accomplice.userId}`, { role: 'owner' });
    let waited = 0;
    try {
      waited = await lockWaiters(t.database.db, /memberships/i);
    } finally {
      await demotion.release();
    }
    const r = await promoting;
    assert.ok(waited > 0, 'the change waited on the demotion');
    assert.equal(r.status, 403, JSON.stringify(r.body));
    const { rows } = await sql<{ role: string }>`SELECT role FROM memberships WHERE org_id = ${owner.orgId} AND user_id = ${accomplice.userId}`.execute(t.database.db);
    assert.equal(rows[0]?.role, 'viewer');
  });
});
