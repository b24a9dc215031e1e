/**
 * The public side of projects: what the widget path needs to know about a project id (its
 * organisation, settings and compiled origin allow-list), cached briefly in process. Any
 * project change publishes an invalidation, so every instance drops it at once.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import { createTtlCache } from '../../platform/cache/ttl-cache.ts';
import type { Clock } from '../../platform/clock.ts';
import { compileAllowList, type OriginMatcher } from './origin-policy.ts';
import { parseStoredSettings, type ProjectSettings } from './settings.ts';

export interface PublicProject {
  id: string;
  orgId: string;
  name: string;
  settings: ProjectSettings;
  origins: OriginMatcher;
  /** When the identity secret was last set (ms), or null: verified visitor tokens name it. */
  identitySecretVersion: number | null;
  /** Visitor tokens name it; raising it ends every visitor session issued before. */
  visitorSessionsEpoch: number;
}

export const PROJECTS_TOPIC = 'projects';

export function createProjectDirectory(deps: { db: Kysely<DB>; invalidation: InvalidationBus; clock: Clock }) {
  const cache = createTtlCache<PublicProject>(5_000, 30_000);
  // Unknown ids apart, in a small cache of their own: anyone can send random project ids, and
  // those must not push real projects out of the cache (every widget request would then query).
  const unknown = createTtlCache<true>(1_000, 30_000);
  let generation = 0;
  deps.invalidation.on(PROJECTS_TOPIC, (ids) => {
    generation++;
    for (const id of ids) {
      cache.delete(id);
      unknown.delete(id);
    }
  });
  deps.invalidation.on('*', () => {
    generation++;
    cache.clear();
    unknown.clear();
  });

  /** What the cache knows without a query: the project, null for a known-unknown id, undefined for a miss. */
  function cached(projectId: string): PublicProject | null | undefined {
    const now = deps.clock.now().getTime();
    return cache.get(projectId, now) ?? (unknown.get(projectId, now) ? null : undefined);
  }

  /** Directory read by public id (outside tenant scope): the widget does not know the org yet. */
  async function get(projectId: string): Promise<PublicProject | undefined> {
    const known = cached(projectId);
    if (known !== undefined) return known ?? undefined;
    const now = deps.clock.now().getTime();
    const seen = generation;
    const row = await deps.db
      .selectFrom('projects')
      .leftJoin('project_identity_secrets as s', 's.project_id', 'projects.id')
      .select(['projects.id', 'projects.org_id', 'projects.name', 'projects.settings', 'projects.visitor_sessions_epoch', 's.created_at as identity_secret_at'])
      .where('projects.id', '=', projectId)
      .executeTakeFirst();
    const project = row
      ? (() => {
          const settings = parseStoredSettings(row.settings);
          const identitySecretVersion = row.identity_secret_at === null ? null : new Date(row.identity_secret_at).getTime();
          return {
            id: row.id,
            orgId: row.org_id,
            name: row.name,
            settings,
            origins: compileAllowList(settings.allowedDomains),
            identitySecretVersion,
            visitorSessionsEpoch: row.visitor_sessions_epoch,
          };
        })()
      : null;
    if (seen === generation) {
      if (project) cache.set(projectId, project, now);
      else unknown.set(projectId, true, now);
    }
    return project ?? undefined;
  }

  return { get, cached };
}

export type ProjectDirectory = ReturnType<typeof createProjectDirectory>;
