/** HTTP for the audit log (read side): pages of entries, and the whole log as a file. */
import { z } from 'zod';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Access } from '../orgs/access.ts';
import type { AuditService } from './service.ts';
import { CSV_HEADER, formatEntry } from './export-format.ts';
import type { Clock } from '../../platform/clock.ts';
import { idSchema, orgParams } from '../../platform/http/id-params.ts';
import { Readable } from 'node:stream';

const filters = {
  action: z.string().max(100).optional(),
  actor: z.string().max(64).optional(),
  since: z.iso.datetime().optional(),
  until: z.iso.datetime().optional(),
};
/** The query's filters as the audit service takes them. */
function filterOf(q: { action?: string | undefined; actor?: string | undefined; since?: string | undefined; until?: string | undefined }) {
  return { action: q.action, actorId: q.actor, since: q.since ? new Date(q.since) : undefined, until: q.until ? new Date(q.until) : undefined };
}

/** Entries read per transaction while exporting. */
const EXPORT_PAGE = 1000;

export function auditRoutes(deps: { db: Kysely<DB>; audit: AuditService; access: Access; auth: Authenticator; clock: Clock }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/audit-log/export', {
      schema: {
        operationId: 'exportAuditLog',
        tags: ['audit'],
        description: 'The whole audit log (or the entries matching the filters), newest first, as CSV or JSON lines. The export is itself audited.',
        params: orgParams,
        querystring: z.strictObject({ ...filters, format: z.enum(['csv', 'jsonl']).default('jsonl') }),
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        await deps.access.authorize(principal, orgId, 'audit:read');
        const q = request.query;
        const filter = filterOf(q);
        // Recorded first, so the export is in the log it exports (and a failed record exports nothing).
        await withTenant(deps.db, orgId, (tx) =>
          deps.audit.record(tx, { orgId, actor: principal, action: 'audit.exported', target: { type: 'org', id: orgId }, ip: request.ip, metadata: { format: q.format, filter: { action: q.action, actor: q.actor, since: q.since, until: q.until } } }),
        );
        const { db, audit } = deps;
        async function* lines(): AsyncGenerator<string> {
          if (q.format === 'csv') yield CSV_HEADER;
          let before: string | undefined;
          for (;;) {
            const page = await withTenant(db, orgId, (tx) => audit.list(tx, { ...filter, before, limit: EXPORT_PAGE }));
            for (const entry of page) yield formatEntry(entry, q.format);
            if (page.length < EXPORT_PAGE) return;
            before = page.at(-1)?.id;
          }
        }
        const day = deps.clock.now().toISOString().slice(0, 10);
        return reply
          .header('Content-Type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="audit-log-${orgId}-${day}.${q.format}"`)
          .send(Readable.from(lines()));
      },
    });

    app.get('/v1/orgs/:orgId/audit-log', {
      schema: {
        operationId: 'listAuditLog',
        tags: ['audit'],
        params: orgParams,
        querystring: z.strictObject({
          ...filters,
          /** The next page: entries older than this one (the `nextBefore` of the previous page). */
          before: idSchema('aud', 'an audit entry id').optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      handler: async (request) => {
        const { orgId } = request.params;
        await deps.access.authorize(await deps.auth.require(request), orgId, 'audit:read');
        const q = request.query;
        const entries = await withTenant(deps.db, orgId, (tx) =>
          deps.audit.list(tx, { ...filterOf(q), before: q.before, limit: q.limit }),
        );
        // A full page may have more after it; the last entry's id asks for them.
        return { entries, nextBefore: entries.length === q.limit ? (entries.at(-1)?.id ?? null) : null };
      },
    });
  };
}
