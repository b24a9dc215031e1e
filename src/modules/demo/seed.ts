/**
 * The demo data `npm start` creates once: an organisation, its owner (a random password,
 * printed once and never stored in clear), and a demo project whose knowledge base is
 * Palisade's own documentation. The demo site's origin is kept on the project's allowed domains.
 * A composition of other modules' services (plus one read-only look-up of its own data).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Services } from '../../app.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { DB } from '../../platform/db/tables.ts';
import { isLoopbackHost } from '../../platform/net/loopback.ts';
import { addPath } from '../knowledge/ingest-files.ts';

export const DEMO_EMAIL = 'owner@demo.palisade.local';

export interface DemoProject {
  orgId: string;
  projectId: string;
  ownerUserId: string;
  /** Present only when the demo was created just now. */
  password?: string;
}

/** The project the demo creates and embeds on its site; only a project of this name is touched. */
export const DEMO_PROJECT_NAME = 'Palisade docs bot';

/** The demo owner and their organisation, if the demo was seeded (a directory read). */
async function findDemoOwner(db: Kysely<DB>): Promise<Omit<DemoProject, 'projectId'> | undefined> {
  return db
    .selectFrom('users as u')
    .innerJoin('memberships as m', 'm.user_id', 'u.id')
    .select(['u.id as ownerUserId', 'm.org_id as orgId'])
    .where('u.email', '=', DEMO_EMAIL)
    .orderBy('m.created_at')
    .executeTakeFirst();
}

async function findDemoProjectId(db: Kysely<DB>, orgId: string): Promise<string | undefined> {
  const project = await withTenant(db, orgId, (tx) => tx.selectFrom('projects').select('id').where('name', '=', DEMO_PROJECT_NAME).orderBy('created_at').executeTakeFirst());
  return project?.id;
}

/** The demo project, its knowledge base Palisade's own documentation. */
async function createDemoProject(services: Services, owner: Omit<DemoProject, 'projectId'>, rootDir: string): Promise<string> {
  const actor = { principal: { kind: 'user' as const, userId: owner.ownerUserId, sessionId: '', email: DEMO_EMAIL }, ip: null };
  const project = await services.projects.create(owner.orgId, { name: DEMO_PROJECT_NAME }, actor);
  for (const path of ['README.md', 'docs'].map((p) => join(rootDir, p)).filter((p) => existsSync(p))) {
    await addPath({ knowledge: services.knowledge }, project.id, path);
  }
  return project.id;
}

/**
 * The demo (an owner whose password is printed, a plain-HTTP demo site on the next port) is for a
 * try-out on one's own machine: on by default only when serving on a loopback address without
 * TLS, behind no proxy (a reverse proxy on the same machine makes a loopback server one that
 * others reach) and with no PUBLIC_URL beyond loopback. `--demo` (true) asks for it anywhere,
 * `--no-demo` (false) never.
 */
export function demoWanted(
  requested: boolean | undefined,
  serving: { host: string; tls: unknown; trustProxy: unknown; publicUrl: string; publicUrlSet?: boolean },
): boolean {
  if (requested !== undefined) return requested;
  const publicHost = new URL(serving.publicUrl).hostname.replace(/^\[|\]$/g, '');
  return !serving.tls && isLoopbackHost(serving.host) && serving.trustProxy === false && (serving.publicUrlSet !== true || isLoopbackHost(publicHost));
}

/**
 * The demo, created on the first start. Later starts find it; a demo project the owner deleted
 * (or renamed) is made again, and no other project of theirs is ever embedded on the demo site.
 */
export async function ensureDemo(services: Services, db: Kysely<DB>, options: { rootDir: string }): Promise<DemoProject> {
  const owner = await findDemoOwner(db);
  if (owner) {
    const projectId = (await findDemoProjectId(db, owner.orgId)) ?? (await createDemoProject(services, owner, options.rootDir));
    return { ...owner, projectId };
  }
  const password = randomBytes(18).toString('base64url');
  const { user, org } = await services.accounts.signup(
    { email: DEMO_EMAIL, password, orgName: 'Demo Organisation', name: 'Demo Owner' },
    { ip: '127.0.0.1', userAgent: 'palisade-seed' },
    { operator: true },
  );
  const created = { orgId: org.id, ownerUserId: user.id };
  return { ...created, projectId: await createDemoProject(services, created, options.rootDir), password };
}

/** Keeps the demo site's origin (its port may change between runs) on the allowed domains. */
export async function allowDemoOrigin(services: Services, demo: DemoProject, siteUrl: string): Promise<void> {
  const host = new URL(siteUrl).host;
  const hosts = [host, host.replace(/^127\.0\.0\.1/, 'localhost')];
  const project = await services.projects.get(demo.orgId, demo.projectId);
  if (hosts.every((h) => project.settings.allowedDomains.includes(h))) return;
  const actor = { principal: { kind: 'user' as const, userId: demo.ownerUserId, sessionId: '', email: DEMO_EMAIL }, ip: null };
  await services.projects.update(demo.orgId, demo.projectId, { settings: { allowedDomains: [...new Set([...project.settings.allowedDomains, ...hosts])] } }, actor);
}
