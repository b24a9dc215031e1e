/**
 * The widget routes' first gate: the project exists and the request's Origin is on its allow
 * list. A refusal is 403 origin_not_allowed, logged, counted, and reported to onRefusal (the
 * events module connects webhooks there); allowed origins get CORS headers for that origin only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../platform/http/errors.ts';
import { clientKeyForIp } from '../rate-limits/ip.ts';
import type { ProjectDirectory, PublicProject } from '../projects/directory.ts';

export interface OriginRefusal {
  projectId: string;
  orgId: string | null;
  origin: string | null;
  reason: string;
  ip: string;
}

/** Look-ups of project ids that do not exist, per client address (IPv6 by /64), minute and instance. */
export const UNKNOWN_PROJECTS_PER_MINUTE = 30;

export function createOriginGuard(deps: { projects: ProjectDirectory; onRefusal: (refusal: OriginRefusal) => void }) {
  const counts = { allowed: 0, refused: 0, lookupsRefused: 0 };
  // Anyone can send made-up project ids, and each new one costs a database query: a client gets a
  // few that turn out unknown a minute. A look-up takes its point first (so parallel requests
  // cannot all pass) and gives it back when the project exists.
  const unknownIds = new RateLimiterMemory({ points: UNKNOWN_PROJECTS_PER_MINUTE, duration: 60, keyPrefix: 'widget_unknown_project' });

  async function lookUp(request: FastifyRequest, projectId: string): Promise<PublicProject | undefined> {
    const known = deps.projects.cached(projectId);
    if (known !== undefined) return known ?? undefined;
    const client = clientKeyForIp(request.ip);
    try {
      await unknownIds.consume(client);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      counts.lookupsRefused++;
      const wait = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new AppError('rate_limited', 'Too many requests for chatbots this server does not know. Try again later.', { headers: { 'Retry-After': String(wait) } });
    }
    const project = await deps.projects.get(projectId);
    if (project) await unknownIds.reward(client, 1);
    return project;
  }

  async function check(request: FastifyRequest, reply: FastifyReply, projectId: string): Promise<{ project: PublicProject; origin: string }> {
    const project = await lookUp(request, projectId);
    const header = request.headers.origin;
    const decision = project ? project.origins.match(header) : ({ ok: false, reason: 'unknown_project' } as const);
    if (!project || !decision.ok) {
      counts.refused++;
      const refusal = { projectId, orgId: project?.orgId ?? null, origin: header ?? null, reason: decision.ok ? 'unknown_project' : decision.reason, ip: request.ip };
      request.log.warn({ widgetRefusal: refusal }, 'widget request refused: origin not allowed');
      deps.onRefusal(refusal);
      // An unknown project looks exactly like a refused origin: ids cannot be probed.
      throw new AppError('origin_not_allowed', 'This site is not allowed to use this chatbot.');
    }
    counts.allowed++;
    reply.header('Access-Control-Allow-Origin', decision.origin);
    reply.header('Vary', 'Origin');
    reply.header('Access-Control-Expose-Headers', 'Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset');
    return { project, origin: decision.origin };
  }

  return { check, counts };
}

export type OriginGuard = ReturnType<typeof createOriginGuard>;
