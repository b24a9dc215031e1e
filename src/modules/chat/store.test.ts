/** recordMessages: a conversation opened with its messages in one statement, in their order. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { newId } from '../../platform/ids.ts';
import { createChatStore, type MessageRow } from './store.ts';

describe('chat store', () => {
  let tdb: TestDatabase;
  const orgId = newId('org');
  const projectId = newId('prj');
  const store = createChatStore();

  before(async () => {
    tdb = await createTestDatabase();
    await tdb.database.db.insertInto('orgs').values({ id: orgId, name: 'A', slug: orgId.toLowerCase() }).execute();
    await tdb.database.db.insertInto('projects').values({ id: projectId, org_id: orgId, name: 'a', settings: '{}' }).execute();
  });
  after(() => tdb.drop());

  const message = (conversationId: string, role: 'user' | 'assistant'): MessageRow => ({ id: newId('msg'), org_id: orgId, conversation_id: conversationId, role, content: `v1.${role}`, citations: [] });

  it('opens a conversation with its visitor and messages, which keep their order', async () => {
    const conversationId = newId('conv');
    const visitorId = newId('vis');
    const open = { id: conversationId, org_id: orgId, project_id: projectId, visitor_id: visitorId, api_key_id: null, origin: 'https://a.test' };
    for (let round = 0; round < 20; round += 1) {
      const pair = [message(conversationId, 'user'), message(conversationId, 'assistant')];
      await withTenant(tdb.database.db, orgId, (tx) =>
        round === 0 ? store.recordMessages(tx, { open }, pair) : store.recordMessages(tx, { touch: { conversationId, at: new Date() } }, pair),
      );
    }
    const rows = await withTenant(tdb.database.db, orgId, (tx) => store.recentMessages(tx, conversationId, 100));
    assert.equal(rows.length, 40);
    assert.deepEqual(
      rows.reverse().map((r) => r.role),
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'user' : 'assistant')),
    );
    const found = await withTenant(tdb.database.db, orgId, (tx) => store.findConversation(tx, conversationId));
    assert.equal(found?.visitorId, visitorId);
  });

  it("a continuing conversation's new turn sorts after its last one, even when the clock reads an earlier time", async () => {
    const conversationId = newId('conv');
    const open = { id: conversationId, org_id: orgId, project_id: projectId, visitor_id: null, api_key_id: null, origin: null };
    await withTenant(tdb.database.db, orgId, (tx) => store.recordMessages(tx, { open }, [message(conversationId, 'user'), message(conversationId, 'assistant')]));
    // What a coarse clock (PGlite's can read the same instant twice) or a step back looks like.
    await sql`UPDATE messages SET created_at = created_at + interval '1 minute' WHERE conversation_id = ${conversationId}`.execute(tdb.database.db);
    const next = [message(conversationId, 'user'), message(conversationId, 'assistant')];
    await withTenant(tdb.database.db, orgId, (tx) => store.recordMessages(tx, { touch: { conversationId, at: new Date() } }, next));
    const rows = await withTenant(tdb.database.db, orgId, (tx) => store.recentMessages(tx, conversationId, 10));
    assert.deepEqual(rows.reverse().map((r) => r.role), ['user', 'assistant', 'user', 'assistant']);
    assert.deepEqual(rows.slice(2).map((r) => r.id), next.map((m) => m.id));
  });

  it("does not see another organisation's conversation", async () => {
    const other = newId('org');
    await tdb.database.db.insertInto('orgs').values({ id: other, name: 'B', slug: other.toLowerCase() }).execute();
    const conversationId = newId('conv');
    const open = { id: conversationId, org_id: orgId, project_id: projectId, visitor_id: null, api_key_id: null, origin: null };
    await withTenant(tdb.database.db, orgId, (tx) => store.recordMessages(tx, { open }, [message(conversationId, 'user')]));
    assert.equal(await withTenant(tdb.database.db, other, (tx) => store.findConversation(tx, conversationId)), undefined);
  });
});
