/**
 * HTTP for PII: a conversation's entities (tokens and counts), revealing one original value
 * (`pii:reveal`, audited, never cached), and a dry run of a policy over a text. Objects are
 * found by id first, then authorised in their organisation: another tenant's entity or
 * conversation answers exactly like a missing one.
 */
import { z } from 'zod';
import { noBody } from '../../platform/http/id-params.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { Access } from '../orgs/access.ts';
import type { Permission } from '../orgs/permissions.ts';
import type { ProjectDirectory } from '../projects/directory.ts';
import type { ConversationRef } from '../chat/types.ts';
import { dryRun } from './dry-run.ts';
import type { PiiEntities } from './entities.ts';
import { defaultPiiPolicy } from './policy.ts';
import type { TextWorkCharge } from '../rate-limits/text-work.ts';
import { analysisSchema, analyzeBody, conversationParams, entityParams, entitySchema, revealedSchema } from './schemas.ts';

const tags = ['pii'];

export function piiRoutes(deps: {
  entities: PiiEntities;
  conversations: { findConversation(id: string): Promise<ConversationRef | undefined> };
  projects: ProjectDirectory;
  access: Access;
  auth: Authenticator;
  chargeTextWork: TextWorkCharge;
}) {
  const { entities, access, auth } = deps;

  /** Authorise on the object's project; its "project does not exist" becomes this object's 404. */
  async function authorise(principal: Principal, projectId: string, permission: Permission, what: string): Promise<void> {
    await access.authorizeProject(principal, projectId, permission).catch((error: unknown) => {
      throw error instanceof AppError && error.code === 'not_found' ? new AppError('not_found', `This ${what} does not exist.`) : error;
    });
  }

  return async function plugin(app: App): Promise<void> {
    app.get('/v1/conversations/:conversationId/entities', {
      schema: { operationId: 'listConversationEntities', tags, params: conversationParams, response: { 200: z.object({ entities: z.array(entitySchema) }) } },
      handler: async (request) => {
        const principal = await auth.require(request);
        const conversation = await deps.conversations.findConversation(request.params.conversationId);
        if (!conversation) throw new AppError('not_found', 'This conversation does not exist.');
        await authorise(principal, conversation.projectId, 'chat:read', 'conversation');
        return { entities: await entities.list(conversation) };
      },
    });

    app.post('/v1/entities/:entityId/reveal', {
      schema: { operationId: 'revealEntity', tags, body: noBody, params: entityParams, response: { 200: revealedSchema } },
      handler: async (request, reply) => {
        reply.header('Cache-Control', 'no-store');
        const principal = await auth.require(request);
        const where = await entities.locate(request.params.entityId);
        if (!where) throw new AppError('not_found', 'This entity does not exist.');
        await authorise(principal, where.projectId, 'pii:reveal', 'entity');
        return entities.reveal(request.params.entityId, where.orgId, { principal, ip: request.ip });
      },
    });

    app.post('/v1/pii/analyze', {
      schema: { operationId: 'analyzePii', tags, body: analyzeBody, response: { 200: analysisSchema } },
      handler: async (request, reply) => {
        reply.header('Cache-Control', 'no-store');
        const principal = await auth.require(request);
        const { text, projectId } = request.body;
        const project = projectId ? await projectFor(principal, projectId) : undefined;
        await deps.chargeTextWork(request, principal, text.length);
        return dryRun(text, project ? project.settings.pii : defaultPiiPolicy);
      },
    });
  };

  async function projectFor(principal: Principal, projectId: string) {
    await access.authorizeProject(principal, projectId, 'projects:read');
    const project = await deps.projects.get(projectId);
    if (!project) throw new AppError('not_found', 'This project does not exist.');
    return project;
  }
}
