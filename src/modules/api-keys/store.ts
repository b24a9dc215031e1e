/**
 * SQL for api_keys and api_key_usage, nothing else. Tenant queries take the `tx` of a
 * withTenant() transaction. One exception, `findForVerification`, is a directory read outside
 * tenant scope: the hot path knows only the key id (from the secret) and must find the key's
 * organisation before it can enter it, exactly like accounts' session look-up. It returns the
 * hashes for a constant-time comparison and is never exposed to a route.
 */
import { sql, type Kysely } from 'kysely';
import type { Selectable } from 'kysely';
import type { ApiKeysTable, DB } from '../../platform/db/tables.ts';
import { PARAMETERS_PER_STATEMENT, batches } from '../../platform/db/batches.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import type { ReachFilter } from './reach.ts';

/** A row as read: the table's select types (tables.ts is the one description of the columns). */
export type ApiKeyRow = Selectable<ApiKeysTable>;

export interface NewApiKey {
  id: string;
  org_id: string;
  name: string;
  start: string;
  secret_hash: string;
  scopes: string[];
  project_ids: string[] | null;
  expires_at: Date | null;
  created_by: string | null;
}

/** One flushed usage cell: a key's requests on one route on one UTC day. */
export interface UsageCell {
  keyId: string;
  day: string;
  route: string;
  count: number;
}

export interface LastUse {
  keyId: string;
  at: Date;
  ip: string;
  userAgent: string | null;
}

const columns = [
  'id',
  'org_id',
  'name',
  'start',
  'secret_hash',
  'previous_hash',
  'previous_expires_at',
  'scopes',
  'project_ids',
  'expires_at',
  'created_by',
  'created_at',
  'rotated_at',
  'revoked_at',
  'last_used_at',
  'last_ip',
  'last_user_agent',
] as const;

export function createApiKeyStore() {
  return {
    insert: async (tx: Tx, key: NewApiKey): Promise<void> => {
      await tx
        .insertInto('api_keys')
        .values({ ...key, scopes: JSON.stringify(key.scopes), project_ids: key.project_ids ? JSON.stringify(key.project_ids) : null })
        .execute();
    },

    /** Newest first, `limit` of them within `reach`; `before` (a key id of the organisation) pages on to older ones. */
    list: async (tx: Tx, orgId: string, page: { limit: number; before?: string | undefined }, reach: ReachFilter): Promise<ApiKeyRow[]> => {
      let q = tx.selectFrom('api_keys').select(columns).where('org_id', '=', orgId);
      q = q.where(sql<boolean>`scopes <@ ${JSON.stringify(reach.scopesWithin)}::jsonb`);
      if (reach.projectsWithin) q = q.where(sql<boolean>`project_ids IS NOT NULL AND project_ids <@ ${JSON.stringify(reach.projectsWithin)}::jsonb`);
      if (reach.expiringBy) q = q.where('expires_at', 'is not', null).where('expires_at', '<=', reach.expiringBy);
      if (page.before !== undefined) {
        q = q.where(sql<boolean>`(created_at, id) < (SELECT k.created_at, k.id FROM api_keys k WHERE k.id = ${page.before} AND k.org_id = ${orgId})`);
      }
      return (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute()) as ApiKeyRow[];
    },

    /** Keys the organisation made since `since`, whatever became of them (revoked and expired ones too). */
    countCreatedSince: async (tx: Tx, orgId: string, since: Date): Promise<number> => {
      const row = await tx.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).where('org_id', '=', orgId).where('created_at', '>', since).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    get: async (tx: Tx, id: string): Promise<ApiKeyRow | undefined> =>
      (await tx.selectFrom('api_keys').select(columns).where('id', '=', id).executeTakeFirst()) as ApiKeyRow | undefined,

    /** The row, locked until the transaction ends: rotations and revocations of one key apply one after the other. */
    getForUpdate: async (tx: Tx, id: string): Promise<ApiKeyRow | undefined> =>
      (await tx.selectFrom('api_keys').select(columns).where('id', '=', id).forUpdate().executeTakeFirst()) as ApiKeyRow | undefined,

    /** Directory read (no tenant scope): the hot path's one look-up. See the header. */
    findForVerification: async (db: Kysely<DB>, id: string): Promise<ApiKeyRow | undefined> =>
      (await db.selectFrom('api_keys').select(columns).where('id', '=', id).executeTakeFirst()) as ApiKeyRow | undefined,

    /** Directory read: which organisation owns a key (routes addressed by key id; 404 otherwise). */
    orgOf: async (db: Kysely<DB>, id: string): Promise<string | undefined> =>
      (await db.selectFrom('api_keys').select('org_id').where('id', '=', id).executeTakeFirst())?.org_id,

    rotate: async (tx: Tx, id: string, change: { secretHash: string; start: string; previousHash: string; previousExpiresAt: Date; at: Date }): Promise<void> => {
      await tx
        .updateTable('api_keys')
        .set({
          secret_hash: change.secretHash,
          start: change.start,
          previous_hash: change.previousHash,
          previous_expires_at: change.previousExpiresAt,
          rotated_at: change.at,
        })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
    },

    /**
     * How many keys of the organisation still work at `now`, with its row held (FOR NO KEY UPDATE)
     * so creations at once are counted one after the other.
     */
    lockOrgAndCountLive: async (tx: Tx, orgId: string, now: Date): Promise<number> => {
      await tx.selectFrom('orgs').select('id').where('id', '=', orgId).forNoKeyUpdate().execute();
      const row = await tx
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('org_id', '=', orgId)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    revoke: async (tx: Tx, id: string, at: Date): Promise<boolean> => {
      const r = await tx.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },

    /** In id order, as every write that locks several keys does (usage flushes too): no two can deadlock. */
    revokeAll: async (tx: Tx, orgId: string, at: Date): Promise<string[]> => {
      const live = await tx.selectFrom('api_keys').select('id').where('org_id', '=', orgId).where('revoked_at', 'is', null).orderBy('id').forUpdate().execute();
      if (live.length === 0) return [];
      // By organisation, not by a list of ids: an organisation may hold more keys than one
      // statement can bind parameters. What it revoked is returned, not what the select saw: a key
      // committed while the select waited on a lock is revoked here too, and must be evicted.
      const revoked = await tx.updateTable('api_keys').set({ revoked_at: at }).where('org_id', '=', orgId).where('revoked_at', 'is', null).returning('id').execute();
      return revoked.map((r) => r.id);
    },

    /** An organisation's usage cells of a flush, in as few statements as the parameter bound allows. */
    addUsage: async (tx: Tx, orgId: string, cells: readonly UsageCell[]): Promise<void> => {
      for (const part of batches(cells, PARAMETERS_PER_STATEMENT / 5)) {
        await tx
          .insertInto('api_key_usage')
          .values(part.map((c) => ({ org_id: orgId, key_id: c.keyId, day: c.day, route: c.route, count: c.count })))
          .onConflict((oc) => oc.columns(['key_id', 'day', 'route']).doUpdateSet({ count: sql<number>`api_key_usage.count + excluded.count` }))
          .execute();
      }
    },

    /** Newer-wins, so two instances flushing out of order never move last-used back in time. */
    setLastUse: async (tx: Tx, uses: readonly LastUse[]): Promise<void> => {
      // In id order, as revokeAll locks them.
      for (const u of [...uses].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0))) {
        await tx
          .updateTable('api_keys')
          .set({ last_used_at: u.at, last_ip: u.ip, last_user_agent: u.userAgent })
          .where('id', '=', u.keyId)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', u.at)]))
          .execute();
      }
    },

    usage: async (tx: Tx, keyId: string, since: string): Promise<UsageCell[]> => {
      const rows = await tx
        .selectFrom('api_key_usage')
        .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'route', 'count'])
        .where('key_id', '=', keyId)
        .where('day', '>=', since)
        .orderBy('day', 'desc')
        .orderBy('route')
        .execute();
      return rows.map((r) => ({ keyId, day: r.day, route: r.route, count: Number(r.count) }));
    },
  };
}

export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
