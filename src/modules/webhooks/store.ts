/** SQL for webhooks and their deliveries, and nothing else. */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DB, WebhookDeliveriesTable, WebhooksTable } from '../../platform/db/tables.ts';
import type { Tx } from '../../platform/db/tenant.ts';
import type { OutboxEvent } from '../../platform/outbox.ts';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export interface WebhookChanges {
  url?: string;
  description?: string;
  eventTypes?: string[];
  enabled?: boolean;
}

/** A delivery taken by the dispatcher, with what it needs to send it. */
export interface ClaimedDelivery {
  id: string;
  org_id: string;
  webhook_id: string;
  event_id: string;
  payload: unknown;
  attempts: number;
  /** The lease this runner holds: its outcome is written only while it still holds it. */
  claimed_until: Date;
  url: string;
  secret: string;
  enabled: boolean;
}

/** The subscriptions that match an event type: itself, its family (`project.*`) and `*`. */
function patternsFor(type: string): [string, string, string] {
  const dot = type.indexOf('.');
  return [type, dot > 0 ? `${type.slice(0, dot)}.*` : type, '*'];
}

/** Sends one organisation may have out at once, across instances (an instance has 10 slots). */
export const MAX_SENDS_PER_ORG = 5;

export function createWebhookStore() {
  return {
    insert: async (tx: Tx, row: { id: string; orgId: string; url: string; description: string; eventTypes: string[]; enabled: boolean; secret: string }): Promise<WebhookRow> =>
      tx
        .insertInto('webhooks')
        .values({ id: row.id, org_id: row.orgId, url: row.url, description: row.description, event_types: sql<string[]>`${sql.val(row.eventTypes)}::text[]`, enabled: row.enabled, secret: row.secret })
        .returningAll()
        .executeTakeFirstOrThrow(),

    list: (tx: Tx): Promise<WebhookRow[]> => tx.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute(),

    get: (tx: Tx, id: string): Promise<WebhookRow | undefined> => tx.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst(),

    /** The organisation of a webhook, read as the tables' owner (routes address webhooks by id). */
    orgOf: async (db: Kysely<DB>, id: string): Promise<string | undefined> =>
      (await db.selectFrom('webhooks').select('org_id').where('id', '=', id).executeTakeFirst())?.org_id,

    update: (tx: Tx, id: string, changes: WebhookChanges, at: Date): Promise<WebhookRow | undefined> =>
      tx
        .updateTable('webhooks')
        .set({
          updated_at: at,
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.description !== undefined ? { description: changes.description } : {}),
          ...(changes.eventTypes !== undefined ? { event_types: sql<string[]>`${sql.val(changes.eventTypes)}::text[]` } : {}),
          ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),

    setSecret: async (tx: Tx, id: string, secret: string, at: Date): Promise<void> => {
      await tx.updateTable('webhooks').set({ secret, updated_at: at }).where('id', '=', id).execute();
    },

    /** The deleted webhook's URL, or undefined when there was none. */
    remove: async (tx: Tx, id: string): Promise<string | undefined> => (await tx.deleteFrom('webhooks').where('id', '=', id).returning('url').executeTakeFirst())?.url,

    ids: async (tx: Tx): Promise<string[]> => (await tx.selectFrom('webhooks').select('id').execute()).map((r) => r.id),

    /** One delivery per enabled webhook of the organisation subscribed to the event, in one statement. */
    enqueue: async (tx: Tx, event: OutboxEvent): Promise<void> => {
      const [exact, family, all] = patternsFor(event.type);
      await sql`
        INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, event_type, payload)
        SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), org_id, id, ${event.id}, ${event.type}, ${JSON.stringify(event)}::jsonb
        FROM webhooks
        WHERE org_id = ${event.orgId} AND enabled AND event_types && ARRAY[${exact}, ${family}, ${all}]::text[]`.execute(tx);
    },

    deliveries: (tx: Tx, webhookId: string, filter: { status?: string | undefined; before?: string | undefined; limit: number }): Promise<DeliveryRow[]> => {
      let q = tx.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
      if (filter.status) q = q.where('status', '=', filter.status as DeliveryRow['status']);
      if (filter.before) {
        q = q.where(sql<boolean>`(created_at, id) < (SELECT d.created_at, d.id FROM webhook_deliveries d WHERE d.id = ${filter.before} AND d.webhook_id = ${webhookId})`);
      }
      return q.execute();
    },

    /** Puts a finished delivery back in the queue, to be tried now. */
    requeue: async (tx: Tx, webhookId: string, deliveryId: string, at: Date): Promise<boolean> => {
      const row = await tx
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', attempts: 0, next_attempt_at: at, claimed_until: null })
        .where('id', '=', deliveryId)
        .where('webhook_id', '=', webhookId)
        .where('status', '<>', 'pending')
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Leases up to `limit` deliveries that are due, across organisations (a platform job, run as
     * the tables' owner; the outcome is written back inside the organisation's tenant transaction).
     * SKIP LOCKED and the lease keep two instances from sending one delivery at once: the locking
     * select states the due conditions again, because PostgreSQL re-checks only its own WHERE on a
     * row another instance claimed (or sent) after this query's snapshot.
     */
    claimDue: async (db: Kysely<DB>, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> => {
      // Each webhook's head: its pending delivery due first (one index probe per webhook, however
      // long its backlog), for webhooks with no delivery out (leased): one send per webhook at a
      // time, so a receiver that hangs holds up only itself. (Out is not read off the head: a
      // delivery whose transaction began earlier can commit after the head was leased and sort
      // before it.) Then organisations take turns, counting the sends each already has out on
      // every instance: an organisation with many webhooks and a backlog waits behind one with
      // fewer out, and has at most MAX_SENDS_PER_ORG out at once, so it never holds every slot.
      const { rows } = await sql<ClaimedDelivery>`
        WITH out AS (
          SELECT webhook_id, org_id FROM webhook_deliveries WHERE status = 'pending' AND claimed_until >= ${now}
        ), busy AS (
          SELECT org_id, count(*) AS n FROM out GROUP BY org_id
        ), heads AS (
          SELECT d.id, d.org_id, d.next_attempt_at
          FROM webhooks w CROSS JOIN LATERAL (
            SELECT id, org_id, next_attempt_at FROM webhook_deliveries
            WHERE webhook_id = w.id AND status = 'pending' ORDER BY next_attempt_at, id LIMIT 1
          ) d
          WHERE NOT EXISTS (SELECT 1 FROM out WHERE out.webhook_id = w.id) AND d.next_attempt_at <= ${now}
        ), fair AS (
          SELECT heads.id, heads.next_attempt_at, coalesce(busy.n, 0) + row_number() OVER (PARTITION BY heads.org_id ORDER BY heads.next_attempt_at, heads.id) AS turn
          FROM heads LEFT JOIN busy ON busy.org_id = heads.org_id
        )
        UPDATE webhook_deliveries d SET claimed_until = ${leaseUntil}
        FROM webhooks w
        WHERE w.id = d.webhook_id AND d.id IN (
          SELECT id FROM webhook_deliveries WHERE id IN (
            SELECT id FROM fair WHERE turn <= ${MAX_SENDS_PER_ORG} ORDER BY turn, next_attempt_at, id LIMIT ${limit})
          AND status = 'pending' AND next_attempt_at <= ${now} AND (claimed_until IS NULL OR claimed_until < ${now})
          FOR UPDATE SKIP LOCKED)
        RETURNING d.id, d.org_id, d.webhook_id, d.event_id, d.payload, d.attempts, d.claimed_until, w.url, w.secret, w.enabled`.execute(db);
      return rows;
    },

    /**
     * Writes an attempt's outcome, unless the lease ran out and another runner took the delivery.
     * `counted: false` is for a delivery this server could not even start (its own look-ups were
     * busy): tried again without using up one of its attempts.
     */
    recordAttempt: async (
      tx: Tx,
      id: string,
      lease: Date,
      outcome: { status: 'pending' | 'delivered' | 'failed'; nextAttemptAt: Date | null; at: Date; httpStatus: number | null; error: string | null; counted?: boolean },
    ): Promise<void> => {
      await tx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          status: outcome.status,
          attempts: eb('attempts', '+', outcome.counted === false ? 0 : 1),
          ...(outcome.nextAttemptAt ? { next_attempt_at: outcome.nextAttemptAt } : {}),
          claimed_until: null,
          last_attempt_at: outcome.at,
          last_status: outcome.httpStatus,
          last_error: outcome.error,
        }))
        .where('id', '=', id)
        .where('claimed_until', '=', lease)
        .execute();
    },

    /** Deletes finished deliveries created before `before`, across organisations (platform job), a batch at a time. */
    pruneFinished: async (db: Kysely<DB>, before: Date, batch = 1000): Promise<number> => {
      let deleted = 0;
      for (;;) {
        const result = await sql`
          DELETE FROM webhook_deliveries WHERE id IN (
            SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ${before} LIMIT ${batch})`.execute(db);
        const n = Number(result.numAffectedRows ?? 0n);
        deleted += n;
        if (n < batch) return deleted;
      }
    },

    /** Lockdown: every webhook off, and what it had pending marked failed (sent to nobody). */
    disableAll: async (tx: Tx, at: Date): Promise<number> => {
      await tx
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', claimed_until: null, last_error: 'The organisation was locked down: nothing pending was sent.' })
        .where('status', '=', 'pending')
        .execute();
      const result = await tx.updateTable('webhooks').set({ enabled: false, updated_at: at }).where('enabled', '=', true).executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Serialises webhook creation within an organisation (the count check then holds). */
    lockOrg: async (tx: Tx, orgId: string): Promise<void> => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${'webhooks:' + orgId}))`.execute(tx);
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;
