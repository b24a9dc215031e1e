/**
 * `GET /v1/orgs/{orgId}/events/stream` (permission `audit:read`): the organisation's audited
 * events as server-sent events, as webhooks get them (no IP addresses), each with its id so a
 * client that reconnects with `Last-Event-ID` misses nothing in between.
 *
 * Each stream reads the audit log every `pollMs` inside the organisation's tenant transaction —
 * committed entries only, on every instance alike, with no broker — after a (created_at, id)
 * cursor. An entry carries its transaction's start time, so one committed late can appear "in the
 * past": each read also looks `LOOK_BACK_MS` behind the cursor for ids it has not sent. The
 * caller's credentials are checked again every `recheckMs`, and at once when a revocation or a
 * membership change names the caller's session, key or user (on any instance: the invalidation
 * bus): a revoked key, an ended session, a lockdown or a lost role ends the stream. At most `maxPerOrg` streams per organisation and per person,
 * `maxPerAddress` per client address and MAX_PER_INSTANCE in all per instance; a client that stops reading is cut off past MAX_BUFFERED_BYTES.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import { idSchema, orgParams } from '../../platform/http/id-params.ts';
import { openEventStream, type EventStream } from '../../platform/http/sse.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { auditEventOf } from './service.ts';
import { clientKeyForIp } from '../rate-limits/ip.ts';

const auditId = idSchema('aud', 'an audit entry id');
const LOOK_BACK_MS = 60_000;
const HEARTBEAT_MS = 15_000;
const BATCH = 500;
const MAX_PER_INSTANCE = 100;
const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Cursor {
  at: Date;
  id: string;
}

/**
 * The cursor as the database dates it: its entry's own created_at, which PostgreSQL keeps to the
 * microsecond where a Date holds milliseconds (compared with the Date, the entry itself would
 * come after its own cursor and be sent again every poll). The Date serves before the first entry.
 */
const cursorSql = (c: Cursor) => sql`(COALESCE((SELECT created_at FROM audit_log WHERE id = ${c.id}), ${c.at}), ${c.id})`;

type AuditRow = Parameters<typeof auditEventOf>[0];

export function eventStreamRoutes(deps: {
  db: Kysely<DB>;
  access: Access;
  auth: Authenticator;
  clock: Clock;
  /** Revocations and membership changes: a stream whose caller one names is checked again at once. */
  invalidation: Pick<InvalidationBus, 'on'>;
  /** The topics that name sessions, API keys or users (published by accounts, api-keys, orgs). */
  recheckTopics: readonly string[];
  pollMs?: number;
  recheckMs?: number;
  maxPerOrg?: number;
  /** Streams one client address (IPv6 by /64) may hold, whoever signs them in (default 10). */
  maxPerAddress?: number;
}) {
  const pollMs = deps.pollMs ?? 1000;
  const recheckMs = deps.recheckMs ?? 30_000;
  const maxPerOrg = deps.maxPerOrg ?? 5;
  const maxPerAddress = deps.maxPerAddress ?? 10;
  /** Every open stream, by its stop function: its organisation, its caller's ids, its poll timer once it runs. */
  const open = new Map<() => void, { orgId: string; person: string; address: string; ids: Set<string>; timer?: NodeJS.Timeout; recheckNow: () => void }>();
  // A revocation or membership change that names a stream's caller — or '*', an organisation-wide
  // change such as require2fa, or a flush after a reconnection that may have missed messages —
  // has the stream checked again at once.
  for (const topic of deps.recheckTopics) {
    deps.invalidation.on(topic, (ids) => {
      for (const stream of open.values()) if (ids.includes('*') || ids.some((id) => stream.ids.has(id))) stream.recheckNow();
    });
  }
  deps.invalidation.on('*', () => {
    for (const stream of open.values()) stream.recheckNow();
  });
  const openIn = (orgId: string): number => [...open.values()].filter((stream) => stream.orgId === orgId).length;

  /**
   * Who a caller's streams count against: a user, or the person who made the key — followed
   * through keys that keys made (a key with keys:manage makes keys: counted by key, one person's
   * thousand keys in each of twenty organisations would hold every slot of the instance). A key
   * nobody made (older ones) counts against its organisation.
   */
  async function personBehind(principal: Principal | null): Promise<string> {
    if (principal === null) return '';
    if (principal.kind === 'user') return principal.userId;
    const { rows } = await sql<{ created_by: string | null }>`
      WITH RECURSIVE chain(id, created_by, depth) AS (
        SELECT id, created_by, 0 FROM api_keys WHERE id = ${principal.keyId}
        UNION ALL
        SELECT k.id, k.created_by, c.depth + 1 FROM api_keys k JOIN chain c ON k.id = c.created_by WHERE c.depth < 50
      )
      SELECT created_by FROM chain WHERE created_by LIKE 'usr\_%' LIMIT 1`.execute(deps.db);
    return rows[0]?.created_by ?? principal.orgId;
  }

  const idsOf = (principal: Principal | null): Set<string> =>
    new Set(principal === null ? [] : principal.kind === 'user' ? [principal.userId, principal.sessionId] : [principal.keyId]);

  /** At the start, the request's caller; later, the same credentials checked afresh (they may have ended), not counted as a use. */
  async function authorize(request: FastifyRequest, orgId: string, again = false): Promise<void> {
    await deps.access.authorize(await (again ? deps.auth.recheck(request) : deps.auth.require(request)), orgId, 'audit:read');
  }

  /** Where a stream starts: after the client's last event (if it is this organisation's), or now. */
  async function startingPoint(orgId: string, lastEventId: string | undefined): Promise<Cursor> {
    return withTenant(deps.db, orgId, async (tx) => {
      if (lastEventId && auditId.safeParse(lastEventId).success) {
        const row = await tx.selectFrom('audit_log').select(['created_at', 'id']).where('id', '=', lastEventId).executeTakeFirst();
        if (row) return { at: new Date(row.created_at), id: row.id };
      }
      const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(tx);
      return { at: new Date(rows[0]?.now ?? 0), id: '' };
    });
  }

  function run(orgId: string, stream: EventStream, request: FastifyRequest, raw: ServerResponse, start: Cursor, stop: () => void): void {
    // Entries are read in (created_at, id) order after a cursor that only moves forward, so a
    // burst never stalls the stream; entries dated before the cursor (a transaction that committed
    // late) are looked for LOOK_BACK_MS behind it and sent once (`sent`).
    let cursor = start;
    const sent = new Map<string, number>();
    let busy = false;
    let lastCheck = deps.clock.now().getTime();
    let lastBeat = lastCheck;
    const entry = open.get(stop);
    if (entry) entry.recheckNow = () => (lastCheck = 0);

    const emit = (row: AuditRow): void => {
      sent.set(row.id, new Date(row.created_at).getTime());
      const event = auditEventOf(row);
      stream.send(event.type, event, event.id);
    };

    const tick = async (): Promise<void> => {
      const now = deps.clock.now().getTime();
      if (now - lastCheck >= recheckMs) {
        lastCheck = now;
        await authorize(request, orgId, true);
      }
      const lookBack = new Date(cursor.at.getTime() - LOOK_BACK_MS);
      const { late, next } = await withTenant(deps.db, orgId, async (tx) => ({
        late: await tx
          .selectFrom('audit_log')
          .selectAll()
          .where('created_at', '>=', lookBack)
          // After where the stream started, in SQL: entries before it, never sent, would otherwise
          // fill every page of a busy organisation, and a late one behind them would never be read.
          .where(sql<boolean>`(created_at, id) > ${cursorSql(start)}`)
          .where(sql<boolean>`(created_at, id) < ${cursorSql(cursor)}`)
          // Not the ones already sent: a busy window would otherwise fill the page with them.
          .where(sql<boolean>`NOT (id = ANY(${sql.val([...sent.keys()])}::text[]))`)
          .orderBy('created_at')
          .orderBy('id')
          .limit(BATCH)
          .execute(),
        next: await tx
          .selectFrom('audit_log')
          .selectAll()
          .where(sql<boolean>`(created_at, id) > ${cursorSql(cursor)}`)
          .orderBy('created_at')
          .orderBy('id')
          .limit(BATCH)
          .execute(),
      }));
      for (const row of late) if (!sent.has(row.id) && new Date(row.created_at) > start.at) emit(row);
      for (const row of next) if (!sent.has(row.id)) emit(row);
      const last = next.at(-1);
      if (last) cursor = { at: new Date(last.created_at), id: last.id };
      for (const [id, at] of sent) if (at < lookBack.getTime()) sent.delete(id);
      if (now - lastBeat >= HEARTBEAT_MS) {
        lastBeat = now;
        stream.comment('keep-alive');
      }
      // A client that stopped reading is not buffered for without end.
      if (raw.writableLength > MAX_BUFFERED_BYTES) throw new AppError('unavailable', 'The client did not read its events: the stream ended; reconnect with Last-Event-ID.');
    };

    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      tick()
        .catch((error: unknown) => {
          const code = error instanceof AppError ? error.code : 'internal';
          if (!(error instanceof AppError)) request.log.error({ err: error }, 'event stream failed');
          stream.send('error', { code, detail: error instanceof AppError ? error.message : 'The stream stopped; reconnect.' });
          stop();
        })
        .finally(() => (busy = false));
    }, pollMs);
    if (entry) entry.timer = timer;
  }

  return async function plugin(app: App): Promise<void> {
    // preClose, not onClose: the server waits for open requests before onClose, and a stream never ends by itself.
    (app as unknown as FastifyInstance).addHook('preClose', async () => {
      for (const stop of [...open.keys()]) stop();
    });

    app.get('/v1/orgs/:orgId/events/stream', {
      schema: {
        operationId: 'streamEvents',
        tags: ['audit'],
        description:
          "The organisation's audited events as server-sent events (event: the action, id: the audit entry's id, data: the event as webhooks get it). Send Last-Event-ID to resume. Ends when the caller's key, session or role does (checked at once on revocation, and every 30 s).",
        params: orgParams,
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        await authorize(request, orgId);
        // Also per person across organisations: anyone can make organisations, and one person
        // holding 5 streams in each of 20 would take every slot of the instance. The slot is given
        // back however the stream ends.
        const person = await personBehind(request.principal);
        // And per client address (IPv6 by /64): sign-up is open, so one address holding 20 accounts
        // (the sign-ups it may make in an hour) would otherwise still take every slot.
        const address = clientKeyForIp(request.ip);
        // From here to taking the slot nothing is awaited: two opens at once cannot both pass.
        const callersOpen = [...open.values()].filter((s) => s.person === person).length;
        const addressOpen = [...open.values()].filter((s) => s.address === address).length;
        if (openIn(orgId) >= maxPerOrg || callersOpen >= maxPerOrg || addressOpen >= maxPerAddress || open.size >= MAX_PER_INSTANCE) {
          throw new AppError('rate_limited', `At most ${maxPerOrg} event streams per organisation and per caller, ${maxPerAddress} per client address and ${MAX_PER_INSTANCE} in all are open at once on this server; close one first.`);
        }
        const raw = reply.raw;
        let stream: EventStream | undefined;
        let stopped = false;
        const stop = (): void => {
          if (stopped) return;
          stopped = true;
          clearInterval(open.get(stop)?.timer);
          open.delete(stop);
          stream?.end();
        };
        open.set(stop, { orgId, person, address, ids: idsOf(request.principal), recheckNow: () => undefined });
        request.raw.on('close', stop);
        raw.on('close', stop);
        try {
          const lastEventId = typeof request.headers['last-event-id'] === 'string' ? request.headers['last-event-id'] : undefined;
          const start = await startingPoint(orgId, lastEventId);
          if (stopped || raw.destroyed) return stop();
          stream = openEventStream(reply);
          stream.comment('connected');
          run(orgId, stream, request, raw, start, stop);
        } catch (error) {
          stop();
          throw error;
        }
      },
    });
  };
}
