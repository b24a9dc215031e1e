/**
 * The public widget API: config, visitor sessions and messages. Every route is origin-checked
 * first (cheapest refusal), then bound to a visitor token, then rate-limited, then does work.
 */
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Clock } from '../../platform/clock.ts';
import { newId } from '../../platform/ids.ts';
import { applyDecision } from '../rate-limits/http.ts';
import type { RateLimitService } from '../rate-limits/service.ts';
import type { ChatService } from '../chat/service.ts';
import { replyWithAnswer } from '../chat/reply.ts';
import type { PublicProject } from '../projects/directory.ts';
import type { OriginGuard } from './origin-guard.ts';
import type { VisitorService } from './visitors.ts';
import type { VisitorTokens } from './visitor-token.ts';

const params = z.strictObject({ projectId: z.string().regex(/^prj_[0-9A-Za-z]{1,40}$/, 'must be a project id (prj_…)') });
const identity = z.union([
  // Hex in either case (.NET's Convert.ToHexString writes upper case), compared as bytes.
  z.strictObject({ userId: z.string().min(1).max(200), signature: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be a hex HMAC-SHA256').transform((s) => s.toLowerCase()) }),
  z.strictObject({ token: z.string().min(10).max(4096) }),
]);

export function widgetRoutes(deps: {
  guard: OriginGuard;
  tokens: VisitorTokens;
  visitors: VisitorService;
  chat: ChatService;
  rateLimits: RateLimitService;
  clock: Clock;
}) {
  const { guard, tokens, clock } = deps;

  async function visitorFrom(request: FastifyRequest, project: PublicProject, origin: string) {
    const match = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw new AppError('invalid_visitor_token', 'Start a visitor session first (POST …/sessions).');
    return tokens.verify(
      match[1],
      { projectId: project.id, origin, identityVersion: project.identitySecretVersion, sessionsEpoch: project.visitorSessionsEpoch },
      clock.now(),
    );
  }

  function preflight(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    reply.header('Access-Control-Allow-Methods', 'GET, POST');
    reply.header('Access-Control-Allow-Headers', 'authorization, content-type');
    reply.header('Access-Control-Max-Age', '600');
    return reply.code(204).send();
  }

  return async function plugin(app: App): Promise<void> {
    app.options('/v1/widget/:projectId/*', { schema: { hide: true, params: params.extend({ '*': z.string().max(64) }) } }, async (request, reply) => {
      await guard.check(request, reply, request.params.projectId);
      return preflight(request, reply);
    });

    app.get('/v1/widget/:projectId/config', { schema: { operationId: 'widgetConfig', tags: ['widget'], params } }, async (request, reply) => {
      const { project } = await guard.check(request, reply, request.params.projectId);
      const w = project.settings.widget;
      return { projectId: project.id, name: project.name, greeting: w.greeting, color: w.color, requireIdentity: w.requireIdentity };
    });

    app.post('/v1/widget/:projectId/sessions', {
      schema: { operationId: 'widgetSession', tags: ['widget'], params, body: z.strictObject({ identity: identity.optional() }).optional() },
      handler: async (request, reply) => {
        const { project, origin } = await guard.check(request, reply, request.params.projectId);
        // As many new sessions a minute per address as messages: no resetting the per-session limit.
        applyDecision(request, await deps.rateLimits.checkSessionStart(project.id, request.ip, project.settings.rateLimits.perIpPerMinute));
        const visitor = await deps.visitors.resolve(project, request.body?.identity);
        const now = clock.now();
        const { token, expiresAt } = await tokens.issue(
          {
            visitorId: visitor.id,
            sessionId: newId('ses'),
            projectId: project.id,
            origin,
            verified: visitor.verified,
            identityVersion: visitor.verified ? project.identitySecretVersion : null,
            sessionsEpoch: project.visitorSessionsEpoch,
          },
          now,
        );
        // expiresIn as well: a visitor's clock may be off by hours, and the widget times the token by its own.
        const expiresIn = Math.floor((expiresAt.getTime() - now.getTime()) / 1000);
        return reply.code(201).send({ token, expiresAt: expiresAt.toISOString(), expiresIn, visitorId: visitor.id, verified: visitor.verified });
      },
    });

    app.post('/v1/widget/:projectId/messages', {
      schema: {
        operationId: 'widgetMessage',
        tags: ['widget'],
        params,
        body: z.strictObject({ content: z.string().trim().min(1).max(4000), conversationId: z.string().regex(/^conv_[0-9A-Za-z]{1,40}$/).optional() }),
      },
      handler: async (request, reply) => {
        const { project, origin } = await guard.check(request, reply, request.params.projectId);
        const visitor = await visitorFrom(request, project, origin);
        // Checked again here, not only when the session starts: anonymous sessions opened before
        // the owner required identities must not go on chatting for the rest of their hour.
        if (project.settings.widget.requireIdentity && !visitor.verified) {
          throw new AppError('invalid_identity', 'This chatbot needs a verified visitor identity.');
        }
        // Verified visitors get their own bucket (their stable id); anonymous ones their session's.
        const decision = await deps.rateLimits.checkMessage({
          projectId: project.id,
          orgId: project.orgId,
          ip: request.ip,
          channel: 'widget',
          sessionId: visitor.verified ? visitor.visitorId : visitor.sessionId,
          settings: project.settings.rateLimits,
        });
        applyDecision(request, decision);
        const caller = { kind: 'visitor' as const, visitorId: visitor.visitorId, sessionId: visitor.sessionId, origin };
        return replyWithAnswer(request, reply, (signal) =>
          deps.chat.sendMessage({ project, caller, conversationId: request.body.conversationId, content: request.body.content, signal }),
        );
      },
    });
  };
}
