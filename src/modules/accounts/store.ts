/** SQL for users and sessions (the account directory; not tenant-scoped). Nothing else. */
import { batches } from '../../platform/db/batches.ts';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';

type Executor = Kysely<DB>;

export interface ActiveSession {
  sessionId: string;
  userId: string;
  email: string;
  lastSeenAt: Date;
  expiresAt: Date;
  /** Set when the organisation's single sign-on started the session. */
  ssoOrgId: string | null;
  idpMfa: boolean;
}

/** The organisations a user belongs to: where their account events are audited. */
export const memberOrgIds = async (x: Executor, userId: string): Promise<string[]> =>
  (await x.selectFrom('memberships').select('org_id').where('user_id', '=', userId).orderBy('org_id').execute()).map((r) => r.org_id);

export function createAccountStore() {
  return {
    insertUser: (x: Executor, user: { id: string; email: string; password_hash: string | null; name: string | null; federated_org_id?: string }) =>
      x.insertInto('users').values(user).execute(),

    /** Which organisation's single sign-on made this account, if one did (it belongs to that one alone). */
    federatedOrgOf: async (x: Executor, userId: string): Promise<string | null> =>
      (await x.selectFrom('users').select('federated_org_id').where('id', '=', userId).executeTakeFirst())?.federated_org_id ?? null,

    findUserByEmail: (x: Executor, email: string) =>
      x
        .selectFrom('users')
        .select(['id', 'email', 'name', 'password_hash', 'totp_enabled', 'totp_secret', 'totp_last_step', 'federated_org_id'])
        .where('email', '=', email)
        .executeTakeFirst(),

    /**
     * The accounts an organisation's SSO or SCIM made, with whether each is a member (SCIM's
     * `active`); `email` narrows to one address. Read as the owner (the directory has no tenant policy).
     */
    listFederated: (x: Executor, orgId: string, options: { email?: string; userId?: string; offset: number; limit: number }) => {
      let q = x
        .selectFrom('users as u')
        .leftJoin('memberships as m', (j) => j.onRef('m.user_id', '=', 'u.id').on('m.org_id', '=', orgId))
        .select(['u.id', 'u.email', 'u.name', 'u.created_at', 'm.role'])
        .where('u.federated_org_id', '=', orgId)
        // One the operator gave a password (admin reset-password) is a break-glass account now: not provisioning's.
        .where('u.password_hash', 'is', null);
      if (options.email !== undefined) q = q.where('u.email', '=', options.email);
      if (options.userId !== undefined) q = q.where('u.id', '=', options.userId);
      return q.orderBy('u.created_at').orderBy('u.id').offset(options.offset).limit(options.limit).execute();
    },

    /** The organisation's federated accounts, its row held (FOR NO KEY UPDATE) so creations at once are counted one after the other. */
    lockOrgAndCountFederated: async (x: Executor, orgId: string): Promise<number> => {
      await x.selectFrom('orgs').select('id').where('id', '=', orgId).forNoKeyUpdate().execute();
      return Number((await x.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('federated_org_id', '=', orgId).executeTakeFirstOrThrow()).n);
    },

    countFederated: async (x: Executor, orgId: string, email?: string): Promise<number> => {
      let q = x.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('federated_org_id', '=', orgId).where('password_hash', 'is', null);
      if (email !== undefined) q = q.where('email', '=', email);
      return Number((await q.executeTakeFirstOrThrow()).n);
    },

    /** Locks a federated account's row until the transaction ends (concurrent provisioning of one person runs one at a time). */
    lockFederated: async (x: Executor, orgId: string, userId: string): Promise<void> => {
      await x.selectFrom('users').select('id').where('id', '=', userId).where('federated_org_id', '=', orgId).forUpdate().execute();
    },

    /** A user's sessions, locked (in id order) until the transaction ends. */
    lockSessionsOf: async (x: Executor, userId: string): Promise<void> => {
      await x.selectFrom('sessions').select('id').where('user_id', '=', userId).orderBy('id').forUpdate().execute();
    },

    renameUser: async (x: Executor, userId: string, name: string | null): Promise<void> => {
      await x.updateTable('users').set({ name }).where('id', '=', userId).execute();
    },

    /** Deletes an account the organisation federates, never one with a password; its memberships, sessions, recovery codes and SSO identities go with it (cascades). */
    deleteFederatedUser: async (x: Executor, orgId: string, userId: string): Promise<boolean> => {
      const r = await x.deleteFrom('users').where('id', '=', userId).where('federated_org_id', '=', orgId).where('password_hash', 'is', null).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    findUserById: (x: Executor, id: string) =>
      x
        .selectFrom('users')
        .select(['id', 'email', 'name', 'totp_enabled', 'created_at'])
        .select((eb) =>
          eb
            .selectFrom('totp_recovery_codes')
            .select((c) => c.fn.countAll<string>().as('n'))
            .whereRef('totp_recovery_codes.user_id', '=', 'users.id')
            .where('totp_recovery_codes.used_at', 'is', null)
            .as('recovery_codes_left'),
        )
        .where('id', '=', id)
        .executeTakeFirst(),

    /**
     * The sign-in factors of a user, the row locked against changes until the transaction ends:
     * a session is only started if they are still the ones that were checked.
     */
    lockSignInFactors: (x: Executor, userId: string) =>
      x.selectFrom('users').select(['password_hash', 'totp_enabled']).where('id', '=', userId).forShare().executeTakeFirst(),

    setPasswordHash: (x: Executor, userId: string, passwordHash: string) => x.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute(),

    /** Compare-and-set: false when the password changed since `expectedHash` was checked. */
    replacePasswordHash: async (x: Executor, userId: string, expectedHash: string, newHash: string): Promise<boolean> => {
      const r = await x.updateTable('users').set({ password_hash: newHash }).where('id', '=', userId).where('password_hash', '=', expectedHash).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    insertSession: (
      x: Executor,
      s: { id: string; user_id: string; token_hash: string; expires_at: Date; ip: string | null; user_agent: string | null; last_seen_at?: Date; sso_org_id?: string; idp_mfa?: boolean },
    ) => x.insertInto('sessions').values(s).execute(),

    /** The hot path of every dashboard request: one indexed look-up, revocation included. */
    /** `usedSince`: a session last used before it has ended for idleness. */
    findActiveSession: async (x: Executor, tokenHash: string, now: Date, usedSince: Date): Promise<ActiveSession | undefined> => {
      const row = await x
        .selectFrom('sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .select(['s.id as sessionId', 's.user_id as userId', 'u.email', 's.last_seen_at as lastSeenAt', 's.expires_at as expiresAt', 's.sso_org_id as ssoOrgId', 's.idp_mfa as idpMfa'])
        .where('s.token_hash', '=', tokenHash)
        .where('s.revoked_at', 'is', null)
        .where('s.expires_at', '>', now)
        .where('s.last_seen_at', '>', usedSince)
        .executeTakeFirst();
      return row ? { ...row, lastSeenAt: new Date(row.lastSeenAt), expiresAt: new Date(row.expiresAt) } : undefined;
    },

    touchSession: (x: Executor, sessionId: string, at: Date, ip: string | null) =>
      x.updateTable('sessions').set({ last_seen_at: at, ip }).where('id', '=', sessionId).execute(),

    listSessions: (x: Executor, userId: string, now: Date, usedSince: Date) =>
      x
        .selectFrom('sessions')
        .select(['id', 'created_at', 'last_seen_at', 'expires_at', 'ip', 'user_agent'])
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('last_seen_at', '>', usedSince)
        .orderBy('last_seen_at', 'desc')
        .execute(),

    revokeSession: async (x: Executor, userId: string, sessionId: string, at: Date): Promise<boolean> => {
      const r = await x
        .updateTable('sessions')
        .set({ revoked_at: at })
        .where('id', '=', sessionId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    /** Revokes every unrevoked session of these users; how many of them were still live (not expired or idle). */
    revokeSessionsOfUsers: async (x: Executor, userIds: string[], at: Date, usedSince: Date): Promise<number> => {
      let live = 0;
      for (const part of batches(userIds)) {
        const rows = await x.updateTable('sessions').set({ revoked_at: at }).where('user_id', 'in', part).where('revoked_at', 'is', null).returning(['expires_at', 'last_seen_at']).execute();
        live += countLive(rows, at, usedSince);
      }
      return live;
    },

    /** Ends the sessions an organisation's single sign-on started; their ids. */
    revokeSsoSessions: async (x: Executor, orgId: string, at: Date): Promise<string[]> =>
      (await x.updateTable('sessions').set({ revoked_at: at }).where('sso_org_id', '=', orgId).where('revoked_at', 'is', null).returning('id').execute()).map((r) => r.id),

    /** Like revokeSessionsOfUsers, for one user, keeping one session. */
    revokeOtherSessions: async (x: Executor, userId: string, keepSessionId: string | null, at: Date, usedSince: Date): Promise<number> => {
      let q = x.updateTable('sessions').set({ revoked_at: at }).where('user_id', '=', userId).where('revoked_at', 'is', null);
      if (keepSessionId) q = q.where('id', '!=', keepSessionId);
      return countLive(await q.returning(['expires_at', 'last_seen_at']).execute(), at, usedSince);
    },
  };
}

export type AccountStore = ReturnType<typeof createAccountStore>;

/** Sessions that still worked when revoked: the counts people read (and the audit log keeps) name only those. */
function countLive(rows: readonly { expires_at: Date | string; last_seen_at: Date | string }[], at: Date, usedSince: Date): number {
  return rows.filter((r) => new Date(r.expires_at) > at && new Date(r.last_seen_at) > usedSince).length;
}
