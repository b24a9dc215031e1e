/**
 * HTTP for projects. Routes addressed by project id resolve its organisation first (404 across
 * tenants). Setting a project's PII policy also needs `pii:reveal`: the policy decides which of
 * visitors' values are stored readable (`allow`, `mask`), so choosing it is as strong as
 * revealing them — an editor could otherwise switch it off and read the next visitors' values.
 */
import { z } from 'zod';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import type { Access } from '../orgs/access.ts';
import type { ProjectService } from './service.ts';
import { orgParams } from '../../platform/http/id-params.ts';
import { projectSettingsPatchSchema } from './settings.ts';

const projectParams = z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') });
const name = z.string().trim().min(1).max(100);

export function projectRoutes(deps: { projects: ProjectService; access: Access; auth: Authenticator }) {
  const { projects, access, auth } = deps;

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/orgs/:orgId/projects', { schema: { operationId: 'listProjects', tags: ['projects'], params: orgParams } }, async (request) => {
      const principal = await auth.require(request);
      await access.authorize(principal, request.params.orgId, 'projects:read', { withinProjects: true });
      const all = await projects.list(request.params.orgId);
      const allowed = principal.kind === 'api_key' ? principal.projectIds : null;
      return { projects: allowed ? all.filter((p) => allowed.includes(p.id)) : all };
    });

    app.post('/v1/orgs/:orgId/projects', {
      schema: { operationId: 'createProject', tags: ['projects'], params: orgParams, body: z.strictObject({ name, settings: projectSettingsPatchSchema.optional() }) },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        await access.authorize(principal, request.params.orgId, 'projects:write');
        if (request.body.settings?.pii !== undefined) await access.authorize(principal, request.params.orgId, 'pii:reveal');
        const project = await projects.create(request.params.orgId, request.body, { principal, ip: request.ip });
        return reply.code(201).send({ project });
      },
    });

    app.get('/v1/projects/:projectId', { schema: { operationId: 'getProject', tags: ['projects'], params: projectParams } }, async (request) => {
      const grant = await access.authorizeProject(await auth.require(request), request.params.projectId, 'projects:read');
      return { project: await projects.get(grant.orgId, request.params.projectId) };
    });

    app.patch('/v1/projects/:projectId', {
      schema: { operationId: 'updateProject', tags: ['projects'], params: projectParams, body: z.strictObject({ name: name.optional(), settings: projectSettingsPatchSchema.optional() }) },
      handler: async (request) => {
        const principal = await auth.require(request);
        const grant = await access.authorizeProject(principal, request.params.projectId, 'projects:write');
        if (request.body.settings?.pii !== undefined) await access.authorizeProject(principal, request.params.projectId, 'pii:reveal');
        return { project: await projects.update(grant.orgId, request.params.projectId, request.body, { principal, ip: request.ip }) };
      },
    });

    app.delete('/v1/projects/:projectId/visitor-sessions', {
      schema: {
        operationId: 'endVisitorSessions',
        tags: ['projects'],
        description: "End every open visitor session of the project's widget at once; visitors start new ones.",
        params: projectParams,
      },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        const grant = await access.authorizeProject(principal, request.params.projectId, 'projects:write');
        await projects.endVisitorSessions(grant.orgId, request.params.projectId, { principal, ip: request.ip });
        return reply.code(204).send();
      },
    });

    app.delete('/v1/projects/:projectId', { schema: { operationId: 'deleteProject', tags: ['projects'], params: projectParams } }, async (request, reply) => {
      const principal = await auth.require(request);
      const grant = await access.authorizeProject(principal, request.params.projectId, 'projects:delete');
      await projects.remove(grant.orgId, request.params.projectId, { principal, ip: request.ip });
      return reply.code(204).send();
    });
  };
}
