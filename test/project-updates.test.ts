/**
 * Requests racing on one project, on PostgreSQL (PGlite has one connection, so its transactions
 * never interleave). Two updates of different sections of its settings at the same time both
 * land: the update reads the settings with the row locked, so the later one starts from the
 * earlier one's result instead of writing back what it read before (which silently undid a PII
 * policy change, with an audit record showing only the other section). A message to a project
 * deleted while it was being answered gets 404 (a foreign key refused its write), not a 500.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { testBackend } from './helpers/database.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

describe('concurrent project updates', { skip: testBackend() !== 'postgres' && 'runs on the PostgreSQL pass' }, () => {
  let t: TestApp;
  let owner: SignedUp;
  before(async () => {
    t = await startTestApp();
    owner = await signUp(t, 'Concurrent');
  });
  after(() => t.close());

  it('a widget change and a PII policy change made at once are both kept', async () => {
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot' });
    const id: string = created.body.project.id;
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked = (): void => undefined;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // Another transaction holds the row, so both updates are in flight together when it lets go.
    const holder = t.database.db.transaction().execute(async (tx) => {
      await sql`SELECT 1 FROM projects WHERE id = ${id} FOR UPDATE`.execute(tx);
      locked();
      await released;
    });
    await isLocked;
    const widget = owner.client.patch(`/v1/projects/${id}`, { settings: { widget: { greeting: 'Hello from the widget change' } } });
    const pii = owner.client.patch(`/v1/projects/${id}`, { settings: { pii: { operators: { EMAIL: 'redact' } } } });
    await sleep(300); // both requests reach the database and wait on the row
    release();
    await holder;
    assert.equal((await widget).status, 200);
    assert.equal((await pii).status, 200);
    const settings = (await owner.client.get(`/v1/projects/${id}`)).body.project.settings;
    assert.equal(settings.widget.greeting, 'Hello from the widget change');
    assert.equal(settings.pii.operators.EMAIL, 'redact');
  });

  it('a widget message to a project deleted while it was being answered gets 404, not a 500, and writes nothing', async () => {
    const created = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Doomed', settings: { allowedDomains: ['docs.example.com'] } });
    const id: string = created.body.project.id;
    const origin = 'https://docs.example.com';
    const session = await t.client().post(`/v1/widget/${id}/sessions`, {}, { origin });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    let commit = (): void => undefined;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let deleted = (): void => undefined;
    const isDeleted = new Promise<void>((resolve) => (deleted = resolve));
    // The delete holds its row lock, uncommitted, while the message (its project still cached) writes.
    const deletion = t.database.db.transaction().execute(async (tx) => {
      await sql`DELETE FROM projects WHERE id = ${id}`.execute(tx);
      deleted();
      await committed;
    });
    await isDeleted;
    const message = t.client().post(`/v1/widget/${id}/messages`, { content: 'How do I reset my password?' }, { origin, authorization: `Bearer ${session.body.token}` });
    await sleep(300); // the message's insert waits on the deleted row's lock
    commit();
    await deletion;
    const reply = await message;
    assert.equal(reply.status, 404, JSON.stringify(reply.body));
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM conversations WHERE project_id = ${id}`.execute(t.database.db);
    assert.equal(rows[0]?.n, 0);
  });
});
