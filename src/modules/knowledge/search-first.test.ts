/**
 * knowledge_search_first() (migration 0702): the first query of the list that matches anything
 * wins, in one round trip, and as the tables' owner it still reads nothing without a tenant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { newId } from '../../platform/ids.ts';
import { createAuditService } from '../audit/service.ts';
import { createKnowledgeService } from './service.ts';
import { createKnowledgeStore } from './store.ts';

describe('knowledge_search_first', () => {
  let tdb: TestDatabase;
  const orgId = newId('org');
  const projectId = newId('prj');

  before(async () => {
    tdb = await createTestDatabase();
    const { db } = tdb.database;
    await db.insertInto('orgs').values({ id: orgId, name: 'A', slug: orgId.toLowerCase() }).execute();
    await db.insertInto('projects').values({ id: projectId, org_id: orgId, name: 'a', settings: '{}' }).execute();
    const knowledge = createKnowledgeService({ db, audit: createAuditService() });
    const system = { principal: { kind: 'system' as const }, ip: null };
    await knowledge.addDocument(orgId, projectId, { title: 'Refunds', contentType: 'text', content: 'Refunds reach the card within five days.' }, system);
    await knowledge.addDocument(orgId, projectId, { title: 'Cards', contentType: 'text', content: 'We accept every card.' }, system);
  });
  after(() => tdb.drop());

  const search = (queries: string[]) => withTenant(tdb.database.db, orgId, (tx) => createKnowledgeStore().search(tx, projectId, queries, 5));

  it('returns the ranked matches of the first query that matches at all, and no later ones', async () => {
    assert.deepEqual(await search(['kubernetes helm', 'nothing here']), []);
    const strict = await search(['refund card', 'card']);
    assert.deepEqual(strict.map((r) => r.title), ['Refunds'], 'the strict query matched: the relaxed one is not run');
    const relaxed = await search(['kubernetes card', 'card']);
    assert.deepEqual(relaxed.map((r) => r.title).sort(), ['Cards', 'Refunds']);
  });

  it('finds nothing without a tenant, even for the right project', async () => {
    const { rows } = await sql`SELECT * FROM knowledge_search_first(${projectId}, ${['card']}::text[], 400, 5)`.execute(tdb.database.db);
    assert.deepEqual(rows, []);
  });
});
