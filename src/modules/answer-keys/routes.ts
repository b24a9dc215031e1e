/** A project's answer-endpoint key: set (write-only), see whether one is set, remove. */
import { z } from 'zod';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import type { AnswerKeyService } from './service.ts';

const params = z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') });
// Printable ASCII only: the key goes into an Authorization header.
const apiKey = z.string().min(1).max(500).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export function answerKeyRoutes(deps: { answerKeys: AnswerKeyService; access: Access; auth: Authenticator }) {
  return async function plugin(app: App): Promise<void> {
    app.get('/v1/projects/:projectId/answer-key', {
      schema: { operationId: 'getAnswerKey', tags: ['projects'], description: 'Whether the project stored its own answer-endpoint key (never the key).', params },
      handler: async (request) => {
        const principal = await deps.auth.require(request);
        const grant = await deps.access.authorizeProject(principal, request.params.projectId, 'projects:read');
        return { answerKey: await deps.answerKeys.status(grant.orgId, request.params.projectId) };
      },
    });

    app.post('/v1/projects/:projectId/answer-key', {
      schema: {
        operationId: 'setAnswerKey',
        tags: ['projects'],
        description:
          "Stores the key sent to the project's openai-compatible endpoint, encrypted; write-only. Name the endpoint you mean (endpoint): if the project's baseUrl is another by now (someone changed it), nothing is stored (409).",
        params,
        body: z.strictObject({ apiKey, endpoint: z.url({ protocol: /^https?$/ }).max(2000).optional() }),
      },
      handler: async (request, reply) => {
        const principal = await deps.auth.require(request);
        const grant = await deps.access.authorizeProject(principal, request.params.projectId, 'projects:write');
        await deps.answerKeys.set(grant.orgId, request.params.projectId, request.body.apiKey, { principal, ip: request.ip }, request.body.endpoint);
        return reply.code(204).send();
      },
    });

    app.delete('/v1/projects/:projectId/answer-key', {
      schema: { operationId: 'removeAnswerKey', tags: ['projects'], params },
      handler: async (request, reply) => {
        const principal = await deps.auth.require(request);
        const grant = await deps.access.authorizeProject(principal, request.params.projectId, 'projects:write');
        await deps.answerKeys.remove(grant.orgId, request.params.projectId, { principal, ip: request.ip });
        return reply.code(204).send();
      },
    });
  };
}
