/**
 * Accounts: sign-up, login (with a TOTP or recovery code when two-factor sign-in is on), logout
 * and revocable sessions. A session token is 256 random bits, given to the browser once in an
 * HttpOnly cookie and stored only as its SHA-256 hash; every request looks it up, so a revocation
 * is effective on the very next request.
 * Never logs or returns a password, a password hash, a TOTP secret or a session token after creation.
 */
import { batches } from '../../platform/db/batches.ts';
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { enterTenant, type Tx } from '../../platform/db/tenant.ts';
import type { Clock } from '../../platform/clock.ts';
import type { InvalidationBus } from '../../platform/cache/invalidation.ts';
import { createTtlCache } from '../../platform/cache/ttl-cache.ts';
import { AppError } from '../../platform/http/errors.ts';
import type { Principal } from '../../platform/http/principal.ts';
import { newId, newSecretToken, safeEqual, sha256Hex } from '../../platform/ids.ts';
import type { AuditEntry, AuditService } from '../audit/service.ts';
import type { OrgService } from '../orgs/service.ts';
import { normalizeEmail } from './directory.ts';
import { takeAttempt, takeSecondFactor, takeSignup, type LoginThrottle } from './login-throttle.ts';
import { burnVerifyTime, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';
import { memberOrgIds, type AccountStore } from './store.ts';
import type { TotpService } from './totp-service.ts';

const TOUCH_EVERY_MS = 5 * 60 * 1000;
/** Safety net only: revocations evict cached sessions at once, on every instance. */
const SESSION_CACHE_TTL_MS = 30_000;
/** Invalidation topic: user ids whose memberships or organisations changed ('*': all). */
export const DIRECTORY_TOPIC = 'user-directory';
/** Invalidation topics naming revoked sessions (session ids) and users whose sessions all ended (user ids). */
export const SESSIONS_TOPIC = 'sessions';
export const SESSIONS_OF_USER_TOPIC = 'sessions-of-user';

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

export interface NewSession {
  id: string;
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`csrf:${sessionToken}`).digest('base64url');
}

/**
 * Accounts one organisation's SCIM or SSO may make: each is a row in the directory every tenant
 * shares, and a SCIM key makes hundreds a minute.
 */
export const MAX_FEDERATED_ACCOUNTS_PER_ORG = 50_000;

export function createAccountService(deps: {
  db: Kysely<DB>;
  store: AccountStore;
  orgs: Pick<OrgService, 'createOrg' | 'listForUser'>;
  audit: Pick<AuditService, 'record'>;
  throttle: LoginThrottle;
  totp: Pick<TotpService, 'acceptLoginCode'>;
  clock: Clock;
  sessionTtlHours: number;
  /** A session unused this long has ended (its last use is recorded every TOUCH_EVERY_MS at most). */
  sessionIdleMinutes: number;
  invalidation: InvalidationBus;
  /** Where a failed sign-in's audit write reports an error (it is written after the reply). */
  onBackgroundError?: (error: unknown) => void;
}) {
  const { db, store, clock, invalidation } = deps;
  type CachedSession = { principal: Principal & { kind: 'user' }; expiresAt: number };
  const cache = createTtlCache<CachedSession>(10_000, SESSION_CACHE_TTL_MS);
  // Bumped by every eviction: a look-up that raced with a revocation must not cache its result.
  let generation = 0;
  invalidation.on(SESSIONS_TOPIC, (ids) => {
    generation++;
    cache.deleteWhere((_k, v) => ids.includes(v.principal.sessionId));
  });
  invalidation.on(SESSIONS_OF_USER_TOPIC, (ids) => {
    generation++;
    cache.deleteWhere((_k, v) => ids.includes(v.principal.userId));
  });
  invalidation.on('*', () => {
    generation++;
    cache.clear();
    profileGeneration++;
    profiles.clear();
  });
  // A user's profile and memberships (GET /v1/me), evicted by every membership or org change.
  type Profile = {
    user: { id: string; email: string; name: string | null; totpEnabled: boolean; recoveryCodesLeft: number };
    orgs: { id: string; name: string; slug: string; role: string }[];
  };
  const profiles = createTtlCache<Profile>(10_000, SESSION_CACHE_TTL_MS);
  let profileGeneration = 0;
  invalidation.on(DIRECTORY_TOPIC, (ids) => {
    profileGeneration++;
    if (ids.includes('*')) profiles.clear();
    else for (const id of ids) profiles.delete(id);
  });

  /**
   * An account event in the audit log of every organisation the user belongs to, in the caller's
   * transaction, after its writes to the account directory (entering a tenant gives up the
   * rights to those tables).
   */
  async function auditAccountEvent(tx: Tx, userId: string, actor: AuditEntry['actor'], action: string, ip: string | null, metadata?: Record<string, unknown>) {
    for (const orgId of await memberOrgIds(tx, userId)) {
      await enterTenant(tx, orgId);
      await deps.audit.record(tx, { orgId, actor, action, target: { type: 'user', id: userId }, ip, ...(metadata ? { metadata } : {}) });
    }
  }

  /**
   * A refused sign-in of a known account, audited after the reply: waiting for the write would
   * make a known address answer more slowly than an unknown one (which has nowhere to be audited).
   */
  function auditFailedLogin(user: { id: string; email: string }, reason: 'password' | 'second_factor', ip: string): void {
    const principal = { kind: 'user' as const, userId: user.id, sessionId: '', email: user.email };
    db.transaction()
      .execute((tx) => auditAccountEvent(tx, principal.userId, principal, 'user.login_failed', ip, { reason }))
      .catch((error: unknown) => deps.onBackgroundError?.(error));
  }

  /**
   * Sessions last used before this have ended for idleness. The recorded last use trails the real one
   * by up to TOUCH_EVERY_MS and the cache's life: allowing for both, no session ends before the
   * limit (it ends at most 5.5 minutes after it).
   */
  const usedSince = (now: Date): Date => new Date(now.getTime() - deps.sessionIdleMinutes * 60_000 - TOUCH_EVERY_MS - SESSION_CACHE_TTL_MS);

  async function startSession(x: Kysely<DB>, userId: string, client: ClientInfo, sso?: { orgId: string; mfa: boolean }): Promise<NewSession> {
    const token = newSecretToken('ps');
    const expiresAt = new Date(clock.now().getTime() + deps.sessionTtlHours * 3600 * 1000);
    const id = newId('ses');
    await store.insertSession(x, {
      id,
      user_id: userId,
      token_hash: sha256Hex(token),
      expires_at: expiresAt,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 512) ?? null,
      last_seen_at: clock.now(), // the clock the idle limit is measured with
      ...(sso ? { sso_org_id: sso.orgId, idp_mfa: sso.mfa } : {}),
    });
    return { id, token, csrfToken: csrfTokenFor(token), expiresAt };
  }

  /** `operator`: created by the operator (the CLI, the demo seed), not counted as a sign-up from an address. */
  async function signup(input: { email: string; password: string; orgName: string; name?: string | undefined }, client: ClientInfo, options: { operator?: boolean } = {}) {
    const email = normalizeEmail(input.email);
    // Counted before anything is checked or hashed, whatever the outcome.
    if (!options.operator) await takeSignup(deps.throttle, client.ip);
    const problem = passwordProblem(input.password, email);
    if (problem) throw new AppError('weak_password', problem, { details: { errors: [{ field: 'body.password', message: problem }] } });
    const passwordHash = await hashPassword(input.password);
    return db.transaction().execute(async (tx) => {
      if (await store.findUserByEmail(tx, email)) {
        throw new AppError('conflict', 'An account with this e-mail address exists. Sign in instead.');
      }
      const userId = newId('usr');
      await store.insertUser(tx, { id: userId, email, password_hash: passwordHash, name: input.name ?? null });
      const org = await deps.orgs.createOrg(tx, { name: input.orgName, ownerUserId: userId });
      const session = await startSession(tx, userId, client);
      await enterTenant(tx, org.id);
      await deps.audit.record(tx, { orgId: org.id, actor: { kind: 'user', userId, sessionId: '', email }, action: 'org.created', target: { type: 'org', id: org.id }, ip: client.ip });
      return { user: { id: userId, email, name: input.name ?? null }, org, session };
    });
  }

  async function login(input: { email: string; password: string; totp?: string | undefined }, client: ClientInfo) {
    const email = normalizeEmail(input.email);
    // Counted before the password is checked: a wrong attempt keeps its point.
    await takeAttempt(deps.throttle, email, client.ip);
    const user = await store.findUserByEmail(db, email);
    const ok = user?.password_hash ? await verifyPassword(user.password_hash, input.password) : (await burnVerifyTime(input.password), false);
    if (!user || !ok) {
      if (user) auditFailedLogin(user, 'password', client.ip);
      throw new AppError('invalid_credentials', 'The e-mail address or password is wrong.');
    }
    // Only after the right password, so a wrong one never tells whether 2FA is on. A wrong code
    // keeps its points like a wrong password: the throttle bounds guessing codes too.
    if (user.totp_enabled) {
      if (input.totp === undefined) {
        await deps.throttle.refundIp(client.ip); // the first step of a normal 2FA sign-in
        throw new AppError('totp_required', 'Enter the 6-digit code from your authenticator app, or a recovery code.');
      }
      // Counted before the code is checked, account-wide: guesses spread over addresses gain nothing.
      await takeSecondFactor(deps.throttle, email);
      if (!(await deps.totp.acceptLoginCode(user, input.totp, client.ip))) {
        auditFailedLogin(user, 'second_factor', client.ip);
        throw new AppError('invalid_credentials', 'The code is wrong or was already used.');
      }
    }
    await deps.throttle.succeeded(email, client.ip);
    const session = await db.transaction().execute(async (tx) => {
      // The password (and 2FA) may have changed while it was being checked: a change ends the
      // other sessions when it commits, and a session started after that from the old password
      // would survive it. With the row locked, either the change waits for this session (and
      // then ends it) or this sign-in sees the change and is refused.
      const now = await store.lockSignInFactors(tx, user.id);
      if (!now || now.password_hash !== user.password_hash || now.totp_enabled !== user.totp_enabled) {
        throw new AppError('invalid_credentials', 'The e-mail address or password is wrong.');
      }
      const started = await startSession(tx, user.id, client);
      const principal = { kind: 'user' as const, userId: user.id, sessionId: started.id, email: user.email };
      await auditAccountEvent(tx, principal.userId, principal, 'user.login', client.ip, { secondFactor: user.totp_enabled });
      return started;
    });
    return { user: { id: user.id, email: user.email, name: user.name }, session };
  }

  /**
   * Hot path: the principal behind a session token, or null if unknown, expired or revoked.
   * Served from a short-lived cache that every revocation evicts before it returns.
   */
  /** `touch: false`: not a use (a long-lived request checking its session again): the idle time goes on. */
  async function verifySession(token: string, client: { ip: string }, options: { touch?: boolean } = {}): Promise<(Principal & { kind: 'user' }) | null> {
    if (token.length > 128) return null;
    const now = clock.now();
    const tokenHash = sha256Hex(token);
    const cached = cache.get(tokenHash, now.getTime());
    if (cached && cached.expiresAt > now.getTime()) return cached.principal;
    const seen = generation;
    const session = await store.findActiveSession(db, tokenHash, now, usedSince(now));
    if (!session) return null;
    if (options.touch !== false && now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      // Best effort, off the request's critical path: last-seen is informational.
      store.touchSession(db, session.sessionId, now, client.ip).catch(() => undefined);
    }
    const principal: Principal & { kind: 'user' } = { kind: 'user', userId: session.userId, sessionId: session.sessionId, email: session.email };
    if (session.ssoOrgId) principal.sso = { orgId: session.ssoOrgId, mfa: session.idpMfa };
    if (seen === generation) cache.set(tokenHash, { principal, expiresAt: session.expiresAt.getTime() }, now.getTime());
    return principal;
  }

  async function logout(principal: Principal & { kind: 'user' }, ip: string | null): Promise<void> {
    await db.transaction().execute(async (tx) => {
      if (await store.revokeSession(tx, principal.userId, principal.sessionId, clock.now())) await auditAccountEvent(tx, principal.userId, principal, 'user.logout', ip);
    });
    await invalidation.publish(SESSIONS_TOPIC, [principal.sessionId]);
  }

  async function me(principal: Principal & { kind: 'user' }, sessionToken: string) {
    const now = clock.now().getTime();
    let profile = profiles.get(principal.userId, now);
    if (!profile) {
      const seen = profileGeneration;
      const [user, orgs] = await Promise.all([store.findUserById(db, principal.userId), deps.orgs.listForUser(principal.userId)]);
      if (!user) throw new AppError('unauthenticated', 'Your session has ended. Sign in again.');
      profile = {
        user: { id: user.id, email: user.email, name: user.name, totpEnabled: user.totp_enabled, recoveryCodesLeft: Number(user.recovery_codes_left) },
        orgs: orgs.map((o) => ({ id: o.id, name: o.name, slug: o.slug, role: o.role })),
      };
      if (seen === profileGeneration) profiles.set(principal.userId, profile, now);
    }
    return { ...profile, csrfToken: csrfTokenFor(sessionToken) };
  }

  async function listSessions(principal: Principal & { kind: 'user' }) {
    const now = clock.now();
    const rows = await store.listSessions(db, principal.userId, now, usedSince(now));
    return rows.map((s) => ({
      id: s.id,
      current: s.id === principal.sessionId,
      createdAt: new Date(s.created_at).toISOString(),
      lastSeenAt: new Date(s.last_seen_at).toISOString(),
      expiresAt: new Date(s.expires_at).toISOString(),
      ip: s.ip,
      userAgent: s.user_agent,
    }));
  }

  async function revokeSession(principal: Principal & { kind: 'user' }, sessionId: string, ip: string | null): Promise<void> {
    await db.transaction().execute(async (tx) => {
      if (!(await store.revokeSession(tx, principal.userId, sessionId, clock.now()))) {
        throw new AppError('not_found', 'This session does not exist.');
      }
      await auditAccountEvent(tx, principal.userId, principal, 'user.session_revoked', ip, { sessionId });
    });
    await invalidation.publish(SESSIONS_TOPIC, [sessionId]);
  }

  async function revokeOtherSessions(principal: Principal & { kind: 'user' }, ip: string | null): Promise<number> {
    const revoked = await db.transaction().execute(async (tx) => {
      const now = clock.now();
      const count = await store.revokeOtherSessions(tx, principal.userId, principal.sessionId, now, usedSince(now));
      if (count > 0) await auditAccountEvent(tx, principal.userId, principal, 'user.sessions_revoked', ip, { count });
      return count;
    });
    await invalidation.publish(SESSIONS_OF_USER_TOPIC, [principal.userId]);
    return revoked;
  }

  /** Incident response: every session of these users ends now, on every instance. */
  async function revokeAllSessionsOf(userIds: string[]): Promise<number> {
    const now = clock.now();
    const revoked = await store.revokeSessionsOfUsers(db, userIds, now, usedSince(now));
    for (const part of batches(userIds)) await invalidation.publish(SESSIONS_OF_USER_TOPIC, part);
    return revoked;
  }

  /**
   * The operator's reset (`palisade admin reset-password`) for a user who lost the password: a
   * new one, every session of the user ended on every instance, audited as the system's act
   * (`user.password_reset`). Two-factor sign-in stays as it was.
   */
  async function resetPassword(emailAddress: string, newPassword: string): Promise<{ id: string; email: string }> {
    const email = normalizeEmail(emailAddress);
    const problem = passwordProblem(newPassword, email);
    if (problem) throw new AppError('weak_password', problem);
    const passwordHash = await hashPassword(newPassword);
    const user = await db.transaction().execute(async (tx) => {
      const found = await store.findUserByEmail(tx, email);
      if (!found) throw new AppError('not_found', 'No account has this e-mail address.');
      await store.setPasswordHash(tx, found.id, passwordHash);
      const now = clock.now();
      const revoked = await store.revokeSessionsOfUsers(tx, [found.id], now, usedSince(now));
      await auditAccountEvent(tx, found.id, { kind: 'system' }, 'user.password_reset', null, { sessionsRevoked: revoked });
      return found;
    });
    await invalidation.publish(SESSIONS_OF_USER_TOPIC, [user.id]);
    return { id: user.id, email: user.email };
  }

  /**
   * For single sign-on (modules/sso), inside its transaction, which is not yet a tenant one: the
   * account of an address, a new account that the organisation's SSO made (no password; it
   * belongs to that organisation alone), and a session for an account the SSO signed in; and,
   * outside any transaction, the end of the sessions it started. SCIM (modules/scim) lists,
   * renames and deletes the accounts an organisation federates, in its transaction.
   */
  const federation = {
    findUser: (tx: Kysely<DB>, email: string) => store.findUserByEmail(tx, normalizeEmail(email)),
    list: (x: Kysely<DB>, orgId: string, options: { email?: string; userId?: string; offset: number; limit: number }) =>
      store.listFederated(x, orgId, { ...options, ...(options.email !== undefined ? { email: normalizeEmail(options.email) } : {}) }),
    count: (x: Kysely<DB>, orgId: string, email?: string) => store.countFederated(x, orgId, email === undefined ? undefined : normalizeEmail(email)),
    lock: (tx: Kysely<DB>, orgId: string, userId: string) => store.lockFederated(tx, orgId, userId),
    /** The account's sessions, locked until the transaction ends (before its deletion cascades to them). */
    lockSessions: (tx: Kysely<DB>, userId: string) => store.lockSessionsOf(tx, userId),
    rename: (tx: Kysely<DB>, userId: string, name: string | null) => store.renameUser(tx, userId, name),
    /** Deletes an account the organisation federates (and that has no password): whether it did. Its sessions go with it; tell the instances after the commit (revokeAllSessionsOf). */
    delete: (tx: Kysely<DB>, orgId: string, userId: string) => store.deleteFederatedUser(tx, orgId, userId),
    /** A new account of the organisation's; refused past MAX_FEDERATED_ACCOUNTS_PER_ORG, counted under a lock on the organisation's row. */
    async createUser(tx: Kysely<DB>, input: { email: string; name: string | null; orgId: string }): Promise<string> {
      if ((await store.lockOrgAndCountFederated(tx, input.orgId)) >= MAX_FEDERATED_ACCOUNTS_PER_ORG) {
        throw new AppError('conflict', `An organisation's identity provider makes at most ${MAX_FEDERATED_ACCOUNTS_PER_ORG.toLocaleString('en')} accounts; delete some first.`);
      }
      const id = newId('usr');
      await store.insertUser(tx, { id, email: normalizeEmail(input.email), password_hash: null, name: input.name, federated_org_id: input.orgId });
      return id;
    },
    /**
     * Ends every session the organisation's SSO started, on every instance: when SSO is removed,
     * turned off or pointed at another provider, what the old one vouched for (who, and with how
     * many factors) no longer counts.
     */
    async endSsoSessions(orgId: string): Promise<number> {
      const ids = await store.revokeSsoSessions(db, orgId, clock.now());
      if (ids.length > 0) await invalidation.publish(SESSIONS_TOPIC, ids);
      return ids.length;
    },
    /** `sso`: the organisation whose provider signed the account in, and whether it reported more than one factor. */
    startSession: (tx: Kysely<DB>, userId: string, client: ClientInfo, sso: { orgId: string; mfa: boolean }) => startSession(tx, userId, client, sso),
  };

  return {
    signup,
    federation,
    resetPassword,
    revokeAllSessionsOf,
    login,
    logout,
    verifySession,
    me,
    listSessions,
    revokeSession,
    revokeOtherSessions,
    csrfMatches: (token: string, header: string) => safeEqual(csrfTokenFor(token), header),
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
