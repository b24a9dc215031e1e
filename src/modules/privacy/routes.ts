/** HTTP for erasure requests: `POST /v1/orgs/{orgId}/erasure-requests` (permission `privacy:erase`). */
import { z } from 'zod';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Access } from '../orgs/access.ts';
import { entityTypes } from '../pii/policy.ts';
import type { ErasureService } from './erasure.ts';

const erasureRequest = z
  .strictObject({
    visitorId: z.string().regex(/^vis_[0-9A-Za-z]{1,40}$/, 'must be a visitor id (vis_…)').optional(),
    identifier: z.strictObject({ type: z.enum(entityTypes), value: z.string().trim().min(1).max(500) }).optional(),
  })
  .refine((body) => (body.visitorId === undefined) !== (body.identifier === undefined), { message: 'Name the person by exactly one of visitorId or identifier.' });

export function privacyRoutes(deps: { erasure: ErasureService; access: Access; auth: Authenticator }) {
  return async function plugin(app: App): Promise<void> {
    app.post('/v1/orgs/:orgId/erasure-requests', {
      schema: {
        operationId: 'createErasureRequest',
        tags: ['privacy'],
        description:
          "Erase a person for good: every conversation of theirs (found by visitor id, or by an identifier such as an e-mail address in the conversations' PII vaults), their visitor record, and their encryption keys (crypto-shredding). Audited without the identifier.",
        params: z.strictObject({ orgId: z.string().regex(/^org_[0-9A-Za-z]{1,40}$/, 'must be an organisation id (org_…)') }),
        body: erasureRequest,
      },
      handler: async (request, reply) => {
        const { orgId } = request.params;
        const principal = await deps.auth.require(request);
        await deps.access.authorize(principal, orgId, 'privacy:erase');
        const { visitorId, identifier } = request.body;
        const subject = visitorId !== undefined ? { visitorId } : { identifier: identifier as NonNullable<typeof identifier> };
        const erasure = await deps.erasure.erase(orgId, subject, { principal, ip: request.ip });
        return reply.code(201).send({ erasure });
      },
    });
  };
}
