/**
 * HTTP for API keys: list and create per organisation, rotate, revoke and usage per key. All
 * need keys:manage; a key addressed by id is looked up in its own organisation (another
 * organisation's key is 404). A calling API key only reaches keys no more powerful than itself:
 * the service enforces that (reach.ts) on create, rotate, revoke, usage and the list.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import { apiKeyScopeListSchema } from './scopes.ts';
import { orgParams } from '../../platform/http/id-params.ts';
import { maxGraceSeconds, type ApiKeyService } from './service.ts';

const keyIdSchema = z.string().regex(/^key_[0-9A-Za-z]{16}$/, 'must be an API key id (key_…)');
const keyParams = z.strictObject({ keyId: keyIdSchema });
const projectId = z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)');

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  scopes: apiKeyScopeListSchema,
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  projectIds: z.array(projectId).min(1).max(100).optional(),
});

export function apiKeyRoutes(deps: { keys: ApiKeyService; access: Access; auth: Authenticator }) {
  const { keys, access, auth } = deps;

  async function actorForKey(request: FastifyRequest, keyId: string) {
    const principal = await auth.require(request);
    const orgId = await keys.orgOfKey(keyId);
    // Within projects: the reach rule (reach.ts) holds a restricted key to its projects' keys.
    const { role } = await access.authorize(principal, orgId, 'keys:manage', { what: 'API key', withinProjects: true });
    return { orgId, actor: { principal, ip: request.ip, role } };
  }

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/api-keys', {
      schema: {
        operationId: 'listApiKeys',
        tags: ['api-keys'],
        params: orgParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(1000), before: keyIdSchema.optional() }),
      },
      handler: async (request) => {
        const principal = await auth.require(request);
        const { role } = await access.authorize(principal, request.params.orgId, 'keys:manage', { withinProjects: true });
        const page = await keys.list(request.params.orgId, principal, role, request.query);
        return { apiKeys: page.keys, nextBefore: page.nextBefore };
      },
    });

    app.post('/v1/orgs/:orgId/api-keys', {
      schema: { operationId: 'createApiKey', tags: ['api-keys'], params: orgParams, body: createBody },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        const { role } = await access.authorize(principal, request.params.orgId, 'keys:manage', { withinProjects: true });
        const created = await keys.create(request.params.orgId, request.body, { principal, ip: request.ip, role });
        reply.header('Cache-Control', 'no-store');
        return reply.code(201).send({ apiKey: created.key, secret: created.secret });
      },
    });

    // The calling key itself (no database read): lets a client check which key and scopes it uses.
    app.get('/v1/api-keys/current', { schema: { operationId: 'currentApiKey', tags: ['api-keys'] } }, async (request) => {
      const principal = await auth.require(request);
      if (principal.kind !== 'api_key') throw new AppError('invalid_request', 'This route describes the calling API key; send one as a Bearer token.');
      return { apiKey: { id: principal.keyId, orgId: principal.orgId, scopes: principal.scopes, projectIds: principal.projectIds } };
    });

    app.post('/v1/api-keys/:keyId/rotate', {
      schema: {
        operationId: 'rotateApiKey',
        tags: ['api-keys'],
        params: keyParams,
        body: z.strictObject({ graceSeconds: z.int().min(0).max(maxGraceSeconds).default(3600) }).optional(),
      },
      handler: async (request, reply) => {
        const { orgId, actor } = await actorForKey(request, request.params.keyId);
        const rotated = await keys.rotate(orgId, request.params.keyId, request.body?.graceSeconds ?? 3600, actor);
        reply.header('Cache-Control', 'no-store');
        return { apiKey: rotated.key, secret: rotated.secret };
      },
    });

    app.delete('/v1/api-keys/:keyId', { schema: { operationId: 'revokeApiKey', tags: ['api-keys'], params: keyParams } }, async (request, reply) => {
      const { orgId, actor } = await actorForKey(request, request.params.keyId);
      await keys.revoke(orgId, request.params.keyId, actor);
      return reply.code(204).send();
    });

    app.get('/v1/api-keys/:keyId/usage', {
      schema: { operationId: 'getApiKeyUsage', tags: ['api-keys'], params: keyParams, querystring: z.strictObject({ days: z.coerce.number().int().min(1).max(90).default(30) }) },
      handler: async (request) => {
        const { orgId, actor } = await actorForKey(request, request.params.keyId);
        return { usage: await keys.usage(orgId, request.params.keyId, actor, request.query.days) };
      },
    });
  };
}
