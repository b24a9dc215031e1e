/**
 * Authorisation: may this principal use this permission in this organisation? A user needs a
 * membership whose role grants it (and two-factor sign-in turned on, if the organisation requires
 * it — or a multi-factor sign-in through its SSO; and, where the organisation requires SSO, a session
 * its SSO started, unless they are an owner); an API key must belong to the organisation and carry the scope. Another organisation's objects answer 404, so callers cannot probe what exists.
 */
import type { Kysely } from 'kysely';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { DB } from '../../platform/db/tables.ts';
import { isRole, roleAllows, type Permission, type Role } from './permissions.ts';

export interface Grant {
  orgId: string;
  role: Role | null;
}

/**
 * Whether this session proved a second factor for the organisation. A password sign-in of an
 * account with TOTP on always gave its code (turning TOTP on ends the other sessions); a single
 * sign-on never asks for the account's TOTP, so only its provider's report (amr) counts — and only
 * for the organisation whose provider it is.
 */
export function secondFactorOf(principal: Principal & { kind: 'user' }, orgId: string, totpEnabled: boolean): boolean {
  return principal.sso ? principal.sso.orgId === orgId && principal.sso.mfa : totpEnabled;
}

export function createAccess(deps: { db: Kysely<DB> }) {
  async function roleOf(userId: string, orgId: string): Promise<Role | null> {
    const row = await deps.db
      .selectFrom('memberships')
      .select('role')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && isRole(row.role) ? row.role : null;
  }

  /**
   * `withinProjects`: the route limits what it does to the key's projects (it checked the project,
   * or filters its results). Otherwise a key restricted to projects is refused: the route covers
   * the whole organisation (its audit log, new projects, members…).
   */
  /** The member's role, with what the organisation's 2FA and SSO requirements need, in one query. */
  function membershipOf(userId: string, orgId: string) {
    return deps.db
      .selectFrom('memberships')
      .innerJoin('orgs', 'orgs.id', 'memberships.org_id')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .leftJoin('org_sso', 'org_sso.org_id', 'memberships.org_id')
      .select(['memberships.role as role', 'orgs.slug as slug', 'orgs.require_2fa as require2fa', 'org_sso.required as requireSso', 'users.totp_enabled as totpEnabled'])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
  }

  /** `permission`: one, or several that must all be held. */
  async function authorize(
    principal: Principal,
    orgId: string,
    permission: Permission | readonly Permission[],
    options: { what?: string; withinProjects?: boolean } = {},
  ): Promise<Grant> {
    const what = options.what ?? 'organisation';
    const needed: readonly Permission[] = typeof permission === 'string' ? [permission] : permission;
    if (principal.kind === 'api_key') {
      if (principal.orgId !== orgId) throw new AppError('not_found', `This ${what} does not exist.`);
      const missing = needed.find((p) => !principal.scopes.includes(p));
      if (missing) throw new AppError('insufficient_scope', `This API key lacks the ${missing} scope.`);
      if (principal.projectIds && !options.withinProjects) {
        throw new AppError('insufficient_scope', 'This API key is restricted to projects; this route covers the whole organisation.');
      }
      return { orgId, role: null };
    }
    const membership = await membershipOf(principal.userId, orgId);
    const role = membership && isRole(membership.role) ? membership.role : null;
    if (!membership || !role) throw new AppError('not_found', `This ${what} does not exist.`);
    const signedInBySso = principal.sso?.orgId === orgId;
    // Owners are excepted, so a provider that is down or misconfigured never locks an organisation out.
    if (membership.requireSso && !signedInBySso && role !== 'owner') {
      throw new AppError('sso_required', `This organisation requires signing in with its single sign-on: /v1/auth/sso/${membership.slug}/start`);
    }
    if (membership.require2fa && !secondFactorOf(principal, orgId, membership.totpEnabled)) {
      throw new AppError(
        'forbidden',
        signedInBySso
          ? "This organisation requires two-factor sign-in: its identity provider did not report a second factor (the ID token's amr) for this sign-in. Sign in again with one."
          : principal.sso
            ? "This organisation requires two-factor sign-in: another organisation's single sign-on does not prove one here. Sign in with your password and code."
            : 'This organisation requires two-factor sign-in: turn it on for your account (POST /v1/auth/totp/setup) to continue.',
      );
    }
    const refused = needed.find((p) => !roleAllows(role, p));
    if (refused) throw new AppError('forbidden', `Your role (${role}) does not allow ${refused}.`);
    return { orgId, role };
  }

  /** For routes addressed by a project id: find its organisation, then authorise there. */
  async function authorizeProject(principal: Principal, projectId: string, permission: Permission | readonly Permission[]): Promise<Grant> {
    const project = await deps.db.selectFrom('projects').select('org_id').where('id', '=', projectId).executeTakeFirst();
    if (!project) throw new AppError('not_found', 'This project does not exist.');
    if (principal.kind === 'api_key' && principal.projectIds && !principal.projectIds.includes(projectId)) {
      throw new AppError('not_found', 'This project does not exist.');
    }
    return authorize(principal, project.org_id, permission, { what: 'project', withinProjects: true });
  }

  return { authorize, authorizeProject, roleOf };
}

export type Access = ReturnType<typeof createAccess>;
