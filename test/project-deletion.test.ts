/**
 * Deleting many rows at once, and deleting a project while a first message is being written:
 * lists of ids past PostgreSQL's 65,535 bound parameters are cut into statements it accepts (a
 * project with more than 32,767 visitors could not be deleted: a 500, every time), and a
 * visitor written just before the deletion has its key shredded with the others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { withTenant } from '../src/platform/db/tenant.ts';
import { owe, shredPending } from '../src/platform/crypto/pending-shreds.ts';
import { deleteConversations } from '../src/modules/chat/deletion.ts';
import { testBackend } from './helpers/database.ts';
import { holdLocks, lockWaiters } from './helpers/row-locks.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Many Visitors');
});
after(() => t.close());

describe('deleting many rows in one transaction', () => {
  it('owes 40,000 keys and deletes among 70,000 conversation ids without passing the parameter bound', async () => {
    const projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Busy docs' })).body.project.id as string;
    const rollback = new Error('rolled back on purpose');
    await assert.rejects(
      withTenant(t.database.db, owner.orgId, async (tx) => {
        await owe(tx, owner.orgId, Array.from({ length: 40_000 }, (_, i) => `vis_bulk${i}`));
        const owed = await tx.selectFrom('pending_shreds').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', owner.orgId).executeTakeFirstOrThrow();
        assert.equal(Number(owed.n), 40_000);
        await sql`INSERT INTO visitors (id, org_id, project_id) SELECT 'vis_real' || i, ${owner.orgId}, ${projectId} FROM generate_series(1, 3) i`.execute(tx);
        await sql`INSERT INTO conversations (id, org_id, project_id, visitor_id) SELECT 'conv_real' || i, ${owner.orgId}, ${projectId}, 'vis_real' || i FROM generate_series(1, 3) i`.execute(tx);
        const ids = [...Array.from({ length: 70_000 }, (_, i) => `conv_none${i}`), 'conv_real1', 'conv_real2', 'conv_real3'];
        const result = await deleteConversations(tx, owner.orgId, ids);
        assert.equal(result.deleted, 3);
        assert.deepEqual(result.subjects.sort(), ['vis_real1', 'vis_real2', 'vis_real3']);
        throw rollback;
      }),
      (e) => e === rollback,
    );
  });
});

describe('deleting a project while a first message is written', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite has one connection)' }, () => {
  it("waits for it, and shreds that visitor's key with the others", async () => {
    const projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Going away' })).body.project.id as string;
    // A first message's transaction: its visitor and conversation written, not yet committed.
    const message = await holdLocks(t.database.db, async (tx) => {
      await tx.insertInto('visitors').values({ id: 'vis_inflight', org_id: owner.orgId, project_id: projectId }).execute();
      await tx.insertInto('conversations').values({ id: 'conv_inflight', org_id: owner.orgId, project_id: projectId, visitor_id: 'vis_inflight' }).execute();
    });
    let removed: Promise<{ status: number }> | undefined;
    try {
      removed = owner.client.delete(`/v1/projects/${projectId}`);
      assert.ok((await lockWaiters(t.database.db, /from "projects"/i)) >= 1, 'the deletion waits for the message');
    } finally {
      await message.release();
    }
    assert.equal((await removed)?.status, 204);
    const tombstone = await sql`SELECT 1 FROM key_erasures WHERE scope = ${`subject:${owner.orgId}:vis_inflight`}`.execute(t.database.db);
    assert.equal(tombstone.rows.length, 1, "the in-flight visitor's key is shredded");
  });
});

describe('rotating an identity secret while its project is deleted', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass (PGlite has one connection)' }, () => {
  it('is a 404 once the deletion commits, not a 500', async () => {
    const projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Deleted under it' })).body.project.id as string;
    // The deletion's transaction: the project locked, deleted when let go.
    const deletion = await holdLocks(
      t.database.db,
      (tx) => sql`SELECT id FROM projects WHERE id = ${projectId} FOR UPDATE`.execute(tx),
      (tx) => sql`DELETE FROM projects WHERE id = ${projectId}`.execute(tx),
    );
    let rotated: Promise<{ status: number; body: { code?: string } }> | undefined;
    try {
      rotated = owner.client.post(`/v1/projects/${projectId}/identity-secret`, {});
      assert.ok((await lockWaiters(t.database.db, /projects/i)) >= 1, 'the rotation waits for the deletion');
    } finally {
      await deletion.release();
    }
    const r = await rotated;
    assert.deepEqual([r?.status, r?.body.code], [404, 'not_found']);
  });
});

describe('a key owed again while it is being shredded', () => {
  it('stays owed after that shred, and the next pass shreds it again', async () => {
    await withTenant(t.database.db, owner.orgId, (tx) => owe(tx, owner.orgId, ['vis_twice']));
    const shredded: string[] = [];
    const first = await shredPending(
      t.database.db,
      async (_org, subject) => {
        shredded.push(subject);
        // Meanwhile the person is erased again (a key they were given since is owed).
        if (shredded.length === 1) await withTenant(t.database.db, owner.orgId, (tx) => owe(tx, owner.orgId, ['vis_twice']));
        return 1;
      },
      { orgId: owner.orgId },
    );
    assert.equal(first.shredded, 1);
    const left = await t.database.db.selectFrom('pending_shreds').select(['claimed_at']).where('subject_id', '=', 'vis_twice').execute();
    assert.deepEqual(left, [{ claimed_at: null }], 'still owed, free for the next pass');
    const second = await shredPending(t.database.db, async (_org, subject) => (shredded.push(subject), 1), { orgId: owner.orgId });
    assert.equal(second.shredded, 1);
    assert.deepEqual(shredded, ['vis_twice', 'vis_twice']);
    assert.equal((await t.database.db.selectFrom('pending_shreds').select('subject_id').where('subject_id', '=', 'vis_twice').execute()).length, 0);
  });
});
