/**
 * Projects (chatbots): create, read, change settings, delete. Settings are validated whole on
 * every write; the public view never includes anything secret.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant, type Tx } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId } from '../../platform/ids.ts';
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import type { AuditService } from '../audit/service.ts';
import { PROJECTS_TOPIC } from './directory.ts';
import { parseStoredSettings, patchedSettings, storedForAudit, validSettings, type ProjectSettings, type ProjectSettingsPatch } from './settings.ts';
import type { ProjectRow, ProjectStore } from './store.ts';
import { owe, type ShredOwed } from '../../platform/crypto/pending-shreds.ts';

export interface ProjectView {
  id: string;
  orgId: string;
  name: string;
  settings: ProjectSettings;
  createdAt: string;
  updatedAt: string;
}

function toView(row: ProjectRow): ProjectView {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    settings: parseStoredSettings(row.settings),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

interface Actor {
  principal: Principal | { kind: 'system' };
  ip: string | null;
}

/** Every project of an organisation is listed, and carries its own settings and allowances. */
export const MAX_PROJECTS_PER_ORG = 200;

export function createProjectService(deps: {
  db: Kysely<DB>;
  store: ProjectStore;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  invalidation: Pick<InvalidationBus, 'publish'>;
  /** Shreds the keys owed in an organisation (platform/crypto/pending-shreds.ts). */
  shredOwed: ShredOwed;
}) {
  const { db, store, audit } = deps;

  /**
   * A write holding the caller's credential: a request authenticated just before its key was
   * revoked or rotated must not create a project, repoint the answer provider or reopen the widget
   * (credential-hold.ts).
   */
  function holding<T>(orgId: string, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return actor.principal.kind === 'system' ? withTenant(db, orgId, fn) : withTenantHolding(db, orgId, actor.principal, fn);
  }

  async function create(orgId: string, input: { name: string; settings?: unknown }, actor: Actor): Promise<ProjectView> {
    const settings = validSettings(input.settings ?? {});
    const id = newId('prj');
    return holding(orgId, actor, async (tx) => {
      if ((await store.lockOrgAndCount(tx, orgId)) >= MAX_PROJECTS_PER_ORG) {
        throw new AppError('conflict', `An organisation has at most ${MAX_PROJECTS_PER_ORG} projects; delete one first.`);
      }
      await store.insert(tx, { id, org_id: orgId, name: input.name, settings: JSON.stringify(settings) });
      await audit.record(tx, { orgId, actor: actor.principal, action: 'project.created', target: { type: 'project', id }, ip: actor.ip, metadata: { settings: auditable(settings) } });
      const row = await store.get(tx, id);
      if (!row) throw new AppError('internal', 'Project vanished during creation.');
      return toView(row);
    });
  }

  async function list(orgId: string): Promise<ProjectView[]> {
    return withTenant(db, orgId, async (tx) => (await store.list(tx, orgId)).map(toView));
  }

  async function get(orgId: string, projectId: string): Promise<ProjectView> {
    return withTenant(db, orgId, async (tx) => {
      const row = await store.get(tx, projectId);
      if (!row) throw new AppError('not_found', 'This project does not exist.');
      return toView(row);
    });
  }

  async function update(
    orgId: string,
    projectId: string,
    patch: { name?: string | undefined; settings?: ProjectSettingsPatch | undefined },
    actor: Actor,
  ): Promise<ProjectView> {
    const view = await holding(orgId, actor, async (tx) => {
      // Locked: two updates of different sections (a widget change, a PII policy change) must not
      // both start from the same settings, or the later write silently undoes the earlier one.
      const row = await store.getForUpdate(tx, projectId);
      if (!row) throw new AppError('not_found', 'This project does not exist.');
      const current = parseStoredSettings(row.settings);
      const settings = patch.settings ? patchedSettings(current, patch.settings) : current;
      await store.update(tx, projectId, {
        ...(patch.name !== undefined && { name: patch.name }),
        settings: JSON.stringify(settings),
        updated_at: deps.clock.now(),
      });
      await audit.record(tx, {
        orgId,
        actor: actor.principal,
        action: 'project.updated',
        target: { type: 'project', id: projectId },
        ip: actor.ip,
        metadata: {
          fields: [...(patch.name !== undefined ? ['name'] : []), ...Object.keys(definedOnly(patch.settings ?? {})).map((k) => `settings.${k}`)],
          changes: settingsChanges(storedForAudit(row.settings), settings),
        },
      });
      const updated = await store.get(tx, projectId);
      if (!updated) throw new AppError('not_found', 'This project does not exist.');
      return toView(updated);
    });
    await deps.invalidation.publish(PROJECTS_TOPIC, [projectId]);
    return view;
  }

  /**
   * Deletes the project with everything in it (its conversations, visitors and vault rows
   * cascade) and owes the shred of their keys — every visitor's, and each visitor-less
   * conversation's own — shredded after the commit, so copies in backups go unreadable too.
   */
  async function remove(orgId: string, projectId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      // Locked first: a first message's transaction, writing its new visitor and conversation,
      // holds a key-share lock on the project until it commits. Waiting for it here means the
      // reads below see those rows, and their keys are owed with the rest.
      if (!(await store.getForUpdate(tx, projectId))) throw new AppError('not_found', 'This project does not exist.');
      const [visitors, ownKeyed] = await Promise.all([
        tx.selectFrom('visitors').select('id').where('project_id', '=', projectId).execute(),
        tx.selectFrom('conversations').select('id').where('project_id', '=', projectId).where('visitor_id', 'is', null).execute(),
      ]);
      if (!(await store.remove(tx, projectId))) throw new AppError('not_found', 'This project does not exist.');
      await owe(tx, orgId, [...visitors, ...ownKeyed].map((r) => r.id));
      await audit.record(tx, { orgId, actor: actor.principal, action: 'project.deleted', target: { type: 'project', id: projectId }, ip: actor.ip });
    });
    await deps.invalidation.publish(PROJECTS_TOPIC, [projectId]);
    await deps.shredOwed(orgId);
  }

  /**
   * Ends every visitor session of the project at once, on every instance: each open widget
   * token is refused from its next request, and visitors start new sessions (a leaked token,
   * an abusive visitor). Audited.
   */
  async function endVisitorSessions(orgId: string, projectId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      if (!(await store.endVisitorSessions(tx, projectId))) throw new AppError('not_found', 'This project does not exist.');
      await audit.record(tx, { orgId, actor: actor.principal, action: 'project.visitor_sessions_ended', target: { type: 'project', id: projectId }, ip: actor.ip });
    });
    await deps.invalidation.publish(PROJECTS_TOPIC, [projectId]);
  }

  /**
   * endVisitorSessions() for every project of the organisation, inside the caller's transaction (a
   * lockdown, which audits it); returns the projects, to pass to projectsChanged() once committed.
   */
  const endAllVisitorSessionsIn = (tx: Tx, orgId: string): Promise<string[]> => store.endAllVisitorSessions(tx, orgId);

  /**
   * Lockdown: every project's identity secret goes (an intruder who rotated one knows it, and
   * could open verified sessions in the name of whichever of the host site's users they chose).
   * Tokens signed under it are refused at once; an owner or admin makes a new one for the host
   * site. How many went.
   */
  const forgetIdentitySecretsIn = (tx: Tx, orgId: string): Promise<number> => store.deleteIdentitySecrets(tx, orgId);

  /** Tells every instance's project directory that these projects changed. */
  async function projectsChanged(ids: string[]): Promise<void> {
    if (ids.length > 0) await deps.invalidation.publish(PROJECTS_TOPIC, ids);
  }

  return { create, list, get, update, remove, endVisitorSessions, endAllVisitorSessionsIn, forgetIdentitySecretsIn, projectsChanged };
}

/**
 * Settings as the audit log keeps them: whole, since they decide who may embed the bot, how much
 * PII is kept and where questions go, except the system prompt's text (its length instead).
 */
/** The system prompt by its length only (a stored row may not hold a valid one: then null). */
function auditable(settings: Record<string, unknown>): Record<string, unknown> {
  const answer = settings['answer'];
  if (typeof answer !== 'object' || answer === null) return { ...settings };
  const { systemPrompt, ...rest } = answer as Record<string, unknown>;
  return { ...settings, answer: { ...rest, systemPromptChars: typeof systemPrompt === 'string' ? systemPrompt.length : null } };
}

/** The sections an update changed, before and after: a weakened policy shows what it was. */
function settingsChanges(before: Record<string, unknown>, after: ProjectSettings): Record<string, { from: unknown; to: unknown }> {
  const [from, to] = [auditable(before), auditable(after)];
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (JSON.stringify(from[key]) !== JSON.stringify(to[key])) changes[key] = { from: from[key] ?? null, to: to[key] ?? null };
  }
  return changes;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type ProjectService = ReturnType<typeof createProjectService>;
