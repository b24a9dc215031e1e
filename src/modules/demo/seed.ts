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
import type { DB } from '../../platform/db/tables.ts';
import { addPath } from '../knowledge/ingest-files.ts';

export const DEMO_EMAIL = 'owner@demo.palisade.local';

export interface DemoProject {
  orgId: string;
  projectId: string;
  ownerUserId: string;
  /** Present only when the demo was created just now. */
  password?: string;
}

async function findDemoProject(db: Kysely<DB>): Promise<DemoProject | undefined> {
  const row = await db
    .selectFrom('projects as p')
    .innerJoin('memberships as m', 'm.org_id', 'p.org_id')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['p.id as projectId', 'p.org_id as orgId', 'u.id as ownerUserId'])
    .where('u.email', '=', DEMO_EMAIL)
    .orderBy('p.created_at')
    .executeTakeFirst();
  return row ?? undefined;
}

export async function ensureDemo(services: Services, db: Kysely<DB>, options: { rootDir: string }): Promise<DemoProject> {
  const existing = await findDemoProject(db);
  if (existing) return existing;
  const password = randomBytes(18).toString('base64url');
  const { user, org } = await services.accounts.signup(
    { email: DEMO_EMAIL, password, orgName: 'Demo Organisation', name: 'Demo Owner' },
    { ip: '127.0.0.1', userAgent: 'palisade-seed' },
  );
  const actor = { principal: { kind: 'user' as const, userId: user.id, sessionId: '', email: user.email }, ip: null };
  const project = await services.projects.create(org.id, { name: 'Palisade docs bot' }, actor);
  for (const path of ['README.md', 'docs'].map((p) => join(options.rootDir, p)).filter((p) => existsSync(p))) {
    await addPath({ knowledge: services.knowledge }, project.id, path);
  }
  return { orgId: org.id, projectId: project.id, ownerUserId: user.id, password };
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
