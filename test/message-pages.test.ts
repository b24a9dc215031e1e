/**
 * Reading a conversation a page at a time (the export and the entity counts): every message once,
 * oldest first, across page boundaries — also messages written in one statement, which share
 * their timestamp's instant on a coarse clock and differ by a microsecond.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { messagePages } from '../src/modules/chat/message-pages.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

let t: TestApp;
let owner: SignedUp;
before(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Pages');
});
after(() => t.close());

it('yields every message of the conversation once, oldest first, in pages of the size asked', async () => {
  const projectId = (await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Bot' })).body.project.id as string;
  const id = (await owner.client.post(`/v1/projects/${projectId}/conversations`, {})).body.conversation.id as string;
  for (let i = 0; i < 3; i++) assert.equal((await owner.client.post(`/v1/conversations/${id}/messages`, { content: `question ${i}` })).status, 200);
  const other = (await owner.client.post(`/v1/projects/${projectId}/conversations`, {})).body.conversation.id as string;
  assert.equal((await owner.client.post(`/v1/conversations/${other}/messages`, { content: 'elsewhere' })).status, 200);

  const pages: string[][] = [];
  for await (const rows of messagePages(t.database.db, owner.orgId, id, 4)) pages.push(rows.map((r) => r.id));
  assert.deepEqual(pages.map((p) => p.length), [4, 2], 'six messages (three questions, three answers) in pages of four');
  const history = (await owner.client.get(`/v1/conversations/${id}/messages`)).body.messages as { id: string }[];
  assert.deepEqual(pages.flat(), history.map((m) => m.id), 'the order the history shows, nothing twice, nothing of another conversation');
  const none: unknown[] = [];
  for await (const rows of messagePages(t.database.db, 'org_someone_else', id, 4)) none.push(rows);
  assert.deepEqual(none, [], "another organisation's tenant sees none of it");
});
