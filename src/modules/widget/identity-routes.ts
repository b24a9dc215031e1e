/**
 * Management of a project's identity secret (the host site signs its users' ids with it). Needs
 * `projects:write` and `pii:reveal` (owners and admins; keys with both scopes).
 */
import { z } from 'zod';
import { noBody } from '../../platform/http/id-params.ts';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Access } from '../orgs/access.ts';
import type { VisitorService } from './visitors.ts';

export function identityRoutes(deps: { visitors: VisitorService; access: Access; auth: Authenticator }) {
  return async function plugin(app: App): Promise<void> {
    app.post('/v1/projects/:projectId/identity-secret', {
      schema: {
        operationId: 'rotateIdentitySecret',
        tags: ['widget'],
        description: 'A new identity secret, shown once; the previous one stops working at once.',
        body: noBody,
        params: z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') }),
      },
      handler: async (request, reply) => {
        const principal = await deps.auth.require(request);
        // The secret signs visitors in as the host site's users, and a verified visitor's session
        // is given their earlier values back: rotating it takes the permission to reveal those.
        const grant = await deps.access.authorizeProject(principal, request.params.projectId, ['projects:write', 'pii:reveal']);
        const secret = await deps.visitors.rotateIdentitySecret(grant.orgId, request.params.projectId, { principal, ip: request.ip });
        return reply.code(201).header('Cache-Control', 'no-store').send({ secret });
      },
    });
  };
}
