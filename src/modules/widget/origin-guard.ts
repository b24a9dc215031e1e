/**
 * The widget routes' first gate: the project exists and the request's Origin is on its allow
 * list. A refusal is 403 origin_not_allowed, logged, counted, and reported to onRefusal (the
 * events module connects webhooks there); allowed origins get CORS headers for that origin only.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/http/errors.ts';
import { logNetworkOf } from '../rate-limits/ip.ts';
import { createUnknownIdGuard } from '../rate-limits/unknown-ids.ts';
import type { ProjectDirectory, PublicProject } from '../projects/directory.ts';

export interface OriginRefusal {
  projectId: string;
  orgId: string | null;
  origin: string | null;
  reason: string;
  ip: string;
}

export function createOriginGuard(deps: { projects: ProjectDirectory; onRefusal: (refusal: OriginRefusal) => void }) {
  const counts = { allowed: 0, refused: 0 };
  const unknownIds = createUnknownIdGuard('widget_unknown_project');

  /** The project from the directory's cache, or looked up within the address's allowance for unknown ids. */
  async function lookUp(request: FastifyRequest, projectId: string): Promise<PublicProject | undefined> {
    const known = deps.projects.cached(projectId);
    if (known !== undefined) return known ?? undefined;
    return (await unknownIds.lookUp(request.ip, () => deps.projects.get(projectId))) ?? undefined;
  }

  async function check(request: FastifyRequest, reply: FastifyReply, projectId: string): Promise<{ project: PublicProject; origin: string }> {
    const project = await lookUp(request, projectId);
    const header = request.headers.origin;
    const decision = project ? project.origins.match(header) : ({ ok: false, reason: 'unknown_project' } as const);
    if (!project || !decision.ok) {
      counts.refused++;
      const refusal = { projectId, orgId: project?.orgId ?? null, origin: header ?? null, reason: decision.ok ? 'unknown_project' : decision.reason, ip: request.ip };
      request.log.warn({ widgetRefusal: { ...refusal, ip: logNetworkOf(refusal.ip) } }, 'widget request refused: origin not allowed');
      deps.onRefusal(refusal);
      // An unknown project looks exactly like a refused origin: ids cannot be probed.
      throw new AppError('origin_not_allowed', 'This site is not allowed to use this chatbot.');
    }
    counts.allowed++;
    // The header as the browser sent it (it matched): browsers compare it byte for byte, and the
    // canonical form differs for a host written with a trailing dot. The token binds the canonical one.
    reply.header('Access-Control-Allow-Origin', header ?? decision.origin);
    reply.header('Vary', 'Origin');
    reply.header('Access-Control-Expose-Headers', 'Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset');
    return { project, origin: decision.origin };
  }

  return { check, counts, unknownIds: unknownIds.counts };
}

export type OriginGuard = ReturnType<typeof createOriginGuard>;
