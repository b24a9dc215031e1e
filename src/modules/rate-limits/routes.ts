/**
 * Owner endpoints for the penalty box: list a project's current blocks and lift one
 * (permission projects:write). Keys are shown as the client part only (`203.0.113.7`,
 * `2001:db8:1:2::/64`, a session id), so a block can be lifted with the key it was listed under.
 * Lifting is audited (`rate_limit.block_lifted`): it lets a client that was abusing a project back in.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { App } from '../../platform/http/types.ts';
import type { AuditService } from '../audit/service.ts';
import type { Access } from '../orgs/access.ts';
import { penaltyDimensions } from './penalty-state.ts';
import type { RateLimitService } from './service.ts';

const projectId = z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)');

export function rateLimitRoutes(deps: {
  rateLimits: Pick<RateLimitService, 'listBlocks' | 'liftBlock'>;
  access: Access;
  auth: Authenticator;
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
}) {
  const { rateLimits, access, auth } = deps;
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/projects/:projectId/rate-limit-blocks', {
      schema: { operationId: 'listRateLimitBlocks', tags: ['rate-limits'], params: z.strictObject({ projectId }) },
      handler: async (request) => {
        await access.authorizeProject(await auth.require(request), request.params.projectId, 'projects:write');
        const blocks = await rateLimits.listBlocks(request.params.projectId);
        return { blocks: blocks.map((b) => ({ dimension: b.dimension, key: b.key, until: b.until.toISOString(), level: b.level })) };
      },
    });

    app.delete('/v1/projects/:projectId/rate-limit-blocks/:dimension/:key', {
      schema: {
        operationId: 'liftRateLimitBlock',
        tags: ['rate-limits'],
        params: z.strictObject({ projectId, dimension: z.enum(penaltyDimensions), key: z.string().min(1).max(200) }),
      },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        const { projectId, dimension, key } = request.params;
        const { orgId } = await access.authorizeProject(principal, projectId, 'projects:write');
        // Recorded first, lifted inside the same transaction: a lift that fails (or finds no block)
        // rolls the record back, and a record that cannot be written lifts nothing.
        await withTenant(deps.db, orgId, async (tx) => {
          await deps.audit.record(tx, { orgId, actor: principal, action: 'rate_limit.block_lifted', target: { type: 'project', id: projectId }, ip: request.ip, metadata: { dimension, key } });
          if (!(await rateLimits.liftBlock(projectId, dimension, key))) throw new AppError('not_found', 'There is no current block for this client.');
        });
        return reply.code(204).send();
      },
    });
  };
}
