/**
 * SCIM 2.0 over HTTP (RFC 7644) at `/v1/scim/v2`: Users (list with the userName filter, get,
 * create, replace, patch, delete) and the discovery documents. Called by the organisation's
 * identity provider with an API key holding the `scim:provision` scope (which only owners can
 * grant); the organisation is the key's. Bodies are `application/scim+json` (or JSON), and every
 * refusal — authentication included — is a SCIM error message.
 */
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/http/errors.ts';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { Access } from '../orgs/access.ts';
import type { ScimService } from './service.ts';
import { changesFromPatch, ERROR_SCHEMA, LIST_SCHEMA, nameOf, SCIM_MEDIA_TYPE, toScimUser, USER_SCHEMA } from './resource.ts';

const PREFIX = '/v1/scim/v2';
const MAX_COUNT = 200;

const userBody = z.looseObject({
  schemas: z.array(z.string().max(200)).max(10).optional(),
  userName: z.string().trim().min(1).max(320),
  displayName: z.string().max(500).optional(),
  name: z.looseObject({ formatted: z.string().max(500).optional(), givenName: z.string().max(200).optional(), familyName: z.string().max(200).optional() }).optional(),
  active: z.union([z.boolean(), z.enum(['true', 'false', 'True', 'False'])]).optional(),
  externalId: z.string().max(500).optional(),
  emails: z.array(z.looseObject({ value: z.string().max(320).optional(), primary: z.union([z.boolean(), z.string()]).optional() })).max(20).optional(),
});
const patchBody = z.looseObject({
  schemas: z.array(z.string().max(200)).max(10).optional(),
  Operations: z.array(z.looseObject({ op: z.string().min(1).max(20), path: z.string().max(200).optional(), value: z.unknown().optional() })).min(1).max(50),
});
// Any id a provider may hold: one that is not a user here is 404, as RFC 7644 says (validators send UUIDs).
const idParams = z.strictObject({ id: z.string().min(1).max(200) });
// Loose: parameters Palisade does not support (sortBy, sortOrder) are ignored, as RFC 7644 allows.
const listQuery = z.looseObject({
  filter: z.string().max(400).optional(),
  // RFC 7644 §3.4.2.4: a startIndex below 1 counts as 1; a count above the maximum is cut to it.
  startIndex: z.coerce.number().int().catch(1).transform((n) => Math.max(1, n)).default(1),
  count: z.coerce.number().int().min(0).catch(100).transform((n) => Math.min(MAX_COUNT, n)).default(100),
  attributes: z.string().max(400).optional(),
  excludedAttributes: z.string().max(400).optional(),
});

const activeOf = (value: boolean | string | undefined): boolean | undefined => (value === undefined ? undefined : value === true || (typeof value === 'string' && value.toLowerCase() === 'true'));

/** SCIM's scimType for our refusals that have one by nature (the service names the others: uniqueness, mutability…). */
const SCIM_TYPES: Partial<Record<string, string>> = { invalid_request: 'invalidValue' };

/** Renders the problem+json every refusal becomes (the shared error handler) as a SCIM error message. */
function asScimError(_request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  const type = String(reply.getHeader('content-type') ?? '');
  if (!type.startsWith('application/problem+json') || typeof payload !== 'string') return done(null, payload);
  let problem: { status?: number; code?: string; detail?: string; scimType?: string };
  try {
    problem = JSON.parse(payload) as typeof problem;
  } catch {
    return done(null, payload);
  }
  const scimType = problem.scimType ?? (problem.code ? SCIM_TYPES[problem.code] : undefined);
  reply.header('content-type', SCIM_MEDIA_TYPE);
  done(null, JSON.stringify({ schemas: [ERROR_SCHEMA], status: String(reply.statusCode), ...(scimType ? { scimType } : {}), detail: problem.detail ?? '' }));
}

export function scimRoutes(deps: { scim: ScimService; access: Access; auth: Authenticator; publicUrl: string }) {
  const { scim, access, auth } = deps;
  const base = `${deps.publicUrl.replace(/\/+$/, '')}${PREFIX}`;

  /** The SCIM client: an API key with the scim:provision scope; its organisation is the one provisioned. */
  async function caller(request: FastifyRequest): Promise<{ orgId: string; actor: { principal: Principal; ip: string } }> {
    const principal = await auth.require(request);
    if (principal.kind !== 'api_key') throw new AppError('forbidden', 'SCIM is called with an API key that has the scim:provision scope.');
    await access.authorize(principal, principal.orgId, 'scim:provision');
    return { orgId: principal.orgId, actor: { principal, ip: request.ip } };
  }

  const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).header('content-type', SCIM_MEDIA_TYPE).send(JSON.stringify(body));

  return async function plugin(app: App): Promise<void> {
    app.addHook('onSend', asScimError);

    app.get(`${PREFIX}/ServiceProviderConfig`, { schema: { operationId: 'scimServiceProviderConfig', tags: ['scim'] } }, async (request, reply) => {
      await caller(request);
      return send(reply, 200, {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: MAX_COUNT },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer API key', description: 'A Palisade API key with the scim:provision scope.' }],
      });
    });

    app.get(`${PREFIX}/ResourceTypes`, { schema: { operationId: 'scimResourceTypes', tags: ['scim'] } }, async (request, reply) => {
      await caller(request);
      const user = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: USER_SCHEMA };
      return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [user] });
    });

    app.get(`${PREFIX}/Users`, {
      schema: { operationId: 'scimListUsers', tags: ['scim'], description: 'The accounts the organisation federates; filter userName eq "…" (externalId eq "…" matches none: it is not kept).', querystring: listQuery },
      handler: async (request, reply) => {
        const { orgId } = await caller(request);
        const { startIndex, count, filter } = request.query;
        const { total, users } = await scim.list(orgId, { filter, startIndex, count });
        return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: total, startIndex, itemsPerPage: users.length, Resources: users.map((u) => toScimUser(u, base)) });
      },
    });

    app.get(`${PREFIX}/Users/:id`, { schema: { operationId: 'scimGetUser', tags: ['scim'], params: idParams } }, async (request, reply) => {
      const { orgId } = await caller(request);
      return send(reply, 200, toScimUser(await scim.get(orgId, request.params.id), base));
    });

    app.post(`${PREFIX}/Users`, {
      schema: { operationId: 'scimCreateUser', tags: ['scim'], description: "An account for a verified address of one of the SSO configuration's proven domains, a member with its default role unless active is false.", body: userBody },
      handler: async (request, reply) => {
        const { orgId, actor } = await caller(request);
        const emails = request.body.emails ?? [];
        const primary = emails.find((e) => e.primary === true || e.primary === 'true' || e.primary === 'True') ?? (emails.length === 1 ? emails[0] : undefined);
        const user = await scim.create(orgId, { userName: request.body.userName, name: nameOf(request.body) ?? null, active: activeOf(request.body.active) ?? true, primaryEmail: primary?.value }, actor);
        reply.header('location', `${base}/Users/${user.id}`);
        return send(reply, 201, toScimUser(user, base));
      },
    });

    app.put(`${PREFIX}/Users/:id`, { schema: { operationId: 'scimReplaceUser', tags: ['scim'], params: idParams, body: userBody } }, async (request, reply) => {
      const { orgId, actor } = await caller(request);
      const active = activeOf(request.body.active);
      const user = await scim.update(orgId, request.params.id, { userName: request.body.userName, name: nameOf(request.body) ?? null, ...(active !== undefined ? { active } : {}) }, actor);
      return send(reply, 200, toScimUser(user, base));
    });

    app.patch(`${PREFIX}/Users/:id`, { schema: { operationId: 'scimPatchUser', tags: ['scim'], params: idParams, body: patchBody } }, async (request, reply) => {
      const { orgId, actor } = await caller(request);
      const user = await scim.update(orgId, request.params.id, changesFromPatch(request.body.Operations), actor);
      return send(reply, 200, toScimUser(user, base));
    });

    app.delete(`${PREFIX}/Users/:id`, { schema: { operationId: 'scimDeleteUser', tags: ['scim'], params: idParams } }, async (request, reply) => {
      const { orgId, actor } = await caller(request);
      await scim.remove(orgId, request.params.id, actor);
      return reply.code(204).send();
    });

    // Groups are not provisioned (roles are set in Palisade): an empty list, which providers that probe it accept.
    app.get(`${PREFIX}/Groups`, { schema: { operationId: 'scimGroups', tags: ['scim'] } }, async (request, reply) => {
      await caller(request);
      return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    });
  };
}
