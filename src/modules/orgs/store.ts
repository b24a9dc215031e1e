/** SQL for organisations, memberships and invitations. Nothing else. */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import type { Role } from './permissions.ts';

type Executor = Kysely<DB>;

export interface OrgRow {
  id: string;
  name: string;
  slug: string;
  region: string;
  require_2fa: boolean;
  improvement_consent: boolean;
  created_at: Date;
}

/**
 * A withdrawn invitation expires when it was created: unlike "now", no acceptance racing the
 * withdrawal can carry an earlier time (and markInvitationAccepted checks it without any clock).
 */
const withdrawn = { expires_at: sql<Date>`created_at` };

/** Not yet accepted, and not expired at `at`. */
const pendingAt = (at: Date) => (eb: ExpressionBuilder<DB, 'invitations'>) => eb.and([eb('accepted_at', 'is', null), eb('expires_at', '>', at)]);

export function createOrgStore() {
  return {
    insertOrg: (x: Executor, org: { id: string; name: string; slug: string; region: string }) =>
      x.insertInto('orgs').values(org).execute(),

    slugTaken: async (x: Executor, slug: string): Promise<boolean> =>
      Boolean(await x.selectFrom('orgs').select('id').where('slug', '=', slug).executeTakeFirst()),

    getOrg: (x: Executor, orgId: string): Promise<OrgRow | undefined> =>
      x.selectFrom('orgs').selectAll().where('id', '=', orgId).executeTakeFirst() as Promise<OrgRow | undefined>,

    /** The row, locked until the transaction ends: concurrent updates apply, and are audited, one after the other. */
    getOrgForUpdate: (x: Executor, orgId: string): Promise<OrgRow | undefined> =>
      x.selectFrom('orgs').selectAll().where('id', '=', orgId).forUpdate().executeTakeFirst() as Promise<OrgRow | undefined>,

    updateOrg: (
      x: Executor,
      orgId: string,
      patch: Partial<{ name: string; region: string; require_2fa: boolean; improvement_consent: boolean }>,
    ) => x.updateTable('orgs').set(patch).where('id', '=', orgId).execute(),

    /** Directory read (outside tenant scope): the organisations a user belongs to. */
    orgsOfUser: (x: Executor, userId: string) =>
      x
        .selectFrom('memberships as m')
        .innerJoin('orgs as o', 'o.id', 'm.org_id')
        .select(['o.id', 'o.name', 'o.slug', 'o.region', 'o.require_2fa', 'o.improvement_consent', 'o.created_at', 'm.role'])
        .where('m.user_id', '=', userId)
        .orderBy('o.created_at')
        .execute(),

    insertMembership: (x: Executor, m: { org_id: string; user_id: string; role: Role }) =>
      x.insertInto('memberships').values(m).execute(),

    listMembers: (x: Executor, orgId: string) =>
      x
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['u.id as userId', 'u.email', 'u.name', 'm.role', 'm.created_at'])
        .where('m.org_id', '=', orgId)
        .orderBy('m.created_at')
        .execute(),

    /** Whether the account with this (normalised) address is a member: one query whether or not the address has an account. */
    isMemberByEmail: async (x: Executor, orgId: string, email: string): Promise<boolean> =>
      (await x
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select('m.user_id')
        .where('m.org_id', '=', orgId)
        .where('u.email', '=', email)
        .executeTakeFirst()) !== undefined,

    getMembership: (x: Executor, orgId: string, userId: string) =>
      x.selectFrom('memberships').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst(),

    /** The membership, which cannot be removed or changed until the transaction ends. */
    getMembershipForShare: (x: Executor, orgId: string, userId: string) =>
      x.selectFrom('memberships').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId).forShare().executeTakeFirst(),

    /**
     * The organisation's owners, locked until the transaction ends: two owners demoting or removing
     * each other at once would each count two owners and leave none. The second waits here, and
     * then sees the first's change (PostgreSQL re-checks a locked row's WHERE once it is free).
     */
    lockOwners: async (x: Executor, orgId: string): Promise<number> => {
      const rows = await x.selectFrom('memberships').select('user_id').where('org_id', '=', orgId).where('role', '=', 'owner').forUpdate().execute();
      return rows.length;
    },

    /**
     * How many organisations a user owns, with their account row locked until the transaction
     * ends: two creations at once by one person count one after the other.
     */
    lockOwnedCount: async (x: Executor, userId: string): Promise<number> => {
      await x.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute();
      const row = await x.selectFrom('memberships').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', userId).where('role', '=', 'owner').executeTakeFirstOrThrow();
      return Number(row.n);
    },

    setRole: (x: Executor, orgId: string, userId: string, role: Role) =>
      x.updateTable('memberships').set({ role }).where('org_id', '=', orgId).where('user_id', '=', userId).execute(),

    deleteMembership: (x: Executor, orgId: string, userId: string) =>
      x.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute(),

    insertInvitation: (
      x: Executor,
      inv: { id: string; org_id: string; email: string; role: Role; token_hash: string; created_by: string; expires_at: Date },
    ) => x.insertInto('invitations').values(inv).execute(),

    /** Directory read: an invitation by its token's hash (the invitee is not yet a member). */
    findInvitation: (x: Executor, tokenHash: string) =>
      x.selectFrom('invitations').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),

    /**
     * Withdraws the organisation's pending invitations (see `withdrawn`) — all of them (a lockdown),
     * or those one member sent, to the given roles or any; returns how many.
     */
    withdrawPendingInvitations: async (x: Executor, orgId: string, at: Date, sentBy?: { userId: string; ofRoles?: readonly Role[] }): Promise<number> => {
      if (sentBy?.ofRoles?.length === 0) return 0;
      let query = x.updateTable('invitations').set(withdrawn).where('org_id', '=', orgId).where(pendingAt(at));
      if (sentBy) query = query.where('created_by', '=', sentBy.userId);
      if (sentBy?.ofRoles) query = query.where('role', 'in', [...sentBy.ofRoles]);
      return Number((await query.executeTakeFirst()).numUpdatedRows);
    },

    /** Withdraws the pending invitations addressed to an e-mail address (a person deprovisioned must not come back by one). */
    withdrawInvitationsTo: async (x: Executor, orgId: string, email: string, at: Date): Promise<number> =>
      Number((await x.updateTable('invitations').set(withdrawn).where('org_id', '=', orgId).where('email', '=', email).where(pendingAt(at)).executeTakeFirst()).numUpdatedRows),

    /** Pending invitations of the organisation, oldest first; never their token hashes. */
    listPendingInvitations: (x: Executor, orgId: string, now: Date) =>
      x
        .selectFrom('invitations')
        .select(['id', 'email', 'role', 'created_by', 'created_at', 'expires_at'])
        .where('org_id', '=', orgId)
        .where(pendingAt(now))
        .orderBy('created_at')
        .orderBy('id')
        .execute(),

    /** One pending invitation, locked until the transaction ends. */
    getPendingInvitationForUpdate: (x: Executor, orgId: string, id: string, now: Date) =>
      x.selectFrom('invitations').select(['id', 'email', 'role']).where('org_id', '=', orgId).where('id', '=', id).where(pendingAt(now)).forUpdate().executeTakeFirst(),

    expireInvitation: (x: Executor, id: string) => x.updateTable('invitations').set(withdrawn).where('id', '=', id).execute(),

    /** Only while still pending: a withdrawal or lockdown that committed first wins, whatever the clocks say. */
    markInvitationAccepted: (x: Executor, id: string, at: Date) =>
      x
        .updateTable('invitations')
        .set({ accepted_at: at })
        .where('id', '=', id)
        .where(pendingAt(at))
        .whereRef('expires_at', '>', 'created_at')
        .executeTakeFirst(),

  };
}

export type OrgStore = ReturnType<typeof createOrgStore>;
