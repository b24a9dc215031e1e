/**
 * Organisations and their members. Owns the rules of membership: only owners make owners,
 * an organisation always keeps at least one owner, unknown e-mail addresses get an invitation.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, withTenant } from '../../platform/db/tenant.ts';
import { withTenantHolding } from '../../platform/http/credential-hold.ts';
import type { Clock } from '../../platform/clock.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId, newSecretToken, sha256Hex } from '../../platform/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { normalizeEmail } from '../accounts/directory.ts';
import { canAssignRole, roleAllows, roles, type Role } from './permissions.ts';
import { secondFactorOf } from './access.ts';
import type { OrgRow, OrgStore } from './store.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface OrgView {
  id: string;
  name: string;
  slug: string;
  region: string;
  require2fa: boolean;
  improvementConsent: boolean;
  createdAt: string;
}

export function toOrgView(o: OrgRow): OrgView {
  return {
    id: o.id,
    name: o.name,
    slug: o.slug,
    region: o.region,
    require2fa: o.require_2fa,
    improvementConsent: o.improvement_consent,
    createdAt: new Date(o.created_at).toISOString(),
  };
}

function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return base || 'org';
}

export interface Actor {
  principal: Principal;
  role: Role | null;
  ip: string | null;
}

/**
 * Anyone with an account may create organisations, and every organisation brings its own
 * allowances (rate limits, event streams, webhooks): this bounds what one person can multiply.
 */
export const MAX_OWNED_ORGS = 20;

export function createOrgService(deps: {
  db: Kysely<DB>;
  store: OrgStore;
  audit: Pick<AuditService, 'record'>;
  /** Which organisation's SSO made an account (accounts/store.ts), if one did. */
  federatedOrgOf: (x: Kysely<DB>, userId: string) => Promise<string | null>;
  /** Tells every instance whose cached memberships changed (user ids, or '*'). */
  directoryChanged: (userIds: string[]) => Promise<void>;
  clock: Clock;
  publicUrl: string;
}) {
  const { db, store, audit } = deps;

  /**
   * An account made by an organisation's single sign-on belongs to that organisation alone: its
   * identity provider — run by that organisation's admins — must never sign anyone into another.
   * So it joins no other organisation and creates none (`allowedOrg`: the one it may join).
   */
  async function refuseFederated(x: Kysely<DB>, userId: string, allowedOrg: string | null): Promise<void> {
    const home = await deps.federatedOrgOf(x, userId);
    if (home !== null && home !== allowedOrg) {
      throw new AppError('forbidden', "This account signs in through its organisation's single sign-on and belongs to that organisation alone.");
    }
  }

  /** Single sign-on's first sign-in of a person: a member with the SSO's default role (in the caller's tenant transaction). */
  /** How many pending invitations to their address it withdrew (for the caller's audit record). */
  async function addFederatedMember(tx: Kysely<DB>, orgId: string, userId: string, role: Role): Promise<number> {
    await store.insertMembership(tx, { org_id: orgId, user_id: userId, role });
    // As when an invitation is accepted: a link to their address would outlive a later removal.
    return withdrawInvitationsToMember(tx, orgId, userId);
  }

  /** The pending invitations addressed to a member: they would bring back a removed one, with its role. */
  async function withdrawInvitationsToMember(tx: Kysely<DB>, orgId: string, userId: string): Promise<number> {
    const user = await tx.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
    return user ? store.withdrawInvitationsTo(tx, orgId, user.email, deps.clock.now()) : 0;
  }

  /**
   * Provisioning (modules/scim) ends a federated member's membership, in its tenant transaction:
   * never the last owner's. The pending invitations they sent go (as when a member is removed), and
   * those addressed to them, which would bring them back. Whether they were a member.
   */
  async function removeFederatedMember(tx: Kysely<DB>, orgId: string, user: { id: string; email: string }): Promise<boolean> {
    const now = deps.clock.now();
    await store.withdrawInvitationsTo(tx, orgId, user.email, now);
    const current = await store.getMembership(tx, orgId, user.id);
    if (!current) return false;
    if (current.role === 'owner' && (await store.lockOwners(tx, orgId)) <= 1) {
      throw new AppError('conflict', 'An organisation needs at least one owner: this member is its last.');
    }
    await store.deleteMembership(tx, orgId, user.id);
    await store.withdrawPendingInvitations(tx, orgId, now, { userId: user.id });
    return true;
  }

  /** Called inside the caller's transaction (signup creates user and organisation at once). */
  async function createOrg(tx: Kysely<DB>, input: { name: string; ownerUserId: string; region?: string }): Promise<OrgView> {
    let slug = slugify(input.name);
    if (await store.slugTaken(tx, slug)) slug = `${slug}-${newId('org').slice(4, 10).toLowerCase()}`;
    const id = newId('org');
    await store.insertOrg(tx, { id, name: input.name, slug, region: input.region ?? 'eu' });
    await store.insertMembership(tx, { org_id: id, user_id: input.ownerUserId, role: 'owner' });
    const org = await store.getOrg(tx, id);
    if (!org) throw new AppError('internal', 'Organisation vanished during creation.');
    return toOrgView(org);
  }

  async function createOrgFor(principal: Principal & { kind: 'user' }, input: { name: string; region?: string | undefined }, ip: string | null) {
    return db.transaction().execute(async (tx) => {
      await refuseFederated(tx, principal.userId, null);
      if ((await store.lockOwnedCount(tx, principal.userId)) >= MAX_OWNED_ORGS) {
        throw new AppError('conflict', `A person may own at most ${MAX_OWNED_ORGS} organisations; make someone else an owner of one and leave it first.`);
      }
      const org = await createOrg(tx, { name: input.name, ownerUserId: principal.userId, ...(input.region ? { region: input.region } : {}) });
      await enterTenant(tx, org.id);
      await audit.record(tx, { orgId: org.id, actor: principal, action: 'org.created', target: { type: 'org', id: org.id }, ip });
      return org;
    }).then(async (org) => (await deps.directoryChanged([principal.userId]), org));
  }

  async function listForUser(userId: string) {
    const rows = await store.orgsOfUser(db, userId);
    return rows.map((r) => ({ ...toOrgView(r as OrgRow), role: r.role }));
  }

  async function get(orgId: string): Promise<OrgView> {
    return withTenant(db, orgId, async (tx) => {
      const org = await store.getOrg(tx, orgId);
      if (!org) throw new AppError('not_found', 'This organisation does not exist.');
      return toOrgView(org);
    });
  }

  async function update(
    orgId: string,
    patch: { name?: string | undefined; region?: string | undefined; require2fa?: boolean | undefined; improvementConsent?: boolean | undefined },
    actor: Actor,
  ): Promise<OrgView> {
    return withTenant(db, orgId, async (tx) => {
      // Requiring 2FA without having it would lock the very person who asked out at once (a
      // multi-factor sign-in through the organisation's SSO counts: orgs/access.ts).
      const { principal } = actor;
      if (patch.require2fa === true && principal.kind === 'user') {
        const user = await tx.selectFrom('users').select('totp_enabled').where('id', '=', principal.userId).executeTakeFirst();
        if (!secondFactorOf(principal, orgId, user?.totp_enabled === true)) {
          throw new AppError('invalid_request', 'Turn on two-factor sign-in for your own account before requiring it of everyone.', {
            details: { errors: [{ field: 'body.require2fa', message: 'your account has no two-factor sign-in' }] },
          });
        }
      }
      const before = await store.getOrgForUpdate(tx, orgId);
      if (!before) throw new AppError('not_found', 'This organisation does not exist.');
      const current = { name: before.name, region: before.region, require2fa: before.require_2fa, improvementConsent: before.improvement_consent };
      // Each setting that changes, before and after: turning "require 2FA" off shows as a change from on.
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const columns: OrgColumns = {};
      for (const field of Object.keys(ORG_COLUMNS) as (keyof typeof ORG_COLUMNS)[]) {
        const to = patch[field];
        if (to === undefined || to === current[field]) continue;
        changes[field] = { from: current[field], to };
        Object.assign(columns, { [ORG_COLUMNS[field]]: to });
      }
      if (Object.keys(changes).length > 0) {
        await store.updateOrg(tx, orgId, columns);
        await audit.record(tx, {
          orgId, actor: actor.principal, action: 'org.updated', target: { type: 'org', id: orgId }, ip: actor.ip, metadata: { fields: Object.keys(changes), changes },
        });
      }
      const org = await store.getOrg(tx, orgId);
      if (!org) throw new AppError('not_found', 'This organisation does not exist.');
      return toOrgView(org);
    }).then(async (org) => (await deps.directoryChanged(['*']), org));
  }

  async function listMembers(orgId: string) {
    return withTenant(db, orgId, async (tx) =>
      (await store.listMembers(tx, orgId)).map((m) => ({ userId: m.userId, email: m.email, name: m.name, role: m.role, joinedAt: new Date(m.created_at).toISOString() })),
    );
  }

  async function addMember(orgId: string, input: { email: string; role: Role }, actor: Actor) {
    if (!actor.role || !canAssignRole(actor.role, input.role)) {
      if (actor.principal.kind === 'user') throw new AppError('forbidden', 'Only an owner can add another owner.');
    }
    if (actor.principal.kind === 'api_key' && input.role === 'owner') throw new AppError('forbidden', 'An API key cannot add an owner.');
    // Always an invitation the person accepts, whether or not the address has an account: adding an
    // existing account at once let any organisation's owner pull a stranger in (then read their
    // sign-ins in its audit log and sign them out everywhere with a lockdown), and the two replies
    // told whether an address had an account. (Nor may the time taken: the same queries either way.)
    // The caller's credential is held until it commits: a lockdown either withdraws the invitation too, or refuses it.
    return withTenantHolding(db, orgId, actor.principal, async (tx) => {
      // The sender's role as it stands, held until the invitation is written: a removal or demotion
      // of the sender either saw it and withdrew it, or committed first and is seen here.
      const sender = await actorNow(tx, orgId, actor);
      if (sender.principal.kind === 'user' && !(sender.role && mayInvite(sender.role, input.role))) throw new AppError('forbidden', 'You may not invite to this role.');
      if (await store.isMemberByEmail(tx, orgId, normalizeEmail(input.email))) throw new AppError('conflict', 'This person is already a member.');
      const token = newSecretToken('inv');
      const id = newId('inv');
      const expiresAt = new Date(deps.clock.now().getTime() + INVITATION_TTL_MS);
      const createdBy = actor.principal.kind === 'user' ? actor.principal.userId : actor.principal.keyId;
      await store.insertInvitation(tx, { id, org_id: orgId, email: input.email, role: input.role, token_hash: sha256Hex(token), created_by: createdBy, expires_at: expiresAt });
      await audit.record(tx, { orgId, actor: actor.principal, action: 'invitation.created', target: { type: 'invitation', id }, ip: actor.ip, metadata: { email: input.email, role: input.role } });
      return { id, email: input.email, role: input.role, expiresAt: expiresAt.toISOString(), link: `${deps.publicUrl}/invite#${token}` };
    });
  }

  /** A signed-in member leaves the organisation (the last owner cannot). */
  async function leave(orgId: string, principal: Principal & { kind: 'user' }, ip: string | null): Promise<void> {
    const userId = principal.userId;
    await withTenant(db, orgId, async (tx) => {
      const current = await store.getMembership(tx, orgId, userId);
      if (!current) throw new AppError('not_found', 'This organisation does not exist.');
      if (current.role === 'owner' && (await store.lockOwners(tx, orgId)) <= 1) {
        throw new AppError('conflict', 'An organisation needs at least one owner: make someone else owner first.');
      }
      await store.deleteMembership(tx, orgId, userId);
      const expiredInvitations = await store.withdrawPendingInvitations(tx, orgId, deps.clock.now(), { userId });
      await audit.record(tx, { orgId, actor: principal, action: 'member.left', target: { type: 'user', id: userId }, ip, metadata: { expiredInvitations } });
    });
    await deps.directoryChanged([userId]);
  }

  /**
   * The actor as it stands inside the write's transaction: its role read again and held (locked
   * for share) until the write commits. The role the request was authorised with may be gone — a
   * demotion or removal committing meanwhile — and an owner being demoted must not make someone
   * else owner on the way out. Callers that lock the owners do so first (one lock order).
   */
  async function actorNow(tx: Kysely<DB>, orgId: string, actor: Actor): Promise<Actor> {
    if (actor.principal.kind !== 'user') return actor;
    const membership = await store.getMembershipForShare(tx, orgId, actor.principal.userId);
    const role = membership?.role as Role | undefined;
    if (!role || !roleAllows(role, 'members:manage')) throw new AppError('forbidden', 'Your role no longer allows managing members.');
    return { ...actor, role };
  }

  async function changeRole(orgId: string, userId: string, role: Role, actor: Actor) {
    const changed = await withTenant(db, orgId, async (tx) => {
      const owners = await store.lockOwners(tx, orgId);
      const acting = await actorNow(tx, orgId, actor);
      const current = await store.getMembership(tx, orgId, userId);
      if (!current) throw new AppError('not_found', 'This member does not exist.');
      assertMayTouch(acting, current.role as Role, role);
      if (current.role === 'owner' && role !== 'owner' && owners <= 1) {
        throw new AppError('conflict', 'An organisation needs at least one owner.');
      }
      await store.setRole(tx, orgId, userId, role);
      // Invitations they sent that their new role could not send any more go with the old role.
      const expiredInvitations = await store.withdrawPendingInvitations(tx, orgId, deps.clock.now(), { userId, ofRoles: roles.filter((r) => !mayInvite(role, r)) });
      await audit.record(tx, {
        orgId, actor: actor.principal, action: 'member.role_changed', target: { type: 'user', id: userId }, ip: actor.ip, metadata: { from: current.role, to: role, expiredInvitations },
      });
      return { userId, role };
    });
    await deps.directoryChanged([userId]);
    return changed;
  }

  async function removeMember(orgId: string, userId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      const owners = await store.lockOwners(tx, orgId);
      const acting = await actorNow(tx, orgId, actor);
      const current = await store.getMembership(tx, orgId, userId);
      if (!current) throw new AppError('not_found', 'This member does not exist.');
      assertMayTouch(acting, current.role as Role, current.role as Role);
      if (current.role === 'owner' && owners <= 1) {
        throw new AppError('conflict', 'An organisation needs at least one owner.');
      }
      await store.deleteMembership(tx, orgId, userId);
      // A member about to be removed could otherwise invite an address of theirs and come back,
      // or come back by a link to their own address sent before they joined (by SSO, say).
      const expiredInvitations =
        (await store.withdrawPendingInvitations(tx, orgId, deps.clock.now(), { userId })) + (await withdrawInvitationsToMember(tx, orgId, userId));
      await audit.record(tx, { orgId, actor: actor.principal, action: 'member.removed', target: { type: 'user', id: userId }, ip: actor.ip, metadata: { expiredInvitations } });
    });
    await deps.directoryChanged([userId]);
  }

  async function acceptInvitation(token: string, user: Principal & { kind: 'user' }, ip: string | null) {
    const invitation = await store.findInvitation(db, sha256Hex(token));
    const now = deps.clock.now();
    if (!invitation || invitation.accepted_at || new Date(invitation.expires_at) <= now) {
      throw new AppError('not_found', 'This invitation does not exist or has expired.');
    }
    if (invitation.email !== user.email) throw new AppError('forbidden', 'This invitation was sent to another e-mail address.');
    await refuseFederated(db, user.userId, invitation.org_id);
    const membership = await withTenant(db, invitation.org_id, async (tx) => {
      const claimed = await store.markInvitationAccepted(tx, invitation.id, now);
      if (Number(claimed.numUpdatedRows) !== 1) throw new AppError('not_found', 'This invitation does not exist or has expired.');
      // Whoever sent it must still be a member who may invite to that role (removing or demoting
      // them expires their invitations; this also covers one sent while that was happening).
      const inviter = await store.getMembership(tx, invitation.org_id, invitation.created_by);
      if (!inviter || !mayInvite(inviter.role as Role, invitation.role as Role)) throw new AppError('not_found', 'This invitation does not exist or has expired.');
      if (await store.getMembership(tx, invitation.org_id, user.userId)) throw new AppError('conflict', 'You are already a member.');
      await store.insertMembership(tx, { org_id: invitation.org_id, user_id: user.userId, role: invitation.role as Role });
      // Other links to this address would outlive a later removal or demotion and bring the role back.
      const otherInvitationsWithdrawn = await store.withdrawInvitationsTo(tx, invitation.org_id, invitation.email, now);
      await audit.record(tx, { orgId: invitation.org_id, actor: user, action: 'invitation.accepted', target: { type: 'invitation', id: invitation.id }, ip, metadata: { otherInvitationsWithdrawn } });
      return { orgId: invitation.org_id, role: invitation.role };
    });
    await deps.directoryChanged([user.userId]);
    return membership;
  }

  /** Pending invitations: who was invited, to which role, by whom, until when (never the link). */
  async function listInvitations(orgId: string) {
    return withTenant(db, orgId, async (tx) =>
      (await store.listPendingInvitations(tx, orgId, deps.clock.now())).map((i) => ({
        id: i.id,
        email: i.email,
        role: i.role,
        invitedBy: i.created_by,
        createdAt: new Date(i.created_at).toISOString(),
        expiresAt: new Date(i.expires_at).toISOString(),
      })),
    );
  }

  /** A pending invitation stops working at once; only an owner may withdraw one to the owner role. */
  async function revokeInvitation(orgId: string, invitationId: string, actor: Actor): Promise<void> {
    await withTenant(db, orgId, async (tx) => {
      const now = deps.clock.now();
      // The actor's row before the invitation's: a demotion locks them in that order too.
      const current = await actorNow(tx, orgId, actor);
      const invitation = await store.getPendingInvitationForUpdate(tx, orgId, invitationId, now);
      if (!invitation) throw new AppError('not_found', 'This invitation does not exist or has expired.');
      assertMayTouch(current, invitation.role as Role, invitation.role as Role);
      await store.expireInvitation(tx, invitationId);
      await audit.record(tx, {
        orgId, actor: actor.principal, action: 'invitation.revoked', target: { type: 'invitation', id: invitationId }, ip: actor.ip, metadata: { email: invitation.email, role: invitation.role },
      });
    });
  }

  return {
    createOrg, createOrgFor, addFederatedMember, removeFederatedMember, isMember: (tx: Kysely<DB>, orgId: string, userId: string) => store.getMembershipForShare(tx, orgId, userId).then((m) => m !== undefined), listForUser, get, update, listMembers, addMember, changeRole, removeMember, leave, acceptInvitation, listInvitations, revokeInvitation,
  };
}

/** Whether a member of this role may send an invitation to that role. */
function mayInvite(inviter: Role, invited: Role): boolean {
  return roleAllows(inviter, 'members:manage') && canAssignRole(inviter, invited);
}

function assertMayTouch(actor: Actor, currentRole: Role, newRole: Role): void {
  if (actor.principal.kind === 'api_key') {
    if (currentRole === 'owner' || newRole === 'owner') throw new AppError('forbidden', 'An API key cannot change owners.');
    return;
  }
  if (!actor.role || !canAssignRole(actor.role, currentRole) || !canAssignRole(actor.role, newRole)) {
    throw new AppError('forbidden', 'Only an owner can change or remove an owner.');
  }
}

/** The organisation settings an update may change: API field → column. */
const ORG_COLUMNS = { name: 'name', region: 'region', require2fa: 'require_2fa', improvementConsent: 'improvement_consent' } as const;
type OrgColumns = Parameters<OrgStore['updateOrg']>[2];

export type OrgService = ReturnType<typeof createOrgService>;
