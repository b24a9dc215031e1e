/** SQL for projects. Tenant-scoped: every call runs inside withTenant. Nothing else. */
import { sql } from 'kysely';
import type { Tx } from '../../platform/db/tenant.ts';

export interface ProjectRow {
  id: string;
  org_id: string;
  name: string;
  settings: unknown;
  created_at: Date;
  updated_at: Date;
}

/** The visitor-sessions epoch, one up. */
const nextEpoch = { visitor_sessions_epoch: sql<number>`visitor_sessions_epoch + 1` };

export function createProjectStore() {
  return {
    insert: (tx: Tx, p: { id: string; org_id: string; name: string; settings: string }) => tx.insertInto('projects').values(p).execute(),

    list: (tx: Tx, orgId: string) =>
      tx.selectFrom('projects').selectAll().where('org_id', '=', orgId).orderBy('created_at').execute() as Promise<ProjectRow[]>,

    /**
     * How many projects the organisation has, with its row held (FOR NO KEY UPDATE) so creations
     * at once are counted one after the other.
     */
    lockOrgAndCount: async (tx: Tx, orgId: string): Promise<number> => {
      await tx.selectFrom('orgs').select('id').where('id', '=', orgId).forNoKeyUpdate().execute();
      const row = await tx.selectFrom('projects').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', orgId).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    get: (tx: Tx, projectId: string) =>
      tx.selectFrom('projects').selectAll().where('id', '=', projectId).executeTakeFirst() as Promise<ProjectRow | undefined>,

    /** The row, locked until the transaction ends: concurrent updates apply one after the other. */
    getForUpdate: (tx: Tx, projectId: string) =>
      tx.selectFrom('projects').selectAll().where('id', '=', projectId).forUpdate().executeTakeFirst() as Promise<ProjectRow | undefined>,

    update: (tx: Tx, projectId: string, patch: { name?: string; settings?: string; updated_at: Date }) =>
      tx.updateTable('projects').set(patch).where('id', '=', projectId).execute(),

    /** Raises the project's visitor-sessions epoch (every token issued before is refused); false when there is no such project. */
    endVisitorSessions: async (tx: Tx, projectId: string): Promise<boolean> =>
      Number((await tx.updateTable('projects').set(nextEpoch).where('id', '=', projectId).executeTakeFirst()).numUpdatedRows) === 1,

    /** Deletes every project identity secret of the organisation; how many there were. */
    deleteIdentitySecrets: async (tx: Tx, orgId: string): Promise<number> =>
      Number((await tx.deleteFrom('project_identity_secrets').where('org_id', '=', orgId).executeTakeFirst()).numDeletedRows),

    /** The same for every project of the organisation; their ids. */
    endAllVisitorSessions: async (tx: Tx, orgId: string): Promise<string[]> =>
      (await tx.updateTable('projects').set(nextEpoch).where('org_id', '=', orgId).returning('id').execute()).map((r) => r.id),

    remove: async (tx: Tx, projectId: string): Promise<boolean> =>
      Number((await tx.deleteFrom('projects').where('id', '=', projectId).executeTakeFirst()).numDeletedRows) === 1,
  };
}

export type ProjectStore = ReturnType<typeof createProjectStore>;
