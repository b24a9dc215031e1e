/**
 * `GET /v1/orgs/{orgId}/events/stream` (permission `audit:read`): the organisation's audited
 * events as server-sent events, as webhooks get them (no IP addresses), each with its id so a
 * client that reconnects with `Last-Event-ID` misses nothing in between.
 *
 * Each stream reads the audit log every `pollMs` inside the organisation's tenant transaction —
 * committed entries only, on every instance alike, with no broker. An entry carries its
 * transaction's start time, so one committed late can appear "in the past": each read looks back
 * `LOOK_BACK_MS` and skips the ids it already sent. The caller's credentials are checked again
 * every `recheckMs`: a revoked key, an ended session or a lost role ends the stream. At most
 * `maxPerOrg` streams per organisation and instance.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '../../platform/clock.ts';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import { orgParams } from '../../platform/http/id-params.ts';
import { openEventStream, type EventStream } from '../../platform/http/sse.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import { auditEventOf } from './service.ts';

const LOOK_BACK_MS = 60_000;
const HEARTBEAT_MS = 15_000;
const BATCH = 500;

export function eventStreamRoutes(deps: { db: Kysely<DB>; access: Access; auth: Authenticator; clock: Clock; pollMs?: number; recheckMs?: number; maxPerOrg?: number }) {
  const pollMs = deps.pollMs ?? 1000;
  const recheckMs = deps.recheckMs ?? 30_000;
  const maxPerOrg = deps.maxPerOrg ?? 5;
  const openPerOrg = new Map<string, number>();
  const streams = new Set<() => void>();

  async function authorize(request: FastifyRequest, orgId: string): Promise<void> {
    request.principal = null; // checked afresh: the key or session may have ended since
    await deps.access.authorize(await deps.auth.require(request), orgId, 'audit:read');
  }

  /** Where a reconnecting client left off: the time of its last event, if it is this organisation's. */
  async function resumeFrom(orgId: string, lastEventId: string | undefined): Promise<Date | undefined> {
    if (!lastEventId || !/^aud_[0-9A-Za-z]{1,40}$/.test(lastEventId)) return undefined;
    const row = await withTenant(deps.db, orgId, (tx) => tx.selectFrom('audit_log').select('created_at').where('id', '=', lastEventId).executeTakeFirst());
    return row ? new Date(row.created_at) : undefined;
  }

  function run(orgId: string, stream: EventStream, request: FastifyRequest, since: Date, alreadySent: string | undefined): () => void {
    const sent = new Map<string, number>(alreadySent ? [[alreadySent, since.getTime()]] : []);
    let busy = false;
    let lastCheck = deps.clock.now().getTime();
    let lastBeat = lastCheck;
    let stopped = false;

    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      streams.delete(stop);
      openPerOrg.set(orgId, (openPerOrg.get(orgId) ?? 1) - 1);
      stream.end();
    };

    const tick = async (): Promise<void> => {
      const now = deps.clock.now().getTime();
      if (now - lastCheck >= recheckMs) {
        lastCheck = now;
        await authorize(request, orgId);
      }
      const from = new Date(Math.max(since.getTime(), now - LOOK_BACK_MS));
      const rows = await withTenant(deps.db, orgId, (tx) =>
        tx.selectFrom('audit_log').selectAll().where('created_at', '>=', from).orderBy('created_at').orderBy('id').limit(BATCH).execute(),
      );
      for (const row of rows) {
        if (sent.has(row.id)) continue;
        sent.set(row.id, new Date(row.created_at).getTime());
        const event = auditEventOf(row);
        stream.send(event.type, event, event.id);
      }
      for (const [id, at] of sent) if (at < from.getTime()) sent.delete(id);
      if (now - lastBeat >= HEARTBEAT_MS) {
        lastBeat = now;
        stream.comment('keep-alive');
      }
    };

    const timer = setInterval(() => {
      if (busy || stopped) return;
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
    streams.add(stop);
    request.raw.on('close', stop);
    return stop;
  }

  return async function plugin(app: App): Promise<void> {
    (app as unknown as FastifyInstance).addHook('onClose', async () => {
      for (const stop of [...streams]) stop();
    });

    app.get('/v1/orgs/:orgId/events/stream', {
      schema: {
        operationId: 'streamEvents',
        tags: ['audit'],
        description:
          "The organisation's audited events as server-sent events (event: the action, id: the audit entry's id, data: the event as webhooks get it). Send Last-Event-ID to resume. Ends when the caller's key, session or role does.",
        params: orgParams,
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        await authorize(request, orgId);
        if ((openPerOrg.get(orgId) ?? 0) >= maxPerOrg) {
          throw new AppError('rate_limited', `At most ${maxPerOrg} event streams per organisation are open at once on this server; close one first.`);
        }
        const lastEventId = typeof request.headers['last-event-id'] === 'string' ? request.headers['last-event-id'] : undefined;
        const resumed = await resumeFrom(orgId, lastEventId);
        openPerOrg.set(orgId, (openPerOrg.get(orgId) ?? 0) + 1);
        const stream = openEventStream(reply);
        stream.comment('connected');
        run(orgId, stream, request, resumed ?? deps.clock.now(), resumed ? lastEventId : undefined);
      },
    });
  };
}

