/**
 * SCIM 2.0 provisioning of an organisation's people by its identity provider (Okta, Microsoft
 * Entra ID…), so that someone the company lets go loses Palisade at once, not when their
 * session expires. The users SCIM sees are the accounts the organisation federates — made by its
 * SSO or by SCIM, belonging to it alone (modules/sso) — and a user is `active` while a member.
 *
 * - create: an account for a verified address of one of the SSO configuration's proven domains,
 *   a member with the configuration's default role (unless created inactive);
 * - deactivate (`active: false`): the membership ends (never the last owner's), with the pending
 *   invitations they sent and those addressed to them, and every session of the account ends on
 *   every instance;
 *   reactivate: a member again, with the default role;
 * - delete: the account itself goes (sessions, identities and membership with it).
 *
 * Accounts with a password (signed up, or given one by the operator) are never SCIM's to see or
 * change: break-glass owners stay. Every change is audited, with the SCIM key as the actor.
 */
import { holdCredential } from '../../platform/http/credential-hold.ts';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, leaveTenant, type Tx } from '../../platform/db/tenant.ts';
import type { Principal } from '../../platform/http/principal.ts';
import type { AuditService } from '../audit/service.ts';
import type { AccountService } from '../accounts/service.ts';
import type { OrgService } from '../orgs/service.ts';
import type { ProvisioningPolicy, SsoService } from '../sso/service.ts';
import { parseFilter, scimRefusal, type ScimAccount, type UserChanges } from './resource.ts';

interface Actor {
  principal: Principal;
  ip: string | null;
}

export interface NewScimUser {
  userName: string;
  name: string | null;
  active: boolean;
  /** The primary address the provider sent, if any: it must be the userName (SSO signs in by the email claim). */
  primaryEmail?: string | undefined;
}

const notFound = () => scimRefusal('not_found', undefined, 'This user does not exist.');

export function createScimService(deps: {
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
  accounts: Pick<AccountService, 'federation' | 'revokeAllSessionsOf'>;
  orgs: Pick<OrgService, 'addFederatedMember' | 'removeFederatedMember'>;
  sso: Pick<SsoService, 'provisioningPolicyIn'>;
  directoryChanged: (userIds: string[]) => Promise<void>;
}) {
  const { db, accounts } = deps;

  const toAccount = (row: { id: string; email: string; name: string | null; created_at: Date | string; role: string | null }): ScimAccount => ({
    id: row.id,
    email: row.email,
    name: row.name,
    active: row.role !== null,
    createdAt: new Date(row.created_at),
  });

  async function find(x: Kysely<DB>, orgId: string, userId: string): Promise<ScimAccount | undefined> {
    const [row] = await accounts.federation.list(x, orgId, { userId, offset: 0, limit: 1 });
    return row ? toAccount(row) : undefined;
  }

  /** The SSO configuration's provisioning policy, in the tenant transaction (sso/service.ts locks it for share). */
  async function policyIn(tx: Tx, orgId: string): Promise<ProvisioningPolicy> {
    const policy = await deps.sso.provisioningPolicyIn(tx, orgId);
    if (!policy) throw scimRefusal('invalid_request', 'invalidValue', "SCIM provisions the accounts of the organisation's single sign-on: configure it first.");
    return policy;
  }

  async function list(orgId: string, query: { filter?: string | undefined; startIndex: number; count: number }) {
    const filter = query.filter === undefined ? undefined : parseFilter(query.filter);
    // Palisade keeps no externalId, so no user has the one asked for.
    if (filter?.attribute === 'externalId') return { total: 0, users: [] as ScimAccount[] };
    const email = filter?.value;
    const [total, rows] = await Promise.all([
      accounts.federation.count(db, orgId, email),
      query.count === 0 ? [] : accounts.federation.list(db, orgId, { ...(email !== undefined ? { email } : {}), offset: query.startIndex - 1, limit: query.count }),
    ]);
    return { total, users: rows.map(toAccount) };
  }

  async function get(orgId: string, userId: string): Promise<ScimAccount> {
    return (await find(db, orgId, userId)) ?? Promise.reject(notFound());
  }

  async function create(orgId: string, input: NewScimUser, actor: Actor): Promise<ScimAccount> {
    const email = input.userName.trim().toLowerCase();
    if (!z.email().max(254).safeParse(email).success) throw scimRefusal('invalid_request', 'invalidValue', 'userName must be the person\'s e-mail address.');
    // SSO finds the account by the ID token's email claim: a userName that is not that address
    // (Entra ID's default is the UPN) would leave the person a second account SCIM never ends.
    if (input.primaryEmail !== undefined && input.primaryEmail.trim().toLowerCase() !== email) {
      throw scimRefusal('invalid_request', 'invalidValue', 'userName must be the primary e-mail address (the one the provider sends as the email claim).');
    }
    const userId = await db.transaction().execute(async (tx) => {
      // The key first, as every write does: a revocation or lockdown committing meanwhile refuses this one.
      await holdCredential(tx, actor.principal);
      const existing = await accounts.federation.findUser(tx, email);
      const id = existing ? undefined : await accounts.federation.createUser(tx, { email, name: input.name, orgId });
      await enterTenant(tx, orgId);
      // Under a share lock on the configuration, so neither SSO nor the domain's proof goes meanwhile
      // (a refusal here undoes the account made above).
      const policy = await policyIn(tx, orgId);
      if (!policy.provenDomains.includes(email.slice(email.lastIndexOf('@') + 1))) {
        throw scimRefusal('invalid_request', 'invalidValue', "userName must be an address of one of the SSO configuration's proven domains.");
      }
      // An address with an account already is not made again — said only for a proven domain's
      // address, so a SCIM key cannot ask whether anyone else's address has an account here.
      if (!id) throw scimRefusal('conflict', 'uniqueness', 'A user with this userName exists.');
      const invitationsWithdrawn = input.active ? await deps.orgs.addFederatedMember(tx, orgId, id, policy.defaultRole) : 0;
      await deps.audit.record(tx, {
        orgId, actor: actor.principal, action: 'scim.user_created', target: { type: 'user', id }, ip: actor.ip, metadata: { active: input.active, role: input.active ? policy.defaultRole : null, invitationsWithdrawn },
      });
      return id;
    });
    await deps.directoryChanged([userId]);
    return get(orgId, userId);
  }

  /** The account, its row locked until the transaction ends: one change of a person at a time. */
  async function lockedAccount(tx: Kysely<DB>, orgId: string, userId: string): Promise<ScimAccount> {
    await accounts.federation.lock(tx, orgId, userId);
    const account = await find(tx, orgId, userId);
    if (!account) throw notFound();
    return account;
  }

  /**
   * PUT and PATCH: a new name, (de)activation; the userName cannot change. The account's own row
   * is written as the directory's owner, then the transaction enters the tenant for the membership
   * and the audit record.
   */
  async function update(orgId: string, userId: string, changes: UserChanges, actor: Actor): Promise<ScimAccount> {
    let policy: ProvisioningPolicy | null = null;
    let invitationsWithdrawn = 0;
    const changed = await db.transaction().execute(async (tx) => {
      await holdCredential(tx, actor.principal);
      const before = await lockedAccount(tx, orgId, userId);
      if (changes.userName !== undefined && changes.userName.trim().toLowerCase() !== before.email) {
        throw scimRefusal('invalid_request', 'mutability', 'userName cannot change: the address is the account.');
      }
      const fields: Record<string, { from: unknown; to: unknown }> = {};
      if (changes.name !== undefined && changes.name !== before.name) {
        await accounts.federation.rename(tx, userId, changes.name);
        fields.name = { from: before.name === null ? null : 'set', to: changes.name === null ? null : 'set' }; // no names in the log
      }
      await enterTenant(tx, orgId);
      if (changes.active === false && (await deps.orgs.removeFederatedMember(tx, orgId, before))) fields.active = { from: true, to: false };
      else if (changes.active === true && !before.active) {
        // Read here, under a share lock: SSO removed or a domain released meanwhile cannot slip in.
        // (Providers send active: true with every profile push: only a real reactivation reads it.)
        policy = await policyIn(tx, orgId);
        if (!policy.provenDomains.includes(before.email.slice(before.email.lastIndexOf('@') + 1))) {
          throw scimRefusal('invalid_request', 'invalidValue', "The user's address is no longer in one of the SSO configuration's proven domains.");
        }
        invitationsWithdrawn = await deps.orgs.addFederatedMember(tx, orgId, userId, policy.defaultRole);
        fields.active = { from: false, to: true };
      }
      if (Object.keys(fields).length === 0) return false;
      await deps.audit.record(tx, {
        orgId, actor: actor.principal, action: 'scim.user_updated', target: { type: 'user', id: userId }, ip: actor.ip,
        metadata: { fields: Object.keys(fields), changes: fields, ...(fields.active?.to === true && policy ? { role: policy.defaultRole, invitationsWithdrawn } : {}) },
      });
      return true;
    });
    // Every deactivation ends the sessions, also one the provider repeats: a retry after a failure here ends them then.
    // After the commit: an SSO sign-in racing it waited on the membership, so its session is visible now.
    if (changes.active === false) await accounts.revokeAllSessionsOf([userId]);
    if (changed) await deps.directoryChanged([userId]);
    return get(orgId, userId);
  }

  /**
   * One transaction: deactivation (membership, invitations) and the audit record in the tenant,
   * then the account itself as the directory's owner — its row locked throughout, so the record
   * never names a deletion that did not happen. Sessions are ended on every instance after it.
   */
  async function remove(orgId: string, userId: string, actor: Actor): Promise<void> {
    await db.transaction().execute(async (tx) => {
      await holdCredential(tx, actor.principal);
      const before = await lockedAccount(tx, orgId, userId);
      // Its sessions before its membership, as a write of theirs holds them (credential-hold.ts):
      // the account's deletion cascades to them, and taking them last could deadlock with it.
      await accounts.federation.lockSessions(tx, userId);
      await enterTenant(tx, orgId);
      const wasMember = await deps.orgs.removeFederatedMember(tx, orgId, before);
      await deps.audit.record(tx, { orgId, actor: actor.principal, action: 'scim.user_deleted', target: { type: 'user', id: userId }, ip: actor.ip, metadata: { wasActive: wasMember } });
      await leaveTenant(tx);
      // Its sessions, identities and recovery codes go with it (cascades).
      if (!(await accounts.federation.delete(tx, orgId, userId))) throw notFound();
    });
    await accounts.revokeAllSessionsOf([userId]);
    await deps.directoryChanged([userId]);
  }

  return { list, get, create, update, remove };
}

export type ScimService = ReturnType<typeof createScimService>;
