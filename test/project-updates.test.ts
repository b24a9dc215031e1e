/**
 * Two updates of different sections of one project's settings, at the same time, both land: the
 * update reads the settings with the row locked, so the later one starts from the earlier one's
 * result instead of writing back what it read before it (which silently undid a PII policy
 * change, with an audit record showing only the other section). PostgreSQL only: PGlite has one
 * connection, so its transactions never interleave.
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
});
