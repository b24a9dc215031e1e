/**
 * HTTP for the knowledge base: add, list and delete a project's documents, and search them.
 * Routes addressed by a document id resolve its project first; another organisation's document
 * answers exactly like a missing one.
 */
import { z } from 'zod';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import { documentInputSchema, documentSchema, passageSchema, searchQuerySchema } from './schemas.ts';
import type { TextWorkCharge } from '../rate-limits/text-work.ts';
import type { KnowledgeService } from './service.ts';

const projectParams = z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') });
const documentParams = z.strictObject({ id: z.string().regex(/^doc_[0-9A-Za-z]{1,40}$/, 'must be a document id (doc_…)') });
const tags = ['knowledge'];

export function knowledgeRoutes(deps: { knowledge: KnowledgeService; access: Access; auth: Authenticator; chargeTextWork: TextWorkCharge }) {
  const { knowledge, access, auth } = deps;

  return async function plugin(app: App): Promise<void> {
    app.post('/v1/projects/:projectId/documents', {
      schema: { operationId: 'addDocument', tags, params: projectParams, body: documentInputSchema, response: { 201: z.object({ document: documentSchema }) } },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        const grant = await access.authorizeProject(principal, request.params.projectId, 'knowledge:write');
        await deps.chargeTextWork(request, principal, request.body.content.length);
        const document = await knowledge.addDocument(grant.orgId, request.params.projectId, request.body, { principal, ip: request.ip });
        return reply.code(201).send({ document });
      },
    });

    app.get('/v1/projects/:projectId/documents', {
      schema: { operationId: 'listDocuments', tags, params: projectParams, response: { 200: z.object({ documents: z.array(documentSchema) }) } },
      handler: async (request) => {
        const grant = await access.authorizeProject(await auth.require(request), request.params.projectId, 'projects:read');
        return { documents: await knowledge.listDocuments(grant.orgId, request.params.projectId) };
      },
    });

    app.delete('/v1/documents/:id', {
      schema: { operationId: 'deleteDocument', tags, params: documentParams },
      handler: async (request, reply) => {
        const principal = await auth.require(request);
        const location = await knowledge.locateDocument(request.params.id);
        if (!location) throw new AppError('not_found', 'This document does not exist.');
        const grant = await access.authorizeProject(principal, location.projectId, 'knowledge:write').catch((error: unknown) => {
          // The project's own 404 would say "project": another organisation's document must look missing.
          throw error instanceof AppError && error.code === 'not_found' ? new AppError('not_found', 'This document does not exist.') : error;
        });
        await knowledge.deleteDocument(grant.orgId, request.params.id, { principal, ip: request.ip });
        return reply.code(204).send();
      },
    });

    app.get('/v1/projects/:projectId/search', {
      schema: { operationId: 'searchKnowledge', tags, params: projectParams, querystring: searchQuerySchema, response: { 200: z.object({ results: z.array(passageSchema) }) } },
      handler: async (request) => {
        const grant = await access.authorizeProject(await auth.require(request), request.params.projectId, 'projects:read');
        return { results: await knowledge.search(grant.orgId, request.params.projectId, request.query.q, request.query.limit) };
      },
    });
  };
}
