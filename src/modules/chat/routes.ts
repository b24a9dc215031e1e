/**
 * Server-side chat (session cookie or Bearer API key): start a conversation, send a message
 * (JSON, or SSE with Accept: text/event-stream), read the history. Conversations are found by
 * id first, then authorised in their organisation (404 across tenants).
 */
import { z } from 'zod';
import { noBody } from '../../platform/http/id-params.ts';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import type { Authenticator } from '../../platform/http/authenticate.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { Access } from '../orgs/access.ts';
import type { Permission } from '../orgs/permissions.ts';
import type { ProjectDirectory } from '../projects/directory.ts';
import { applyDecision } from '../rate-limits/http.ts';
import { defaultApiKeyMessagesPerMinute } from '../rate-limits/policy.ts';
import type { RateLimitService } from '../rate-limits/service.ts';
import { replyWithAnswer } from './reply.ts';
import type { ConversationRef } from './types.ts';
import type { ChatService } from './service.ts';

const projectParams = z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') });
const conversationParams = z.strictObject({ conversationId: z.string().regex(/^conv_[0-9A-Za-z]{1,40}$/, 'must be a conversation id (conv_…)') });

export function chatRoutes(deps: { chat: ChatService; projects: ProjectDirectory; access: Access; auth: Authenticator; rateLimits: RateLimitService }) {
  const { chat, projects, access, auth } = deps;

  async function authorisedProject(request: FastifyRequest, projectId: string, permission: Permission) {
    const principal = await auth.require(request);
    return { principal, project: await projectFor(principal, projectId, permission) };
  }

  async function projectFor(principal: Principal, projectId: string, permission: Permission | readonly Permission[]) {
    await access.authorizeProject(principal, projectId, permission);
    const project = await projects.get(projectId);
    if (!project) throw new AppError('not_found', 'This project does not exist.');
    return project;
  }

  // Credentials first: an anonymous caller must not learn whether a conversation id exists.
  async function authorisedConversation(request: FastifyRequest, conversationId: string, permissions: (principal: Principal, conversation: ConversationRef) => readonly Permission[]) {
    const principal = await auth.require(request);
    const conversation = await chat.findConversation(conversationId);
    if (!conversation) throw new AppError('not_found', 'This conversation does not exist.');
    const project = await projectFor(principal, conversation.projectId, permissions(principal, conversation)).catch((error: unknown) => {
      throw error instanceof AppError && error.code === 'not_found' ? new AppError('not_found', 'This conversation does not exist.') : error;
    });
    return { principal, project, conversation };
  }

  return async function plugin(app: App): Promise<void> {
    app.post('/v1/projects/:projectId/conversations', {
      schema: { operationId: 'createConversation', tags: ['chat'], body: noBody, params: projectParams },
      handler: async (request, reply) => {
        const { principal, project } = await authorisedProject(request, request.params.projectId, 'chat:write');
        // Each is a row kept until retention: as many a minute as a key may send messages.
        const caller = principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`;
        applyDecision(request, await deps.rateLimits.checkConversationStart(project.id, project.orgId, caller, defaultApiKeyMessagesPerMinute));
        const conversation = await chat.startConversation(project, { kind: 'api', principal, ip: request.ip });
        return reply.code(201).send({ conversation: { id: conversation.id, projectId: conversation.projectId } });
      },
    });

    app.post('/v1/conversations/:conversationId/messages', {
      schema: { operationId: 'sendMessage', tags: ['chat'], params: conversationParams, body: z.strictObject({ content: z.string().trim().min(1).max(8000) }) },
      handler: async (request, reply) => {
        // The answer may repeat what was said before: a key continuing a conversation it did not
        // start (another key's, a visitor's) must also be allowed to read it.
        const { principal, project, conversation } = await authorisedConversation(request, request.params.conversationId, (p, c) =>
          p.kind === 'api_key' && c.apiKeyId !== p.keyId ? ['chat:write', 'chat:read'] : ['chat:write'],
        );
        const decision = await deps.rateLimits.checkMessage({
          projectId: project.id,
          orgId: project.orgId,
          ip: request.ip,
          channel: 'api',
          ...(principal.kind === 'api_key' ? { apiKeyId: principal.keyId } : { sessionId: principal.sessionId }),
          settings: project.settings.rateLimits,
        });
        applyDecision(request, decision);
        return replyWithAnswer(request, reply, (signal) =>
          chat.sendMessage({ project, caller: { kind: 'api', principal, ip: request.ip }, conversationId: conversation.id, content: request.body.content, signal }),
        );
      },
    });

    app.get('/v1/conversations/:conversationId/messages', {
      schema: {
        operationId: 'listMessages',
        tags: ['chat'],
        description: 'Messages, oldest first: the newest `limit` (at most 100), or those before the message `before`. Page back with before=nextBefore.',
        params: conversationParams,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(100).default(100),
          before: z.string().regex(/^msg_[0-9A-Za-z]{1,40}$/, 'must be a message id (msg_…)').optional(),
        }),
      },
      handler: async (request) => {
        const { conversation } = await authorisedConversation(request, request.params.conversationId, () => ['chat:read']);
        return chat.history(conversation, request.query);
      },
    });
  };
}
