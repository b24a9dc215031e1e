/** HTTP for the audit log (read side). */
import { z } from 'zod';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Access } from '../orgs/access.ts';
import type { AuditService } from './service.ts';

export function auditRoutes(deps: { db: Kysely<DB>; audit: AuditService; access: Access; auth: Authenticator }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/audit-log', {
      schema: {
        operationId: 'listAuditLog',
        tags: ['audit'],
        params: z.strictObject({ orgId: z.string().regex(/^org_[0-9A-Za-z]{1,40}$/) }),
        querystring: z.strictObject({
          action: z.string().max(100).optional(),
          actor: z.string().max(64).optional(),
          since: z.iso.datetime().optional(),
          until: z.iso.datetime().optional(),
          /** The next page: entries older than this one (the `nextBefore` of the previous page). */
          before: z.string().regex(/^aud_[0-9A-Za-z]{1,40}$/, 'must be an audit entry id (aud_…)').optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      handler: async (request) => {
        const { orgId } = request.params;
        await deps.access.authorize(await deps.auth.require(request), orgId, 'audit:read');
        const q = request.query;
        const entries = await withTenant(deps.db, orgId, (tx) =>
          deps.audit.list(tx, {
            action: q.action,
            actorId: q.actor,
            since: q.since ? new Date(q.since) : undefined,
            until: q.until ? new Date(q.until) : undefined,
            before: q.before,
            limit: q.limit,
          }),
        );
        // A full page may have more after it; the last entry's id asks for them.
        return { entries, nextBefore: entries.length === q.limit ? (entries.at(-1)?.id ?? null) : null };
      },
    });
  };
}
