/** HTTP for organisations, members and invitations. */
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Access } from './access.ts';
import { roles } from './permissions.ts';
import { idSchema } from '../../platform/http/id-params.ts';
import type { OrgService } from './service.ts';

export const regions = ['eu', 'us', 'uk', 'ch', 'ca', 'au'] as const;

const orgId = idSchema('org', 'an organisation id');
const userId = z.string().regex(/^usr_[0-9A-Za-z]{1,40}$/, 'must be a user id (usr_…)');
const orgParams = z.strictObject({ orgId });
const memberParams = z.strictObject({ orgId, userId });
const invitationParams = z.strictObject({ orgId, invitationId: z.string().regex(/^inv_[0-9A-Za-z]{1,40}$/, 'must be an invitation id (inv_…)') });

export function orgRoutes(deps: { orgs: OrgService; access: Access; auth: Authenticator }) {
  const { orgs, access, auth } = deps;

  async function actorFor(request: FastifyRequest, org: string, permission: Parameters<Access['authorize']>[2]) {
    const principal = await auth.require(request);
    const grant = await access.authorize(principal, org, permission);
    return { principal, role: grant.role, ip: request.ip };
  }

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs', { schema: { operationId: 'listOrgs', tags: ['orgs'] } }, async (request) => {
      const principal = await auth.require(request);
      // A key learns which organisation it belongs to, not that organisation's settings (no key
      // scope reads them: GET /v1/orgs/{orgId} refuses keys).
      if (principal.kind === 'api_key') return { orgs: [{ id: principal.orgId }] };
      return { orgs: await orgs.listForUser(principal.userId) };
    });

    app.post('/v1/orgs', {
      schema: {
        operationId: 'createOrg',
        tags: ['orgs'],
        body: z.strictObject({ name: z.string().trim().min(1).max(100), region: z.enum(regions).optional() }),
      },
      handler: async (request, reply) => {
        const principal = await auth.requireUser(request);
        return reply.code(201).send({ org: await orgs.createOrgFor(principal, request.body, request.ip) });
      },
    });

    app.get('/v1/orgs/:orgId', { schema: { operationId: 'getOrg', tags: ['orgs'], params: orgParams } }, async (request) => {
      await actorFor(request, request.params.orgId, 'org:read');
      return { org: await orgs.get(request.params.orgId) };
    });

    app.patch('/v1/orgs/:orgId', {
      schema: {
        operationId: 'updateOrg',
        tags: ['orgs'],
        params: orgParams,
        body: z.strictObject({
          name: z.string().trim().min(1).max(100).optional(),
          region: z.enum(regions).optional(),
          require2fa: z.boolean().optional(),
          improvementConsent: z.boolean().optional(),
        }),
      },
      handler: async (request) => {
        const actor = await actorFor(request, request.params.orgId, 'org:update');
        return { org: await orgs.update(request.params.orgId, request.body, actor) };
      },
    });

    app.get('/v1/orgs/:orgId/members', { schema: { operationId: 'listMembers', tags: ['orgs'], params: orgParams } }, async (request) => {
      await actorFor(request, request.params.orgId, 'members:read');
      return { members: await orgs.listMembers(request.params.orgId) };
    });

    app.post('/v1/orgs/:orgId/members', {
      schema: {
        operationId: 'addMember',
        tags: ['orgs'],
        params: orgParams,
        body: z.strictObject({ email: z.email().max(254).transform((e) => e.toLowerCase()), role: z.enum(roles) }),
      },
      handler: async (request, reply) => {
        const actor = await actorFor(request, request.params.orgId, 'members:manage');
        return reply.code(201).send({ invitation: await orgs.addMember(request.params.orgId, request.body, actor) });
      },
    });

    app.get('/v1/orgs/:orgId/invitations', { schema: { operationId: 'listInvitations', tags: ['orgs'], params: orgParams } }, async (request) => {
      await actorFor(request, request.params.orgId, 'members:manage');
      return { invitations: await orgs.listInvitations(request.params.orgId) };
    });

    app.delete('/v1/orgs/:orgId/invitations/:invitationId', {
      schema: { operationId: 'revokeInvitation', tags: ['orgs'], description: 'A pending invitation stops working at once.', params: invitationParams },
      handler: async (request, reply) => {
        const actor = await actorFor(request, request.params.orgId, 'members:manage');
        await orgs.revokeInvitation(request.params.orgId, request.params.invitationId, actor);
        return reply.code(204).send();
      },
    });

    app.patch('/v1/orgs/:orgId/members/:userId', {
      schema: { operationId: 'changeMemberRole', tags: ['orgs'], params: memberParams, body: z.strictObject({ role: z.enum(roles) }) },
      handler: async (request) => {
        const actor = await actorFor(request, request.params.orgId, 'members:manage');
        return { member: await orgs.changeRole(request.params.orgId, request.params.userId, request.body.role, actor) };
      },
    });

    app.delete('/v1/orgs/:orgId/members/:userId', {
      schema: { operationId: 'removeMember', tags: ['orgs'], params: memberParams },
      handler: async (request, reply) => {
        const actor = await actorFor(request, request.params.orgId, 'members:manage');
        await orgs.removeMember(request.params.orgId, request.params.userId, actor);
        return reply.code(204).send();
      },
    });

    app.delete('/v1/orgs/:orgId/membership', {
      schema: { operationId: 'leaveOrg', tags: ['orgs'], description: 'The signed-in user leaves the organisation.', params: orgParams },
      handler: async (request, reply) => {
        const principal = await auth.requireUser(request);
        // No authorize(): leaving only lessens access, so a member the organisation's 2FA or SSO
        // requirement refuses may still leave; orgs.leave() answers 404 to a non-member.
        await orgs.leave(request.params.orgId, principal, request.ip);
        return reply.code(204).send();
      },
    });

    app.post('/v1/invitations/accept', {
      schema: { operationId: 'acceptInvitation', tags: ['orgs'], body: z.strictObject({ token: z.string().min(10).max(128) }) },
      handler: async (request) => {
        const principal = await auth.requireUser(request);
        return { membership: await orgs.acceptInvitation(request.body.token, principal, request.ip) };
      },
    });
  };
}
