/**
 * Visitors of a project's widget. Anonymous visitors get a fresh id per session (stored with
 * their first message); verified
 * visitors (identity signed by the host site) get one stable id per host user, found by a keyed
 * hash of their user id — never the raw id — so erasure and export can find them later.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Cipher } from '../../platform/crypto/envelope.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId } from '../../platform/ids.ts';
import type { AuditService } from '../audit/service.ts';
import type { PublicProject } from '../projects/directory.ts';
import { verifyIdentity, type IdentityClaim } from './identity.ts';

export function createVisitorService(deps: {
  db: Kysely<DB>;
  cipher: Pick<Cipher, 'encrypt' | 'decrypt'>;
  hashKey: (orgId: string) => Promise<Buffer>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  /** Tells every instance's project directory that a project's identity secret changed. */
  projectChanged: (projectId: string) => Promise<void>;
}) {
  const { db, cipher } = deps;
  const aad = (orgId: string, projectId: string) => ({ orgId, table: 'project_identity_secrets', column: 'secret', rowId: projectId });

  async function identitySecret(project: PublicProject): Promise<string | undefined> {
    const row = await withTenant(db, project.orgId, (tx) =>
      tx.selectFrom('project_identity_secrets').select('secret').where('project_id', '=', project.id).executeTakeFirst(),
    );
    return row ? cipher.decrypt(row.secret, aad(project.orgId, project.id)) : undefined;
  }

  async function resolve(project: PublicProject, claim: IdentityClaim | undefined): Promise<{ id: string; verified: boolean }> {
    if (!claim) {
      if (project.settings.widget.requireIdentity) throw new AppError('invalid_identity', 'This chatbot needs a verified visitor identity.');
      // No write: an anonymous visitor is recorded with their first message (chat), so opening
      // sessions, which anyone can do from an allowed origin, costs the database nothing.
      return { id: newId('vis'), verified: false };
    }
    const secret = await identitySecret(project);
    if (!secret) throw new AppError('invalid_identity', 'This chatbot has no identity secret configured.');
    const userId = await verifyIdentity(secret, claim, deps.clock.now());
    const ref = createHmac('sha256', await deps.hashKey(project.orgId)).update(`visitor:${project.id}:${userId}`).digest('hex');
    return withTenant(db, project.orgId, async (tx) => {
      await tx
        .insertInto('visitors')
        .values({ id: newId('vis'), org_id: project.orgId, project_id: project.id, external_ref: ref, verified: true })
        .onConflict((oc) => oc.columns(['project_id', 'external_ref']).doNothing())
        .execute();
      const row = await tx.selectFrom('visitors').select('id').where('project_id', '=', project.id).where('external_ref', '=', ref).executeTakeFirstOrThrow();
      return { id: row.id, verified: true };
    });
  }

  /** A new identity secret, returned once; the old one stops working at once. */
  async function rotateIdentitySecret(orgId: string, projectId: string, actor: { principal: Principal; ip: string | null }): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    const ciphertext = await cipher.encrypt(secret, aad(orgId, projectId));
    // Held: a request authenticated just before its key was revoked or rotated gets no secret.
    await withTenantHolding(db, orgId, actor.principal, async (tx) => {
      // Its project locked until this commits: deleted meanwhile is a 404, not a foreign-key 500.
      const project = await tx.selectFrom('projects').select('id').where('id', '=', projectId).forKeyShare().executeTakeFirst();
      if (!project) throw new AppError('not_found', 'This project does not exist.');
      await tx
        .insertInto('project_identity_secrets')
        .values({ project_id: projectId, org_id: orgId, secret: ciphertext })
        .onConflict((oc) => oc.column('project_id').doUpdateSet({ secret: ciphertext, created_at: deps.clock.now() }))
        .execute();
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'project.identity_secret_rotated', target: { type: 'project', id: projectId }, ip: actor.ip });
    });
    await deps.projectChanged(projectId);
    return secret;
  }

  return { resolve, rotateIdentitySecret };
}

export type VisitorService = ReturnType<typeof createVisitorService>;
